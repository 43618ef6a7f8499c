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

from cnnreport import memo  # noqa: E402
from cnnreport.report.figures.style import FULL_WIDTH, PALETTE, STYLE, _save  # noqa: E402
from cnnreport.results.summaries import Curve, ModelSummary  # noqa: E402

# ---------------------------------------------------------------------------------------- curves


def _band(ax: Any, curve: Curve, color: str, label: str, style: str = "-") -> None:
    mean = np.asarray(curve.mean, dtype=float)  # null (a non-finite epoch) as NaN: a gap in the line
    if not len(mean):
        return
    std = np.asarray(curve.std, dtype=float)
    epochs = np.arange(1, len(mean) + 1)
    ax.plot(epochs, mean, style, color=color, label=label, lw=1.6)
    ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.18, lw=0)


@memo.figure
def training_curves(model: ModelSummary, seed_histories: list[dict[str, list[float]]],
                    out_dir: Path, fig_id: str) -> dict[str, str]:
    """Loss and accuracy, train and validation: mean over seeds, ±1 std band, each seed faint."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 2.5))
        for ax, metric, title in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
            for key, color, label, style in ((metric, PALETTE[0], "train", "-"),
                                             (f"val_{metric}", PALETTE[1], "validation", "--")):
                for h in seed_histories:
                    if h.get(key):
                        ax.plot(np.arange(1, len(h[key]) + 1), h[key], style, color=color, alpha=0.25, lw=0.7)
                _band(ax, getattr(model.curves, key), color, label, style)
            ax.set_xlabel("epoch")
            ax.set_ylabel(title)
            ax.legend()
        n = len(seed_histories)
        return _save(fig, out_dir, fig_id,
                     f"{model.name}: training and validation loss and accuracy per epoch; mean over "
                     f"{n} seed{'s' if n != 1 else ''} with a ±1 std band, each seed as a faint line.",
                     f"Two line charts of loss and accuracy per epoch for {model.name}, train and validation.")


@memo.figure
def variant_curves(models: list[ModelSummary], out_dir: Path,
                   seed_histories: dict[str, list[dict[str, list[float]]]] | None = None) -> dict[str, str]:
    """Validation accuracy and loss of every CNN of the experiment on the same axes: mean over
    seeds, ±1 std band, and (given `seed_histories`, model name → histories) each seed faint."""
    cnns = [m for m in models if m.kind == "cnn"]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 2.7))
        for i, m in enumerate(cnns):
            color = PALETTE[i % len(PALETTE)]
            label = m.name + (" (reference)" if m.role == "reference" else "")
            for h in (seed_histories or {}).get(m.name, []):
                for ax, key in ((axes[0], "val_accuracy"), (axes[1], "val_loss")):
                    if h.get(key):
                        ax.plot(np.arange(1, len(h[key]) + 1), h[key], color=color, alpha=0.2, lw=0.6)
            _band(axes[0], m.curves.val_accuracy, color, label)
            _band(axes[1], m.curves.val_loss, color, label)
        axes[0].set_ylabel("validation accuracy")
        axes[1].set_ylabel("validation loss")
        for ax in axes:
            ax.set_xlabel("epoch")
        axes[0].legend(loc="lower right")
        return _save(fig, out_dir, "variant_curves",
                     "Validation accuracy and loss of every CNN in the experiment (mean over seeds, "
                     "±1 std band" + (", each seed as a faint line)." if seed_histories else ")."),
                     "Line charts of validation accuracy and loss per epoch, one line per CNN variant.")


@memo.figure
def accuracy_bars(models: list[ModelSummary], num_classes: int, out_dir: Path) -> dict[str, str]:
    """Mean test accuracy with 95 % t-interval error bars, seeds as dots, chance as a line."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH, 2.8))
        names, means, lows, highs = [], [], [], []
        finished = [m for m in models if m.test_accuracy.mean is not None]
        for m in finished:
            s = m.test_accuracy
            mean = s.mean or 0.0
            names.append(m.name.replace(" · ", "\n"))
            means.append(mean)
            lows.append(mean - (s.ci_low if s.ci_low is not None else mean))
            highs.append((s.ci_high if s.ci_high is not None else mean) - mean)
        idx = np.arange(len(names))
        colors = [PALETTE[1] if "mlp" in n else PALETTE[0] for n in names]
        ax.bar(idx, means, color=colors, alpha=0.85, yerr=[lows, highs], capsize=4)
        for i, m in enumerate(finished):
            vals = m.test_accuracy.values
            ax.scatter(np.full(len(vals), i) + np.linspace(-0.15, 0.15, len(vals)), vals,
                       s=8, color="black", zorder=3)
        ax.set_xticks(idx, names)
        ax.set_ylabel("test accuracy")
        if means:
            low = min(min(m.test_accuracy.values) for m in models if m.test_accuracy.values)
            ax.set_ylim(max(0.0, low - 0.05), min(1.0, max(means) + 0.04))
        ax.axhline(1.0 / num_classes, color="grey", lw=0.8, ls=":")
        return _save(fig, out_dir, "accuracy_bars",
                     "Test accuracy per model: bar = mean over seeds, error bar = 95 % t-interval, "
                     "dots = individual seeds. The y-axis is cropped to the data.",
                     "Bar chart of mean test accuracy per model with 95 % confidence error bars.")
