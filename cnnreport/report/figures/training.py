"""Figures of training: learning curves (mean ± std over seeds), all variants on one plot, and
the test accuracy of every model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from cnnreport.report import cache as memo  # noqa: E402
from cnnreport.report.figures.style import (
    FEW_EPOCHS,
    FULL_WIDTH,
    PALETTE,
    STYLE,
    _save,
    epoch_axis,
    fit_tick_labels,
    legend_below,
    series_style,
)

# ---------------------------------------------------------------------------------------- curves


def _band(ax: Any, curve: dict[str, list[float]], color: str, label: str, style: str = "-",
          **look: Any) -> None:
    """Mean over seeds with a ±1 std band; a curve of one or two epochs is points with error bars
    (a band between two points, or a line of one, shows nothing)."""
    mean = np.asarray(curve["mean"], dtype=float)
    if not len(mean):
        return
    std = np.asarray(curve["std"], dtype=float)
    epochs = np.arange(1, len(mean) + 1)
    if len(mean) <= FEW_EPOCHS:
        ax.errorbar(epochs, mean, yerr=std, color=color, label=label, ls=style if len(mean) > 1 else "none",
                    lw=1.2, capsize=3, marker=look.pop("marker", "o"), ms=5, **look)
        return
    ax.plot(epochs, mean, style, color=color, label=label, lw=look.pop("lw", 1.6), **look)
    ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.18, lw=0)


def _seed_line(ax: Any, values: list[float], color: str, style: str, alpha: float, lw: float) -> None:
    """One seed's curve, faint; as small dots when it is too short for a line."""
    epochs = np.arange(1, len(values) + 1)
    if len(values) <= FEW_EPOCHS:
        ax.plot(epochs, values, ls="none", marker=".", ms=3, color=color, alpha=min(1.0, 2 * alpha))
    else:
        ax.plot(epochs, values, style, color=color, alpha=alpha, lw=lw)


@memo.figure
def training_curves(model: dict[str, Any], seed_histories: list[dict[str, list[float]]],
                    out_dir: Path, fig_id: str) -> dict[str, str]:
    """Loss and accuracy, train and validation: mean over seeds, ±1 std band, each seed faint."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 2.5), layout="constrained")
        for ax, metric, title in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
            for key, color, label, style, marker in ((metric, PALETTE[0], "train", "-", "o"),
                                                     (f"val_{metric}", PALETTE[1], "validation", "--", "s")):
                for h in seed_histories:
                    if h.get(key):
                        _seed_line(ax, h[key], color, style, 0.25, 0.7)
                _band(ax, model["curves"][key], color, label, style, marker=marker)
            ax.set_xlabel("epoch")
            ax.set_ylabel(title)
            epoch_axis(ax, len(model["curves"][metric]["mean"]))
        legend_below(fig, axes)
        n = len(seed_histories)
        return _save(fig, out_dir, fig_id,
                     f"{model['name']}: training and validation loss and accuracy per epoch; mean over "
                     f"{n} seed{'s' if n != 1 else ''} with a ±1 std band, each seed as a faint line.",
                     f"Two line charts of loss and accuracy per epoch for {model['name']}, train and validation.")


@memo.figure
def variant_curves(models: list[dict[str, Any]], out_dir: Path,
                   seed_histories: dict[str, list[dict[str, list[float]]]] | None = None) -> dict[str, str]:
    """Validation accuracy and loss of every CNN of the experiment on the same axes: mean over
    seeds, ±1 std band, and (given `seed_histories`, model name → histories) each seed faint."""
    cnns = [m for m in models if m["kind"] == "cnn"]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 2.7), layout="constrained")
        epochs = 0
        for i, m in enumerate(cnns):
            look = series_style(i)
            label = m["name"] + (" (reference)" if m["role"] == "reference" else "")
            for h in (seed_histories or {}).get(m["name"], []):
                for ax, key in ((axes[0], "val_accuracy"), (axes[1], "val_loss")):
                    if h.get(key):
                        _seed_line(ax, h[key], look["color"], look["linestyle"], 0.2, 0.6)
            n = len(m["curves"]["val_accuracy"]["mean"])
            epochs = max(epochs, n)
            # Markers on about eight epochs of a long curve: enough to tell the series apart.
            marks = {"marker": look["marker"], "ms": 4, "markevery": max(1, n // 8)} if n > FEW_EPOCHS \
                else {"marker": look["marker"]}
            width = {"lw": 2.4} if m["role"] == "reference" and n > FEW_EPOCHS else {}
            for ax, key in ((axes[0], "val_accuracy"), (axes[1], "val_loss")):
                _band(ax, m["curves"][key], look["color"], label, look["linestyle"], **marks, **width)
        axes[0].set_ylabel("validation accuracy")
        axes[1].set_ylabel("validation loss")
        for ax in axes:
            ax.set_xlabel("epoch")
            epoch_axis(ax, epochs)
        legend_below(fig, axes)
        return _save(fig, out_dir, "variant_curves",
                     "Validation accuracy and loss of every CNN in the experiment (mean over seeds, "
                     "±1 std band" + (", each seed as a faint line)." if seed_histories else ")."),
                     "Line charts of validation accuracy and loss per epoch, one line per CNN variant.")


@memo.figure
def accuracy_bars(models: list[dict[str, Any]], num_classes: int, out_dir: Path) -> dict[str, str]:
    """Mean test accuracy with 95 % t-interval error bars, seeds as dots, chance as a line."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH, 2.8))
        names, means, lows, highs = [], [], [], []
        for m in models:
            s = m["test_accuracy"]
            if s["mean"] is None:
                continue
            names.append(m["name"])
            means.append(s["mean"])
            lows.append(s["mean"] - (s["ci_low"] if s["ci_low"] is not None else s["mean"]))
            highs.append((s["ci_high"] if s["ci_high"] is not None else s["mean"]) - s["mean"])
        idx = np.arange(len(names))
        colors = [PALETTE[1] if m["kind"] != "cnn" else PALETTE[0]
                  for m in models if m["test_accuracy"]["mean"] is not None]
        ax.bar(idx, means, color=colors, alpha=0.85, yerr=[lows, highs], capsize=4)
        for i, m in enumerate([m for m in models if m["test_accuracy"]["mean"] is not None]):
            vals = m["test_accuracy"]["values"]
            ax.scatter(np.full(len(vals), i) + np.linspace(-0.15, 0.15, len(vals)), vals,
                       s=8, color="black", zorder=3)
        ax.set_xticks(idx)
        fit_tick_labels(ax, names)
        ax.set_ylabel("test accuracy")
        if means:
            low = min(min(m["test_accuracy"]["values"]) for m in models if m["test_accuracy"]["values"])
            ax.set_ylim(max(0.0, low - 0.05), min(1.0, max(means) + 0.04))
        ax.axhline(1.0 / num_classes, color="grey", lw=0.8, ls=":")
        return _save(fig, out_dir, "accuracy_bars",
                     "Test accuracy per model: bar = mean over seeds, error bar = 95 % t-interval, "
                     "dots = individual seeds. The y-axis is cropped to the data.",
                     "Bar chart of mean test accuracy per model with 95 % confidence error bars.")
