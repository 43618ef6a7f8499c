"""Each training lever on its own, on one group of the cifar10 study (the reference CNN, 5 seeds
stacked), on generated images of CIFAR-10's shapes: seconds per epoch after compilation.

    KERAS_BACKEND=jax python bench/gpu_levers.py [--epochs 3]
"""

from __future__ import annotations

import argparse
import time

from cnnreport.train import levers
from cnnreport.bench import synthetic_cifar10
from cnnreport.train.plan import plan_runs
from cnnreport.train.engine import train_group
from cnnreport.study.loading import load_study

CONFIGS = {
    "float32, numpy feed, 1 step/exec": dict(precision="float32", data_on_device=False, steps_per_execution=1),
    "bf16, numpy feed, 1 step/exec": dict(precision="mixed_bfloat16", data_on_device=False, steps_per_execution=1),
    "bf16, numpy feed, 32 steps/exec": dict(precision="mixed_bfloat16", data_on_device=False, steps_per_execution=32),
    "bf16, data on device, 32 steps/exec": dict(precision="mixed_bfloat16", data_on_device=True, steps_per_execution=32),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--towers", type=int, default=5)
    p.add_argument("--only", nargs="*")
    args = p.parse_args()
    study = load_study("cifar10", "full")
    study = study.model_copy(update={"training": study.training.model_copy(update={"epochs": args.epochs})})
    splits = synthetic_cifar10()
    group = [r for r in plan_runs(study) if r.model.role == "reference"][: args.towers]
    base = levers.choose()
    for name, cfg in CONFIGS.items():
        if args.only and not any(o in name for o in args.only):
            continue
        lv = levers.Levers(cfg["precision"], len(group), True, cfg["steps_per_execution"], name,
                           cfg["data_on_device"])
        t0 = time.perf_counter()
        results = train_group(group, splits, None, lv)
        wall = time.perf_counter() - t0
        epoch_s = [t * len(group) for t in results[0][0]["history"]["epoch_time_s"]]
        steady = sum(epoch_s[1:]) / max(1, len(epoch_s) - 1)
        imgs = len(splits.x_train) * len(group)
        print(f"{name:<40} first epoch {epoch_s[0]:6.2f} s · later epochs {steady:6.2f} s "
              f"({imgs / steady:,.0f} img/s) · wall {wall:.1f} s", flush=True)
    print(f"default levers here: {base.reason}")


if __name__ == "__main__":
    main()
