"""The run-to-run variation of one seed: the same runs retrained several times, each time in a
fresh process (as a grader's `check --reproduce` would), and the standard deviation of their test
accuracy and final validation loss. It is the `RERUN_SD` of cnnreport/rubric/reproduce.py for the
backend and device it runs on.

    python bench/reproduce_rerun.py --study tiny.toml [--repeats 3] [--seed 0] [--models mlp "cnn · kernel 3×3"]
    KERAS_BACKEND=jax python bench/reproduce_rerun.py --study tiny.toml

Prints one line per retraining and, per run, the two standard deviations (ddof 1), with the
backend, device, processor and precision they were measured on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, tempfile
from pathlib import Path
from cnnreport.study.loading import read_study
from cnnreport.study.models import study_models
from cnnreport.train.plan import full_plan
from cnnreport.train.runner import run_plan
from cnnreport.train.workspace import Workspace

study = read_study(sys.argv[1]).at(None)
seed, models = int(sys.argv[2]), json.loads(sys.argv[3])
scratch = Path(tempfile.mkdtemp())
ws = Workspace(runs_root=scratch, reports_root=scratch, cache_data=False, echo=lambda m: None)
splits = ws.splits(study)
plan = [s for s in full_plan(study, splits.fingerprint, study_models(study))
        if s.seed == seed and s.probe == "none" and s.model.name in models]
run_plan(plan, lambda s: splits, scratch, echo=lambda m: None)
for s in plan:
    r = json.loads((scratch / study.name / s.run_id / "run.json").read_text())
    print(json.dumps({"run": s.run_id, "accuracy": r["test"]["accuracy"], "val_loss": r["history"]["val_loss"][-1],
                      "backend": r["environment"]["backend"], "device": r["environment"]["device"],
                      "processor": r["environment"]["processor"], "precision": r["levers"]["precision"]}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn · kernel 3×3"])
    args = parser.parse_args()
    found: dict[str, list[dict]] = {}
    for k in range(args.repeats):
        with tempfile.TemporaryDirectory():
            proc = subprocess.run([sys.executable, "-c", CHILD, str(Path(args.study).resolve()), str(args.seed),
                                   json.dumps(args.models)], capture_output=True, text=True, check=True)
        for line in proc.stdout.splitlines():
            r = json.loads(line)
            found.setdefault(r["run"], []).append(r)
            print(f"retraining {k + 1}: {r['run']}: test accuracy {r['accuracy']:.4f}, final val loss {r['val_loss']:.6f}")
    for run, rs in found.items():
        acc = statistics.stdev(r["accuracy"] for r in rs) if len(rs) > 1 else 0.0
        loss = statistics.stdev(r["val_loss"] for r in rs) if len(rs) > 1 else 0.0
        r = rs[0]
        print(f"{run}: sd of test accuracy {acc:.6f}, of final val loss {loss:.6f} over {len(rs)} retrainings "
              f"({r['backend']}, {r['device']}, {r['processor']}, {r['precision']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
