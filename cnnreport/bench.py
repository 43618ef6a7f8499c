"""`cnnreport bench`: the same plan trained the naive way and the cnnreport way, each in its own
process on the same machine; wall time, images per second, accuracy, and the speedup.

The naive way is the lab notebook's: NumPy arrays straight into `model.fit`, float32, batch 128,
one model at a time. The cnnreport way is exactly what `build` does (runner.train_group with the
levers chosen for this device), saving each model as a build does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from cnnreport.backend import import_keras
from cnnreport.data.sources import CIFAR10_CLASSES, load_dataset
from cnnreport.data.splits import Splits, make_splits
from cnnreport.formatting import fmt_sd_pts
from cnnreport.study.loading import load_study
from cnnreport.train import levers
from cnnreport.train.engine import ProgramCache, train_group
from cnnreport.train.models import make_model
from cnnreport.train.plan import plan_runs
from cnnreport.train.runner import groups_of, save_run

NAIVE_BATCH = 128
ACCURACY_TOLERANCE = 0.005  # speed must not cost accuracy: means within 0.5 points


def synthetic_like(splits: Any, seed: int = 0) -> Any:
    """Random images of the data set's exact shapes and class count, for speed only (a GPU machine
    without the real data). Accuracy on them means nothing."""
    rng = np.random.default_rng(seed)

    def fake(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return rng.integers(0, 256, size=x.shape, dtype=np.uint8), rng.integers(0, len(splits.class_names), size=y.shape)

    xt, yt = fake(splits.x_train, splits.y_train)
    xv, yv = fake(splits.x_val, splits.y_val)
    xs, ys = fake(splits.x_test, splits.y_test)
    return Splits(splits.name, splits.class_names, xt, yt, xv, yv, xs, ys, origin="synthetic")


def synthetic_cifar10(n_train: int = 45000, n_val: int = 5000, n_test: int = 10000) -> Any:
    rng = np.random.default_rng(0)
    shape = (32, 32, 3)

    def part(n: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8), rng.integers(0, 10, size=n)

    (xt, yt), (xv, yv), (xs, ys) = part(n_train), part(n_val), part(n_test)
    return Splits("cifar10", CIFAR10_CLASSES, xt, yt, xv, yv, xs, ys, origin="synthetic")


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    study = load_study(args.study, args.profile)
    base = Path(study.source).parent  # a folder's relative data.path is the study file's
    if args.synthetic:
        if study.data.source == "cifar10":
            splits = synthetic_cifar10()
            if study.data.train_subset:
                splits.x_train, splits.y_train = splits.x_train[:study.data.train_subset], splits.y_train[:study.data.train_subset]
            if study.data.val_subset:
                splits.x_val, splits.y_val = splits.x_val[:study.data.val_subset], splits.y_val[:study.data.val_subset]
        else:
            splits = synthetic_like(make_splits(load_dataset(study.data, args.data_dir, base_dir=base), study.data))
    else:
        splits = make_splits(load_dataset(study.data, args.data_dir, base_dir=base), study.data)
    return study, splits


def _plan(study: Any, splits: Any, limit: int | None) -> list[Any]:
    plan = plan_runs(study, splits.fingerprint)
    if limit:  # the first `limit` seeds of every model
        seeds = list(study.seeds)[:limit]
        plan = [r for r in plan if r.seed in seeds]
    return plan


def naive_worker(args: argparse.Namespace) -> dict[str, Any]:
    keras = import_keras()

    keras.config.set_dtype_policy("float32")
    study, splits = _load(args)
    plan = _plan(study, splits, args.seeds_limit)
    results = []
    started = time.perf_counter()
    for spec in plan:
        keras.utils.set_random_seed(spec.seed)
        model = make_model(spec.model, splits.input_shape, splits.num_classes)
        model.compile(optimizer=keras.optimizers.Adam(spec.training.learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(splits.x_train, splits.y_train, validation_data=(splits.x_val, splits.y_val),
                  epochs=spec.training.epochs, batch_size=NAIVE_BATCH, verbose=0)
        _, acc = model.evaluate(splits.x_test, splits.y_test, verbose=0)
        results.append({"model": spec.model.name, "seed": spec.seed, "test_accuracy": float(acc)})
        _say(args, f"naive: {spec.describe()} test accuracy {acc:.4f}")
    wall = time.perf_counter() - started
    return _summary("naive", plan, splits, wall, results, {"precision": "float32", "batch": NAIVE_BATCH})


def cnnreport_worker(args: argparse.Namespace) -> dict[str, Any]:
    study, splits = _load(args)
    plan = _plan(study, splits, args.seeds_limit)
    lv = levers.choose(plan[0].training.precision)
    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        programs = ProgramCache()
        for group in groups_of(plan, lv.max_towers):
            for record, model in train_group(group, splits, None, lv, programs):
                save_run(Path(tmp), record, model, splits.fingerprint)
                results.append({"model": record["model"]["name"], "seed": record["seed"],
                                "test_accuracy": record["test"]["accuracy"]})
                _say(args, f"cnnreport: {record['model']['name']} · seed {record['seed']} "
                           f"test accuracy {record['test']['accuracy']:.4f}")
    wall = time.perf_counter() - started
    return _summary("cnnreport", plan, splits, wall, results, lv.as_dict())


def _say(args: argparse.Namespace, msg: str) -> None:
    if not args.quiet:
        print(msg, file=sys.stderr, flush=True)


def _summary(way: str, plan: list[Any], splits: Any, wall: float, results: list[dict[str, Any]],
             settings: dict[str, Any]) -> dict[str, Any]:
    keras = import_keras()

    images = sum(len(splits.x_train) * r.training.epochs for r in plan)
    by_model: dict[str, list[float]] = {}
    for r in results:
        by_model.setdefault(r["model"], []).append(r["test_accuracy"])
    return {"way": way, "wall_s": wall, "runs": len(plan), "train_images": images,
            "images_per_s": images / wall if wall else None,
            "mean_test_accuracy": float(np.mean([r["test_accuracy"] for r in results])),
            "model_accuracy": {k: float(np.mean(v)) for k, v in by_model.items()},
            "backend": keras.backend.backend(), "settings": settings}


# ---------------------------------------------------------------------------------------- parent


def run_bench(study: str, profile: str, data_dir: str | None = None, synthetic: bool = False,
              seeds_limit: int | None = None, ways: tuple[str, ...] = ("naive", "cnnreport"),
              echo: Any = print, naive_seeds: int | None = None) -> dict[str, Any]:
    """Each way in its own process, one after the other; returns both summaries. The study is
    read here first: bad input fails before minutes of training."""
    load_study(study, profile)
    out: dict[str, Any] = {}
    for way in ways:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            result_path = f.name
        cmd = [sys.executable, "-m", "cnnreport.bench", "--way", way, "--study", study,
               "--profile", profile, "--json", result_path]
        if data_dir:
            cmd += ["--data-dir", str(data_dir)]
        if synthetic:
            cmd.append("--synthetic")
        limit = naive_seeds if (way == "naive" and naive_seeds) else seeds_limit
        if limit:
            cmd += ["--seeds-limit", str(limit)]
        echo(f"bench: training the plan the {way} way …")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"bench worker '{way}' failed: {tail[0]}")
        out[way] = json.loads(Path(result_path).read_text())
        os.unlink(result_path)
    return out


def accuracy_gap(results: dict[str, Any]) -> float:
    """How far the two ways' mean test accuracies are apart (a fraction)."""
    return abs(results["naive"]["mean_test_accuracy"] - results["cnnreport"]["mean_test_accuracy"])


def points(x: float) -> str:
    """A difference of accuracies in points, as the bench says it: '0.50 pts'."""
    return fmt_sd_pts(x)


def format_report(results: dict[str, Any]) -> list[str]:
    lines = [f"{'way':<10} {'runs':>5} {'wall s':>8} {'images/s':>10} {'test acc':>9}  settings"]
    for way, r in results.items():
        lines.append(f"{way:<10} {r['runs']:>5} {r['wall_s']:>8.1f} {r['images_per_s']:>10.0f} "
                     f"{r['mean_test_accuracy']:>9.4f}  {r['backend']}: {json.dumps(r['settings'], sort_keys=True)}")
    if "naive" in results and "cnnreport" in results:
        n, c = dict(results["naive"]), results["cnnreport"]
        if n["runs"] < c["runs"]:
            # The naive way ran the first seeds of every model only: its time scales with runs.
            n["wall_s"] = n["wall_s"] * c["runs"] / n["runs"]
            lines.append(f"naive time extrapolated from {results['naive']['runs']} of {c['runs']} runs "
                         f"(same models, fewer seeds): {n['wall_s']:.0f} s")
        lines.append(f"speedup: {n['wall_s'] / c['wall_s']:.2f}× (naive {n['wall_s']:.0f} s, cnnreport "
                     f"{c['wall_s']:.0f} s; accuracy naive {n['mean_test_accuracy']:.4f}, cnnreport "
                     f"{c['mean_test_accuracy']:.4f})")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cnnreport.bench", description="one bench worker")
    p.add_argument("--way", choices=("naive", "cnnreport"), required=True)
    p.add_argument("--study", required=True)
    p.add_argument("--profile", default="quick")
    p.add_argument("--data-dir")
    p.add_argument("--synthetic", action="store_true")
    p.add_argument("--seeds-limit", type=int)
    p.add_argument("--json", required=True)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    result = (naive_worker if args.way == "naive" else cnnreport_worker)(args)
    Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
