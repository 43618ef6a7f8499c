"""Aggregation of runs into per-model results (mean ± std over seeds, intervals, timing)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnreport.results.statistics import summarize
from cnnreport.results.testset import binomial_interval
from cnnreport.study.models import ModelSpec


def records_by_model(records: list[dict[str, Any]], probe: str = "none") -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(records, key=lambda r: r["seed"]):
        if r.get("probe", "none") == probe:
            out.setdefault(r["model"]["name"], []).append(r)
    return out


def mean_curves(runs: list[dict[str, Any]], key: str) -> dict[str, list[float]]:
    """Mean and std (ddof=1 when n ≥ 2) per epoch over seeds, truncated to the shortest run."""
    series = [r["history"][key] for r in runs if r["history"].get(key)]
    if not series:
        return {"mean": [], "std": []}
    length = min(len(s) for s in series)
    arr = np.asarray([s[:length] for s in series], dtype=float)
    std = arr.std(axis=0, ddof=1) if len(arr) > 1 else np.zeros(length)
    return {"mean": arr.mean(axis=0).tolist(), "std": std.tolist()}


def summarize_model(model: ModelSpec | dict[str, Any], runs: list[dict[str, Any]],
                    test_images: int | None = None) -> dict[str, Any]:
    """Everything report.json says about one model, from its runs (one per seed); with the
    number of test images, each seed's exact binomial interval of its test accuracy."""
    info = model.model_dump(mode="json") if isinstance(model, ModelSpec) else dict(model)
    arch = runs[0]["architecture"] if runs else {}
    finished = [r for r in runs if not r["diverged"]]
    best_val = [max(r["history"]["val_accuracy"]) for r in finished if r["history"]["val_accuracy"]]
    best_epoch = [1 + int(np.argmax(r["history"]["val_accuracy"])) for r in finished
                  if r["history"]["val_accuracy"]]
    gaps = [r["history"]["accuracy"][-1] - r["history"]["val_accuracy"][-1] for r in finished
            if r["history"]["accuracy"] and r["history"]["val_accuracy"]]
    epoch_times = [t for r in runs for t in r["history"]["epoch_time_s"]]
    return {
        "name": info["name"],
        "role": info["role"],
        "kind": "mlp" if "hidden" in info["arch"] else "cnn",
        "factor": info.get("factor"),
        "level": info.get("level"),
        "arch": info["arch"],
        "params": arch.get("params"),
        "flops": arch.get("flops"),
        "receptive_field": arch.get("receptive_field"),
        "layers": arch.get("layers", []),
        "seeds": [r["seed"] for r in runs],
        "run_ids": [r["run_id"] for r in runs],
        "diverged_seeds": [r["seed"] for r in runs if r["diverged"]],
        "test_accuracy": summarize([r["test"]["accuracy"] for r in finished]),
        "test_loss": summarize([r["test"]["loss"] for r in finished]),
        "best_val_accuracy": summarize(best_val),
        "best_val_epoch": summarize(best_epoch),
        "generalisation_gap": summarize(gaps),
        "mean_epoch_s": float(np.mean(epoch_times)) if epoch_times else None,
        "train_time_s": summarize([r["train_time_s"] for r in runs]),
        "predict_ms_per_image": float(np.mean([r["predict_ms_per_image"] for r in runs])) if runs else None,
        # Forward activation memory per image (older runs stored only the value count: float32).
        "activation_bytes": arch.get("activation_bytes", 4 * arch["activation_values"]
                                     if arch.get("activation_values") else None),
        "per_seed": [_per_seed(r, test_images) for r in runs],
        "curves": {k: mean_curves(finished, k) for k in ("loss", "val_loss", "accuracy", "val_accuracy")},
    }


def _per_seed(run: dict[str, Any], test_images: int | None = None) -> dict[str, Any]:
    """One run's numbers, kept by seed so comparisons can pair runs that share a seed."""
    h = run["history"]
    acc = None if run["diverged"] else run["test"]["accuracy"]
    low, high = binomial_interval(acc, test_images) if acc is not None and test_images else (None, None)
    return {"seed": run["seed"], "diverged": run["diverged"],
            "test_accuracy": acc, "test_images": test_images, "test_ci_low": low, "test_ci_high": high,
            "test_loss": run["test"]["loss"],
            "best_val_accuracy": max(h["val_accuracy"]) if h["val_accuracy"] else None,
            "best_val_epoch": 1 + int(np.argmax(h["val_accuracy"])) if h["val_accuracy"] else None,
            "gap": h["accuracy"][-1] - h["val_accuracy"][-1] if h["accuracy"] and h["val_accuracy"] else None,
            "train_time_s": run["train_time_s"]}


def summarize_models(models: list[ModelSpec], records: list[dict[str, Any]],
                     test_images: int | None = None) -> list[dict[str, Any]]:
    by_model = records_by_model(records)
    return [summarize_model(m, by_model.get(m.name, []), test_images) for m in models]
