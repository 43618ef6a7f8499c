"""Figures: one function per figure, PNG at a fixed dpi, one style for all.

Each function draws from plain data (arrays, summaries) and returns the figure's entry for
report.json: id, file, caption, alt text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from . import memo  # noqa: E402

DPI = 160
PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d5a97", "#30638e", "#a23e48"]
STYLE = {
    "figure.dpi": DPI, "savefig.dpi": DPI, "font.size": 9, "axes.titlesize": 10,
    "axes.labelsize": 9, "legend.fontsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "font.family": "DejaVu Sans",
}
FULL_WIDTH = 6.8  # inches: the PDF's text width


def _save(fig: Any, out_dir: Path, fig_id: str, caption: str, alt: str) -> dict[str, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{fig_id}.png"
    fig.savefig(path, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return {"id": fig_id, "file": f"figures/{path.name}", "caption": caption, "alt": alt}


def _show(ax: Any, image: np.ndarray) -> None:
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(image)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


# ------------------------------------------------------------------------------------------ data


@memo.figure
def sample_grid(x: np.ndarray, y: np.ndarray, class_names: list[str], out_dir: Path,
                per_class: int = 8) -> dict[str, str]:
    """Several training images per class, one row a class (first images of each class)."""
    n_classes = len(class_names)
    shown = min(n_classes, 20)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(shown, per_class, figsize=(per_class * 0.62 + 1.4, shown * 0.62),
                                 squeeze=False)
        for c in range(shown):
            idx = np.flatnonzero(y == c)[:per_class]
            for j in range(per_class):
                ax = axes[c, j]
                if j < len(idx):
                    _show(ax, x[idx[j]])
                else:
                    ax.axis("off")
            axes[c, 0].set_ylabel(class_names[c], rotation=0, ha="right", va="center", fontsize=8)
        fig.subplots_adjust(wspace=0.05, hspace=0.08)
        note = "" if shown == n_classes else f" (first {shown} of {n_classes} classes)"
        return _save(fig, out_dir, "samples",
                     f"{per_class} training images per class{note}, as stored (raw pixels).",
                     f"Grid of sample training images, one row per class: {', '.join(class_names[:shown])}.")


@memo.figure
def class_distribution(counts: dict[str, list[int]], class_names: list[str], out_dir: Path) -> dict[str, str]:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH, 2.6))
        idx = np.arange(len(class_names))
        width = 0.27
        for k, split in enumerate(("train", "val", "test")):
            ax.bar(idx + (k - 1) * width, counts[split], width, label=split)
        ax.set_xticks(idx, class_names, rotation=30 if len(class_names) <= 20 else 90, ha="right")
        ax.set_ylabel("images")
        ax.legend(ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        return _save(fig, out_dir, "class_distribution",
                     "Images per class in each split (validation carved from the training set).",
                     "Grouped bar chart of image counts per class for train, validation and test splits.")


@memo.figure
def image_dimensions(shape: list[int], original_sizes: list[list[int]], x_train: np.ndarray,
                     out_dir: Path) -> dict[str, str]:
    """Image size, honestly: for a fixed-size set, the mean and spread of every pixel position on
    the common grid (a histogram of one value would be a single bar); for a folder of photos, the
    heights and widths found on disk."""
    h, w, c = shape
    with plt.rc_context(STYLE):
        if original_sizes:
            fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 2.2))
            for ax, k, label in ((axes[0], 0, "height (px)"), (axes[1], 1, "width (px)")):
                values = [s[k] for s in original_sizes]
                lo, hi = min(values), max(values)
                bins = np.arange(lo - 0.5, hi + 1.5) if hi - lo < 40 else 30
                ax.hist(values, bins=bins, color=PALETTE[0])
                ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, nbins=6))
                ax.set_xlabel(label)
                ax.set_ylabel("images")
            note = f"as found on disk; resized to {h}×{w} for training"
            return _save(fig, out_dir, "image_dimensions", f"Image heights and widths ({note}).",
                         f"Two histograms of image height and width; {note}.")
        sample = x_train[:5000].astype(np.float64)
        mean, std = sample.mean(axis=0), sample.std(axis=0)
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH * 0.72, 2.5))
        for ax, img, title in ((axes[0], mean, "mean image"), (axes[1], std, "per-pixel std")):
            if c == 1:
                shown = ax.imshow(img[..., 0], cmap="magma", vmin=0, vmax=255)
            else:
                shown = ax.imshow(np.clip(img / 255.0 if title == "mean image" else img / img.max(), 0, 1))
            ax.grid(False)
            ticks = sorted({0, h // 2, h - 1})
            ax.set_yticks(ticks)
            ax.set_xticks(sorted({0, w // 2, w - 1}))
            ax.set_xlabel(f"column (0–{w - 1})")
            ax.set_ylabel(f"row (0–{h - 1})")
            ax.set_title(title, fontsize=8.5)
        if c == 1:
            fig.colorbar(shown, ax=list(axes), fraction=0.04, pad=0.03, label="pixel value (0–255)")
        note = f"every image is {h}×{w} pixels with {c} channel{'s' if c != 1 else ''}"
        return _save(fig, out_dir, "image_dimensions",
                     f"Image geometry: {note}, so sizes need no histogram. Shown instead: the mean and "
                     f"standard deviation of each pixel position over {len(sample):,} training images, "
                     "i.e. where on the grid the content lies.",
                     f"Mean image and per-pixel standard deviation on the common {h}×{w} grid; {note}.")


@memo.figure
def preprocessing(image: np.ndarray, x_train: np.ndarray, out_dir: Path) -> dict[str, str]:
    """One image raw and scaled, and the pixel histogram after scaling."""
    scaled = image.astype(np.float32) / 255.0
    sample = x_train[: min(len(x_train), 2000)].reshape(-1)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(FULL_WIDTH, 2.3), gridspec_kw={"width_ratios": [1, 1.25, 2]})
        _show(axes[0], image)
        axes[0].set_title("original (0–255)", fontsize=8.5)
        if scaled.shape[-1] == 1:
            im = axes[1].imshow(scaled[..., 0], cmap="gray", vmin=0, vmax=1)
            # The colorbar gets its own slot inside axes[1]'s cell, so it cannot overlap the histogram.
            fig.colorbar(im, ax=axes[1], fraction=0.08, pad=0.03, ticks=[0, 0.5, 1])
        else:
            axes[1].imshow(scaled)
        axes[1].set_xticks([])
        axes[1].set_yticks([])
        axes[1].grid(False)
        axes[1].set_title("rescaled (0–1)", fontsize=8.5)
        axes[2].hist(sample / 255.0, bins=50, color=PALETTE[0])
        axes[2].set_xlabel("pixel value after Rescaling(1/255)")
        axes[2].set_ylabel("pixels (log scale)")
        axes[2].set_yscale("log")
        fig.tight_layout(w_pad=2.0)
        return _save(fig, out_dir, "preprocessing",
                     "Preprocessing: a training image before and after the model's Rescaling(1/255) "
                     "layer, and the distribution of scaled pixel values (log scale, 2,000 images).",
                     "A sample image raw and rescaled, and a histogram of scaled pixel intensities.")


# ---------------------------------------------------------------------------------------- curves


def _band(ax: Any, curve: dict[str, list[float]], color: str, label: str, style: str = "-") -> None:
    mean = np.asarray(curve["mean"])
    if not len(mean):
        return
    std = np.asarray(curve["std"])
    epochs = np.arange(1, len(mean) + 1)
    ax.plot(epochs, mean, style, color=color, label=label, lw=1.6)
    ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.18, lw=0)


@memo.figure
def training_curves(model: dict[str, Any], seed_histories: list[dict[str, list[float]]],
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
                _band(ax, model["curves"][key], color, label, style)
            ax.set_xlabel("epoch")
            ax.set_ylabel(title)
            ax.legend()
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
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 2.7))
        for i, m in enumerate(cnns):
            color = PALETTE[i % len(PALETTE)]
            label = m["name"] + (" (reference)" if m["role"] == "reference" else "")
            for h in (seed_histories or {}).get(m["name"], []):
                for ax, key in ((axes[0], "val_accuracy"), (axes[1], "val_loss")):
                    if h.get(key):
                        ax.plot(np.arange(1, len(h[key]) + 1), h[key], color=color, alpha=0.2, lw=0.6)
            _band(axes[0], m["curves"]["val_accuracy"], color, label)
            _band(axes[1], m["curves"]["val_loss"], color, label)
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
def accuracy_bars(models: list[dict[str, Any]], num_classes: int, out_dir: Path) -> dict[str, str]:
    """Mean test accuracy with 95 % t-interval error bars, seeds as dots, chance as a line."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH, 2.8))
        names, means, lows, highs = [], [], [], []
        for m in models:
            s = m["test_accuracy"]
            if s["mean"] is None:
                continue
            names.append(m["name"].replace(" · ", "\n"))
            means.append(s["mean"])
            lows.append(s["mean"] - (s["ci_low"] if s["ci_low"] is not None else s["mean"]))
            highs.append((s["ci_high"] if s["ci_high"] is not None else s["mean"]) - s["mean"])
        idx = np.arange(len(names))
        colors = [PALETTE[1] if "mlp" in n else PALETTE[0] for n in names]
        ax.bar(idx, means, color=colors, alpha=0.85, yerr=[lows, highs], capsize=4)
        for i, m in enumerate([m for m in models if m["test_accuracy"]["mean"] is not None]):
            vals = m["test_accuracy"]["values"]
            ax.scatter(np.full(len(vals), i) + np.linspace(-0.15, 0.15, len(vals)), vals,
                       s=8, color="black", zorder=3)
        ax.set_xticks(idx, names)
        ax.set_ylabel("test accuracy")
        if means:
            low = min(min(m["test_accuracy"]["values"]) for m in models if m["test_accuracy"]["values"])
            ax.set_ylim(max(0.0, low - 0.05), min(1.0, max(means) + 0.04))
        ax.axhline(1.0 / num_classes, color="grey", lw=0.8, ls=":")
        return _save(fig, out_dir, "accuracy_bars",
                     "Test accuracy per model: bar = mean over seeds, error bar = 95 % t-interval, "
                     "dots = individual seeds. The y-axis is cropped to the data.",
                     "Bar chart of mean test accuracy per model with 95 % confidence error bars.")
