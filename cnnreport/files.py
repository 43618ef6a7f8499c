"""Atomic writes: a file (or folder) is complete or absent, never half-written.

Everything cnnreport writes goes to a temporary name beside its destination and is renamed
into place at the end (a rename within one folder is atomic on POSIX and Windows). Temporary
names carry the writer's process id and a random part, so two processes writing the same file
never share one, and a later process can tell a dead writer's leftovers (`remove_dead_temporaries`).
Files that belong together (a report's HTML, JSON and PDF) are renamed into place together or
not at all (`replace_together`). A system error while writing names the file being written,
never the temporary (`naming`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterator, Sequence

from cnnreport import signals
from cnnreport.errors import errno_of, path_of

TMP_PREFIX = ".tmp-"
_TMP_NAME = re.compile(rf"^{re.escape(TMP_PREFIX)}(\d+)-[0-9a-f]+-")


def temporary_name(path: Path) -> Path:
    """A fresh temporary path beside `path`, ending in its name (so suffixes such as .npz stay)."""
    return path.with_name(f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")


def writer_pid(name: str) -> int | None:
    """The process id in a temporary name, or None when `name` is not one."""
    m = _TMP_NAME.match(name)
    return int(m.group(1)) if m else None


def is_temporary(name: str) -> bool:
    return name.startswith(TMP_PREFIX)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: another user's process; or a platform that cannot tell
        return True
    return True


def remove_dead_temporaries(folder: Path) -> list[Path]:
    """Remove the temporaries in `folder` whose writer is gone (killed: SIGKILL, power loss)."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for tmp in folder.iterdir():
        if not is_temporary(tmp.name):
            continue
        pid = writer_pid(tmp.name)
        if pid is not None and pid != os.getpid() and pid_alive(pid):
            continue
        _remove(tmp)
        removed.append(tmp)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def destination_of(path: Path) -> Path:
    """The file a temporary stands for (its name without the temporary prefixes), else `path`."""
    path = Path(path)
    name = path.name
    while (m := _TMP_NAME.match(name)) is not None:
        name = name[m.end():]
    return path.with_name(name) if name else path


@contextlib.contextmanager
def naming(path: Path, always: bool = False) -> Iterator[None]:
    """A system error inside the block that names no file, or names a temporary, is raised again
    naming `path` (what the user knows: report.pdf, a run folder), with the same errno; with
    `always`, whatever file it names (a library that resolved a link the user gave). Libraries
    writing through an open file (numpy, zipfile, WeasyPrint) report ENOSPC without a file name."""
    try:
        yield
    except OSError as exc:
        said = path_of(exc)
        if not always and said is not None and not any(is_temporary(part) for part in Path(said).parts):
            raise
        raise OSError(errno_of(exc), exc.strerror or str(exc), str(destination_of(path))) from exc


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """`with atomic_path(dest) as tmp:` write to tmp (a file or a folder); on success it
    replaces dest, on any failure it is removed and dest is untouched."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        with naming(path):
            yield tmp
            os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


JOURNAL = ".replacing.json"  # which temporaries replace which files: a commit killed half-way is finished


@contextlib.contextmanager
def replace_together(folder: Path, names: Sequence[str]) -> Iterator[dict[str, Path]]:
    """`with replace_together(out, ["report.html", "report.pdf"]) as tmp:` write each file to
    tmp[name]. When the block ends without error, every file named is replaced by its temporary
    at once; a name whose temporary was not written is removed, so no file of an earlier set
    stays beside the new ones. On any failure the temporaries are removed and the folder is as it
    was. The renames run with stop signals held back; a process killed outright among them (kill
    -9, power loss) leaves the journal, and the next `replace_together` or `finish_replacing` on
    the folder completes them."""
    folder = Path(folder)
    finish_replacing(folder)
    temps = {name: temporary_name(folder / name) for name in names}
    committed = False
    try:
        yield temps
        with signals.held():
            write_json(folder / JOURNAL, {"replace": {t.name: n for n, t in temps.items() if t.exists()},
                                          "remove": [n for n, t in temps.items() if not t.exists()]})
            committed = True
            finish_replacing(folder)
    except BaseException:
        if not committed:
            for tmp in temps.values():
                _remove(tmp)
        raise


def finish_replacing(folder: Path) -> bool:
    """Complete a `replace_together` that was stopped among its renames. Returns True when there
    was one to complete."""
    folder = Path(folder)
    journal = folder / JOURNAL
    try:
        plan = json.loads(journal.read_text(encoding="utf-8"))
        moves, removes = dict(plan["replace"]), list(plan["remove"])
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError):  # unreadable: written by no complete commit
        journal.unlink(missing_ok=True)
        return False
    for tmp, name in moves.items():
        if Path(tmp).name == tmp and Path(name).name == name and (folder / tmp).exists():
            with naming(folder / name):
                os.replace(folder / tmp, folder / name)
    for name in removes:
        if Path(name).name == name:
            with naming(folder / name):
                (folder / name).unlink(missing_ok=True)
    journal.unlink(missing_ok=True)
    return True


def write_bytes(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def json_safe(value: Any) -> Any:
    """NaN and infinities are not JSON: a diverged run's loss is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json(path: Path, data: Any) -> Path:
    """Write JSON atomically, NaN/inf as null, UTF-8, indented for people who read it."""
    return write_text(path, json.dumps(json_safe(data), indent=2, ensure_ascii=False, allow_nan=False))
