"""`cnnreport check`: score one report (table or JSON), or grade many into a CSV.

One report that is not a cnnreport report — no report.json, one that is not JSON, or one that
breaks report.json's contract (each field it breaks named: `models[0].test_accuracy.mean:
expected a number`) — is bad input (exit 2). Grading several, such a folder gets a row saying why,
and the others are still graded. Exit 0 when every report verifies at least --min-score automatic
points and passes the integrity check (no number edited by hand, runs trained on the data it
describes), 1 when one does not (docs/exit-codes.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

from rich.markup import escape
from rich.table import Table

from cnnreport.formatting import fmt_points
from cnnreport.rubric.output import make_console, print_table, write_csv
from cnnreport.rubric.result import CheckResult, Graded, NotGraded
from cnnreport.rubric.schema import Rubric, load_rubric
from cnnreport.rubric.scoring import check_report
from cnnreport.rubric.submission import NotAReport


def grade(folder: Path, rubric: Rubric, runs_dir: str | None, many: bool) -> Graded:
    """One report's result; grading many, a folder that is not a report becomes a NotGraded row."""
    try:
        return check_report(folder, rubric, runs_dir=runs_dir)
    except NotAReport as exc:
        if not many:
            raise
        return NotGraded(report_dir=str(folder), error=str(exc).replace(f"{folder}: ", "").replace(f"{folder / 'report.json'}: ", ""))


def run_check(folders: list[Path], rubric_file: str | None, runs_dir: str | None, min_score: float, as_json: bool,
              csv_file: str | None, echo: Callable[[str], None] = print) -> int:
    rubric = load_rubric(rubric_file)
    many = len(folders) > 1
    results = [grade(f, rubric, runs_dir, many) for f in folders]
    if csv_file:
        write_csv(Path(csv_file), results, rubric)
    passed = [isinstance(r, CheckResult) and r.score.earned >= min_score and r.score.integrity for r in results]
    if as_json:
        out = [r.model_dump(mode="json") for r in results]
        data: Any = out[0] if not many else {"submissions": out}
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif not many and isinstance(results[0], CheckResult):  # one folder that is not a report raised above
        print_table(results[0])
    else:
        _print_summary(results, rubric)
    if csv_file:
        echo(f"wrote {csv_file}: {len(results)} row(s)")
    return 0 if all(passed) else 1


def _print_summary(results: list[Graded], rubric: Rubric) -> None:
    t = Table(title=f"{rubric.title}: {len(results)} reports", expand=True)
    t.add_column("report", ratio=3)
    t.add_column("verified", justify="right", no_wrap=True)
    t.add_column("per criterion / why not graded", ratio=7)
    for r in results:
        if isinstance(r, NotGraded):
            t.add_row(escape(r.report_dir), "—", f"[red]{escape(r.error)}[/]")
            continue
        s = r.score
        per = ", ".join(f"{c.id} {fmt_points(c.earned)}/{fmt_points(c.automatic)}" for c in r.criteria)
        flag = "" if s.integrity else " [red]integrity![/]"
        t.add_row(escape(r.report_dir), f"{fmt_points(s.earned)} / {fmt_points(s.automatic)}", escape(per) + flag)
    make_console().print(t)
