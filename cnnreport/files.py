"""Atomic writes: a file (or folder) is complete or absent, never half-written.

Everything cnnreport writes goes to a temporary name beside its destination and is renamed
into place at the end (a rename within one folder is atomic on POSIX and Windows). Temporary
names carry the writer's process id and a random part, so two processes writing the same file
never share one, and a later process can tell a dead writer's leftovers (`stale_owner`).
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
from typing import Any, Iterator

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


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """`with atomic_path(dest) as tmp:` write to tmp (a file or a folder); on success it
    replaces dest, on any failure it is removed and dest is untouched."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


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
