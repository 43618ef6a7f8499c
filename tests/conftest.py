"""Fixtures: tiny study files, data sets written in their exact on-disk formats, and ONE real
build of the tiny study (session-scoped) that every test needing trained runs shares.

Unit tests never train on a data set of their own. The shared build trains the tiny study on a
real Fashion-MNIST subset (Debian's dataset-fashion-mnist); tests that need it skip with a
reason where it is absent. A test that changes runs or reports works on a copy
(`trained_copy`, or `trained_study.copy_to(...)` for a wider scope); the others only read.
Helpers that are not fixtures live in helpers.py.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import TrainedStudy, shared_study_toml, study_toml, write_cifar_archive, write_idx_folder

from cnnreport import cli
from cnnreport.data import sources as data


@pytest.fixture
def write_study(tmp_path: Path):
    """Write a study file from keyword settings (see helpers.study_toml) and return its path."""

    def write(filename: str = "study.toml", **settings: Any) -> Path:
        path = tmp_path / filename
        path.write_text(study_toml(**settings), encoding="utf-8")
        return path

    return write


@pytest.fixture
def idx_dir(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    folder = tmp_path / "fashion"
    return folder, write_idx_folder(folder)


@pytest.fixture
def cifar_dir(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    folder = tmp_path / "cifar"
    return folder, write_cifar_archive(folder)


# --------------------------------------------------------------------- the shared real tiny build


@pytest.fixture(scope="session")
def fashion_copy() -> Path:
    found = data.system_copy("fashion_mnist")
    if found is None:
        pytest.skip("Debian's Fashion-MNIST (package dataset-fashion-mnist) is not installed")
    return found


@pytest.fixture(scope="session")
def trained_study(tmp_path_factory: pytest.TempPathFactory, fashion_copy: Path) -> TrainedStudy:
    """One real `cnnreport build` (PDF included) of the shared tiny study: a Fashion-MNIST subset
    (600 / 200 / 500), 2 epochs, 2 seeds, MLP + 4 kernel sizes + the locality probe = 14 runs,
    with the author's text the rubric looks for. Read it; change only a copy."""
    root = tmp_path_factory.mktemp("trained")
    trained = TrainedStudy(root)
    trained.study_file.write_text(shared_study_toml(), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()  # capsys is function-scoped: capture by hand
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["build", "--study", str(trained.study_file), "--runs-dir", str(trained.runs),
                         "--reports-dir", str(trained.reports)])
    assert code == 0, err.getvalue()
    return TrainedStudy(root, stdout=out.getvalue())


@pytest.fixture
def trained_copy(trained_study: TrainedStudy, tmp_path: Path) -> TrainedStudy:
    """A private copy of the shared build (study file, runs, reports) for a test that changes it."""
    return trained_study.copy_to(tmp_path / "trained")


# ------------------------------------------------------------ every report built follows the schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "report.schema.json"


@pytest.fixture(scope="session")
def schema_validator():
    """A JSON Schema validator (the jsonschema package, not cnnreport) of the committed schema."""
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.fixture(autouse=True)
def reports_follow_the_schema(monkeypatch: pytest.MonkeyPatch, schema_validator) -> None:
    """Every report.json a test writes in this process is validated, as written, against the
    committed report.schema.json (a build in a subprocess is validated by its own test)."""
    import json

    from cnnreport.rubric import report_json

    real = report_json.write_report

    def write_and_validate(folder: Path, report: Any, into: Any = None) -> Path:
        path = real(folder, report, into)
        errors = sorted(schema_validator.iter_errors(json.loads(path.read_text(encoding="utf-8"))), key=str)
        assert not errors, f"{path} breaks report.schema.json: " + "; ".join(
            f"{e.json_path}: {e.message[:120]}" for e in errors[:5])
        return path

    monkeypatch.setattr(report_json, "write_report", write_and_validate)
    monkeypatch.setattr("cnnreport.pipeline.write_report", write_and_validate)


@pytest.fixture
def follows_schema(schema_validator):
    """assert that a report.json (a path or its value) follows the committed schema."""
    import json

    def check(report: Any) -> None:
        value = json.loads(Path(report).read_text(encoding="utf-8")) if isinstance(report, (str, Path)) else report
        errors = sorted(schema_validator.iter_errors(value), key=str)
        assert not errors, "; ".join(f"{e.json_path}: {e.message[:120]}" for e in errors[:5])

    return check
