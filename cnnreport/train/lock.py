"""One build at a time per study: a lock file in the study's runs folder.

Two builds of one study used to train every run twice. Now `build` and `train` hold
runs/<study>/.lock while they work; a second one waits for the first (saying so once, naming
the build it waits for), then finds the first one's runs finished and skips them. Renders hold a
second lock, runs/<study>/.render.lock, so two renders never draw into one report folder at once.

The lock is the operating system's (`filelock`: flock on POSIX, LockFileEx on Windows), which
the system releases when its process dies, however it dies: a lock left by a killed build is
never stuck. Beside it, the holder writes who it is (pid, command, start time, host) for the
waiting line; that note outlives a killed holder, which is how a build taking the lock over says
that the previous one ended without releasing it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

from cnnreport.errors import Busy, errno_of
from cnnreport.files import naming, write_json

BUILD_LOCK = ".lock"  # build and train
RENDER_LOCK = ".render.lock"  # render, and the render that ends a build
NOTE_SUFFIX = "-holder.json"
WAIT_POLL_S = 0.5  # how often a waiting build tries the lock
NOTE_GRACE_S = 2.0  # a holder writes its note right after taking the lock: how long to wait for it

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: enough to say what the waiting is for."""

    pid: int
    command: str
    started: float  # seconds since the epoch
    host: str

    def describe(self) -> str:
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"the {self.command} started at {at} by pid {self.pid}{where}"


def note_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + NOTE_SUFFIX)


def read_holder(lock_path: Path) -> Holder | None:
    """The holder note beside a lock, or None (no note, or one this version cannot read)."""
    try:
        raw = json.loads(note_path(lock_path).read_text(encoding="utf-8"))
        return Holder(pid=int(raw["pid"]), command=str(raw["command"]), started=float(raw["started"]),
                      host=str(raw["host"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _holder_soon(lock_path: Path) -> Holder | None:
    """The holder's note, waiting a moment for a holder that has just taken the lock."""
    deadline = time.monotonic() + NOTE_GRACE_S
    while (found := read_holder(lock_path)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _who(holder: Holder | None) -> str:
    return holder.describe() if holder else "another cnnreport process"


@contextlib.contextmanager
def holding(lock_path: Path, command: str, *, wait: bool = True, echo: Echo = print,
            unless_read_only: bool = False) -> Iterator[None]:
    """Hold the lock at `lock_path` for the block.

    When another process holds it: without `wait`, Busy at once; else one line says what is
    waited for, and the block starts when that process is done. A holder note left by a process
    that died holding the lock is reported as taken over. With `unless_read_only`, a folder this
    process may not write to (a handed-in runs/ folder a grader renders) is read without a lock:
    no cnnreport of this user can be writing there."""
    lock_path = Path(lock_path)
    lock = FileLock(str(lock_path))
    try:
        with naming(lock_path.parent):
            lock_path.parent.mkdir(parents=True, exist_ok=True)
        with naming(lock_path, always=True):  # as given: filelock names the file with links resolved
            _acquire(lock, lock_path, wait, echo)
    except OSError as exc:
        if not (unless_read_only and errno_of(exc) in (errno.EROFS, errno.EACCES, errno.EPERM)):
            raise
        locked = False
    else:
        locked = True
    if not locked:
        yield
        return
    try:
        left = read_holder(lock_path)  # we hold the lock: a note here is a dead holder's
        if left is not None and left.pid != os.getpid():
            echo(f"{lock_path.parent}/: {left.describe()} ended without releasing its lock (killed?); taken over")
        with naming(lock_path):
            write_json(note_path(lock_path), asdict(Holder(os.getpid(), command, time.time(), socket.gethostname())))
        yield
    finally:
        try:
            note_path(lock_path).unlink(missing_ok=True)
        finally:
            lock.release()


def _acquire(lock: FileLock, lock_path: Path, wait: bool, echo: Echo) -> None:
    try:
        lock.acquire(timeout=0)
    except Timeout:
        other = _holder_soon(lock_path)
        if not wait:
            raise Busy(f"{lock_path.parent}/ is in use by {_who(other)}; run again when it is done, or "
                       "without --no-wait to wait for it") from None
        echo(f"waiting for {_who(other)} ({lock_path.parent}/ is in use; Ctrl-C stops waiting)")
        lock.acquire(poll_interval=WAIT_POLL_S)


def holder_now(lock_path: Path) -> Holder | None | bool:
    """Who holds the lock at this moment: a Holder (or None when it left no note); False when no
    one does. A folder this process cannot write to has no lock to take: False."""
    lock_path = Path(lock_path)
    if not lock_path.exists():
        return False
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return _holder_soon(lock_path)
    except OSError:  # read-only or not ours: no cnnreport of this user can be writing there
        return False
    lock.release()
    return False
