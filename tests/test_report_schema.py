"""report.json is a published contract: report.schema.json, generated from the models `check`
reads a report through, is committed; every report the suite builds follows it (validated with
the jsonschema package, conftest.reports_follow_the_schema); a broken variant — a key missing, a
wrong type, a value outside an enumeration — is refused alike by any JSON Schema validator and by
`check`, which names the field and exits 2 without a traceback."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnreport import cli
from cnnreport.rubric.report_json import MalformedReport, parse_report, schema_text

from helpers import REPO, TrainedStudy, run_cli


def test_the_committed_schema_is_the_one_the_models_generate() -> None:
    committed = (REPO / "report.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "report.schema.json is stale: run `cnnreport schema > report.schema.json`"


def test_the_shared_build_follows_the_schema_it_names(trained_study: TrainedStudy, follows_schema) -> None:
    folder = trained_study.report_dir
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    follows_schema(report)
    assert report["$schema"] == "report.schema.json" and report["format"] == 4
    assert (folder / "report.schema.json").read_text(encoding="utf-8") == schema_text()


def test_the_schema_command_prints_the_committed_schema(capsys) -> None:
    code, out, _ = run_cli(["schema"], capsys)
    assert code == 0 and out == (REPO / "report.schema.json").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- broken variants


def _set(path: list[Any], value: Any) -> Any:
    def edit(report: dict[str, Any]) -> None:
        node = report
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return edit


def _delete(path: list[Any]) -> Any:
    def edit(report: dict[str, Any]) -> None:
        node = report
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return edit


BROKEN = {  # what is broken → (the edit, the line `check` prints names this)
    "missing key": (_delete(["models", 0, "test_accuracy", "mean"]),
                    "models[0].test_accuracy.mean: required key missing"),
    "wrong type": (_set(["models", 0, "test_accuracy", "mean"], "0.85"),
                   "models[0].test_accuracy.mean: expected a number"),
    "an integer as text": (_set(["dataset", "sizes", "train"], "600"), "dataset.sizes.train: expected an integer"),
    "unknown role": (_set(["models", 1, "role"], "teacher"),
                     "models[1].role: expected 'baseline', 'reference' or 'variant'"),
    "unknown verdict": (_set(["comparisons", 0, "verdict"], "tie"), "comparisons[0].verdict: expected 'higher'"),
    "unknown family": (_set(["comparisons", 0, "family"], "all"), "comparisons[0].family: expected 'primary' or"),
    "older format": (_set(["format"], 3), "format: expected 4"),
    "unknown key": (_set(["probes", "padding"], [1, 2]), "probes.padding: unknown key"),
}


@pytest.mark.parametrize("broken", list(BROKEN))
def test_a_broken_report_is_refused_by_the_schema_and_by_check(broken: str, trained_study: TrainedStudy,
                                                                schema_validator, tmp_path: Path, capsys) -> None:
    edit, named = BROKEN[broken]
    report = trained_study.report()
    edit(report)
    assert not schema_validator.is_valid(report), f"the schema accepts a report with {broken}"
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    code, out, err = run_cli(["check", str(folder)], capsys)
    assert code == 2 and named in err and "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1, err


# ------------------------------------------------------------------------------------ fuzzing


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: object keys and list items, at every depth."""
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*path, i))
    return out


def _other_type(value: Any) -> Any:
    """A JSON value of another type than `value` (never a number of another kind)."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return "12"
    if isinstance(value, str):
        return 12
    if value is None:
        return {"x": 1}
    return [1] if isinstance(value, dict) else {"x": [1]}


def _mutate(report: dict[str, Any], path: tuple[Any, ...], how: str) -> dict[str, Any]:
    out = copy.deepcopy(report)
    parent: Any = out
    for key in path[:-1]:
        parent = parent[key]
    target = parent[path[-1]] if path else out
    if how == "delete" and path and isinstance(parent, dict):
        del parent[path[-1]]
    elif how == "add a key" and isinstance(target, dict):
        target["zz_not_a_key"] = 1
    elif how == "another word" and isinstance(target, str) and path:
        parent[path[-1]] = "not-one-of-its-words"
    elif path:
        parent[path[-1]] = _other_type(target)
    return out


@pytest.fixture(scope="module")
def shared_report(trained_study: TrainedStudy) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    report = trained_study.report()
    # The runs' and figures' long lists say nothing new past their first items: sample those.
    return report, [p for p in _paths(report) if not any(isinstance(k, int) and k > 1 for k in p)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_reports_are_read_by_check_exactly_as_the_schema_reads_them(
        data, shared_report, schema_validator, tmp_path: Path, capsys) -> None:
    report, paths = shared_report
    path = data.draw(st.sampled_from(paths), label="path")
    how = data.draw(st.sampled_from(["delete", "add a key", "another word", "another type"]), label="how")
    variant = _mutate(report, path, how)
    valid = schema_validator.is_valid(variant)
    try:
        parse_report(json.dumps(variant))
        parsed = True
    except MalformedReport:
        parsed = False
    assert parsed == valid, (path, how)
    if not valid:  # refused with the field named, exit 2, one line, no traceback
        folder = tmp_path / "sub"
        folder.mkdir(exist_ok=True)
        (folder / "report.json").write_text(json.dumps(variant), encoding="utf-8")
        code = cli.main(["check", str(folder)])
        out, err = capsys.readouterr()
        assert code == 2 and "not as cnnreport writes it" in err and "Traceback" not in out + err
        assert len(err.strip().splitlines()) == 1
