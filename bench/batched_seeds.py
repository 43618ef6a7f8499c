"""Seeds as a batch dimension against one run at a time, on the JAX backend, same machine, same
process, same data: the reference CNN of a study trained for its seeds both ways.

    KERAS_BACKEND=jax python bench/batched_seeds.py --study fashion-mnist --profile quick \
        [--seeds 3] [--epochs 2] [--train-subset 6000]

Prints the wall time of each way (compilation included: the first epoch of each), the ratio, and
the largest difference of the validation curves (they should agree to float rounding).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--study", default="fashion-mnist")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--train-subset", type=int)
    ap.add_argument("--data-dir")
    args = ap.parse_args()

    from cnnreport.study.loading import load_study
    from cnnreport.train.engine import train_group
    from cnnreport.train.levers import choose
    from cnnreport.train.plan import plan_runs
    from cnnreport.train.workspace import Workspace

    study = load_study(args.study, args.profile)
    training = study.training.model_copy(update={"epochs": args.epochs or study.training.epochs})
    data = study.data.model_copy(update={"train_subset": args.train_subset or study.data.train_subset})
    study = study.model_copy(update={"training": training, "data": data, "seeds": tuple(range(args.seeds))})
    splits = Workspace(data_dir=args.data_dir).splits(study)
    specs = [s for s in plan_runs(study) if s.model.role == "reference"]
    lone_levers = dataclasses.replace(choose(training.precision), batch_seeds=False, max_towers=1)
    batched_levers = dataclasses.replace(lone_levers, batch_seeds=True, max_towers=len(specs))

    t0 = time.perf_counter()
    lone = [train_group([s], splits, levers=lone_levers)[0][0] for s in specs]
    lone_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    batched = [r for r, _ in train_group(specs, splits, levers=batched_levers)]
    batched_s = time.perf_counter() - t0
    gap = max(abs(a - b) for x, y in zip(lone, batched)
              for a, b in zip(x["history"]["val_loss"], y["history"]["val_loss"]))
    images = len(splits.y_train) * training.epochs * len(specs)
    print(f"device {lone[0]['environment']['device']}, {batched[0]['environment']['backend']} "
          f"{batched[0]['environment'].get('backend_version')}, precision {lone_levers.precision}; "
          f"{len(specs)} seeds x {training.epochs} epochs x {len(splits.y_train):,} images")
    print(f"one at a time {lone_s:.1f} s ({images / lone_s:,.0f} img/s); "
          f"seeds batched {batched_s:.1f} s ({images / batched_s:,.0f} img/s); "
          f"ratio {lone_s / batched_s:.2f}x; largest val_loss difference {gap:.1e}")
    print("test accuracy one at a time " + " ".join(f"{r['test']['accuracy']:.4f}" for r in lone)
          + "; batched " + " ".join(f"{r['test']['accuracy']:.4f}" for r in batched))


if __name__ == "__main__":
    main()
