"""The local runner: trains every run of a plan that is not stored yet, group by group, saving
each run atomically as it finishes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from cnnreport.files import write_json
from cnnreport.formatting import fmt_num, fmt_seconds
from cnnreport.train import levers as levers_mod
from cnnreport.train import store
from cnnreport.train.engine import ProgramCache, train_group
from cnnreport.train.plan import RunSpec
from cnnreport.train.progress import progress_for


def save_run(study_dir: Path, record: dict[str, Any], model: Any, data_fingerprint: str,
             data_origin: str | None = None) -> Path:
    """A trained run's files, stored atomically with their checksums. The record notes the
    fingerprint of the data it was trained and tested on (part of its id), and where that data
    was read from (named when a later command loads other data)."""
    record["data_fingerprint"] = data_fingerprint
    if data_origin is not None:
        record["data_origin"] = data_origin

    def fill(tmp: Path) -> None:
        np.save(tmp / store.PREDICTIONS_FILE, record.pop("_predictions"))
        model.save(tmp / store.MODEL_FILE)
        write_json(tmp / store.RUN_FILE, record)

    return store.write_run(study_dir, record["run_id"], fill)


def still_to_train(plan: list[RunSpec], study_dir: Path, echo: Callable[[str], None]) -> list[RunSpec]:
    """The runs of the plan not stored complete. A damaged one (a file missing, or changed since
    it was written) is named, set aside under runs/<study>/.damaged/ and trained again."""
    todo = []
    for spec in plan:
        run_dir = study_dir / spec.run_id
        problem = store.run_problem(run_dir)
        if problem is None:
            continue
        if problem != "absent":
            kept = store.set_aside(run_dir)
            echo(f"run {spec.run_id} ({spec.describe()}) is damaged: {problem}; "
                 f"moved to {kept}/ and training it again")
        todo.append(spec)
    return todo


def groups_of(todo: list[RunSpec], max_towers: int) -> list[list[RunSpec]]:
    """Runs that can share one program (same training settings, data and probe: models and seeds
    may differ), in chunks of at most `max_towers`, in plan order."""
    groups: list[list[RunSpec]] = []
    for spec in todo:
        last = groups[-1] if groups else None
        if (last and len(last) < max_towers and last[0].probe == spec.probe
                and last[0].training == spec.training and last[0].data == spec.data):
            last.append(spec)
        else:
            groups.append([spec])
    return groups


def run_plan(plan: list[RunSpec], splits_for: Callable[[RunSpec], Any], runs_root: Path,
             echo: Callable[[str], None] = print, profile: str | None = None) -> dict[str, int]:
    """Train every run of the plan that is not already stored. Returns counts trained/skipped.
    `profile`: the study's profile, noted for the commands that read finished work."""
    if not plan:
        return {"trained": 0, "skipped": 0, "diverged": 0}
    unknown = [r.describe() for r in plan if r.data_fingerprint is None]
    if unknown:  # a programming error: such a run's id would not say what data it saw
        raise ValueError(f"runs without a data fingerprint cannot be stored: {', '.join(unknown[:3])}")
    study_dir = store.study_runs_dir(runs_root, plan[0].study)
    if profile is not None:
        store.remember_profile(study_dir, profile)
    store.clean_stale(study_dir)
    todo = still_to_train(plan, study_dir, echo)
    skipped = len(plan) - len(todo)
    if skipped:
        echo(f"{skipped} of {len(plan)} runs already done (runs/{plan[0].study}/); {len(todo)} to train")
    if not todo:
        return {"trained": 0, "skipped": skipped, "diverged": 0}
    lv = levers_mod.choose(todo[0].training.precision)
    echo(f"levers: {lv.reason}")
    diverged = 0
    programs = ProgramCache()  # each model is saved before the next group reuses its program
    with progress_for(todo, echo) as progress:  # a live display on a terminal, lines elsewhere
        for group in groups_of(todo, lv.max_towers):
            splits = splits_for(group[0])
            for (record, model), spec in zip(train_group(group, splits, progress, lv, programs), group):
                save_run(study_dir, record, model, spec.data_fingerprint, getattr(splits, "origin", None))
                progress.run_finished()
                if record["diverged"]:
                    diverged += 1
                    echo(f"  {spec.describe()}: loss became NaN — recorded as diverged")
                else:
                    echo(f"  done {spec.describe()}: test accuracy {fmt_num(record['test']['accuracy'], 4)} "
                         f"({fmt_seconds(record['train_time_s'])})")
    return {"trained": len(todo), "skipped": skipped, "diverged": diverged}
