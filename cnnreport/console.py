"""Where the command's messages go: one line each on stdout, and whether a live display may draw
there instead of printing lines.

Library functions take an `echo` (a callable taking one line) so tests can collect lines with
`list.append`; only the command line's own `say` writes to the terminal, so only it may be
replaced by a live display.
"""

from __future__ import annotations

import sys
from typing import Callable

Echo = Callable[[str], None]


def say(msg: str) -> None:
    """The command line's echo: one line on stdout, flushed (logs show it as it happens)."""
    print(msg, flush=True)


def draws_live(echo: Echo) -> bool:
    """True when `echo` writes to stdout and stdout is a terminal: a person is watching, so a
    redrawn display is readable. Anything else (a log file, CI, a test's collector) gets lines."""
    if echo is not say and echo is not print:
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdout
        return False
