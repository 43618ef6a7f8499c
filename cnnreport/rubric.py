"""The course rubric as data (rubric.toml), and a report scored against it with evidence.

Each rubric item is bound to an automated check (rubric_checks.CHECKS) or marked `human`: a
human item's check, if any, only gathers what a reader will find; its points are never counted
as earned. The score reads "verified X of Y automatic points; Z points for a human reader".
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import UserError
from .rubric_checks import CHECKS, Outcome
from .submission import NotAReport, Submission

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

DEFAULT_RUBRIC = Path(__file__).resolve().parent.parent / "rubric.toml"
ID = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"


# -------------------------------------------------------------------------------------- schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Strict):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1)
    points: float = Field(ge=0, allow_inf_nan=False)
    check: str | None = None
    params: dict[str, Any] = {}
    human: bool = False  # a reader judges it; `check` then only gathers evidence
    fix: str = ""  # how to fix, when the check gives none

    @model_validator(mode="after")
    def _bound(self) -> "Item":
        if self.check is None and not self.human:
            raise ValueError("needs a `check` (one of the automated checks) or `human = true`")
        if self.check is not None:
            if self.check not in CHECKS:
                raise ValueError(f"unknown check {self.check!r}; expected one of {sorted(CHECKS)}")
            try:
                CHECKS[self.check].params.model_validate(self.params)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"])
                raise ValueError(f"params{'.' + where if where else ''}: {err['msg']}") from None
        elif self.params:
            raise ValueError("params given without a check")
        return self


class Criterion(_Strict):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1)
    points: float = Field(ge=0, allow_inf_nan=False)
    bonus: bool = False  # on top of the total
    items: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _items_add_up(self) -> "Criterion":
        total = sum(i.points for i in self.items)
        if not math.isclose(total, self.points, abs_tol=1e-6):
            raise ValueError(f"items add up to {total:g} points, the criterion says {self.points:g}")
        return self


class ListEntry(_Strict):
    text: str = Field(min_length=1)
    items: list[str] = Field(min_length=1)  # rubric item ids: the entry passes when all of them do


class Checklist(_Strict):
    id: str = Field(pattern=ID)
    title: str = Field(min_length=1)
    entries: list[ListEntry] = Field(min_length=1)


class Rubric(_Strict):
    title: str = Field(min_length=1)
    total: float = Field(gt=0, allow_inf_nan=False)
    criteria: list[Criterion] = Field(min_length=1)
    lists: list[Checklist] = []
    source: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> "Rubric":
        seen: set[str] = set()
        for c in self.criteria:
            for i in [c.id] + [i.id for i in c.items]:
                if i in seen:
                    raise ValueError(f"id {i!r} used twice")
                seen.add(i)
        main = sum(c.points for c in self.criteria if not c.bonus)
        if not math.isclose(main, self.total, abs_tol=1e-6):
            raise ValueError(f"criteria (bonus excluded) add up to {main:g} points, total says {self.total:g}")
        items = {i.id for c in self.criteria for i in c.items}
        for cl in self.lists:
            for e in cl.entries:
                unknown = [i for i in e.items if i not in items]
                if unknown:
                    raise ValueError(f"list {cl.id!r} entry {e.text!r}: unknown item(s) {unknown}")
        return self

    def items(self) -> list[tuple[Criterion, Item]]:
        return [(c, i) for c in self.criteria for i in c.items]


def _name_location(raw: Any, loc: tuple[Any, ...]) -> str:
    """criteria[3] 'rigour' → items[1] 'rigour.controlled' → points, from a pydantic error location."""
    parts, cur = [], raw
    for key in loc:
        if isinstance(key, int) and isinstance(cur, list):
            label = f"[{key}]"
            cur = cur[key] if key < len(cur) else None
            if isinstance(cur, dict) and isinstance(cur.get("id"), str):
                label += f" ({cur['id']})"
            parts[-1] = parts[-1] + label if parts else label
        else:
            parts.append(str(key))
            cur = cur.get(key) if isinstance(cur, dict) else None
    return ".".join(parts) or "top level"


def parse_rubric(raw: Any, origin: str = "<rubric>") -> Rubric:
    if not isinstance(raw, dict):
        raise UserError(f"{origin}: expected a TOML table at the top level")
    try:
        return Rubric.model_validate({**raw, "source": origin})
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        raise UserError(f"{origin}: {_name_location(raw, tuple(err['loc']))}: {msg}") from None


def load_rubric_text(text: str, origin: str = "<rubric>") -> Rubric:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{origin}: not valid TOML ({exc})") from None
    return parse_rubric(raw, origin)


def load_rubric(path: str | Path | None = None) -> Rubric:
    path = Path(path) if path else DEFAULT_RUBRIC
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the rubric ({exc.__class__.__name__})") from None
    return load_rubric_text(text, str(path))


# ------------------------------------------------------------------------------------- scoring


def _run(sub: Submission, item: Item) -> Outcome:
    if item.check is None:
        return Outcome(0.0, "")
    cdef = CHECKS[item.check]
    try:
        return cdef.fn(sub, cdef.params.model_validate(item.params))
    except NotAReport:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError) as exc:
        # A damaged report.json: the item fails and says what was unreadable.
        return Outcome(0.0, f"report.json damaged where this check reads it ({type(exc).__name__}: {exc})",
                       "rebuild the report with `cnnreport render`")


def _pts(x: float) -> float:
    return round(x + 1e-9, 1)


def score(sub: Submission, rubric: Rubric) -> dict[str, Any]:
    """The check's result as data: criteria with items, human items apart, lists, integrity, score."""
    sub.report  # noqa: B018 - raises NotAReport for a folder that is not a report
    criteria, human, outcomes = [], [], {}
    for c in rubric.criteria:
        items = []
        for i in c.items:
            out = _run(sub, i)
            passed = None if i.human else out.fraction >= 1.0 - 1e-9
            earned = 0.0 if i.human else _pts(i.points * max(0.0, min(1.0, out.fraction)))
            outcomes[i.id] = passed
            row = {"id": i.id, "name": i.name, "points": i.points, "kind": "human" if i.human else "auto",
                   "check": i.check, "earned": earned, "passed": passed, "evidence": out.evidence,
                   "fix": "" if passed else (out.fix or i.fix)}
            if i.human:
                row["fix"] = ""
                human.append({"criterion": c.id, **row})
            items.append(row)
        auto = [r for r in items if r["kind"] == "auto"]
        criteria.append({"id": c.id, "name": c.name, "points": c.points, "bonus": c.bonus,
                         "earned": _pts(sum(r["earned"] for r in auto)),
                         "automatic": _pts(sum(r["points"] for r in auto)),
                         "human": _pts(sum(r["points"] for r in items if r["kind"] == "human")),
                         "items": items})
    main = [c for c in criteria if not c["bonus"]]
    bonus = [c for c in criteria if c["bonus"]]
    x = _pts(sum(c["earned"] for c in main))
    y = _pts(sum(c["automatic"] for c in main))
    z = _pts(sum(c["human"] for c in main))
    from .integrity import verify

    integ = verify(sub)
    score_ = {"earned": x, "automatic": y, "human": z, "total": rubric.total,
              "bonus_earned": _pts(sum(c["earned"] for c in bonus)),
              "bonus_automatic": _pts(sum(c["automatic"] for c in bonus)),
              "bonus_human": _pts(sum(c["human"] for c in bonus)),
              "integrity": integ.ok,
              "line": f"verified {x:g} of {y:g} automatic points; {z:g} points for a human reader"}
    if bonus:
        score_["line"] += (f" (bonus: verified {score_['bonus_earned']:g} of {score_['bonus_automatic']:g}; "
                           f"{score_['bonus_human']:g} for a reader)")
    lists = [{"id": cl.id, "title": cl.title,
              "entries": [{"text": e.text, "items": e.items,
                           "passed": all(outcomes.get(i) is True for i in e.items)} for e in cl.entries]}
             for cl in rubric.lists]
    return {"report_dir": str(sub.folder), "rubric": {"title": rubric.title, "source": rubric.source},
            "score": score_, "criteria": criteria, "human": human, "lists": lists,
            "integrity": integ.as_dict(), "pdf": sub.pdf_state,
            "generator": sub.get("generator"), "notes": list(sub.notes)}


def check_report(folder: str | Path, rubric: Rubric | None = None, *, runs_dir: str | Path | None = None) -> dict[str, Any]:
    return score(Submission(folder, runs_dir=runs_dir), rubric or load_rubric())


APPENDIX_KEYS = ("rubric", "score", "criteria", "human", "lists", "integrity", "pdf")


def appendix(folder: Path, context: dict[str, Any], runs_dir: Path | None,
             rubric: Rubric | None = None) -> dict[str, Any]:
    """report.json's `rubric`: the check as the build runs it, on the HTML just rendered (the
    PDF does not exist yet; `cnnreport check` reads it afterwards)."""
    ctx = {**context, "rubric": None}
    result = score(Submission(folder, ctx, runs_dir=runs_dir, read_pdf=False), rubric or load_rubric())
    return {k: result[k] for k in APPENDIX_KEYS}


# -------------------------------------------------------------------------------------- output


def _fmt(x: float) -> str:
    return f"{x:g}"


def print_table(result: dict[str, Any], console: Any = None) -> None:
    """The result as rich tables: scored items, then the items a human reader judges."""
    from rich.table import Table

    console = console or make_console()
    t = Table(title=f"{result['rubric']['title']} — {result['report_dir']}", show_lines=False,
              expand=True)
    t.add_column("criterion / item", ratio=3)
    t.add_column("points", justify="right", no_wrap=True)
    t.add_column("evidence", ratio=6)
    t.add_column("how to fix", ratio=4)
    for c in result["criteria"]:
        t.add_row(f"[bold]{c['name']}[/]" + (" (bonus)" if c["bonus"] else ""),
                  f"[bold]{_fmt(c['earned'])} / {_fmt(c['automatic'])}[/]"
                  + (f" (+{_fmt(c['human'])} h)" if c["human"] else ""), "", "")
        for i in c["items"]:
            if i["kind"] == "human":
                continue
            mark = "[green]✓[/]" if i["passed"] else ("[yellow]~[/]" if i["earned"] else "[red]✗[/]")
            t.add_row(f"  {mark} {i['name']}", f"{_fmt(i['earned'])} / {_fmt(i['points'])}",
                      _escape(i["evidence"]), _escape(i["fix"]))
    console.print(t)
    if result["human"]:
        h = Table(title="For a human reader (not counted as earned)", expand=True)
        h.add_column("item", ratio=3)
        h.add_column("points", justify="right", no_wrap=True)
        h.add_column("what was found", ratio=8)
        for i in result["human"]:
            h.add_row(i["name"], _fmt(i["points"]), _escape(i["evidence"] or "—"))
        console.print(h)
    for cl in result["lists"]:
        marks = "  ".join(("[green]✓[/] " if e["passed"] else "[red]✗[/] ") + _escape(e["text"]) for e in cl["entries"])
        console.print(f"[bold]{cl['title']}:[/] {marks}")
    if not result["integrity"]["ok"]:
        console.print("[bold red]integrity:[/] " + _escape("; ".join(result["integrity"]["differences"][:5])
                                                          or "report.html not verified against report.json"))
    console.print(f"[bold]{result['score']['line']}[/]")


def make_console() -> Any:
    """A terminal's own width; a pipe or file gets 140 columns (rich would wrap at 80)."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=140)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text or "")


def csv_rows(results: list[dict[str, Any]], rubric: Rubric) -> tuple[list[str], list[list[Any]]]:
    """One row per submission: status, score, a column per criterion and per item."""
    header = ["submission", "status", "earned", "automatic", "human", "bonus_earned", "integrity"]
    header += [c.id for c in rubric.criteria] + [i.id for _, i in rubric.items()]
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["report_dir"], r["error"]] + [""] * (len(header) - 2))
            continue
        s = r["score"]
        row = [r["report_dir"], "ok" if s["integrity"] else "integrity: " + "; ".join(r["integrity"]["differences"][:3]),
               s["earned"], s["automatic"], s["human"], s["bonus_earned"], s["integrity"]]
        row += [c["earned"] for c in r["criteria"]]
        row += ["human" if i["kind"] == "human" else i["earned"] for c in r["criteria"] for i in c["items"]]
        rows.append(row)
    return header, rows


def write_csv(path: Path, results: list[dict[str, Any]], rubric: Rubric) -> None:
    header, rows = csv_rows(results, rubric)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    tmp.replace(path)
