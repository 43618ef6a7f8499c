"""Faults: a build killed with SIGKILL at several points (mid-epoch, while a run folder is being
written, between runs) resumes to exactly the uninterrupted build's runs and results; a run
store write killed half-way leaves nothing that counts as a run; a study whose every run
diverges still renders a report that says so, and `check` scores it.

The uninterrupted build is the shared trained study; each test removes the kernel-7 model's two
runs from a copy, kills a `train` that retrains them, and resumes it in process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from cnnreport import files
from cnnreport.train import store

from helpers import SHARED_RUNS, TrainedStudy, run_cli, study_toml, subprocess_env, write_idx_folder

KILL_DEADLINE_S = 300  # a bound against a broken build, not a timing check


def _complete(runs: Path) -> dict[str, dict]:
    """run id → run record, for every complete run of the study."""
    return {d.name: json.loads((d / store.RUN_FILE).read_text(encoding="utf-8"))
            for d in runs.iterdir() if d.is_dir() and store.is_complete(d)}


def _temporaries(runs: Path) -> list[str]:
    return [d.name for d in runs.iterdir() if files.is_temporary(d.name)]


def _without_kernel_7(trained: TrainedStudy) -> tuple[dict[str, dict], list[str]]:
    """The uninterrupted build's records; the kernel-7 runs removed from the copy (to retrain)."""
    runs = trained.study_runs
    original = _complete(runs)
    assert len(original) == SHARED_RUNS
    removed = [r for m in trained.report()["models"] if m["level"] == 7 for r in m["run_ids"]]
    for run_id in removed:
        for f in (runs / run_id).iterdir():
            f.unlink()
        (runs / run_id).rmdir()
    return original, removed


def _kill_when(trained: TrainedStudy, log: Path, ready: Callable[[str], bool]) -> None:
    """Start `cnnreport train` in a subprocess and SIGKILL it the moment ready(its output) holds
    (polled every millisecond)."""
    args = [sys.executable, "-m", "cnnreport.cli", "train", "--study", str(trained.study_file),
            "--runs-dir", str(trained.runs)]
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=subprocess_env(),
                                cwd=trained.root)
        try:
            deadline = time.monotonic() + KILL_DEADLINE_S
            while not ready(log.read_text(encoding="utf-8", errors="replace")):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the kill point never came"
                time.sleep(0.001)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _resume_matches_uninterrupted(trained: TrainedStudy, original: dict[str, dict], capsys) -> str:
    """Resume in process; the runs are then the uninterrupted build's: same ids, same results."""
    code, out, err = run_cli(["train", "--study", trained.study_file, "--runs-dir", trained.runs], capsys)
    assert code == 0, err
    final = _complete(trained.study_runs)
    assert set(final) == set(original)
    for run_id, record in final.items():
        assert record["test"] == original[run_id]["test"], run_id
        assert record["history"]["loss"] == original[run_id]["history"]["loss"], run_id
        assert record["data_fingerprint"] == original[run_id]["data_fingerprint"]
    assert not _temporaries(trained.study_runs)  # a killed writer's leftovers are cleaned up
    return out


def test_kill_mid_epoch_then_resume_matches_the_uninterrupted_build(trained_copy, tmp_path, capsys):
    original, removed = _without_kernel_7(trained_copy)
    before = set(_complete(trained_copy.study_runs))
    # The first run's first epoch is logged: the kill lands in its second epoch.
    _kill_when(trained_copy, tmp_path / "train.log", lambda log: "[run 1/2]" in log and "epoch 1/2" in log)
    assert set(_complete(trained_copy.study_runs)) == before  # nothing half-trained counts
    assert not _temporaries(trained_copy.study_runs)  # killed before it began to write
    out = _resume_matches_uninterrupted(trained_copy, original, capsys)
    assert f"{SHARED_RUNS - 2} of {SHARED_RUNS} runs already done" in out and out.count("  done ") == 2


@pytest.mark.slow  # 10–15 s; `make test` kills the run store's writer half-way (below) without training
def test_kill_while_a_run_folder_is_written_then_resume_matches(trained_copy, tmp_path, capsys):
    original, removed = _without_kernel_7(trained_copy)
    before = set(_complete(trained_copy.study_runs))
    _kill_when(trained_copy, tmp_path / "train.log", lambda log: bool(_temporaries(trained_copy.study_runs)))
    left = _temporaries(trained_copy.study_runs)
    assert left and left[0].endswith(tuple(removed))  # killed with the run folder half-written
    assert set(_complete(trained_copy.study_runs)) == before
    _resume_matches_uninterrupted(trained_copy, original, capsys)


@pytest.mark.slow  # 10–15 s; test_pipeline_e2e kills a build between runs in `make test`
def test_kill_between_runs_then_resume_matches(trained_copy, tmp_path, capsys):
    original, removed = _without_kernel_7(trained_copy)
    _kill_when(trained_copy, tmp_path / "train.log", lambda log: "  done " in log)
    assert len(set(_complete(trained_copy.study_runs)) & set(removed)) == 1
    out = _resume_matches_uninterrupted(trained_copy, original, capsys)
    assert f"{SHARED_RUNS - 1} of {SHARED_RUNS} runs already done" in out


# The writer below stops half-way through a run folder (model.keras written, the rest not) and
# waits to be killed: the store's atomicity under SIGKILL, without training anything.
HALF_WRITER = """
import sys, time
from pathlib import Path
from cnnreport.train import store

def fill(tmp):
    (tmp / "model.keras").write_bytes(b"half a model")
    print("half", flush=True)
    time.sleep(60)

store.write_run(Path(sys.argv[1]), "r1", fill)
"""


def test_a_run_store_write_killed_half_way_leaves_no_run(tmp_path):
    study_dir = tmp_path / "runs" / "s"
    proc = subprocess.Popen([sys.executable, "-c", HALF_WRITER, str(study_dir)], stdout=subprocess.PIPE,
                            text=True, env=subprocess_env())
    try:
        assert proc.stdout.readline().strip() == "half"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    (leftover,) = study_dir.iterdir()
    assert files.is_temporary(leftover.name) and not (study_dir / "r1").exists()
    assert store.load_runs(study_dir) == [] and store.run_problem(study_dir / "r1") == "absent"
    assert store.clean_stale(study_dir) == [leftover] and not list(study_dir.iterdir())


# ---------------------------------------------------------------------------- every run diverges


def _build_diverging(tmp_path: Path, capsys, linear: bool) -> tuple[str, Path, dict]:
    """Build a tiny study at a learning rate of 1e30: the MLP's loss goes to NaN in its first
    epoch; with linear activations every model's does (ReLU CNNs die to a finite loss instead)."""
    write_idx_folder(tmp_path / "data", n_train=120, n_test=40)
    text = study_toml(name="diverge", seeds="[0]", train_subset=None, val_subset=None, test_subset=None,
                      epochs=1, levels="[1, 3]", learning_rate="1e30")
    if linear:
        text = (text.replace("hidden = [32]", 'hidden = [32]\nactivation = "linear"')
                    .replace("dense = [32]", 'dense = [32]\ndense_activation = "linear"')
                    .replace("kernel_size = 3\n", 'kernel_size = 3\nactivation = "linear"\n'))
    study = tmp_path / "diverge.toml"
    study.write_text(text, encoding="utf-8")
    code, out, err = run_cli(["build", "--study", study, "--data-dir", tmp_path / "data", "--runs-dir",
                              tmp_path / "runs", "--reports-dir", tmp_path / "reports", "--no-pdf"], capsys)
    assert code == 0, err
    folder = tmp_path / "reports" / "diverge"
    return out, folder, json.loads((folder / "report.json").read_text(encoding="utf-8"))


def test_a_study_whose_every_run_diverges_renders_a_report_that_says_so(tmp_path, capsys):
    """Was: `max() arg is an empty sequence`."""
    out, folder, report = _build_diverging(tmp_path, capsys, linear=True)
    assert out.count("loss became NaN — recorded as diverged") == 5
    assert all(r["diverged"] for r in report["runs"])
    assert all(m["test_accuracy"]["mean"] is None for m in report["models"])
    runs_complete = next(c for c in report["checklist"] if c["id"] == "runs_complete")
    assert not runs_complete["passed"] and "diverged" in runs_complete["evidence"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Not measured: every run it needs diverged" in html and runs_complete["evidence"].split(":")[0] in html
    assert report["visuals"]["best_model"] is None
    code, out, err = run_cli(["check", folder, "--json"], capsys)
    assert code == 0, err  # scored, integrity intact: what it lacks costs points, not a crash
    result = json.loads(out)
    assert 0 < result["score"]["earned"] < result["score"]["automatic"] and result["score"]["integrity"]


@pytest.mark.slow  # 13–20 s: `make test` has the study whose every run diverges; this one runs with -m slow
def test_a_study_whose_baseline_diverges_renders_with_the_cnns_results(tmp_path, capsys):
    """Was: a TypeError in the permutation paragraph (None − float) when only the MLP diverged."""
    out, folder, report = _build_diverging(tmp_path, capsys, linear=False)
    by_role = {m["role"]: m for m in report["models"]}
    assert by_role["baseline"]["test_accuracy"]["mean"] is None
    assert by_role["reference"]["test_accuracy"]["mean"] is not None
    assert "mlp" not in report["probes"]["permutation"]["models"]
    assert report["generated"]["permutation"].startswith("Not measured")
    code, out, err = run_cli(["check", folder], capsys)
    assert code == 0, err
