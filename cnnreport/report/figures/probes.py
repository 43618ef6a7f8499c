"""Figures of the inductive-bias probes: translation, equivariance, pixel permutation and weight
sharing.
"""

from __future__ import annotations

from pathlib import Path
import numpy as np

from cnnreport import memo
from cnnreport.formatting import fmt_int, fmt_si
from cnnreport.report.figures.style import (
    FULL_WIDTH,
    PALETTE,
    STYLE,
    _save,
    _show,
    fit_tick_labels,
    legend_below,
    plt,
)
from cnnreport.results.probes import Equivariance, Permutation, Translation, WeightSharing

# ------------------------------------------------------------------------------------- probes


@memo.figure
def translation_figure(result: Translation, out_dir: Path) -> dict[str, str]:
    shifts = result.shifts
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.62, 2.6), layout="constrained")
        for name, m in result.models.items():
            mean = np.array([p.mean for p in m.per_shift])
            std = np.array([p.std or 0 for p in m.per_shift])
            color = PALETTE[1] if name == "mlp" else PALETTE[0]
            ax.errorbar(shifts, mean, yerr=std, marker="o", ms=3.5, capsize=3, color=color, label=name)
        ax.set_xticks(shifts)
        ax.set_xlabel("shift (pixels, right/left/down/up averaged)")
        ax.set_ylabel("test accuracy")
        legend_below(fig, ax)
        return _save(fig, out_dir, "probe_translation",
                     f"Translation probe: test accuracy on {fmt_int(result.n_images)} test images shifted by "
                     "0…k pixels (zero fill; mean of the four directions), mean ± std over seeds of the "
                     "saved models. No model was trained on shifted images.",
                     "Line chart of test accuracy against pixel shift for the MLP baseline and the "
                     "reference CNN.")


@memo.figure
def equivariance_figure(result: Equivariance, out_dir: Path) -> dict[str, str]:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.62, 2.6))
        for i, layer in enumerate(result.cnn_layers):
            s = [r.shift for r in layer.rows]
            ax.plot(s, [r.equivariance for r in layer.rows], "o-", ms=3.5, color=PALETTE[i % 4 * 2 % 8],
                    label=f"CNN {layer.layer}: equivariance error")
            ax.plot(s, [r.change for r in layer.rows], "o:", ms=3, color=PALETTE[i % 4 * 2 % 8],
                    alpha=0.6, label=f"CNN {layer.layer}: change if not re-shifted")
        s = [r.shift for r in result.mlp_rows]
        ax.plot(s, [r.change for r in result.mlp_rows], "s--", ms=3.5, color=PALETTE[1],
                label=f"MLP {result.mlp_layer}: change")
        ax.set_xlabel("diagonal input shift (pixels)")
        ax.set_ylabel("relative difference")
        ax.set_xticks(sorted({r.shift for layer in result.cnn_layers for r in layer.rows} | set(s)))
        ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
        return _save(fig, out_dir, "probe_equivariance",
                     "Equivariance probe: relative error ‖f(shift x) − shift f(x)‖ / ‖shift f(x)‖ of each "
                     "conv layer's feature map (solid; interior, border cropped), against the plain change "
                     "‖f(shift x) − f(x)‖ (dotted), and the change of the MLP's first dense layer "
                     f"(dashed; its units have no spatial layout to re-shift). {fmt_int(result.n_images)} test "
                     "images; deeper layers are sampled at shifts that are whole pixels of their map.",
                     "Line chart: CNN feature-map equivariance error near zero, while the MLP's first "
                     "layer output changes by a large fraction under the same shifts.")


@memo.figure
def permutation_figure(result: Permutation, example: np.ndarray, permuted: np.ndarray,
                       out_dir: Path) -> dict[str, str]:
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(FULL_WIDTH, 2.5), gridspec_kw={"width_ratios": [0.8, 0.8, 2.4]},
                                 layout="constrained")
        _show(axes[0], example)
        axes[0].set_title("original", fontsize=8)
        _show(axes[1], permuted)
        axes[1].set_title("fixed permutation", fontsize=8)
        ax = axes[2]
        names = list(result.models)
        idx = np.arange(len(names))
        for k, (key, label, color) in enumerate((("normal", "original pixels", PALETTE[0]),
                                                 ("permuted", "permuted pixels", PALETTE[2]))):
            means = [getattr(result.models[n], key).mean or 0 for n in names]
            stds = [getattr(result.models[n], key).std or 0 for n in names]
            ax.bar(idx + (k - 0.5) * 0.36, means, 0.36, yerr=stds, capsize=3, color=color, label=label)
            for i, n in enumerate(names):
                vals = getattr(result.models[n], key).values
                ax.scatter(np.full(len(vals), i + (k - 0.5) * 0.36), vals, s=6, color="black", zorder=3)
        ax.set_xticks(idx)
        fit_tick_labels(ax, names)
        lows = [v for n in names for key in ("normal", "permuted") for v in getattr(result.models[n], key).values]
        if lows:
            ax.set_ylim(max(0, min(lows) - 0.05), min(1, max(lows) + 0.03))
        ax.set_ylabel("test accuracy")
        legend_below(fig, ax)
        return _save(fig, out_dir, "probe_permutation",
                     "Locality probe: every image's pixels shuffled by one fixed permutation (left: one "
                     "training image before and after), and the test accuracy of the baseline and the "
                     "reference CNN retrained from scratch on permuted images (bars: mean ± std over "
                     "seeds; dots: seeds). The y-axis is cropped to the data.",
                     "An image and its pixel-permuted version, and bars of test accuracy on original "
                     "versus permuted pixels for the MLP and the CNN.")


@memo.figure
def weight_sharing_figure(rows: list[WeightSharing], out_dir: Path) -> dict[str, str]:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FULL_WIDTH * 0.62, 2.4), layout="constrained")
        kinds = (("conv", "convolution (shared)", PALETTE[0]),
                 ("locally_connected", "locally connected", PALETTE[2]),
                 ("dense", "dense", PALETTE[1]))
        idx = np.arange(len(rows))
        for k, (key, label, color) in enumerate(kinds):
            vals = [getattr(r, key) for r in rows]
            bars = ax.bar(idx + (k - 1) * 0.27, vals, 0.27, color=color, label=label)
            for b, v in zip(bars, vals):
                ax.text(b.get_x() + b.get_width() / 2, v * 1.15, _short(v), ha="center", va="bottom", fontsize=6)
        ax.set_yscale("log")
        ax.set_xticks(idx, [r.layer for r in rows])
        ax.set_ylabel("parameters (log scale)")
        top = max(r.dense for r in rows)
        ax.set_ylim(top=top * 4)  # room for the counts written over the bars
        legend_below(fig, ax)
        return _save(fig, out_dir, "probe_weight_sharing",
                     "Weight-sharing arithmetic: parameters of each conv layer of the reference CNN, of a "
                     "locally connected layer with the same receptive fields and output shape but its own "
                     "weights at every position, and of a dense layer producing the same output from the "
                     "whole input.",
                     "Log-scale bar chart of parameter counts: convolution versus locally connected "
                     "versus dense layers with the same output shape.")


def _short(v: float) -> str:
    """A bar's label: 12.3M, 950 (the formatting module's SI prefixes, without the space)."""
    return fmt_si(v).replace(" ", "")
