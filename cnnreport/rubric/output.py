"""The rubric check's result for people: rich tables on a terminal (the CSV: gradebook.py)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cnnreport.formatting import fmt_points as _fmt
from cnnreport.rubric.result import CheckResult

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
