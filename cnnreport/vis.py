"""Figures of models and probes: architecture diagrams, learned filters, feature maps, confusion
matrix, misclassified images, and one figure per inductive-bias probe.

Same conventions as figures.py (one function per figure, fixed dpi, one style, caption and alt
text returned with the file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.patches import FancyBboxPatch

from . import memo
from .figures import FULL_WIDTH, PALETTE, STYLE, _save, _show, plt

LAYER_COLORS = {"Rescaling": "#c9d6e2", "Conv2D": PALETTE[0], "MaxPooling2D": PALETTE[3],
                "AveragePooling2D": PALETTE[3], "Flatten": "#b0b0b0", "Dense": PALETTE[1],
                "Dropout": "#dddddd"}


TEXT_WIDTH_MM = 174.0  # the A4 page's text width in report.css


def with_print_width(fig: dict[str, str], report_dir: Path, dpi: int) -> dict[str, Any]:
    """Add the figure's physical width (mm, from its PNG width at the figure dpi), so the page shows
    it at the size it was drawn — its fonts then print at their real 6–9 pt."""
    from PIL import Image

    with Image.open(report_dir / fig["file"]) as im:
        width_px = im.size[0]
    return {**fig, "width_mm": round(min(TEXT_WIDTH_MM, width_px / dpi * 25.4), 1)}


# ------------------------------------------------------------------------------- architecture


def _block_label(layer: dict[str, Any]) -> str:
    t = layer["type"]
    if t == "Conv2D":
        return f"conv {layer['kernel']}\nstride {layer['stride']}"
    if t in ("MaxPooling2D", "AveragePooling2D"):
        return ("max" if t.startswith("Max") else "avg") + f" pool\n{layer['kernel']}"
    return {"Rescaling": "rescale\n÷255", "Flatten": "flatten", "Dropout": "dropout",
            "Dense": "dense" if layer["name"] != "classifier" else "softmax"}.get(t, t)


@memo.figure
def architecture_diagram(model: dict[str, Any], input_shape: Sequence[int], out_dir: Path,
                         fig_id: str, title: str) -> dict[str, str]:
    """Left-to-right blocks, one per layer: height ∝ spatial size, colour = layer type,
    output shape and parameters written under each block."""
    layers = [{"name": "input", "type": "Input", "output_shape": list(input_shape), "params": 0}] + \
        [l for l in model["layers"] if l["type"] != "Dropout"]
    n = len(layers)
    max_side = max(input_shape[0], 1)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH, 2.3))
        ax.set_xlim(0, n)
        ax.set_ylim(-0.95, 1.2)
        ax.axis("off")
        for i, layer in enumerate(layers):
            shape = layer["output_shape"]
            side = shape[0] / max_side if len(shape) == 3 else 0.18
            height = 0.2 + 0.8 * side
            color = LAYER_COLORS.get(layer["type"], "#e8e8e8")
            box = FancyBboxPatch((i + 0.1, 0.5 - height / 2), 0.8, height, boxstyle="round,pad=0.02",
                                 facecolor=color, edgecolor="#333333", lw=0.6, alpha=0.9)
            ax.add_patch(box)
            label = "input" if layer["type"] == "Input" else _block_label(layer)
            dark = layer["type"] in ("Conv2D", "Dense", "MaxPooling2D", "AveragePooling2D")
            ax.text(i + 0.5, 0.5, label, ha="center", va="center", fontsize=6.5,
                    color="white" if dark else "#1b1b1b")
            ax.text(i + 0.5, -0.22, "×".join(str(d) for d in shape), ha="center", va="top", fontsize=6.5)
            if layer["params"]:
                ax.text(i + 0.5, -0.52, f"{layer['params']:,} p", ha="center", va="top",
                        fontsize=6, color="#555555")
            if i:
                ax.annotate("", xy=(i + 0.1, 0.5), xytext=(i - 0.1, 0.5),
                            arrowprops={"arrowstyle": "->", "lw": 0.6, "color": "#555555"})
        ax.text(0, 1.15, title, fontsize=8.5, va="top", fontweight="bold")
        ax.text(n, 1.15, f"{model['params']:,} parameters", fontsize=8, va="top", ha="right")
        kinds = ", ".join(l["type"] for l in layers[1:])
        return _save(fig, out_dir, fig_id,
                     f"{title}: one block per layer, left to right; block height is proportional "
                     "to the spatial size of the layer's output, the shape (height×width×channels or "
                     "units) and parameter count (p) are written under each block.",
                     f"Architecture diagram of {model['name']}: input {'×'.join(map(str, input_shape))}, "
                     f"then {kinds}; {model['params']:,} parameters.")


# ---------------------------------------------------------------------------- learned filters


def _normalise(w: np.ndarray) -> np.ndarray:
    lo, hi = float(w.min()), float(w.max())
    return (w - lo) / (hi - lo) if hi > lo else np.zeros_like(w)


@memo.figure
def first_layer_filters(kernels: list[tuple[str, np.ndarray]], out_dir: Path,
                        max_filters: int = 16) -> dict[str, str]:
    """First-layer kernels of each CNN (one row per model): grey for one input channel, colour
    (normalised per filter) for RGB."""
    rows = len(kernels)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, max_filters, figsize=(FULL_WIDTH, 0.5 * rows + 0.3), squeeze=False)
        for r, (name, k) in enumerate(kernels):  # k: (kh, kw, in_ch, filters)
            for j in range(max_filters):
                ax = axes[r, j]
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if j >= k.shape[-1]:
                    ax.axis("off")
                    continue
                f = k[..., j]
                if f.shape[-1] == 3:
                    ax.imshow(_normalise(f), interpolation="nearest")
                else:
                    ax.imshow(f[..., 0], cmap="RdBu_r", vmin=-abs(f).max(), vmax=abs(f).max(),
                              interpolation="nearest")
            axes[r, 0].set_ylabel(name.replace("cnn · ", ""), rotation=0, ha="right", va="center", fontsize=7)
        fig.subplots_adjust(wspace=0.08, hspace=0.12, left=0.16)
        return _save(fig, out_dir, "filters",
                     f"Learned first-layer kernels (first {max_filters} filters, first seed) of every CNN, "
                     "one row per model. Grey-scale kernels: red positive, blue negative weights, each "
                     "filter on its own symmetric scale; 1×1 kernels can only scale the pixel value.",
                     "Grids of small learned convolution kernels, one row per CNN variant, showing "
                     "edge- and blob-like patterns.")


@memo.figure
def feature_maps(image: np.ndarray, maps: list[tuple[str, list[tuple[str, np.ndarray]]]],
                 out_dir: Path, fig_id: str, model_name: str, channels: int = 8) -> dict[str, str]:
    """One test image through every conv layer of one model: a row per layer, first channels."""
    rows = len(maps[0][1]) if maps else 0
    layers = maps[0][1] if maps else []
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, channels + 1, figsize=(FULL_WIDTH, 0.78 * rows + 0.3), squeeze=False)
        for r, (layer, fmap) in enumerate(layers):  # fmap: (h, w, c)
            _show(axes[r, 0], image)
            axes[r, 0].set_ylabel(f"{layer}\n{fmap.shape[0]}×{fmap.shape[1]}×{fmap.shape[2]}",
                                  rotation=0, ha="right", va="center", fontsize=7)
            for j in range(channels):
                ax = axes[r, j + 1]
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if j < fmap.shape[-1]:
                    ax.imshow(fmap[..., j], cmap="viridis", interpolation="nearest")
                    if r == 0:
                        ax.set_title(f"ch {j}", fontsize=7)
                else:
                    ax.axis("off")
        if rows:
            axes[0, 0].set_title("input", fontsize=7)
        fig.subplots_adjust(wspace=0.06, hspace=0.1, left=0.17)
        return _save(fig, out_dir, fig_id,
                     f"{model_name}: the same test image through every conv layer (after ReLU, before "
                     f"pooling), first {channels} channels, each on its own colour scale (yellow = "
                     "strong activation). Deeper maps are coarser and respond to larger patterns.",
                     f"Feature maps of one test image at each conv layer of {model_name}.")


# ---------------------------------------------------------------------------------- errors


@memo.figure
def confusion(matrix: np.ndarray, per_class: list[dict[str, Any]], class_names: list[str],
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
                        ax.text(j, i, f"{100 * rates[i, j]:.0f}", ha="center", va="center", fontsize=5.5,
                                color="white" if rates[i, j] > 0.5 else "#1b1b1b")
        ax = axes[1]
        means = [c["accuracy"]["mean"] or 0 for c in per_class]
        stds = [c["accuracy"]["std"] or 0 for c in per_class]
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


# ------------------------------------------------------------------------------------- probes


@memo.figure
def translation_figure(result: dict[str, Any], out_dir: Path) -> dict[str, str]:
    shifts = result["shifts"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.62, 2.6))
        for i, (name, m) in enumerate(result["models"].items()):
            mean = np.array([p["mean"] for p in m["per_shift"]])
            std = np.array([p["std"] or 0 for p in m["per_shift"]])
            color = PALETTE[1] if name == "mlp" else PALETTE[0]
            ax.errorbar(shifts, mean, yerr=std, marker="o", ms=3.5, capsize=3, color=color, label=name)
        ax.set_xticks(shifts)
        ax.set_xlabel("shift (pixels, right/left/down/up averaged)")
        ax.set_ylabel("test accuracy")
        ax.legend()
        return _save(fig, out_dir, "probe_translation",
                     f"Translation probe: test accuracy on {result['n_images']:,} test images shifted by "
                     "0…k pixels (zero fill; mean of the four directions), mean ± std over seeds of the "
                     "saved models. No model was trained on shifted images.",
                     "Line chart of test accuracy against pixel shift for the MLP baseline and the "
                     "reference CNN.")


@memo.figure
def equivariance_figure(result: dict[str, Any], out_dir: Path) -> dict[str, str]:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.62, 2.6))
        for i, layer in enumerate(result["cnn_layers"]):
            s = [r["shift"] for r in layer["rows"]]
            ax.plot(s, [r["equivariance"] for r in layer["rows"]], "o-", ms=3.5, color=PALETTE[i % 4 * 2 % 8],
                    label=f"CNN {layer['layer']}: equivariance error")
            ax.plot(s, [r["change"] for r in layer["rows"]], "o:", ms=3, color=PALETTE[i % 4 * 2 % 8],
                    alpha=0.6, label=f"CNN {layer['layer']}: change if not re-shifted")
        s = [r["shift"] for r in result["mlp_rows"]]
        ax.plot(s, [r["change"] for r in result["mlp_rows"]], "s--", ms=3.5, color=PALETTE[1],
                label=f"MLP {result['mlp_layer']}: change")
        ax.set_xlabel("diagonal input shift (pixels)")
        ax.set_ylabel("relative difference")
        ax.set_xticks(sorted({r["shift"] for l in result["cnn_layers"] for r in l["rows"]} | set(s)))
        ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
        return _save(fig, out_dir, "probe_equivariance",
                     "Equivariance probe: relative error ‖f(shift x) − shift f(x)‖ / ‖shift f(x)‖ of each "
                     "conv layer's feature map (solid; interior, border cropped), against the plain change "
                     "‖f(shift x) − f(x)‖ (dotted), and the change of the MLP's first dense layer "
                     f"(dashed; its units have no spatial layout to re-shift). {result['n_images']} test "
                     "images; deeper layers are sampled at shifts that are whole pixels of their map.",
                     "Line chart: CNN feature-map equivariance error near zero, while the MLP's first "
                     "layer output changes by a large fraction under the same shifts.")


@memo.figure
def permutation_figure(result: dict[str, Any], example: np.ndarray, permuted: np.ndarray,
                       out_dir: Path) -> dict[str, str]:
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(FULL_WIDTH, 2.5), gridspec_kw={"width_ratios": [0.8, 0.8, 2.4]})
        _show(axes[0], example)
        axes[0].set_title("original", fontsize=8)
        _show(axes[1], permuted)
        axes[1].set_title("fixed permutation", fontsize=8)
        ax = axes[2]
        names = list(result["models"])
        idx = np.arange(len(names))
        for k, (key, label, color) in enumerate((("normal", "original pixels", PALETTE[0]),
                                                 ("permuted", "permuted pixels", PALETTE[2]))):
            means = [result["models"][n][key]["mean"] or 0 for n in names]
            stds = [result["models"][n][key]["std"] or 0 for n in names]
            ax.bar(idx + (k - 0.5) * 0.36, means, 0.36, yerr=stds, capsize=3, color=color, label=label)
            for i, n in enumerate(names):
                vals = result["models"][n][key]["values"]
                ax.scatter(np.full(len(vals), i + (k - 0.5) * 0.36), vals, s=6, color="black", zorder=3)
        ax.set_xticks(idx, [n.replace(" · ", "\n") for n in names])
        lows = [v for n in names for key in ("normal", "permuted") for v in result["models"][n][key]["values"]]
        if lows:
            ax.set_ylim(max(0, min(lows) - 0.05), min(1, max(lows) + 0.03))
        ax.set_ylabel("test accuracy")
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        return _save(fig, out_dir, "probe_permutation",
                     "Locality probe: every image's pixels shuffled by one fixed permutation (left: one "
                     "training image before and after), and the test accuracy of the baseline and the "
                     "reference CNN retrained from scratch on permuted images (bars: mean ± std over "
                     "seeds; dots: seeds). The y-axis is cropped to the data.",
                     "An image and its pixel-permuted version, and bars of test accuracy on original "
                     "versus permuted pixels for the MLP and the CNN.")


@memo.figure
def weight_sharing_figure(rows: list[dict[str, Any]], out_dir: Path) -> dict[str, str]:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.62, 2.4))
        kinds = (("conv", "convolution (shared)", PALETTE[0]),
                 ("locally_connected", "locally connected", PALETTE[2]),
                 ("dense", "dense", PALETTE[1]))
        idx = np.arange(len(rows))
        for k, (key, label, color) in enumerate(kinds):
            vals = [r[key] for r in rows]
            bars = ax.bar(idx + (k - 1) * 0.27, vals, 0.27, color=color, label=label)
            for b, v in zip(bars, vals):
                ax.text(b.get_x() + b.get_width() / 2, v * 1.15, _short(v), ha="center", va="bottom", fontsize=6)
        ax.set_yscale("log")
        ax.set_xticks(idx, [r["layer"] for r in rows])
        ax.set_ylabel("parameters (log scale)")
        top = max(r["dense"] for r in rows)
        ax.set_ylim(top=top * 30)
        ax.legend(fontsize=7, loc="upper left", ncols=3)
        return _save(fig, out_dir, "probe_weight_sharing",
                     "Weight-sharing arithmetic: parameters of each conv layer of the reference CNN, of a "
                     "locally connected layer with the same receptive fields and output shape but its own "
                     "weights at every position, and of a dense layer producing the same output from the "
                     "whole input.",
                     "Log-scale bar chart of parameter counts: convolution versus locally connected "
                     "versus dense layers with the same output shape.")


def _short(v: float) -> str:
    for div, p in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.1f}{p}"
    return f"{v:.0f}"
