"""The run store: `runs/<study>/<run-id>/`, written atomically, read back into a DataFrame.

A run folder is complete or absent: it is written under a temporary name and renamed at the
end, so a build killed at any moment (Ctrl-C, kill -9) leaves no half-run that a later build
could mistake for a finished one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .errors import UserError

RUN_FILE = "run.json"
TMP_PREFIX = ".tmp-"


def study_runs_dir(runs_root: str | Path, study_name: str) -> Path:
    return Path(runs_root) / study_name


LAST_PROFILE_FILE = "last-profile"  # the profile of the study's most recent training


def remember_profile(study_dir: Path, profile: str) -> None:
    """Note the profile of this training, writing only when it changed (a build that trains
    nothing touches nothing)."""
    if last_profile(study_dir) == profile:
        return
    study_dir.mkdir(parents=True, exist_ok=True)
    (study_dir / LAST_PROFILE_FILE).write_text(profile + "\n", encoding="utf-8")


def last_profile(study_dir: Path) -> str | None:
    try:
        return (study_dir / LAST_PROFILE_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def is_complete(run_dir: Path) -> bool:
    return (run_dir / RUN_FILE).is_file()


def _json_safe(value: Any) -> Any:
    """NaN and infinities are not JSON: a diverged run's loss is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file + rename)."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(_json_safe(data), indent=2, ensure_ascii=False, allow_nan=False),
                   encoding="utf-8")
    os.replace(tmp, path)


def write_run(study_dir: Path, run_id: str, fill: Callable[[Path], None]) -> Path:
    """Let `fill` write a run's files into a temporary folder, then rename it into place."""
    study_dir.mkdir(parents=True, exist_ok=True)
    final = study_dir / run_id
    tmp = study_dir / f"{TMP_PREFIX}{run_id}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
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
    for tmp in study_dir.glob(f"{TMP_PREFIX}*"):
        pid = tmp.name.rsplit("-", 1)[-1].split(".")[-1]
        if pid.isdigit() and _alive(int(pid)) and int(pid) != os.getpid():
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
                if d.is_dir() and not d.name.startswith(TMP_PREFIX) and is_complete(d)]
    missing = [r for r in run_ids if not is_complete(study_dir / r)]
    if missing:
        raise UserError(f"{study_dir}: {len(missing)} of {len(run_ids)} runs are missing "
                        f"(e.g. {missing[0]}); run `cnnreport build` (or `train`) first")
    return [read_run(study_dir / r) for r in run_ids]


def runs_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run: the columns analysis and the report need."""
    rows = []
    for r in records:
        hist = r["history"]
        rows.append({
            "run_id": r["run_id"], "model": r["model"]["name"], "role": r["model"]["role"],
            "factor": r["model"].get("factor"), "level": r["model"].get("level"),
            "probe": r.get("probe", "none"), "seed": r["seed"],
            "test_accuracy": r["test"]["accuracy"], "test_loss": r["test"]["loss"],
            "best_val_accuracy": max(hist["val_accuracy"]) if hist["val_accuracy"] else None,
            "best_val_epoch": (1 + hist["val_accuracy"].index(max(hist["val_accuracy"])))
            if hist["val_accuracy"] else None,
            "final_train_accuracy": hist["accuracy"][-1] if hist["accuracy"] else None,
            "final_val_accuracy": hist["val_accuracy"][-1] if hist["val_accuracy"] else None,
            "epochs_run": len(hist["loss"]),
            "mean_epoch_s": sum(hist["epoch_time_s"]) / max(1, len(hist["epoch_time_s"])),
            "train_time_s": r["train_time_s"], "diverged": r["diverged"],
            "params": r["architecture"]["params"], "flops": r["architecture"]["flops"],
        })
    return pd.DataFrame(rows)
