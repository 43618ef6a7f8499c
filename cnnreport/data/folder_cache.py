"""The decoded-once cache of a folder data set: the decoded, resized uint8 arrays in one file
under runs/<study>/data-cache/, so `build`, `render` and `serve` decode 10,000 images once.

The key is what decides the arrays without reading a pixel: every file's relative name, size
and modification time (and the CSV's), the labels, the resize policy and channels, the Pillow
version and this cache's format. A changed, added or removed file is another key, so a stale
entry is never read; the data fingerprint that run ids carry stays a hash of the loaded content
(data/splits.py), whichever way it was loaded. A damaged entry is a miss and is written anew.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import PIL

from cnnreport.data.layout import Layout
from cnnreport.files import atomic_path

CACHE_FORMAT = 1  # bump when decoding changes what the same files give
FOLDER = "data-cache"  # under runs/<study>/
KEEP = 3  # entries kept per study (e.g. two data folders and a previous state); the oldest go


def cache_key(layout: Layout, policy: dict[str, Any]) -> str:
    h = hashlib.sha256(json.dumps({
        "format": CACHE_FORMAT, "pillow": PIL.__version__, "policy": policy,
        "classes": layout.class_names, "labels_from": layout.labels_from, "csv": layout.csv,
        "csv_columns": layout.csv_columns, "csv_stat": layout.csv_stat,
    }, sort_keys=True, ensure_ascii=False).encode())
    for name, label, part, (size, mtime) in zip(layout.files, layout.labels, layout.parts, layout.stats):
        h.update(f"{name}\0{label}\0{part}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:24]


def _path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"folder-{key}.npz"


def load(cache_dir: Path, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """(arrays, facts) stored under `key`, or None."""
    path = _path(cache_dir, key)
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files if name != "facts"}
            facts = json.loads(str(stored["facts"]))
        os.utime(path)  # used: pruning keeps the entries used last
        return arrays, facts
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # absent or damaged: a miss
        return None


def save(cache_dir: Path, key: str, arrays: dict[str, np.ndarray], facts: dict[str, Any]) -> Path:
    """Write the entry atomically (a killed build leaves none half-written), then prune."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = _path(cache_dir, key)
    with atomic_path(path) as tmp:  # the temporary name ends in .npz, which savez keeps as is
        np.savez(tmp, facts=np.asarray(json.dumps(facts, ensure_ascii=False)), **arrays)
    entries = sorted(cache_dir.glob("folder-*.npz"), key=_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)
    return path


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by another process's pruning
        return 0.0
