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
