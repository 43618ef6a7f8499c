"""The environment refusing, and the user stopping: one line each, the documented exit code, no
traceback, finished runs kept, the report's files as they were, no temporaries left.

- SIGTERM mid-epoch (a `train` in a subprocess) and mid-render (while the PDF is written).
- No space: injected where a run is saved and where the PDF is written (always), and a real full
  tmpfs (where this process may mount one: root on Linux).
- A read-only runs folder: a read-only tmpfs where mounting is allowed, file modes for a user
  other than root, else the error injected where the lock file is opened.
- An empty folder: every command that reads finished work says nothing was built, names the
  command, and loads no data set; runs of other data are named by the data they were trained on.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnreport import files
from cnnreport.data import sources
from cnnreport.errors import EXIT_BAD_INPUT, EXIT_REFUSED
from cnnreport.train import lock, runner, store

from helpers import (
    SHARED_RUNS,
    own_stderr_lines,
    remove_model_runs,
    run_cli,
    start_cli,
    subprocess_env,
    write_idx_folder,
)

REPORT_FILES = ("report.html", "report.json", "report.pdf", "results.csv")


def _complete(runs: Path) -> set[str]:
    return {d.name for d in runs.iterdir() if d.is_dir() and store.is_complete(d)}


def _temporaries(*folders: Path) -> list[str]:
    return [p.name for folder in folders if folder.is_dir() for p in folder.iterdir() if files.is_temporary(p.name)]


def _report_bytes(report_dir: Path) -> dict[str, bytes]:
    return {name: (report_dir / name).read_bytes() for name in REPORT_FILES}


def _one_line(err: str) -> str:
    lines = own_stderr_lines(err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _train_args(trained):
    return ["train", "--study", trained.study_file, "--runs-dir", trained.runs]


def _render_args(trained, *extra):
    return ["render", "--study", trained.study_file, "--runs-dir", trained.runs, "--reports-dir", trained.reports,
            *extra]


# ------------------------------------------------------------------------------------- signals


def test_sigterm_mid_epoch_stops_with_one_line_keeping_finished_runs(trained_copy, tmp_path):
    remove_model_runs(trained_copy, 7)
    before = _complete(trained_copy.study_runs)
    train = start_cli(_train_args(trained_copy), tmp_path / "train.log", trained_copy.root)
    train.wait_for(lambda log: "[run 1/2]" in log and "epoch 1/2" in log)
    os.kill(train.proc.pid, signal.SIGTERM)
    code, log = train.finish()
    assert code == 143, log
    said = "cnnreport: stopped by SIGTERM; finished runs are kept, the next build resumes"
    assert own_stderr_lines(log)[-1] == said and log.count(said) == 1 and "Traceback" not in log
    assert _complete(trained_copy.study_runs) == before and not _temporaries(trained_copy.study_runs)
    assert lock.holder_now(trained_copy.study_runs / lock.BUILD_LOCK) is False  # released, note removed
    assert not lock.note_path(trained_copy.study_runs / lock.BUILD_LOCK).exists()


def test_sigterm_mid_render_leaves_the_report_files_as_they_were(trained_copy, tmp_path):
    report_dir = trained_copy.report_dir
    old = _report_bytes(report_dir)
    render = start_cli(_render_args(trained_copy), tmp_path / "render.log", trained_copy.root)
    # report.json's temporary exists from the JSON's writing to the end of the PDF's (seconds).
    render.wait_for(lambda _: any(n.endswith("report.json") for n in _temporaries(report_dir)))
    os.kill(render.proc.pid, signal.SIGTERM)
    code, log = render.finish()
    assert code == 143, log
    assert own_stderr_lines(log)[-1] == "cnnreport: stopped by SIGTERM; the report files are as they were before this render"
    assert "Traceback" not in log
    assert _report_bytes(report_dir) == old
    assert not _temporaries(report_dir, report_dir / "figures", report_dir / "cache")
    assert not (report_dir / files.JOURNAL).exists()


# -------------------------------------------------------------------------- no space, injected


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")  # as a write through an open file says it


def test_no_space_while_a_run_is_saved_is_one_line_naming_the_run(trained_copy, monkeypatch, capsys):
    removed = remove_model_runs(trained_copy, 7)
    before = _complete(trained_copy.study_runs)
    monkeypatch.setattr(runner.np, "save", _no_space)
    code, out, err = run_cli(_train_args(trained_copy), capsys)
    assert code == EXIT_REFUSED
    line = _one_line(err)
    assert line.startswith(f"cnnreport: error: {trained_copy.study_runs}/") and line.split(": ")[2].split("/")[-1] in removed
    assert "no space left on the device" in line and "--runs-dir" in line
    assert _complete(trained_copy.study_runs) == before and not _temporaries(trained_copy.study_runs)


@pytest.mark.parametrize(("code", "words", "file_named"), [
    (errno.ENOSPC, "no space left on the device", None),
    (errno.EACCES, "permission denied", None),
    (errno.EMFILE, "too many open files", "/usr/share/fonts/truetype/a-font.ttf"),
])
def test_a_refusal_while_the_pdf_is_written_leaves_the_report_whole(code, words, file_named, trained_copy,
                                                                    monkeypatch, capsys):
    from weasyprint import HTML

    def refuse(self, target, **options):
        Path(target).write_bytes(b"%PDF-1.7 half")
        raise OSError(code, os.strerror(code), file_named)

    monkeypatch.setattr(HTML, "write_pdf", refuse)
    old = _report_bytes(trained_copy.report_dir)
    status, out, err = run_cli(_render_args(trained_copy), capsys)
    assert status == EXIT_REFUSED
    line = _one_line(err)
    assert line.startswith(f"cnnreport: error: {file_named or trained_copy.report_dir / 'report.pdf'}: {words}")
    assert _report_bytes(trained_copy.report_dir) == old  # HTML and JSON were written, and thrown away
    assert not _temporaries(trained_copy.report_dir)


def test_too_many_open_files_for_real_is_one_line_with_the_limit(trained_copy, tmp_path):
    """A render allowed 24 open files: the fonts it reads run past that."""
    import resource

    limit = 24
    proc = subprocess.run([sys.executable, "-m", "cnnreport.cli", *map(str, _render_args(trained_copy, "--no-pdf"))],
                          capture_output=True, text=True, env=subprocess_env(), cwd=trained_copy.root, timeout=300,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))
    if proc.returncode == 0:
        pytest.skip(f"this render opened fewer than {limit} files at once here; the injected variant ran")
    assert proc.returncode == EXIT_REFUSED, proc.stderr
    line = _one_line(proc.stderr)
    assert f"too many open files (this process may open {limit} files)" in line and "ulimit -n" in line


# ----------------------------------------------------------------------- a real full or read-only disk


@contextlib.contextmanager
def _tmpfs(where: Path, size: str, *options: str):
    """A tmpfs mounted at `where` for the block; skips where mounting is not permitted."""
    where.mkdir(parents=True, exist_ok=True)
    if sys.platform != "linux" or not shutil.which("mount"):
        pytest.skip("tmpfs needs Linux's mount")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join((f"size={size}", *options)), "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"mounting a tmpfs is not permitted here ({mounted.stderr.strip()}); the injected variants ran")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _fill(disk: Path, leave_bytes: int) -> None:
    """Write a filler file until about `leave_bytes` remain free."""
    with (disk / "filler").open("wb") as f:
        free = shutil.disk_usage(disk).free
        chunk = np.zeros(1 << 20, np.uint8).tobytes()
        while free - leave_bytes > 0:
            try:
                f.write(chunk[: min(len(chunk), free - leave_bytes)])
                f.flush()
            except OSError:
                break
            free = shutil.disk_usage(disk).free


def test_a_full_tmpfs_stops_train_and_render_with_one_line_each(trained_study, tmp_path, capsys):
    with _tmpfs(tmp_path / "disk", "24m") as disk:
        trained = trained_study.copy_to(disk / "study")
        removed = remove_model_runs(trained, 7)
        before, old = _complete(trained.study_runs), _report_bytes(trained.report_dir)
        _fill(disk, leave_bytes=64 * 1024)  # room for a lock note, not for a model
        code, out, err = run_cli(_train_args(trained), capsys)
        assert code == EXIT_REFUSED, err
        line = _one_line(err)
        assert "no space left on the device" in line and str(trained.study_runs) in line
        assert any(run_id in line for run_id in removed)  # the run being saved, not a temporary
        assert _complete(trained.study_runs) == before and not _temporaries(trained.study_runs)
        _fill(disk, leave_bytes=0)
        code, out, err = run_cli(_render_args(trained), capsys)
        assert code == EXIT_REFUSED, err
        assert "no space left on the device" in _one_line(err)
        assert _report_bytes(trained.report_dir) == old
        assert not _temporaries(trained.report_dir, trained.report_dir / "figures")


@contextlib.contextmanager
def _read_only_copy(trained_study, tmp_path: Path, monkeypatch):
    """A copy of the trained study whose runs/ cannot be written: a read-only tmpfs where mounting
    is permitted; file modes for a user other than root (root ignores them); else EROFS injected
    where the lock file is opened (the first thing a build writes there)."""
    trained = trained_study.copy_to(tmp_path / "study")
    runs = trained.runs
    try:
        with _tmpfs(tmp_path / "ro", "32m") as disk:
            shutil.copytree(runs, disk, dirs_exist_ok=True)
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
            shutil.rmtree(runs)
            runs.symlink_to(disk)
            yield trained
            return
    except pytest.skip.Exception:
        pass
    if os.geteuid() != 0:
        for folder in [runs, *runs.rglob("*")]:
            if folder.is_dir():
                folder.chmod(0o555)
        try:
            yield trained
        finally:
            for folder in [runs, *runs.rglob("*")]:
                if folder.is_dir():
                    folder.chmod(0o755)
        return
    real = lock.FileLock

    class ReadOnly(real):
        def acquire(self, *args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system", self.lock_file)

    monkeypatch.setattr(lock, "FileLock", ReadOnly)
    yield trained


def test_a_read_only_runs_folder_stops_a_build_but_not_a_render(trained_study, tmp_path, monkeypatch, capsys):
    with _read_only_copy(trained_study, tmp_path, monkeypatch) as trained:
        code, out, err = run_cli(["build", "--study", trained.study_file, "--runs-dir", trained.runs,
                                  "--reports-dir", trained.reports], capsys)
        assert code == EXIT_REFUSED, err
        line = _one_line(err)
        assert str(trained.study_runs / lock.BUILD_LOCK) in line and ("read-only" in line or "permission denied" in line)
        assert "--runs-dir" in line
        # A grader renders a handed-in runs/ folder it may not write to: no lock is needed there.
        code, out, err = run_cli(_render_args(trained, "--no-pdf"), capsys)
        assert code == 0, err
        assert len(_complete(trained.study_runs)) == SHARED_RUNS


# ---------------------------------------------------------------------- nothing built here


READERS = [["render"], ["serve"], ["check"], ["endpoint-test", "--local"], ["deploy", "--dry-run"]]


@pytest.mark.parametrize("command", READERS, ids=lambda c: c[0])
def test_in_an_empty_folder_a_reader_says_nothing_was_built_and_loads_no_data(command, tmp_path, monkeypatch,
                                                                              capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sources, "load_dataset", lambda *a, **k: pytest.fail("a data set was loaded"))
    code, out, err = run_cli(command, capsys)
    assert code == EXIT_BAD_INPUT
    line = _one_line(err)
    assert line.startswith("cnnreport: error: nothing was built in runs/") and "`cnnreport build --study" in line
    if command[0] != "check":  # a named study with nothing built for it: the same, naming the study
        code, out, err = run_cli([*command, "--study", "fashion-mnist"], capsys)
        assert code == EXIT_BAD_INPUT
        assert "nothing was built for study fashion-mnist in runs/" in _one_line(err)
        assert "`cnnreport build --study fashion-mnist`" in err


def test_runs_of_other_data_are_named_by_the_data_they_were_trained_on(trained_copy, tmp_path, capsys):
    """The last build's --data-dir is read by default; here it holds other images than the runs saw."""
    other = tmp_path / "other-data"
    write_idx_folder(other, n_train=1200, n_test=600)
    note = store.last_study(trained_copy.runs)
    store.remember_study(trained_copy.runs, note["name"], note["study"], str(other))
    origin = next(iter(store.trained_on(trained_copy.study_runs).values()))
    assert origin  # the runs record where their data was read from
    for command in (["render"], ["serve"]):
        code, out, err = run_cli([*command, "--runs-dir", trained_copy.runs, "--reports-dir", trained_copy.reports],
                                 capsys)
        assert code == EXIT_BAD_INPUT, err
        assert f"data: {other} (the --data-dir of the last build here" in out
        line = _one_line(err)
        assert f"its runs were trained on other data: {origin} (fingerprint " in line
        assert f"the data loaded now is {other}" in line and "--data-dir" in line
