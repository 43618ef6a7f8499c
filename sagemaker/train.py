"""SageMaker script-mode entry point: one cnnreport run inside a training job.

The container gives us (SageMaker's training toolkit conventions):
  SM_MODEL_DIR          where to write what should come back (uploaded as model.tar.gz)
  SM_CHANNEL_TRAINING   the `training` channel: the data set's original files (optional)
  SM_HPS                JSON of the hyperparameters: study (the validated study as JSON),
                        model (its name), seed, run_id (what the caller expects to get back)

It trains through the same code as a local build (cnnreport.train.engine.train_run) and writes
  $SM_MODEL_DIR/runs/<run-id>/    the run record, exactly as the local run store holds it
  $SM_MODEL_DIR/<model>/1/        a TensorFlow Serving SavedModel of the trained model
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# The job runs `python train.py` in the staged source folder, which holds cnnreport/ beside
# this script (deploy/training_jobs.stage_source), so the package imports as it is.
from cnnreport.deploy.artifact import export_savedmodel, tfs_name
from cnnreport.errors import UserError
from cnnreport.study.schema import Study
from cnnreport.train.engine import train_run
from cnnreport.train.plan import RunSpec, plan_runs
from cnnreport.train.runner import save_run
from cnnreport.train.workspace import Workspace


def read_hps() -> dict:
    raw = os.environ.get("SM_HPS", "{}")
    try:
        hps = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(f"SM_HPS: not JSON ({exc})") from None
    missing = [k for k in ("study", "model", "seed") if k not in hps]
    if missing:
        raise UserError(f"SM_HPS: missing hyperparameter(s) {missing}")
    return hps


def find_spec(hps: dict) -> tuple[Study, RunSpec]:
    study_json = hps["study"]
    study = Study.model_validate(json.loads(study_json) if isinstance(study_json, str) else study_json)
    seed = int(hps["seed"])
    specs = [s for s in plan_runs(study) if s.model.name == hps["model"] and s.seed == seed]
    if not specs:
        raise UserError(f"SM_HPS: study {study.name} has no run of model {hps['model']!r} with seed {seed}")
    spec = specs[0]
    if hps.get("run_id") and hps["run_id"] != spec.run_id:
        # Different cnnreport code here than at the caller: refuse rather than return a wrong run.
        raise UserError(f"SM_HPS: run_id {hps['run_id']} expected, this code computes {spec.run_id}")
    return study, spec


def main() -> int:
    model_dir = Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    channel = os.environ.get("SM_CHANNEL_TRAINING")
    try:
        hps = read_hps()
        study, spec = find_spec(hps)
        ws = Workspace(runs_root=model_dir / "runs", data_dir=Path(channel) if channel else None)
        splits = ws.splits(study)
        print(f"training {spec.describe()} ({spec.run_id}) on {len(splits.y_train):,} images", flush=True)
        record, model = train_run(spec, splits)
        save_run(model_dir / "runs", record, model)
        export_savedmodel(model, model_dir / tfs_name(record) / "1")
        print(f"test accuracy {record['test']['accuracy']:.4f}; wrote {model_dir}", flush=True)
    except UserError as exc:
        print(f"cnnreport: error: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
