"""Re-running a claim (rubric/reproduce.py): `check --reproduce` retrains a drawn run from the
study file the report folder carries; an honest submission passes, one whose run was forged
consistently (run.json, its checksums and the report rebuilt from them) fails with both numbers
shown; the grader's runs never land in the submission. The tolerance's arithmetic is checked
against scipy's own quantile.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest
from scipy import stats

from cnnreport.cli import main
from cnnreport.files import write_json
from cnnreport.rubric import reproduce
from cnnreport.rubric.scoring import check_report

from helpers import TrainedStudy


def _cheap_draw(report: dict) -> tuple[int, str]:
    """A draw seed that picks an MLP run (the cheapest to retrain), and the run it picks."""
    ids = [r["run_id"] for r in report["runs"] if not r["diverged"]]
    for seed in range(100):
        (picked,) = reproduce.draw(ids, 1, seed)
        if picked.startswith("mlp-s") and "permuted" not in picked:
            return seed, picked
    raise AssertionError("no draw picks an MLP run")


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_an_honest_submission_reproduces(trained_copy: TrainedStudy, tmp_path: Path, capsys) -> None:
    folder = trained_copy.report_dir
    assert (folder / "study.toml").read_bytes() == trained_copy.study_file.read_bytes()  # render copied it
    seed, run_id = _cheap_draw(trained_copy.report())
    before = _tree(folder)
    scratch = tmp_path / "scratch"
    assert main(["check", str(folder), "--reproduce", "1", "--reproduce-seed", str(seed),
                 "--scratch", str(scratch)]) == 0
    out = capsys.readouterr().out
    assert f"draw seed {seed}" in out and "reproduced" in out and "NOT reproduced" not in out
    assert run_id in out and "same backend, version, device, processor and precision" in out
    assert _tree(folder) == before  # nothing written into the submission
    assert list(scratch.rglob("run.json"))  # the grader's run went to the scratch folder


def test_a_consistently_forged_run_fails_with_both_numbers_shown(trained_copy: TrainedStudy, capsys) -> None:
    seed, run_id = _cheap_draw(trained_copy.report())
    run = trained_copy.study_runs / run_id
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    honest = record["test"]["accuracy"]
    forged = round(min(0.99, honest + 0.25), 4)
    record["test"]["accuracy"] = forged
    record["history"]["val_loss"][-1] -= 0.4
    write_json(run / "run.json", record)
    # The checksums rewritten with it, and the report rebuilt from the forged run: consistent.
    sums = json.loads((run / "checksums.json").read_text(encoding="utf-8"))
    sums["files"]["run.json"] = hashlib.sha256((run / "run.json").read_bytes()).hexdigest()
    write_json(run / "checksums.json", sums)
    assert main(["render", "--study", str(trained_copy.study_file), "--runs-dir", str(trained_copy.runs),
                 "--reports-dir", str(trained_copy.reports), "--no-pdf"]) == 0
    (trained_copy.report_dir / "report.pdf").unlink(missing_ok=True)  # the old PDF states the honest numbers
    capsys.readouterr()
    assert check_report(trained_copy.report_dir).score.integrity  # the integrity check cannot see it

    assert main(["check", str(trained_copy.report_dir), "--reproduce", "1", "--reproduce-seed", str(seed)]) == 1
    out = capsys.readouterr().out
    assert "NOT reproduced" in out
    assert f"claimed {forged:.4f}, retrained {honest:.4f}" in out


def test_a_report_folder_without_its_study_file_is_not_reproduced(trained_copy: TrainedStudy, capsys) -> None:
    (trained_copy.report_dir / "study.toml").unlink()
    assert main(["check", str(trained_copy.report_dir), "--reproduce", "1", "--reproduce-seed", "0"]) == 0
    assert "reproduction not attempted: the report folder carries no study.toml" in capsys.readouterr().out


def test_a_study_file_that_is_not_the_reports_fails(trained_copy: TrainedStudy, capsys) -> None:
    study = trained_copy.report_dir / "study.toml"
    study.write_text(study.read_text(encoding="utf-8").replace("epochs = 2", "epochs = 3"), encoding="utf-8")
    assert main(["check", str(trained_copy.report_dir), "--reproduce", "1", "--reproduce-seed", "0"]) == 1
    assert "is not the study the report was built from" in capsys.readouterr().out


def test_the_tolerance_is_the_binomial_error_and_the_rerun_spread_at_the_bonferroni_z() -> None:
    z = reproduce.z_value(4)  # two runs, two numbers each
    assert z == pytest.approx(stats.norm.ppf(1 - 0.01 / 8))
    p, n = 0.8, 500
    assert reproduce.accuracy_tolerance(p, n, 0.0, z) == pytest.approx(z * math.sqrt(p * (1 - p) / n))
    assert reproduce.accuracy_tolerance(p, n, 0.01, z) == pytest.approx(z * math.sqrt(p * (1 - p) / n + 1e-4))
    # The same seed draws the same runs; another seed, others.
    ids = [f"run-{i}" for i in range(20)]
    assert reproduce.draw(ids, 3, 7) == reproduce.draw(list(reversed(ids)), 3, 7) != reproduce.draw(ids, 3, 8)
