"""The run store: atomic run folders, stale temporaries, loading with missing runs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnreport import files
from cnnreport.train import store
from cnnreport.errors import UserError


def _record(run_id: str) -> dict:
    return {"run_id": run_id, "seed": 0, "value": 1.5}


def _good_fill(run_id: str):
    def fill(tmp: Path) -> None:
        (tmp / "model.keras").write_bytes(b"weights")
        (tmp / "test_predictions.npy").write_bytes(b"predictions")
        files.write_json(tmp / store.RUN_FILE, _record(run_id))
    return fill


def test_write_run_is_atomic_and_complete(tmp_path):
    final = store.write_run(tmp_path / "study", "r1", _good_fill("r1"))
    assert final == tmp_path / "study" / "r1" and store.is_complete(final)
    assert sorted(p.name for p in final.iterdir()) == ["checksums.json", "model.keras", "run.json",
                                                        "test_predictions.npy"]
    assert [p.name for p in (tmp_path / "study").iterdir()] == ["r1"]  # no temporaries left


def test_failing_writer_leaves_no_folder(tmp_path):
    study = tmp_path / "study"

    def fill(tmp: Path) -> None:
        (tmp / "model.keras").write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        store.write_run(study, "r1", fill)
    assert list(study.iterdir()) == []

    with pytest.raises(KeyboardInterrupt):  # Ctrl-C in the middle of writing
        store.write_run(study, "r2", lambda tmp: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert list(study.iterdir()) == []


def test_writer_without_run_record_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="run.json, test_predictions.npy"):
        store.write_run(tmp_path / "s", "r1", lambda tmp: (tmp / "model.keras").write_bytes(b"x"))
    assert list((tmp_path / "s").iterdir()) == []


def test_existing_run_is_kept(tmp_path):
    store.write_run(tmp_path, "r1", _good_fill("r1"))
    first = (tmp_path / "r1" / "run.json").stat().st_mtime_ns
    store.write_run(tmp_path, "r1", _good_fill("other"))
    assert json.loads((tmp_path / "r1" / "run.json").read_text()) == _record("r1")
    assert (tmp_path / "r1" / "run.json").stat().st_mtime_ns == first


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_clean_stale_removes_only_dead_processes_temporaries(tmp_path):
    def temporary(name: str, pid: int) -> Path:  # the name files.temporary_name gives process `pid`
        ours = files.temporary_name(tmp_path / name).name
        return tmp_path / ours.replace(f"-{os.getpid()}-", f"-{pid}-", 1)

    assert files.writer_pid(files.temporary_name(tmp_path / "x").name) == os.getpid()
    dead = temporary("r1", _dead_pid())
    dead.mkdir()
    (dead / "model.keras").write_bytes(b"half")
    dead_json = temporary("report.json", _dead_pid())
    dead_json.write_text("{")
    live = temporary("r2", os.getppid())  # a live process that is not us
    live.mkdir()
    done = tmp_path / "r3"
    done.mkdir()
    (done / "run.json").write_text("{}")
    removed = store.clean_stale(tmp_path)
    assert set(removed) == {dead, dead_json}
    assert not dead.exists() and not dead_json.exists() and live.exists() and done.exists()
    assert store.clean_stale(tmp_path / "absent") == []


def test_load_runs_with_missing_runs_is_a_user_error(tmp_path):
    store.write_run(tmp_path, "r1", _good_fill("r1"))
    with pytest.raises(UserError) as info:
        store.load_runs(tmp_path, ["r1", "r2", "r3"])
    msg = str(info.value)
    assert str(tmp_path) in msg and "2 of 3 runs are missing" in msg and "cnnreport build" in msg
    assert "`cnnreport render --partial`" in msg
    (loaded,) = store.load_runs(tmp_path, ["r1"])
    # the record as written, plus the sha256 of its file (report.json cites it for integrity)
    assert loaded.pop("_sha256") == hashlib.sha256((tmp_path / "r1" / store.RUN_FILE).read_bytes()).hexdigest()
    assert loaded == _record("r1")
    (tmp_path / f"{files.TMP_PREFIX}r4-1").mkdir()
    assert [r["run_id"] for r in store.load_runs(tmp_path)] == ["r1"]  # only complete runs
    assert store.load_runs(tmp_path / "absent") == []


def test_damaged_run_record_is_a_user_error(tmp_path):
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "run.json").write_text('{"run_id": ')
    with pytest.raises(UserError, match="damaged run record"):
        store.read_run(tmp_path / "r1")
    with pytest.raises(UserError, match="r1: damaged run: no checksums.json"):  # not written by write_run
        store.load_runs(tmp_path, ["r1"])
