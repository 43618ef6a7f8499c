"""`cnnreport check`: score one report (table or JSON), or grade many into a CSV.

One report that is not a cnnreport report is bad input (exit 2). Grading several, a folder that
is not a report — or a damaged one — gets a row saying why, and the others are still graded.
Exit 0 when every report verifies at least --min-score automatic points and passes the integrity
check (no number edited by hand, runs trained on the data it describes), 1 when one does not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from cnnreport.errors import UserError
from cnnreport.rubric.output import make_console, print_table, write_csv
from cnnreport.rubric.schema import Rubric, load_rubric
from cnnreport.rubric.scoring import check_report
from cnnreport.rubric.submission import NotAReport


def _default_dir(args: argparse.Namespace) -> Path:
    from cnnreport.study.loading import load_study

    return Path(args.reports_dir) / load_study(args.study).name


def grade(folder: Path, rubric: Rubric, runs_dir: str | None, many: bool) -> dict[str, Any]:
    """One report's result; grading many, a failure becomes {report_dir, error} instead."""
    try:
        return check_report(folder, rubric, runs_dir=runs_dir)
    except NotAReport as exc:
        if not many:
            raise
        return {"report_dir": str(folder), "error": str(exc).replace(f"{folder}: ", "")}
    except Exception as exc:  # noqa: BLE001 - a damaged submission must not stop the grading of the rest
        if not many:
            raise UserError(f"{folder}: damaged report ({type(exc).__name__}: {exc})") from None
        return {"report_dir": str(folder), "error": f"damaged report ({type(exc).__name__}: {exc})"}


def run_check(args: argparse.Namespace, echo: Callable[[str], None] = print) -> int:
    rubric = load_rubric(args.rubric)
    folders = [Path(d) for d in args.report_dirs] or [_default_dir(args)]
    many = len(folders) > 1
    results = [grade(f, rubric, args.runs_dir, many) for f in folders]
    if args.csv:
        write_csv(Path(args.csv), results, rubric)
    passed = [("error" not in r) and r["score"]["earned"] >= args.min_score and r["score"]["integrity"]
              for r in results]
    if args.json:
        data: Any = results[0] if not many else {"submissions": results}
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif not many:
        print_table(results[0])
    else:
        _print_summary(results, rubric)
    if args.csv:
        echo(f"wrote {args.csv}: {len(results)} row(s)")
    return 0 if all(passed) else 1


def _print_summary(results: list[dict[str, Any]], rubric: Rubric) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"{rubric.title}: {len(results)} reports", expand=True)
    t.add_column("report", ratio=3)
    t.add_column("verified", justify="right", no_wrap=True)
    t.add_column("per criterion / why not graded", ratio=7)
    for r in results:
        if "error" in r:
            t.add_row(escape(r["report_dir"]), "—", f"[red]{escape(r['error'])}[/]")
            continue
        s = r["score"]
        per = ", ".join(f"{c['id']} {c['earned']:g}/{c['automatic']:g}" for c in r["criteria"])
        flag = "" if s["integrity"] else " [red]integrity![/]"
        t.add_row(escape(r["report_dir"]), f"{s['earned']:g} / {s['automatic']:g}", escape(per) + flag)
    make_console().print(t)
