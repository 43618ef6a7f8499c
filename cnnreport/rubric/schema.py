"""The course rubric as data (rubric.toml): criteria and items, each bound to an automated check
(with its parameters) or marked `human`; loaded strictly, a bad item named in one line.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cnnreport import resources
from cnnreport.errors import UserError
from cnnreport.formatting import fmt_points
from cnnreport.rubric.checks.catalogue import CHECKS

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

DEFAULT_RUBRIC = resources.rubric()
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
            raise ValueError(f"items add up to {fmt_points(total)} points, the criterion says {fmt_points(self.points)}")
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
            raise ValueError(f"criteria (bonus excluded) add up to {fmt_points(main)} points, total says {fmt_points(self.total)}")
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
                ident = cur["id"]
                label += f" ({ident if ident.isprintable() else repr(ident)})"  # one line, whatever the id
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
