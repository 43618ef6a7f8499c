"""Figures of models: architecture diagrams, first-layer filters and feature maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.patches import FancyBboxPatch

from cnnreport import memo
from cnnreport.formatting import fmt_int
from cnnreport.report.figures.style import FULL_WIDTH, PALETTE, STYLE, _save, _show, plt, text_color_on
from cnnreport.results.summaries import ModelSummary

LAYER_COLORS = {"Rescaling": "#c9d6e2", "Conv2D": PALETTE[0], "MaxPooling2D": PALETTE[3],
                "AveragePooling2D": PALETTE[3], "Flatten": "#b0b0b0", "Dense": PALETTE[1],
                "Dropout": "#dddddd"}


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
def architecture_diagram(model: ModelSummary, input_shape: Sequence[int], out_dir: Path,
                         fig_id: str, title: str) -> dict[str, str]:
    """Left-to-right blocks, one per layer: height ∝ spatial size, colour = layer type,
    output shape and parameters written under each block."""
    layers = [{"name": "input", "type": "Input", "output_shape": list(input_shape), "params": 0}] + \
        [layer.model_dump() for layer in model.layers if layer.type != "Dropout"]
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
            ax.text(i + 0.5, 0.5, label, ha="center", va="center", fontsize=6.5, color=text_color_on(color))
            ax.text(i + 0.5, -0.22, "×".join(str(d) for d in shape), ha="center", va="top", fontsize=6.5)
            if layer["params"]:
                ax.text(i + 0.5, -0.52, f"{fmt_int(layer['params'])} p", ha="center", va="top",
                        fontsize=6, color="#555555")
            if i:
                ax.annotate("", xy=(i + 0.1, 0.5), xytext=(i - 0.1, 0.5),
                            arrowprops={"arrowstyle": "->", "lw": 0.6, "color": "#555555"})
        ax.text(0, 1.15, title, fontsize=8.5, va="top", fontweight="bold")
        ax.text(n, 1.15, f"{fmt_int(model.params)} parameters", fontsize=8, va="top", ha="right")
        kinds = ", ".join(l["type"] for l in layers[1:])
        return _save(fig, out_dir, fig_id,
                     f"{title}: one block per layer, left to right; block height is proportional "
                     "to the spatial size of the layer's output, the shape (height×width×channels or "
                     "units) and parameter count (p) are written under each block.",
                     f"Architecture diagram of {model.name}: input {'×'.join(map(str, input_shape))}, "
                     f"then {kinds}; {fmt_int(model.params)} parameters.")


# ---------------------------------------------------------------------------- learned filters


def _first(shown: int, counts: list[int], noun: str) -> str:
    """'first 8 filters', or 'up to the first 8 filters' where a model or layer has fewer."""
    return ("up to the " if any(c < shown for c in counts) else "") + f"first {shown} {noun}"


def _normalise(w: np.ndarray) -> np.ndarray:
    lo, hi = float(w.min()), float(w.max())
    return (w - lo) / (hi - lo) if hi > lo else np.zeros_like(w)


@memo.figure
def first_layer_filters(kernels: list[tuple[str, np.ndarray]], out_dir: Path,
                        max_filters: int = 16) -> dict[str, str]:
    """First-layer kernels of each CNN (one row per model): grey for one input channel, colour
    (normalised per filter) for RGB."""
    rows = len(kernels)
    # Columns for the widest CNN only: a study whose CNNs all have 8 filters draws 8, not 16 with
    # half of them blank, and the caption states the number drawn.
    counts = [k.shape[-1] for _, k in kernels]
    shown = min(max_filters, max(counts, default=0)) or 1
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, shown, figsize=(FULL_WIDTH, 0.5 * rows + 0.3), squeeze=False)
        for r, (name, k) in enumerate(kernels):  # k: (kh, kw, in_ch, filters)
            for j in range(shown):
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
                     f"Learned first-layer kernels ({_first(shown, counts, 'filters')}, first seed) "
                     "of every CNN, one row per model. Grey-scale kernels: red positive, blue negative weights, each "
                     "filter on its own symmetric scale; 1×1 kernels can only scale the pixel value.",
                     "Grids of small learned convolution kernels, one row per CNN variant, showing "
                     "edge- and blob-like patterns.")


@memo.figure
def feature_maps(image: np.ndarray, maps: list[tuple[str, list[tuple[str, np.ndarray]]]],
                 out_dir: Path, fig_id: str, model_name: str, channels: int = 8) -> dict[str, str]:
    """One test image through every conv layer of one model: a row per layer, first channels."""
    rows = len(maps[0][1]) if maps else 0
    layers = maps[0][1] if maps else []
    depths = [fmap.shape[-1] for _, fmap in layers]
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
                     f"pooling), {_first(min(channels, max(depths, default=channels)), depths, 'channels')}, "
                     "each on its own colour scale (yellow = "
                     "strong activation). Deeper maps are coarser and respond to larger patterns.",
                     f"Feature maps of one test image at each conv layer of {model_name}.")
