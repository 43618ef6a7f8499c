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
from cnnreport.formatting import fmt_int  # noqa: E402
from cnnreport.report.figures.style import (  # noqa: E402
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
from cnnreport.results.summaries import Curve, ModelSummary  # noqa: E402

# ---------------------------------------------------------------------------------------- curves


def _band(ax: Any, curve: Curve, color: str, label: str, style: str = "-",
          dodge: float = 0.0, **look: Any) -> None:
    """Mean over seeds with a ±1 std band; a curve of one or two epochs is points with error bars,
    moved `dodge` epochs sideways so the series of one epoch stand side by side (a band between
    two points, or a line of one, shows nothing)."""
    mean = np.asarray(curve.mean, dtype=float)  # null (a non-finite epoch) as NaN: a gap in the line
    if not len(mean):
        return
    std = np.asarray(curve.std, dtype=float)
    epochs = np.arange(1, len(mean) + 1)
    if len(mean) <= FEW_EPOCHS:
        ax.errorbar(epochs + dodge, mean, yerr=std, color=color, label=label, ls=style if len(mean) > 1 else "none",
                    lw=1.2, capsize=2.5, marker=look.pop("marker", "o"), ms=4.5, **look)
        return
    ax.plot(epochs, mean, style, color=color, label=label, lw=look.pop("lw", 1.6), **look)
    ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.18, lw=0)


def _seed_line(ax: Any, values: list[float], color: str, style: str, alpha: float, lw: float,
               dodge: float = 0.0) -> None:
    """One seed's curve, faint; as small dots beside its series' point when too short for a line."""
    epochs = np.arange(1, len(values) + 1)
    if len(values) <= FEW_EPOCHS:
        ax.plot(epochs + dodge, values, ls="none", marker=".", ms=3, color=color, alpha=min(1.0, 2 * alpha))
    else:
        ax.plot(epochs, values, style, color=color, alpha=alpha, lw=lw)


def _dodges(series: int, epochs: int) -> list[float]:
    """Sideways offsets (in epochs) of each series' points when the curves are points: side by
    side within ±0.35 of the epoch; none when the curves are lines."""
    if epochs > FEW_EPOCHS or series < 2:
        return [0.0] * series
    step = min(0.12, 0.7 / series)
    return [(i - (series - 1) / 2) * step for i in range(series)]


def _how_shown(epochs: int, seeds_drawn: bool, over: str = "seeds") -> str:
    """The caption's words for what the marks are: bands and lines, or points when they are few."""
    if epochs <= FEW_EPOCHS:
        return (f"mean over {over} as a point with ±1 std error bars" + (", each seed as a small dot" if seeds_drawn else "")
                + f"; {epochs} epoch{'s' if epochs != 1 else ''}, so points rather than lines, set side by side")
    return f"mean over {over} with a ±1 std band" + (", each seed as a faint line" if seeds_drawn else "")


@memo.figure
def training_curves(model: ModelSummary, seed_histories: list[dict[str, list[float]]],
                    out_dir: Path, fig_id: str) -> dict[str, str]:
    """Loss and accuracy, train and validation: mean over seeds, ±1 std band, each seed faint."""
    epochs = len(model.curves.loss.mean)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 2.5), layout="constrained")
        for ax, metric, title in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
            series = ((metric, PALETTE[0], "train", "-", "o"), (f"val_{metric}", PALETTE[1], "validation", "--", "s"))
            for (key, color, label, style, marker), dodge in zip(series, _dodges(len(series), epochs)):
                for h in seed_histories:
                    if h.get(key):
                        _seed_line(ax, h[key], color, style, 0.25, 0.7, dodge)
                _band(ax, getattr(model.curves, key), color, label, style, dodge, marker=marker)
            ax.set_xlabel("epoch")
            ax.set_ylabel(title)
            epoch_axis(ax, epochs)
        legend_below(fig, axes)
        n = len(seed_histories)
        return _save(fig, out_dir, fig_id,
                     f"{model.name}: training and validation loss and accuracy per epoch; "
                     f"{_how_shown(epochs, bool(n), f'{fmt_int(n)} seed' + ('s' if n != 1 else ''))}.",
                     f"Two charts of loss and accuracy per epoch for {model.name}, train and validation.")


@memo.figure
def variant_curves(models: list[ModelSummary], out_dir: Path,
                   seed_histories: dict[str, list[dict[str, list[float]]]] | None = None) -> dict[str, str]:
    """Validation accuracy and loss of every CNN of the experiment on the same axes: mean over
    seeds, ±1 std band, and (given `seed_histories`, model name → histories) each seed faint.
    Each CNN has a look of its own (style.series_style); the reference is drawn thicker."""
    cnns = [m for m in models if m.kind == "cnn"]
    epochs = max((len(m.curves.val_accuracy.mean) for m in cnns), default=0)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 2.7), layout="constrained")
        for i, (m, dodge) in enumerate(zip(cnns, _dodges(len(cnns), epochs))):
            look = series_style(i)
            label = m.name + (" (reference)" if m.role == "reference" else "")
            for h in (seed_histories or {}).get(m.name, []):
                for ax, key in ((axes[0], "val_accuracy"), (axes[1], "val_loss")):
                    if h.get(key):
                        _seed_line(ax, h[key], look["color"], look["linestyle"], 0.2, 0.6, dodge)
            # Markers on about eight epochs of a long curve: enough to tell the series apart.
            marks = {"marker": look["marker"], "ms": 4, "markevery": max(1, epochs // 8)} if epochs > FEW_EPOCHS \
                else {"marker": look["marker"]}
            width = {"lw": 2.4} if m.role == "reference" and epochs > FEW_EPOCHS else {}
            for ax, key in ((axes[0], "val_accuracy"), (axes[1], "val_loss")):
                _band(ax, getattr(m.curves, key), look["color"], label, look["linestyle"], dodge, **marks, **width)
        axes[0].set_ylabel("validation accuracy")
        axes[1].set_ylabel("validation loss")
        for ax in axes:
            ax.set_xlabel("epoch")
            epoch_axis(ax, epochs)
        legend_below(fig, axes)
        return _save(fig, out_dir, "variant_curves",
                     f"Validation accuracy and loss of every CNN in the experiment ({_how_shown(epochs, bool(seed_histories))}).",
                     "Charts of validation accuracy and loss per epoch, one series per CNN variant, each with its own "
                     "colour, marker and line style.")


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
            names.append(m.name)
            means.append(mean)
            lows.append(mean - (s.ci_low if s.ci_low is not None else mean))
            highs.append((s.ci_high if s.ci_high is not None else mean) - mean)
        idx = np.arange(len(names))
        colors = [PALETTE[1] if m.kind != "cnn" else PALETTE[0] for m in finished]
        ax.bar(idx, means, color=colors, alpha=0.85, yerr=[lows, highs], capsize=4)
        for i, m in enumerate(finished):
            vals = m.test_accuracy.values
            ax.scatter(np.full(len(vals), i) + np.linspace(-0.15, 0.15, len(vals)), vals,
                       s=8, color="black", zorder=3)
        ax.set_xticks(idx)
        fit_tick_labels(ax, names)
        ax.set_ylabel("test accuracy")
        if means:  # cropped to the data: every seed and every interval's end inside
            shown = [v for m in finished for v in m.test_accuracy.values]
            shown += [mean - low for mean, low in zip(means, lows)] + [mean + high for mean, high in zip(means, highs)]
            ax.set_ylim(max(0.0, min(shown) - 0.03), min(1.0, max(shown) + 0.03))
        ax.axhline(1.0 / num_classes, color="grey", lw=0.8, ls=":")
        return _save(fig, out_dir, "accuracy_bars",
                     "Test accuracy per model: bar = mean over seeds, error bar = 95 % t-interval, "
                     "dots = individual seeds. The y-axis is cropped to the data.",
                     "Bar chart of mean test accuracy per model with 95 % confidence error bars.")
