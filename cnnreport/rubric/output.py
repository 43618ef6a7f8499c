"""The rubric check's result for people: rich tables on a terminal, one CSV row per submission."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cnnreport.files import write_text
from cnnreport.formatting import fmt_points as _fmt
from cnnreport.rubric.result import CheckResult, Graded
from cnnreport.rubric.schema import Rubric

# -------------------------------------------------------------------------------------- output


def print_table(result: CheckResult, console: Any = None) -> None:
    """The result as rich tables: scored items, then the items a human reader judges."""
    console = console or make_console()
    t = Table(title=f"{result.rubric.title} — {result.report_dir}", show_lines=False, expand=True)
    t.add_column("criterion / item", ratio=3)
    t.add_column("points", justify="right", no_wrap=True)
    t.add_column("evidence", ratio=6)
    t.add_column("how to fix", ratio=4)
    for c in result.criteria:
        t.add_row(f"[bold]{c.name}[/]" + (" (bonus)" if c.bonus else ""),
                  f"[bold]{_fmt(c.earned)} / {_fmt(c.automatic)}[/]"
                  + (f" (+{_fmt(c.human)} h)" if c.human else ""), "", "")
        for i in c.items:
            if i.kind == "human":
                continue
            mark = "[green]✓[/]" if i.passed else ("[yellow]~[/]" if i.earned else "[red]✗[/]")
            t.add_row(f"  {mark} {i.name}", f"{_fmt(i.earned)} / {_fmt(i.points)}",
                      _escape(i.evidence), _escape(i.fix))
    console.print(t)
    if result.human:
        h = Table(title="For a human reader (not counted as earned)", expand=True)
        h.add_column("item", ratio=3)
        h.add_column("points", justify="right", no_wrap=True)
        h.add_column("what was found", ratio=8)
        for i in result.human:
            h.add_row(i.name, _fmt(i.points), _escape(i.evidence or "—"))
        console.print(h)
    for cl in result.lists:
        marks = "  ".join(("[green]✓[/] " if e.passed else "[red]✗[/] ") + _escape(e.text) for e in cl.entries)
        console.print(f"[bold]{cl.title}:[/] {marks}")
    if not result.integrity.ok:
        console.print("[bold red]integrity:[/] " + _escape("; ".join(result.integrity.differences[:5])
                                                          or "report.html not verified against report.json"))
    console.print(f"[bold]{result.score.line}[/]")


def make_console() -> Any:
    """A terminal's own width; a pipe or file gets 140 columns (rich would wrap at 80)."""
    return Console() if sys.stdout.isatty() else Console(width=140)


def _escape(text: str) -> str:
    return escape(text or "")


def csv_rows(results: list[Graded], rubric: Rubric) -> tuple[list[str], list[list[Any]]]:
    """One row per submission: status, score, a column per criterion and per item."""
    header = ["submission", "status", "earned", "automatic", "human", "bonus_earned", "integrity"]
    header += [c.id for c in rubric.criteria] + [i.id for _, i in rubric.items()]
    rows = []
    for r in results:
        if not isinstance(r, CheckResult):
            rows.append([r.report_dir, r.error] + [""] * (len(header) - 2))
            continue
        s = r.score
        row = [r.report_dir, "ok" if s.integrity else "integrity: " + "; ".join(r.integrity.differences[:3]),
               s.earned, s.automatic, s.human, s.bonus_earned, s.integrity]
        row += [c.earned for c in r.criteria]
        row += ["human" if i.kind == "human" else i.earned for c in r.criteria for i in c.items]
        rows.append(row)
    return header, rows


def write_csv(path: Path, results: list[Graded], rubric: Rubric) -> None:
    header, rows = csv_rows(results, rubric)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    write_text(path, buf.getvalue())
