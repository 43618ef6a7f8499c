"""The run store: `runs/<study>/<run-id>/`, written atomically, read back as run records.

A run folder is complete or absent: it is written under a temporary name and renamed at the
end, so a build killed at any moment (Ctrl-C, kill -9) leaves no half-run that a later build
could mistake for a finished one. The last file written into it, checksums.json, holds the
sha256 of every other file; a run counts as complete only while run.json, model.keras and
test_predictions.npy are all there and match it, so a run damaged later (a file deleted,
truncated or edited) is found, named, and trained again by the next build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from cnnreport.contract import Part
from cnnreport.errors import UserError
from cnnreport.files import (
    is_temporary,
    naming,
    remove_dead_temporaries,
    temporary_name,
    write_json,
    write_text,
)

if TYPE_CHECKING:
    from cnnreport.train.plan import RunSpec

RUN_FILE = "run.json"
MODEL_FILE = "model.keras"
PREDICTIONS_FILE = "test_predictions.npy"
REQUIRED_FILES = (RUN_FILE, MODEL_FILE, PREDICTIONS_FILE)  # what render, serve and deploy read
CHECKSUMS_FILE = "checksums.json"  # {"files": {name: sha256}}, written last, inside the folder
DAMAGED_DIR = ".damaged"  # runs/<study>/.damaged/: damaged runs set aside before retraining


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


def remember_study(runs_root: str | Path, name: str, study: str, data_dir: str | None = None) -> None:
    """Note the study trained last under this runs root: its name, how to load it again (a
    built-in name, or the study file's absolute path) and the --data-dir it was trained from
    (absolute, or None). Written only when it changed."""
    note = {"name": name, "study": study, "data_dir": data_dir}
    if last_study(runs_root) == note:
        return
    Path(runs_root).mkdir(parents=True, exist_ok=True)
    write_json(Path(runs_root) / LAST_STUDY_FILE, note)


def last_study(runs_root: str | Path) -> dict[str, str | None] | None:
    """{"name", "study", "data_dir"} of the study trained last under this runs root, or None (none
    yet, or a note this version cannot read: the caller then says nothing was built there)."""
    try:
        note = json.loads((Path(runs_root) / LAST_STUDY_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not (isinstance(note, dict) and isinstance(note.get("name"), str) and isinstance(note.get("study"), str)):
        return None
    data_dir = note.get("data_dir")  # absent in notes of earlier versions
    return {"name": note["name"], "study": note["study"], "data_dir": data_dir if isinstance(data_dir, str) else None}


def has_runs(study_dir: Path) -> bool:
    """Whether anything was trained here: a run folder with its record (complete or not; what
    is wrong with one is said where it is read)."""
    if not study_dir.is_dir():
        return False
    return any(d.is_dir() and not is_temporary(d.name) and (d / RUN_FILE).is_file() for d in study_dir.iterdir())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run_files(run_dir: Path) -> list[str]:
    """Every file of a run folder (relative, '/'-separated), checksums.json aside."""
    return sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*")
                  if p.is_file() and p.name != CHECKSUMS_FILE)


def run_problem(run_dir: Path) -> str | None:
    """Why `run_dir` is not a complete run ("absent" when there is nothing there), or None when
    run.json, model.keras and the test predictions are all present and match the checksums
    written with them."""
    if not run_dir.is_dir():
        return "absent"
    try:
        listed = json.loads((run_dir / CHECKSUMS_FILE).read_text(encoding="utf-8"))["files"]
        assert isinstance(listed, dict)
    except FileNotFoundError:
        return f"no {CHECKSUMS_FILE} (written by an older cnnreport, or not by cnnreport)"
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AssertionError):
        return f"{CHECKSUMS_FILE} is unreadable"
    for name in REQUIRED_FILES:
        if name not in listed:
            return f"{name} was never written"
    for name, expected in listed.items():
        if not isinstance(name, str) or Path(name).is_absolute() or ".." in Path(name).parts:
            return f"{CHECKSUMS_FILE} names a file outside the run folder"
        path = run_dir / name
        if not path.is_file():
            return f"{name} is missing"
        if _sha256(path) != expected:
            return f"{name} changed since the run was written (sha256 differs)"
    return None


def is_complete(run_dir: Path) -> bool:
    return run_problem(run_dir) is None


def set_aside(run_dir: Path) -> Path:
    """Move a damaged run out of the way (to runs/<study>/.damaged/), keeping it for a look."""
    dest = run_dir.parent / DAMAGED_DIR / f"{run_dir.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    dest.parent.mkdir(exist_ok=True)
    os.rename(run_dir, dest)
    return dest


def write_run(study_dir: Path, run_id: str, fill: Callable[[Path], None]) -> Path:
    """Let `fill` write a run's files into a temporary folder, record their checksums, then
    rename the folder into place."""
    final = study_dir / run_id
    with naming(final):  # a full disk names the run folder, not its temporary
        study_dir.mkdir(parents=True, exist_ok=True)
        tmp = temporary_name(final)
        tmp.mkdir()
        _fill_and_rename(tmp, final, fill)
    return final


def _fill_and_rename(tmp: Path, final: Path, fill: Callable[[Path], None]) -> None:
    run_id = final.name
    try:
        fill(tmp)
        missing = [name for name in REQUIRED_FILES if not (tmp / name).is_file()]
        if missing:
            raise RuntimeError(f"run {run_id}: writer produced no {', '.join(missing)}")
        write_json(tmp / CHECKSUMS_FILE, {"files": {name: _sha256(tmp / name) for name in _run_files(tmp)}})
        if final.exists():  # another process finished the same run first: keep theirs
            shutil.rmtree(tmp)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def clean_stale(study_dir: Path) -> list[Path]:
    """Remove temporary folders left by a killed build whose process is gone."""
    return remove_dead_temporaries(study_dir)


class RunEntry(Part):
    """report.json `runs[]`: a run the report was built from, with the sha256 of its run.json
    (the rubric's integrity check compares it with the run store)."""

    run_id: str
    model: str
    seed: int
    probe: Literal["none", "permuted"]
    train_time_s: float
    diverged: bool
    sha256: str | None  # None when the record was not read from a file


def run_entries(records: list[dict[str, Any]]) -> list[RunEntry]:
    return [RunEntry(run_id=r["run_id"], model=r["model"]["name"], seed=r["seed"], probe=r.get("probe", "none"),
                     train_time_s=float(r["train_time_s"]), diverged=r["diverged"], sha256=r.get("_sha256"))
            for r in records]


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
    """Complete run records; with `run_ids`, exactly those (a missing or damaged one is a
    UserError naming it and what to do)."""
    if run_ids is None:
        if not study_dir.is_dir():
            return []
        return [read_run(d) for d in sorted(study_dir.iterdir())
                if d.is_dir() and not is_temporary(d.name) and is_complete(d)]
    problems = {r: run_problem(study_dir / r) for r in run_ids}
    damaged = {r: why for r, why in problems.items() if why not in (None, "absent")}
    if damaged:
        first, why = next(iter(damaged.items()))
        others = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
        raise UserError(f"{study_dir / first}: damaged run: {why}{others}; run `cnnreport build` "
                        "(or `train`) to set it aside and train it again")
    missing = [r for r, why in problems.items() if why == "absent"]
    if missing:
        raise UserError(f"{study_dir}: {len(missing)} of {len(run_ids)} runs are missing "
                        f"(e.g. {missing[0]}); run `cnnreport build` (or `train`) first, or "
                        "`cnnreport render --partial` for a report of the runs finished so far")
    return [read_run(study_dir / r) for r in run_ids]


def load_plan(study_dir: Path, plan: "list[RunSpec]", data_origin: str, partial: bool = False) -> list[dict[str, Any]]:
    """The records of a plan's runs, all trained on the data the plan names (its fingerprint);
    with `partial`, those of its runs finished so far.

    When runs are missing because the stored ones were trained on other data (another
    --data-dir, or the data set changed under the same settings), the UserError names that data
    and both fingerprints, so a report never pairs one data set's EDA with another's results."""
    absent = [spec for spec in plan if not (study_dir / spec.run_id).exists()]
    if absent and (not partial or len(absent) == len(plan)):
        others = {fp: origin for fp, origin in trained_on(study_dir).items() if fp != plan[0].data_fingerprint
                  and any((study_dir / s.on_data(fp).run_id).is_dir() for s in absent)}
        if others:
            raise UserError(other_data_line(study_dir, others, plan[0].data_fingerprint, data_origin))
    if partial:
        plan = [spec for spec in plan if spec not in absent]
    records = load_runs(study_dir, [spec.run_id for spec in plan])
    for spec, record in zip(plan, records):
        if record.get("data_fingerprint") != spec.data_fingerprint:
            raise UserError(f"{study_dir / spec.run_id / RUN_FILE}: trained on data with fingerprint "
                            f"{record.get('data_fingerprint')}, but the data loaded now ({data_origin}) has "
                            f"fingerprint {spec.data_fingerprint}; run `cnnreport build`")
    return records


def trained_on(study_dir: Path) -> dict[str, str | None]:
    """Data fingerprint → where that data was read from (None for runs of versions that did not
    record it), over the study's stored runs."""
    found: dict[str, str | None] = {}
    for run in study_dir.glob(f"*/{RUN_FILE}") if study_dir.is_dir() else []:
        try:
            record = json.loads(run.read_text(encoding="utf-8"))
            fingerprint, origin = record.get("data_fingerprint"), record.get("data_origin")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            continue  # a damaged record says nothing about data
        if isinstance(fingerprint, str):
            found[fingerprint] = origin if isinstance(origin, str) else found.get(fingerprint)
    return found


def other_data_line(study_dir: Path, others: dict[str, str | None], fingerprint: str, origin: str) -> str:
    """The runs here were trained on other data than the data loaded now: say which, and what to do."""
    named = "; ".join(f"{where or 'data not recorded by the cnnreport that trained them'} (fingerprint {fp})"
                      for fp, where in sorted(others.items()))
    return (f"{study_dir}: its runs were trained on other data: {named}; the data loaded now is {origin} "
            f"(fingerprint {fingerprint}); pass the --data-dir those runs were trained from, or run "
            "`cnnreport build` to train on the data loaded now")
