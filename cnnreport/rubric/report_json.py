"""report.json's root model: the report's content (report/content.py) and the rubric check's
result. report.json is its dump, report.schema.json its JSON Schema, and `cnnreport check` reads
a submission through it, so what a grader validates and what the check reads are one contract.

The root sits in the rubric stage because its last part is the rubric's own result, and imports
run one way (study → … → report → rubric).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from cnnreport.contract import problems
from cnnreport.files import write_json, write_text
from cnnreport.report.content import REPORT_FORMAT, SCHEMA_FILE, ReportContent
from cnnreport.rubric.result import RubricAppendix

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class ReportJson(ReportContent):
    """report.json: everything the report states (`rubric` null until the check has run)."""

    rubric: RubricAppendix | None

    @classmethod
    def of(cls, content: ReportContent, rubric: RubricAppendix | None) -> "ReportJson":
        """The report's content with the rubric check's result (its parts are taken as they are)."""
        parts = {name: getattr(content, name) for name in ReportContent.model_fields if name != "schema_"}
        return cls.model_validate({**parts, "$schema": content.schema_, "rubric": rubric})


class MalformedReport(ValueError):
    """A report.json that is JSON but not as cnnreport writes it: each problem names the field
    path and what was expected."""

    def __init__(self, found: list[str]):
        self.problems = found
        shown = "; ".join(found[:5]) + (f" (and {len(found) - 5} more)" if len(found) > 5 else "")
        super().__init__(f"not as cnnreport writes it (format {REPORT_FORMAT}): {shown}")


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def parse_report(text: str) -> ReportJson:
    """A submission's report.json, read strictly. Raises ValueError (json.JSONDecodeError for text
    that is not JSON, MalformedReport for JSON that breaks the contract)."""
    try:
        data = json.loads(text, parse_constant=_no_constant)  # NaN and Infinity are not JSON
    except RecursionError:
        raise ValueError("nested too deeply to be a report.json") from None
    if not isinstance(data, dict):
        raise MalformedReport(["(top level): expected an object"])
    try:
        # Validated from the text, not from `data`: strict JSON mode takes an array where a model
        # holds a tuple (an image size), as the schema does; strict Python mode would not.
        return ReportJson.model_validate_json(text)
    except ValidationError as exc:
        raise MalformedReport(problems(exc)) from None


def report_schema() -> dict[str, Any]:
    """report.schema.json: the JSON Schema (draft 2020-12) of report.json, from the models."""
    schema = ReportJson.model_json_schema(by_alias=True)
    schema["title"] = "cnnreport report.json"
    schema["description"] = (f"Everything a cnnreport report states, as data (format {REPORT_FORMAT}). "
                             "Generated from cnnreport's models; see docs/contracts.md.")
    return {"$schema": SCHEMA_DIALECT, **schema}


def schema_text() -> str:
    return json.dumps(report_schema(), indent=2, ensure_ascii=False) + "\n"


def dump(report: ReportJson) -> dict[str, Any]:
    """The JSON value of a report (keys by their report.json names: `$schema`, `class`)."""
    return report.model_dump(mode="json", by_alias=True)


def write_report(folder: Path, report: ReportJson, into: Mapping[str, Path] | None = None) -> Path:
    """report.json and, beside it, the schema its `$schema` names. `into` maps a file's name to
    the path it is written to instead (the temporaries of a render that replaces the report's
    files together, pipeline.render)."""
    at = {name: (into or {}).get(name, folder / name) for name in (SCHEMA_FILE, "report.json")}
    write_text(at[SCHEMA_FILE], schema_text())
    return write_json(at["report.json"], dump(report))
