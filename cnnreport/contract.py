"""What every part of report.json is built on: a strict pydantic model, and the one way a
malformed part is described to a person.

Each stage defines the models of the parts it computes (the study summary in study/, the data
set in data/, per-model statistics and comparisons in results/, figures and words in report/,
the rubric's result in rubric/); report.json is the dump of the root model
(rubric/report_json.py) and report.schema.json is generated from it. The same models parse a
submission, so the schema a grader validates against and the check's reading of a report are
one thing (docs/contracts.md).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError


class Part(BaseModel):
    """A part of report.json: unknown keys are errors, nothing is converted ("0.5" is not a
    number, true is not an integer), and NaN or infinity is never a number."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _finite_or_none(value: Any) -> Any:
    """A measurement that did not happen (a diverged run's NaN loss) is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# A measured value that may be missing: null in report.json (a diverged run, one seed's std).
Measured = Annotated[float | None, BeforeValidator(_finite_or_none)]

# What a person reads for each kind of problem pydantic reports (its own messages name Python
# types: "Input should be a valid number" becomes "expected a number").
_PROBLEMS = {
    "missing": "required key missing",
    "extra_forbidden": "unknown key",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "none_required": "expected null",
}


_UNION_TAGS = ("function-", "nullable[", "list[", "tuple[", "dict[", "literal[", "json-or-python[")


def _model_names() -> set[str]:
    names, todo = set(), [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            names.add(sub.__name__)
            todo.append(sub)
    return names


def field_path(loc: tuple[int | str, ...]) -> str:
    """('models', 0, 'test_accuracy', 'mean') → 'models[0].test_accuracy.mean'. The union members
    pydantic adds to a path ('float', 'MLPSpec', 'function-before[…]') are left out."""
    tags = _model_names() | {"int", "float", "str", "bool", "none"}
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in tags and not part.startswith(_UNION_TAGS):
            out += f".{part}" if out else part
    return out or "(top level)"


def _problem(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "literal_error":
        return "expected " + error["msg"].removeprefix("Input should be ")
    if kind in _PROBLEMS:
        return _PROBLEMS[kind]
    return error["msg"].removeprefix("Value error, ")


def problems(exc: ValidationError) -> list[str]:
    """Each problem as 'field.path: what was expected', one per field (a union reports a field
    once, with the first of its members' complaints)."""
    seen: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        seen.setdefault(field_path(error["loc"]), _problem(error))
    return [f"{path}: {problem}" for path, problem in seen.items()]
