"""train/lock.py: one holder at a time; a second waits and says so once, naming the first; with
--no-wait it stops at once; a lock whose holder was killed is taken over, and said so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from cnnreport.errors import Busy
from cnnreport.train import lock

HOLD = """
import sys, time
from pathlib import Path
from cnnreport.train.lock import holding
with holding(sys.argv[1], "build", echo=print):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    Path(sys.argv[1] + ".finished").touch()  # the last thing done while holding
"""


def _holder_process(lock_path, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock_path), str(seconds)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_waits_says_so_once_then_goes_on(tmp_path):
    path = tmp_path / "runs" / "tiny" / lock.BUILD_LOCK
    first = _holder_process(path, 0.8)
    try:
        said = []
        with lock.holding(path, "build", echo=said.append):
            assert path.with_name(path.name + ".finished").exists()  # the block began once the first was done
        assert len(said) == 1 and said[0].startswith("waiting for the build started at ")
        assert f"by pid {first.pid}" in said[0]
    finally:
        first.kill()
        first.wait()
    assert not lock.note_path(path).exists()  # released: no note left behind


def test_no_wait_stops_at_once_naming_the_holder(tmp_path):
    path = tmp_path / lock.BUILD_LOCK
    first = _holder_process(path, 30)
    try:
        t0 = time.monotonic()
        with pytest.raises(Busy) as caught:
            with lock.holding(path, "build", wait=False, echo=print):
                pass
        assert time.monotonic() - t0 < 10  # not a timing check: a bound against waiting for the first
        assert f"by pid {first.pid}" in str(caught.value) and "--no-wait" in str(caught.value)
        assert lock.holder_now(path).pid == first.pid
    finally:
        first.kill()
        first.wait()


def test_a_lock_whose_holder_was_killed_is_taken_over_and_said_so(tmp_path):
    path = tmp_path / lock.BUILD_LOCK
    first = _holder_process(path, 30)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert lock.note_path(path).exists()  # the killed holder could not remove its note
    assert lock.holder_now(path) is False  # but the system released its lock
    said = []
    with lock.holding(path, "build", echo=said.append):
        pass
    assert len(said) == 1 and f"by pid {first.pid} ended without releasing its lock" in said[0]


def test_holders_in_threads_take_turns(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "WAIT_POLL_S", 0.01)
    path = tmp_path / lock.BUILD_LOCK
    inside, overlaps = [], []

    def work():
        with lock.holding(path, "train", echo=lambda line: None):
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.02)
            inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1, 1, 1, 1]
