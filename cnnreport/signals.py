"""SIGTERM and SIGHUP stop a command the way Ctrl-C does.

A terminal closing sends SIGHUP; `timeout`, `kill` and batch schedulers send SIGTERM. Python's
default for both is to die at once, skipping every `finally`: no line, temporaries left, a lock
file's holder note left behind. Here both raise `Stopped`, a KeyboardInterrupt, so the same
clean-up runs as for Ctrl-C (a run folder being written is removed, finished runs stay, the
lock is released) and the command line says one line and exits 128 + the signal's number, as a
shell reports a process the signal killed (130 Ctrl-C, 129 SIGHUP, 143 SIGTERM).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


class Stopped(KeyboardInterrupt):
    """A stop asked for by a signal; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name


def _stopping_signals() -> tuple[int, ...]:
    return tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def exit_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal's number; a KeyboardInterrupt no handler of ours raised is Ctrl-C's."""
    return 128 + (exc.signum if isinstance(exc, Stopped) else int(signal.SIGINT))


# While a block must not be cut in half (the report files being renamed into place), a signal is
# held here and raised when the block ends. A process-wide flag, not a signal mask: the kernel may
# hand the signal to any thread (TensorFlow's included), and Python then runs the handler in the
# main thread whatever that thread had blocked.
_holding = 0
_held: list[int] = []


def _handler(signum: int, frame: object) -> None:
    if _holding:
        _held.append(signum)
        return
    # The first signal stops the work; a second one while its clean-up runs is ignored, so the
    # clean-up finishes (a `kill` sent twice, or SIGHUP and SIGTERM from one closing terminal).
    for s in _stopping_signals():
        if s != signal.SIGINT:
            signal.signal(s, signal.SIG_IGN)
    raise Stopped(signum)


@contextlib.contextmanager
def stop_as_interrupt() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise `Stopped` in the main thread; the previous
    handlers come back afterwards (tests call the command line many times in one process)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; a library caller keeps its own
        return
    previous = {s: signal.getsignal(s) for s in _stopping_signals()}
    for s in previous:
        signal.signal(s, _handler)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """A stop signal arriving within the block takes effect when the block ends."""
    global _holding
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        pending = _held[0] if _held and not _holding else None
        if pending is not None:
            _held.clear()
    if pending is not None:  # the block ended normally: the stop it held back takes effect now
        _handler(pending, None)
