"""Gradescope (rubric/gradescope.py, rubric/autograder.py): `check --gradescope` writes the
autograder results.json Gradescope documents, and the bundle `cnnreport autograder` writes runs,
as Gradescope runs it, in a folder laid out like /autograder.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from cnnreport import __version__
from cnnreport.cli import main
from cnnreport.rubric.schema import load_rubric
from cnnreport.rubric.scoring import check_report

from helpers import TrainedStudy, copy_report, subprocess_env

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
# Gradescope's results.json as its "Autograder Specifications" page documents it (every key it
# lists; an unknown key is an error here, so a typo cannot pass unseen).
RESULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "max_score", "output", "visibility", "score"],
            "properties": {
                "score": {"type": "number"},
                "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]},
                "name": {"type": "string"},
                "name_format": FORMAT,
                "number": {"type": "string"},
                "output": {"type": "string"},
                "output_format": FORMAT,
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY,
                "extra_data": {"type": "object"},
            }}},
        "leaderboard": {"type": "array"},
    },
    "required": ["score", "tests"],
}
VALIDATOR = Draft202012Validator(RESULTS_SCHEMA)


def _valid(results: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(results), key=str)
    assert not errors, "; ".join(f"{e.json_path}: {e.message}" for e in errors[:5])


def test_results_json_has_gradescopes_shape_one_test_per_item(trained_study: TrainedStudy, tmp_path: Path,
                                                               capsys) -> None:
    folder = copy_report(trained_study.report_dir, tmp_path / "tiny")
    out = tmp_path / "results.json"
    assert main(["check", str(folder), "--gradescope", str(out), "--visibility", "after_published"]) == 0
    capsys.readouterr()
    results = json.loads(out.read_text(encoding="utf-8"))
    _valid(results)
    rubric = load_rubric()
    assert len(results["tests"]) == len(rubric.items())  # one per rubric item, human ones included
    # The tests add up to the score; human items add nothing but show their maximum and a note.
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    human = [t for t in results["tests"] if "read by a person" in t["name"]]
    assert len(human) == sum(1 for _, i in rubric.items() if i.human)
    assert all(t["score"] == 0 and t["max_score"] > 0 and "graded by a reader" in t["output"] and "status" not in t
               for t in human)
    direct = check_report(folder)
    assert results["score"] == pytest.approx(direct.score.earned + direct.score.bonus_earned)
    assert {t["visibility"] for t in results["tests"]} == {"after_published"}
    assert results["output"].startswith("verified")


def test_a_submission_that_is_no_report_still_gets_a_results_json(tmp_path: Path, capsys) -> None:
    (tmp_path / "submission").mkdir()
    out = tmp_path / "results.json"
    assert main(["check", str(tmp_path / "submission"), "--gradescope", str(out)]) == 2
    capsys.readouterr()
    results = json.loads(out.read_text(encoding="utf-8"))
    _valid(results)
    assert results["score"] == 0 and results["tests"] == [] and "no report.json" in results["output"]


def test_the_autograder_bundle_runs_in_a_folder_laid_out_like_autograder(trained_study: TrainedStudy,
                                                                         tmp_path: Path, capsys) -> None:
    bundle = tmp_path / "bundle"
    assert main(["autograder", "--out", str(bundle)]) == 0
    capsys.readouterr()
    # The zip as Gradescope wants it: the files at its root, the scripts executable.
    with zipfile.ZipFile(bundle / "autograder.zip") as z:
        assert sorted(z.namelist()) == ["README.md", "rubric.toml", "run_autograder", "setup.sh"]
        assert all((z.getinfo(n).external_attr >> 16) & stat.S_IXUSR for n in ("setup.sh", "run_autograder"))
        root = tmp_path / "autograder"
        z.extractall(root / "source")
    setup = (root / "source" / "setup.sh").read_text(encoding="utf-8")
    assert f"pip install --quiet cnnreport=={__version__}" in setup
    subprocess.run(["bash", "-n", str(root / "source" / "setup.sh")], check=True)
    assert "manual question" in (root / "source" / "README.md").read_text(encoding="utf-8")

    # Gradescope copies run_autograder to /autograder and unpacks the student's upload (here the
    # report folder one level down, as a zipped folder arrives) into /autograder/submission.
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    assert (root / "run_autograder").read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    copy_report(trained_study.report_dir, root / "submission" / "tiny")
    env = subprocess_env(AUTOGRADER_ROOT=str(root), CNNREPORT=str(Path(sys.executable).parent / "cnnreport"))
    run = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    _valid(results)
    direct = check_report(root / "submission" / "tiny")
    assert results["score"] == pytest.approx(direct.score.earned + direct.score.bonus_earned) and results["score"] > 0

    # cnnreport itself failing still leaves a results.json saying so.
    env["CNNREPORT"] = str(tmp_path / "no-such-command")
    run = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True)
    assert run.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    _valid(results)
    assert results["score"] == 0 and "could not run" in results["output"]
