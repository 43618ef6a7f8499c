"""Two builds of one study at once: the second waits for the first (one line naming it), then
finds its runs finished, so every run is trained exactly once; `--no-wait` and a plain `render`
stop at once (exit 4) while a build runs; `render --partial` renders what is finished.

The study is a copy of the shared trained study with two levels' runs removed (4 runs to train).
"""

from __future__ import annotations

import re

import pytest

from cnnreport.errors import EXIT_BUSY
from cnnreport.train import lock

from helpers import SHARED_RUNS, remove_model_runs, run_cli, start_cli


def _train(trained, log, *extra):
    return start_cli(["train", "--study", trained.study_file, "--runs-dir", trained.runs, *extra], log,
                     trained.root)


def test_two_trains_at_once_train_each_run_exactly_once(trained_copy, tmp_path, capsys):
    removed = remove_model_runs(trained_copy, 5) + remove_model_runs(trained_copy, 7)
    first, second = _train(trained_copy, tmp_path / "a.log"), _train(trained_copy, tmp_path / "b.log")
    try:
        # Both start together; whichever takes the lock second says it waits, naming the first.
        waiting = re.compile(r"waiting for the train started at \S+ \S+ by pid (\d+)")
        first.wait_for(lambda _: waiting.search(first.output() + second.output()) is not None)
        # While one trains: a third train with --no-wait, and a render, stop at once.
        code, out, err = run_cli(["train", "--study", trained_copy.study_file, "--runs-dir", trained_copy.runs,
                                  "--no-wait"], capsys)
        assert code == EXIT_BUSY and len(err.strip().splitlines()) == 1, err
        assert "is in use by the train started at" in err and "--no-wait" in err
        code, out, err = run_cli(["render", "--study", trained_copy.study_file, "--runs-dir", trained_copy.runs,
                                  "--reports-dir", trained_copy.reports], capsys)
        assert code == EXIT_BUSY and len(err.strip().splitlines()) == 1, err
        assert "is training tiny" in err and "--partial" in err
    finally:
        results = [first.finish(), second.finish()]
    assert [code for code, _ in results] == [0, 0], results
    logs = [log for _, log in results]
    waiter = [log for log in logs if waiting.search(log)]
    assert len(waiter) == 1 and len(waiting.findall(waiter[0])) == 1  # said once
    holder_pid = int(waiting.search(waiter[0]).group(1))
    assert holder_pid in (first.proc.pid, second.proc.pid) and holder_pid != (
        first.proc.pid if waiter[0] is logs[0] else second.proc.pid)
    done = [line for log in logs for line in log.splitlines() if line.startswith("  done ")]
    assert len(done) == len(removed) == 4 and len(set(done)) == 4  # each run trained once, by one process
    assert f"{SHARED_RUNS} of {SHARED_RUNS} runs already done" in waiter[0]
    assert not lock.note_path(trained_copy.study_runs / lock.BUILD_LOCK).exists()  # both released


def test_render_partial_renders_the_finished_runs_and_says_how_many(trained_copy, capsys):
    remove_model_runs(trained_copy, 7)
    code, out, err = run_cli(["render", "--study", trained_copy.study_file, "--runs-dir", trained_copy.runs,
                              "--reports-dir", trained_copy.reports, "--partial", "--no-pdf"], capsys)
    assert code == 0, err
    assert f"partial: {SHARED_RUNS - 2} of {SHARED_RUNS} runs finished" in out
    runs_check = next(c for c in trained_copy.report()["checklist"] if c["id"] == "runs_complete")
    assert not runs_check["passed"] and "kernel 7×7" in runs_check["evidence"]  # the report says what is missing
    assert not (trained_copy.report_dir / "report.pdf").exists()  # --no-pdf: the older PDF would contradict it


@pytest.mark.slow  # two builds: about 40 s more than the two trains above
def test_two_builds_at_once_train_each_run_once_and_render_one_after_the_other(trained_copy, tmp_path):
    removed = remove_model_runs(trained_copy, 7)
    args = ["build", "--study", trained_copy.study_file, "--runs-dir", trained_copy.runs,
            "--reports-dir", trained_copy.reports]
    builds = [start_cli(args, tmp_path / f"{i}.log", trained_copy.root) for i in range(2)]
    results = [b.finish() for b in builds]
    assert [code for code, _ in results] == [0, 0], results
    done = [line for _, log in results for line in log.splitlines() if line.startswith("  done ")]
    assert len(done) == len(removed)
    assert sum("waiting for the build started at" in log for _, log in results) == 1
    assert all("report: " in log for _, log in results)
