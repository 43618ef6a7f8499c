"""Figures of the best model's errors: confusion matrix with per-class accuracy, misclassified
test images.
"""

from __future__ import annotations

from pathlib import Path
import numpy as np

from cnnreport.formatting import fmt_num
from cnnreport import memo
from cnnreport.report.figures.style import FULL_WIDTH, PALETTE, STYLE, _save, _show, plt
from cnnreport.results.errors import ClassAccuracy

# ---------------------------------------------------------------------------------- errors


@memo.figure
def confusion(matrix: np.ndarray, per_class: list[ClassAccuracy], class_names: list[str],
              model_name: str, n_seeds: int, out_dir: Path) -> dict[str, str]:
    """Row-normalised confusion matrix (pooled over seeds) and per-class accuracy (mean ± std)."""
    n = len(class_names)
    rates = matrix / np.maximum(1, matrix.sum(axis=1, keepdims=True))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 3.5), gridspec_kw={"width_ratios": [1.35, 1]})
        ax = axes[0]
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        ax.grid(False)
        ax.set_xticks(range(n), class_names, rotation=60, ha="right", fontsize=6.5)
        ax.set_yticks(range(n), class_names, fontsize=6.5)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if n <= 12:
            for i in range(n):
                for j in range(n):
                    if rates[i, j] >= 0.01:
                        ax.text(j, i, fmt_num(100 * rates[i, j], 0), ha="center", va="center", fontsize=5.5,
                                color="white" if rates[i, j] > 0.5 else "#1b1b1b")
        ax = axes[1]
        means = [c.accuracy.mean or 0 for c in per_class]
        stds = [c.accuracy.std or 0 for c in per_class]
        idx = np.arange(n)
        ax.barh(idx, means, xerr=stds, color=PALETTE[0], alpha=0.85, capsize=2)
        ax.set_yticks(idx, class_names, fontsize=6.5)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("per-class test accuracy")
        fig.tight_layout()
        return _save(fig, out_dir, "confusion",
                     f"Errors of the best model ({model_name}): confusion matrix in percent of each true "
                     f"class, pooled over {n_seeds} seed{'s' if n_seeds != 1 else ''} (left), and "
                     "per-class accuracy, mean ± std over seeds (right).",
                     f"Confusion matrix heat map and per-class accuracy bars for {model_name}.")


@memo.figure
def misclassified(x: np.ndarray, y: np.ndarray, pred: np.ndarray, class_names: list[str],
                  model_name: str, out_dir: Path, n: int = 24) -> dict[str, str]:
    """A grid of misclassified test images labelled 'true → predicted'."""
    wrong = np.flatnonzero(pred != y)[:n]
    cols = 8
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(FULL_WIDTH, 1.05 * rows), squeeze=False)
        for k, ax in enumerate(axes.flat):
            if k < len(wrong):
                i = wrong[k]
                _show(ax, x[i])
                ax.set_title(f"{class_names[y[i]]}\n→ {class_names[pred[i]]}", fontsize=6, pad=2)
            else:
                ax.axis("off")
        fig.subplots_adjust(wspace=0.15, hspace=0.55)
        return _save(fig, out_dir, "misclassified",
                     f"The first {len(wrong)} misclassified test images of {model_name} (first seed), "
                     "each titled 'true class → predicted class'.",
                     f"Grid of {len(wrong)} misclassified test images with their true and predicted classes.")
