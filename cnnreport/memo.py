"""Render-time memo: what a render computes from immutable inputs is kept on disk, keyed by those
inputs, and reused when they are the same.

A re-render after editing a study's text then redraws no figure, loads no model and does not even
import Keras: figures, the controlled-variable verification (which builds every CNN) and the
numbers read off trained models are all functions of runs (immutable under their id), the data
split and the code. Every key includes a digest of the package's own source, so a change of
code invalidates everything it could affect.

Entries live in reports/<study>/cache/; deleting the folder only costs time. A base module: any
stage may keep what it computes from immutable inputs here (results/ its probe numbers, report/
its figures).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata as md
import inspect
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cnnreport.files import atomic_path, write_json

PACKAGE = Path(__file__).resolve().parent  # cnnreport/, every subpackage included


def cache_dir(report_dir: Path) -> Path:
    """Where a report's memo lives: reports/<study>/cache/."""
    return report_dir / "cache"


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """Every module of the package (all subpackages) and the drawing library's version: what
    turns inputs into output. A change anywhere in the code invalidates every entry."""
    h = hashlib.sha256(md.version("matplotlib").encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _feed(h: Any, value: Any) -> None:
    """Hash a value by content: arrays by dtype, shape and bytes; containers element by element."""
    if isinstance(value, np.ndarray):
        h.update(f"nd{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        h.update(b"{")
        for k in sorted(value, key=str):
            _feed(h, str(k))
            _feed(h, value[k])
        h.update(b"}")
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for v in value:
            _feed(h, v)
        h.update(b"]")
    elif hasattr(value, "model_dump"):  # pydantic models (study parts)
        _feed(h, value.model_dump(mode="json"))
    elif isinstance(value, (np.generic,)):
        _feed(h, value.item())
    else:  # str, int, float, bool, None, Path
        h.update(f"{type(value).__name__}:{value!r}".encode())


def digest(*parts: Any) -> str:
    h = hashlib.sha256(code_digest().encode())
    for part in parts:
        _feed(h, part)
    return h.hexdigest()[:20]


def _read_json(path: Path) -> Any:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    os.utime(path)  # a hit is marked used, so prune() keeps it
    return value if isinstance(value, dict) else None


def prune(cache_dir: Path, used_since: float) -> int:
    """Remove the entries no render has used since `used_since` (a render's start): those of
    older code or of runs that are gone. Returns how many were removed."""
    removed = 0
    for path in cache_dir.glob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < used_since:
                path.unlink()
                removed += 1
        except OSError:
            pass
    return removed


def _json_path(cache_dir: Path, name: str, key: Any) -> Path:
    return cache_dir / f"{name}-{digest(name, key)}.json"


def lookup(cache_dir: Path, name: str, key: Any) -> Any:
    """The stored value for this key, or None (nothing is written)."""
    stored = _read_json(_json_path(cache_dir, name, key))
    return stored["value"] if stored is not None and "value" in stored else None


def json_value(cache_dir: Path, name: str, key: Any, compute: Callable[[], Any]) -> Any:
    """compute() once per key. Returns what was stored, read back, so a first render and a
    cached one see exactly the same (JSON) value."""
    found = lookup(cache_dir, name, key)
    if found is not None:
        return found
    path = _json_path(cache_dir, name, key)
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, {"value": compute()})
    return _read_json(path)["value"]


def arrays(cache_dir: Path, name: str, key: Any, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """compute() once per key, for named arrays (kept as .npz)."""
    path = cache_dir / f"{name}-{digest(name, key)}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            value = {k: stored[k] for k in stored.files}
        os.utime(path)
        return value
    except (OSError, ValueError, EOFError):
        pass
    value = {k: np.asarray(v) for k, v in compute().items()}
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:  # a killed render leaves no half-written entry
        np.savez(tmp, **value)  # the temporary name ends in .npz, which savez keeps as is
    return value


def _file_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def figure(draw: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Decorate a figure function (it takes `out_dir` and returns {id, file, caption, alt}):
    with the same arguments and code, the PNG already drawn is reused, provided it is still the
    file that was drawn (a deleted or edited PNG is drawn again)."""
    signature = inspect.signature(draw)

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        out_dir = Path(bound.arguments["out_dir"])
        inputs = {k: v for k, v in bound.arguments.items() if k != "out_dir"}
        record_path = cache_dir(out_dir.parent) / f"figure-{draw.__name__}-{digest(draw.__qualname__, inputs)}.json"
        record = _read_json(record_path)
        if record is not None and "entry" in record:
            png = out_dir.parent / record["entry"]["file"]
            if _file_sha(png) == record["sha256"]:
                return record["entry"]
        entry = draw(*args, **kwargs)
        record_path.parent.mkdir(parents=True, exist_ok=True)
        write_json(record_path, {"entry": entry, "sha256": _file_sha(out_dir.parent / entry["file"])})
        return entry

    return wrapper
