"""A run is complete only while run.json, model.keras and the test predictions match the checksums
written with them. A damaged run (a file deleted, truncated or edited after the build) is named
with the fix by `render` and `serve` (exit 2, one line), and `build` sets it aside and trains it
again, saying which and why; the retrained run is the run it replaces."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from cnnreport.deploy import server as endpoint_server
from cnnreport.train import store

from helpers import SHARED_RUNS, TrainedStudy, own_stderr_lines, run_cli


def _run_ids(trained: TrainedStudy, **match: object) -> list[str]:
    """Run ids of the shared build's report whose model has these keys (role, level, ...)."""
    return [r for m in trained.report()["models"] if all(m.get(k) == v for k, v in match.items())
            for r in m["run_ids"]]


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def _flip_last_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF  # same size, other content
    path.write_bytes(bytes(raw))


DAMAGE: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "model deleted": ("model.keras", Path.unlink, "model.keras is missing"),
    "run.json truncated": ("run.json", _truncate, "run.json changed since the run was written"),
    "predictions edited": ("test_predictions.npy", _flip_last_byte,
                           "test_predictions.npy changed since the run was written"),
    "checksums deleted": ("checksums.json", Path.unlink, "no checksums.json"),
}


def _render_args(t: TrainedStudy) -> list[object]:
    return ["render", "--study", t.study_file, "--runs-dir", t.runs, "--reports-dir", t.reports, "--no-pdf"]


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_render_names_the_damaged_run_and_the_fix(trained_copy, capsys, damage):
    """Was: a deleted model.keras counted as done, and render without its cache ended in a
    traceback; a truncated run.json was a line that did not say what to do."""
    name, harm, why = DAMAGE[damage]
    run_id = _run_ids(trained_copy, role="reference")[0]
    harm(trained_copy.study_runs / run_id / name)
    shutil.rmtree(trained_copy.report_dir / "cache")  # nothing to fall back on: models must load
    code, out, err = run_cli(_render_args(trained_copy), capsys)
    assert code == 2 and "Traceback" not in err
    (line,) = own_stderr_lines(err)
    assert line.startswith("cnnreport: error: ") and run_id in line and why in line
    assert "`cnnreport build`" in line and "train it again" in line
    assert not store.is_complete(trained_copy.study_runs / run_id)


def test_build_sets_damaged_runs_aside_and_trains_them_again(trained_copy, capsys):
    runs = trained_copy.study_runs
    damaged = {_run_ids(trained_copy, level=5)[1]: "model deleted",
               _run_ids(trained_copy, role="baseline")[0]: "run.json truncated",
               _run_ids(trained_copy, level=1)[0]: "predictions edited"}
    before = {r: json.loads((runs / r / "run.json").read_text(encoding="utf-8")) for r in damaged}
    for run_id, damage in damaged.items():
        name, harm, _ = DAMAGE[damage]
        harm(runs / run_id / name)
    code, out, err = run_cli(["build", "--study", trained_copy.study_file, "--runs-dir", trained_copy.runs,
                              "--reports-dir", trained_copy.reports, "--no-pdf"], capsys)
    assert code == 0, err
    for run_id, damage in damaged.items():
        line = next(ln for ln in out.splitlines() if ln.startswith(f"run {run_id} "))
        assert f"is damaged: {DAMAGE[damage][2]}" in line and "training it again" in line
    assert f"{SHARED_RUNS - 3} of {SHARED_RUNS} runs already done" in out and "; 3 to train" in out
    assert out.count("  done ") == 3
    kept = sorted(p.name.rsplit("-", 3)[0] for p in (runs / store.DAMAGED_DIR).iterdir())
    assert kept == sorted(damaged)  # set aside, not deleted
    for run_id in damaged:
        assert store.is_complete(runs / run_id)
        again = json.loads((runs / run_id / "run.json").read_text(encoding="utf-8"))
        # The same run: seeded, same data, same settings (CPU training here is deterministic).
        assert again["test"] == before[run_id]["test"] and again["history"]["loss"] == before[run_id]["history"]["loss"]
    code, out, err = run_cli(_render_args(trained_copy), capsys)
    assert code == 0, err


def test_serve_names_the_damaged_run_before_serving(trained_copy, capsys, monkeypatch):
    """Was: the run still counted as done, and serve ended in a traceback."""
    def never(*args, **kwargs):
        raise AssertionError("serve started a server from a damaged run")

    monkeypatch.setattr(endpoint_server, "start_server", never)
    for run_id in _run_ids(trained_copy, role="reference"):  # whichever seed serve would choose
        (trained_copy.study_runs / run_id / "model.keras").unlink()
    code, out, err = run_cli(["serve", "--study", trained_copy.study_file, "--runs-dir", trained_copy.runs,
                              "--port", "0"], capsys)
    assert code == 2 and "Traceback" not in err
    line = own_stderr_lines(err)[-1]
    assert "damaged run: model.keras is missing" in line and "`cnnreport build`" in line


def test_a_folder_under_a_run_id_that_is_no_run_is_damaged_not_done(tmp_path):
    """A folder without the checksums written with it (by hand, a copy, an older cnnreport) is
    never mistaken for a finished run; a checksums file cannot point outside its run."""
    run = tmp_path / "r1"
    run.mkdir()
    for name in store.REQUIRED_FILES:
        (run / name).write_text("{}")
    assert store.run_problem(run) == "no checksums.json (written by an older cnnreport, or not by cnnreport)"
    sums = {n: hashlib.sha256((run / n).read_bytes()).hexdigest() for n in store.REQUIRED_FILES}
    (run / store.CHECKSUMS_FILE).write_text(json.dumps({"files": sums}))
    assert store.run_problem(run) is None
    (run / store.CHECKSUMS_FILE).write_text(json.dumps({"files": {**sums, "../../etc/passwd": "0"}}))
    assert store.run_problem(run) == "checksums.json names a file outside the run folder"
    (run / store.CHECKSUMS_FILE).write_text("[1, 2")
    assert store.run_problem(run) == "checksums.json is unreadable"
    assert store.run_problem(tmp_path / "absent") == "absent"
