"""The run store: `runs/<study>/<run-id>/`, written atomically, read back as run records.

A run folder is complete or absent: it is written under a temporary name and renamed at the
end, so a build killed at any moment (Ctrl-C, kill -9) leaves no half-run that a later build
could mistake for a finished one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

from cnnreport.errors import UserError
from cnnreport.files import (
    is_temporary,
    temporary_name,
    write_json,
    write_text,
    writer_pid,
)

RUN_FILE = "run.json"


def study_runs_dir(runs_root: str | Path, study_name: str) -> Path:
    return Path(runs_root) / study_name


LAST_PROFILE_FILE = "last-profile"  # the profile of the study's most recent training


def remember_profile(study_dir: Path, profile: str) -> None:
    """Note the profile of this training, writing only when it changed (a build that trains
    nothing touches nothing)."""
    if last_profile(study_dir) == profile:
        return
    study_dir.mkdir(parents=True, exist_ok=True)
    write_text(study_dir / LAST_PROFILE_FILE, profile + "\n")


def last_profile(study_dir: Path) -> str | None:
    try:
        return (study_dir / LAST_PROFILE_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


LAST_STUDY_FILE = ".last-study"  # in the runs root: the study whose training last completed there


def remember_study(runs_root: str | Path, name: str, study: str) -> None:
    """Note the study trained last under this runs root: its name and how to load it again (a
    built-in name, or the study file's absolute path). Written only when it changed."""
    note = {"name": name, "study": study}
    if last_study(runs_root) == note:
        return
    Path(runs_root).mkdir(parents=True, exist_ok=True)
    write_json(Path(runs_root) / LAST_STUDY_FILE, note)


def last_study(runs_root: str | Path) -> dict[str, str] | None:
    """{"name", "study"} of the study trained last under this runs root, or None (none yet, or a
    note this version cannot read: the caller then falls back to the default study)."""
    try:
        note = json.loads((Path(runs_root) / LAST_STUDY_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not (isinstance(note, dict) and isinstance(note.get("name"), str) and isinstance(note.get("study"), str)):
        return None
    return {"name": note["name"], "study": note["study"]}


def is_complete(run_dir: Path) -> bool:
    return (run_dir / RUN_FILE).is_file()


def write_run(study_dir: Path, run_id: str, fill: Callable[[Path], None]) -> Path:
    """Let `fill` write a run's files into a temporary folder, then rename it into place."""
    study_dir.mkdir(parents=True, exist_ok=True)
    final = study_dir / run_id
    tmp = temporary_name(final)
    tmp.mkdir()
    try:
        fill(tmp)
        if not (tmp / RUN_FILE).is_file():
            raise RuntimeError(f"run {run_id}: writer produced no {RUN_FILE}")
        if final.exists():  # another process finished the same run first: keep theirs
            shutil.rmtree(tmp)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def clean_stale(study_dir: Path) -> list[Path]:
    """Remove temporary folders left by a killed build whose process is gone."""
    removed = []
    if not study_dir.is_dir():
        return removed
    for tmp in study_dir.iterdir():
        if not is_temporary(tmp.name):
            continue
        pid = writer_pid(tmp.name)
        if pid is not None and pid != os.getpid() and _alive(pid):
            continue
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_run(run_dir: Path) -> dict[str, Any]:
    """A run record, with the sha256 of its file as `_sha256` (the report cites what it read)."""
    try:
        raw = (run_dir / RUN_FILE).read_bytes()
        record = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{run_dir / RUN_FILE}: damaged run record ({exc})") from None
    record["_sha256"] = hashlib.sha256(raw).hexdigest()
    return record


def load_runs(study_dir: Path, run_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Complete run records; with `run_ids`, exactly those (a missing one is a UserError)."""
    if run_ids is None:
        if not study_dir.is_dir():
            return []
        return [read_run(d) for d in sorted(study_dir.iterdir())
                if d.is_dir() and not is_temporary(d.name) and is_complete(d)]
    missing = [r for r in run_ids if not is_complete(study_dir / r)]
    if missing:
        raise UserError(f"{study_dir}: {len(missing)} of {len(run_ids)} runs are missing "
                        f"(e.g. {missing[0]}); run `cnnreport build` (or `train`) first")
    return [read_run(study_dir / r) for r in run_ids]
