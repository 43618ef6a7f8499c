"""SageMaker script-mode entry point: one training job's share of a study's runs.

The job runs `python train.py` in its source folder (cnnreport/deploy/training_jobs.py stages
it), which holds cnnreport/ beside this script, requirements.txt (installed before this runs),
study.json (the validated study) and jobs.json (each job's run ids and the data fingerprint
they were planned on). The container gives us (SageMaker's training conventions):

  SM_MODEL_DIR          where to write what comes back (uploaded as model.tar.gz)
  SM_CHANNEL_TRAINING   the `training` channel: the data set's original files (optional)
  SM_HPS                JSON of the hyperparameters: shard (this job's index in jobs.json) and
                        plan (the file name); nothing larger travels as a hyperparameter

It trains through the same runner as a local build and writes
  $SM_MODEL_DIR/runs/<study>/<run-id>/    each run, exactly as the local run store holds it

Only what training needs is imported: the study schema, the data loaders and the trainer,
never the report (matplotlib, jinja2) nor the deployment code.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# cnnreport/ sits beside this script in the job's source folder.
from cnnreport.data.splits import permute_pixels
from cnnreport.errors import UserError
from cnnreport.study.schema import Study
from cnnreport.train.plan import PERMUTATION_SEED, full_plan
from cnnreport.train.runner import run_plan
from cnnreport.train.workspace import Workspace

SOURCE = Path(__file__).resolve().parent


def read_hps() -> dict:
    raw = os.environ.get("SM_HPS", "{}")
    try:
        hps = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(f"SM_HPS: not JSON ({exc})") from None
    missing = [k for k in ("shard", "plan") if k not in hps]
    if missing:
        raise UserError(f"SM_HPS: missing hyperparameter(s) {missing}")
    return {k: _plain(v) for k, v in hps.items()}


def _plain(value: object) -> object:
    """A hyperparameter as sent: the SDK may JSON-encode strings ('"jobs.json"')."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def main() -> int:
    model_dir = Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    channel = os.environ.get("SM_CHANNEL_TRAINING")
    try:
        hps = read_hps()
        jobs = json.loads((SOURCE / str(hps["plan"])).read_text(encoding="utf-8"))
        study = Study.model_validate_json((SOURCE / jobs["study"]).read_text(encoding="utf-8"))
        wanted = jobs["jobs"][int(hps["shard"])]
        # No data cache: everything under the model folder is uploaded as the job's output.
        ws = Workspace(runs_root=model_dir / "runs", data_dir=Path(channel) if channel else None, cache_data=False)
        splits = ws.splits(study)
        by_id = {s.run_id: s for s in full_plan(study, splits.fingerprint)}
        unknown = [r for r in wanted if r not in by_id]
        if unknown:
            # Other code, or other data, than the caller planned on: refuse rather than return
            # runs under ids that do not describe them.
            raise UserError(f"{len(unknown)} of this job's runs (e.g. {unknown[0]}) are not in the plan this "
                            f"code computes on the data loaded here (fingerprint {splits.fingerprint}; the "
                            f"caller planned on {jobs.get('data_fingerprint')})")
        print(f"job {int(hps['shard']) + 1} of {len(jobs['jobs'])}: {len(wanted)} runs of study {study.name} "
              f"on {len(splits.y_train):,} training images", flush=True)

        def splits_for(spec):  # the locality probe trains on its fixed pixel permutation
            return permute_pixels(splits, PERMUTATION_SEED) if spec.probe == "permuted" else splits

        counts = run_plan([by_id[r] for r in wanted], splits_for, model_dir / "runs",
                          echo=lambda line: print(line, flush=True))
        print(f"trained {counts['trained']} runs ({counts['diverged']} diverged); wrote {model_dir}", flush=True)
    except UserError as exc:
        print(f"cnnreport: error: {exc}", file=sys.stderr, flush=True)
        failure = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output")) / "failure"
        try:  # SageMaker shows this file's text as the job's FailureReason
            failure.parent.mkdir(parents=True, exist_ok=True)
            failure.write_text(f"cnnreport: {exc}"[:1024])
        except OSError:
            pass
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
