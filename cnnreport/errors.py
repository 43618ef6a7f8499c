"""What can stop a command, each said in one line with its own exit code (README "Exit codes").

- `UserError`: bad input (study file, data, arguments, a folder where nothing was built): exit 2.
- An `OSError` that reaches the command line: the environment refused (no space, a read-only
  file system, permission denied, too many open files): exit 3, one line naming the path and
  what to do (`refusal_line`).
- `Busy`: another cnnreport process holds the study's runs folder: exit 4.
- A signal (Ctrl-C, SIGTERM, SIGHUP): 128 + its number, as a shell reports it (signals.py).
"""

from __future__ import annotations

import errno as errno_codes
import os
import re
from pathlib import Path

EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # the job ran but a check failed (`check` below --min-score, an endpoint disagreeing)
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3  # the environment refused: disk full, read-only, permission denied, too many open files
EXIT_BUSY = 4  # another build of the study holds its runs folder (--no-wait; render without --partial)


class UserError(Exception):
    """Bad input from the user (study file, data, arguments): one line, no traceback.

    The message names the file, key or record and what was expected.
    """


class Busy(Exception):
    """Another cnnreport process holds what this command needs (the line says who and since when,
    and what to do instead)."""


# Libraries that wrap a system error in their own OSError without its errno (h5py, HDF5) still
# write it into the message: "errno = 28, error message = 'No space left on device'".
_ERRNO_IN_MESSAGE = re.compile(r"errno\s*=\s*(\d+)")

_NO_SPACE = {errno_codes.ENOSPC, getattr(errno_codes, "EDQUOT", -1)}
_READ_ONLY = {errno_codes.EROFS}
_DENIED = {errno_codes.EACCES, errno_codes.EPERM}
_TOO_MANY_FILES = {errno_codes.EMFILE, errno_codes.ENFILE}


def errno_of(exc: OSError) -> int | None:
    if exc.errno is not None:
        return exc.errno
    found = _ERRNO_IN_MESSAGE.search(str(exc))
    return int(found.group(1)) if found else None


def path_of(exc: OSError) -> str | None:
    """The file the error is about, as the system gave it (None: the caller must name it)."""
    name = exc.filename if exc.filename is not None else None
    return os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else None


def _elsewhere(path: str, options: dict[Path, str]) -> str:
    """'pass --runs-dir on another disk' when `path` is under a root an option sets."""
    resolved = Path(path).absolute()
    for root, option in options.items():
        if resolved == root.absolute() or root.absolute() in resolved.parents:
            return f", or pass {option} on another disk"
    return ""


def refusal_line(exc: OSError, options: dict[Path, str] | None = None) -> str:
    """One line for a system error: the path, what the system said, and what to do about it.

    `options` maps a folder to the command-line option that moves it (runs/ → --runs-dir), so
    the line can offer the way around a full or read-only disk."""
    code = errno_of(exc)
    named = path_of(exc)
    at = f"{_one_line(named)}: " if named else ""
    elsewhere = _elsewhere(named, options or {}) if named else ""
    if code in _NO_SPACE:
        return (f"{at}no space left on the device (or the disk quota is used up); free some space there "
                f"and run the command again{elsewhere}")
    if code in _READ_ONLY:
        return f"{at}the file system is read-only; run where you can write{elsewhere}"
    if code in _DENIED:
        return f"{at}permission denied; make it writable for your user (ls -ld shows its owner){elsewhere}"
    if code in _TOO_MANY_FILES:
        return (f"{at}too many open files (this process may open {_open_file_limit()}); raise the limit with "
                "`ulimit -n 4096` in this shell and run the command again")
    name = errno_codes.errorcode.get(code, "no errno") if code is not None else "no errno"
    said = " ".join((exc.strerror or str(exc) or type(exc).__name__).split())
    return f"{at}the system refused: {said} ({name})"


def _one_line(text: str) -> str:
    """A file name may hold a line break; the message must not."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _open_file_limit() -> str:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return f"{soft} files" if soft != resource.RLIM_INFINITY else "an unlimited number of files"
    except (ImportError, OSError, ValueError):  # Windows has no resource module
        return "a limited number of files"
