"""Aggregation of runs into per-model results (mean ± std over seeds, intervals, timing):
report.json `models[]`, and the one place a model is found by its role."""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np

from cnnreport.contract import Measured, Part
from cnnreport.results.statistics import Summary, summarize
from cnnreport.results.testset import binomial_interval
from cnnreport.study.models import ModelSpec
from cnnreport.study.specs import CNNSpec, Factor, MLPSpec
from cnnreport.train.models import Layer

Role = Literal["baseline", "reference", "variant"]
Record = dict[str, Any]  # a run record as run.json holds it (train/store.py)


class SeedRun(Part):
    """One run's numbers, kept by seed so comparisons can pair runs that share a seed."""

    seed: int
    diverged: bool
    test_accuracy: Measured  # None when the run diverged
    test_images: int | None
    test_ci_low: Measured  # exact (Clopper–Pearson) 95 % interval on the test images
    test_ci_high: Measured
    test_loss: Measured
    best_val_accuracy: Measured
    best_val_epoch: int | None  # 1-based
    gap: Measured  # final training − validation accuracy
    train_time_s: float


class Curve(Part):
    """Mean and std (ddof = 1; 0 with one seed) per epoch over the finished seeds (null for an
    epoch whose value was not finite)."""

    mean: list[Measured]
    std: list[Measured]


class Curves(Part):
    loss: Curve
    val_loss: Curve
    accuracy: Curve
    val_accuracy: Curve


class ModelSummary(Part):
    """report.json `models[]`: everything the report says about one model, from its runs."""

    name: str
    role: Role
    kind: Literal["mlp", "cnn"]
    factor: Factor | None
    level: int | str | None
    arch: MLPSpec | CNNSpec
    params: int | None  # None: no run yet
    flops: int | None  # per image, multiply-add = 2
    receptive_field: int | None  # of the last conv/pool layer, input pixels per side
    layers: list[Layer]
    seeds: list[int]
    run_ids: list[str]
    diverged_seeds: list[int]
    test_accuracy: Summary
    test_loss: Summary
    best_val_accuracy: Summary
    best_val_epoch: Summary
    generalisation_gap: Summary
    mean_epoch_s: Measured
    train_time_s: Summary
    predict_ms_per_image: Measured
    activation_bytes: int | None  # forward activation memory per image
    per_seed: list[SeedRun]
    curves: Curves

    def finite_run_ids(self) -> list[str]:
        """The run ids of the seeds that did not diverge, in seed order."""
        return [r for r, seed in zip(self.run_ids, self.seeds) if seed not in self.diverged_seeds]


def role_model(models: Sequence[ModelSummary], role: Role) -> ModelSummary | None:
    """The model with this role (the baseline, the reference CNN; the first variant), or None."""
    return next((m for m in models if m.role == role), None)


def roles(models: Sequence[ModelSummary]) -> dict[str, ModelSummary | None]:
    """{"baseline": …, "reference": …}: the two models every reader looks up by role."""
    return {role: role_model(models, role) for role in ("baseline", "reference")}


def records_by_model(records: list[Record], probe: str = "none") -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    for r in sorted(records, key=lambda r: r["seed"]):
        if r.get("probe", "none") == probe:
            out.setdefault(r["model"]["name"], []).append(r)
    return out


def mean_curve(runs: list[Record], key: str) -> Curve:
    """Mean and std (ddof=1 when n ≥ 2) per epoch over seeds, truncated to the shortest run."""
    series = [r["history"][key] for r in runs if r["history"].get(key)]
    if not series:
        return Curve(mean=[], std=[])
    length = min(len(s) for s in series)
    arr = np.asarray([s[:length] for s in series], dtype=float)
    std = arr.std(axis=0, ddof=1) if len(arr) > 1 else np.zeros(length)
    return Curve(mean=arr.mean(axis=0).tolist(), std=std.tolist())


def summarize_model(model: ModelSpec, runs: list[Record], test_images: int | None = None) -> ModelSummary:
    """Everything report.json says about one model, from its runs (one per seed); with the
    number of test images, each seed's exact binomial interval of its test accuracy."""
    arch = runs[0]["architecture"] if runs else {}
    finished = [r for r in runs if not r["diverged"]]
    best_val = [max(r["history"]["val_accuracy"]) for r in finished if r["history"]["val_accuracy"]]
    best_epoch = [1 + int(np.argmax(r["history"]["val_accuracy"])) for r in finished
                  if r["history"]["val_accuracy"]]
    gaps = [r["history"]["accuracy"][-1] - r["history"]["val_accuracy"][-1] for r in finished
            if r["history"]["accuracy"] and r["history"]["val_accuracy"]]
    epoch_times = [t for r in runs for t in r["history"]["epoch_time_s"]]
    # Forward activation memory per image (older runs stored only the value count: float32).
    activation_bytes = arch.get("activation_bytes", 4 * arch["activation_values"]
                                if arch.get("activation_values") else None)
    return ModelSummary(
        name=model.name,
        role=model.role,
        kind=model.kind,
        factor=model.factor,
        level=model.level,
        arch=model.arch,
        params=arch.get("params"),
        flops=arch.get("flops"),
        receptive_field=arch.get("receptive_field"),
        layers=[Layer.model_validate(layer) for layer in arch.get("layers", [])],
        seeds=[r["seed"] for r in runs],
        run_ids=[r["run_id"] for r in runs],
        diverged_seeds=[r["seed"] for r in runs if r["diverged"]],
        test_accuracy=summarize([r["test"]["accuracy"] for r in finished]),
        test_loss=summarize([r["test"]["loss"] for r in finished]),
        best_val_accuracy=summarize(best_val),
        best_val_epoch=summarize(best_epoch),
        generalisation_gap=summarize(gaps),
        mean_epoch_s=float(np.mean(epoch_times)) if epoch_times else None,
        train_time_s=summarize([r["train_time_s"] for r in runs]),
        predict_ms_per_image=float(np.mean([r["predict_ms_per_image"] for r in runs])) if runs else None,
        activation_bytes=activation_bytes,
        per_seed=[_per_seed(r, test_images) for r in runs],
        curves=Curves(**{k: mean_curve(finished, k) for k in ("loss", "val_loss", "accuracy", "val_accuracy")}),
    )


def _best(values: list[float | None]) -> tuple[float | None, int | None]:
    """The best validation accuracy and its 1-based epoch (None for a run without one)."""
    if not values:
        return None, None
    return max(values), 1 + int(np.argmax(values))


def _per_seed(run: Record, test_images: int | None = None) -> SeedRun:
    h = run["history"]
    acc = None if run["diverged"] else run["test"]["accuracy"]
    low, high = binomial_interval(acc, test_images) if acc is not None and test_images else (None, None)
    best, epoch = _best(h["val_accuracy"])
    return SeedRun(seed=run["seed"], diverged=run["diverged"], test_accuracy=acc, test_images=test_images,
                   test_ci_low=low, test_ci_high=high, test_loss=run["test"]["loss"],
                   best_val_accuracy=best, best_val_epoch=epoch,
                   gap=h["accuracy"][-1] - h["val_accuracy"][-1] if h["accuracy"] and h["val_accuracy"] else None,
                   train_time_s=float(run["train_time_s"]))


def summarize_models(models: list[ModelSpec], records: list[Record],
                     test_images: int | None = None) -> list[ModelSummary]:
    by_model = records_by_model(records)
    return [summarize_model(m, by_model.get(m.name, []), test_images) for m in models]
