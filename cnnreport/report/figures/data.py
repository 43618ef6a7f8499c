"""Figures of the data set: sample grid, class distribution, image dimensions (for a folder: the
sizes and aspect ratios on disk), preprocessing, and a folder's duplicate pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from cnnreport import memo  # noqa: E402
from cnnreport.report.wording.paragraphs import RESIZE_WORDS  # noqa: E402
from cnnreport.report.figures.style import FULL_WIDTH, PALETTE, STYLE, _save, _show

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
def image_dimensions(shape: list[int], original_sizes: list[list[int]] | np.ndarray, x_train: np.ndarray,
                     out_dir: Path, resize: dict[str, Any] | None = None) -> dict[str, str]:
    """Image size, honestly: for a fixed-size set, the mean and spread of every pixel position on
    the common grid (a histogram of one value would be a single bar); for a folder of photos, the
    heights, widths and aspect ratios found on disk, and how they were brought to one size."""
    h, w, c = shape
    with plt.rc_context(STYLE):
        if len(original_sizes):
            return _sizes_on_disk(np.asarray(original_sizes), (h, w), resize, out_dir)
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


def _sizes_on_disk(sizes: np.ndarray, target: tuple[int, int], resize: dict[str, Any] | None,
                   out_dir: Path) -> dict[str, str]:
    """Three histograms: heights, widths and aspect ratios (width / height) as found on disk."""
    h, w = target
    aspect = sizes[:, 1] / np.maximum(sizes[:, 0], 1)
    fig, axes = plt.subplots(1, 3, figsize=(FULL_WIDTH, 2.2))
    for ax, values, label in ((axes[0], sizes[:, 0], "height (px)"), (axes[1], sizes[:, 1], "width (px)")):
        lo, hi = int(values.min()), int(values.max())
        ax.hist(values, bins=np.arange(lo - 0.5, hi + 1.5) if hi - lo < 40 else 30, color=PALETTE[0])
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, nbins=5, min_n_ticks=1))
        ax.set_xlabel(label)
        ax.set_ylabel("images")
    axes[2].hist(aspect, bins=30 if np.ptp(aspect) > 0 else 1, color=PALETTE[3])
    axes[2].axvline(w / h, color=PALETTE[1], linestyle="--", linewidth=1, label=f"target {w / h:.2f}")
    axes[2].set_xlabel("aspect ratio (width / height)")
    axes[2].legend(frameon=False, loc="upper left", bbox_to_anchor=(0, 1.18))
    fig.tight_layout(w_pad=1.5)
    how = ""
    if resize:
        how = (f" Every image is brought to {h}×{w} pixels, {RESIZE_WORDS[resize['policy']]} "
               f"(data.resize = \"{resize['policy']}\", {resize['method']} resampling): {resize['changed']:,} "
               f"image{'' if resize['changed'] == 1 else 's'} change{'s' if resize['changed'] == 1 else ''} size, "
               f"{resize['aspect_changed']:,} of them aspect ratio.")
    caption = (f"Image sizes as found on disk ({len(sizes):,} images, after EXIF orientation): heights, widths "
               f"and aspect ratios; the dashed line is the target's aspect ratio.{how}")
    return _save(fig, out_dir, "image_dimensions", caption,
                 f"Histograms of the heights, widths and aspect ratios of the {len(sizes):,} images on disk.")


@memo.figure
def duplicate_pairs(pairs: list[dict[str, Any]], images: list[np.ndarray], near_bits: int, out_dir: Path,
                    shown: int = 8) -> dict[str, str]:
    """The first duplicate pairs (leakage first), each image over its split and file name."""
    n = min(len(pairs), shown)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, n, figsize=(min(FULL_WIDTH, 0.85 * n + 0.4), 2.55), squeeze=False)
        for k in range(n):
            p = pairs[k]
            for row, side in ((0, "a"), (1, "b")):
                ax = axes[row, k]
                _show(ax, images[2 * k + row])
                name = p[f"{side}_file"].rsplit("/", 1)[-1]
                ax.set_title(f"{p[f'{side}_split']}\n{name if len(name) <= 14 else name[:13] + '…'}", fontsize=6)
            label = "exact" if p["kind"] == "exact" else f"near, d={p['distance']}"
            axes[1, k].set_xlabel(("LEAK · " if p["leakage"] else "") + label, fontsize=6,
                                  color=PALETTE[1] if p["leakage"] else "black")
        fig.subplots_adjust(wspace=0.15, hspace=0.55)
        leaks = sum(1 for p in pairs[:n] if p["leakage"])
        return _save(fig, out_dir, "duplicate_pairs",
                     f"Duplicate pairs, the two images of each pair one above the other, with split and file "
                     f"name: the first {n} of those listed in the duplicates table ({leaks} of them leakage, "
                     f"marked LEAK: a test image with a copy in training or validation). Exact: identical file "
                     f"bytes; near: perceptual hashes within {near_bits} of 64 bits (d = bits that differ).",
                     f"{n} pairs of duplicate images shown one above the other, each with its split and file name.")
