"""The figures of what the trained models show: the inductive-bias probes, learned filters and
feature maps, and the best model's errors — drawn from the numbers the results stage measured
(results/evidence.py, results/errors.py); a figure that cannot be drawn says why in its place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnreport.data.splits import Splits, pixel_permutation, shuffle_pixels
from cnnreport.report.figures import errors as error_figures
from cnnreport.report.figures import models as model_figures
from cnnreport.report.figures import probes as probe_figures
from cnnreport.report.figures.style import STYLE, _save, plt
from cnnreport.report.wording.paragraphs import DIVERGED
from cnnreport.results.errors import ErrorAnalysis
from cnnreport.results.evidence import LearnedFeatures
from cnnreport.results.probes import Probes
from cnnreport.results.summaries import ModelSummary

Figures = list[dict[str, str]]  # as figure functions return them; style.with_print_width types them


def not_measured(fig_id: str, title: str, fig_dir: Path, why: str = DIVERGED) -> dict[str, str]:
    """A figure that says what could not be drawn and why, in the place the report gives it."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.5, 0.9))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{title}: not measured", ha="center", va="center", fontsize=10)
        return _save(fig, fig_dir, fig_id, f"{title}: not measured, because {why}.",
                     f"{title}: not measured, because {why}.")


def architecture_figures(baseline: ModelSummary, reference: ModelSummary, input_shape: list[int],
                         fig_dir: Path) -> Figures:
    return [model_figures.architecture_diagram(baseline, input_shape, fig_dir, "arch_baseline",
                                               "Fully connected baseline"),
            model_figures.architecture_diagram(reference, input_shape, fig_dir, "arch_reference",
                                               "Reference CNN")]


def probe_figures_of(probes: Probes, splits: Splits, fig_dir: Path) -> Figures:
    """One figure per probe; a probe without models draws a figure that says so."""
    p = probes.permutation
    figs = [probe_figures.translation_figure(probes.translation, fig_dir) if probes.translation.models
            else not_measured("probe_translation", "Accuracy under translation", fig_dir),
            probe_figures.equivariance_figure(probes.equivariance, fig_dir) if probes.equivariance.cnn_layers
            else not_measured("probe_equivariance", "Equivariance of the feature maps", fig_dir)]
    if p.models:
        h, w, _ = splits.input_shape
        example = splits.x_train[0]
        shuffled = shuffle_pixels(example, pixel_permutation(h, w, p.seed))
        figs.append(probe_figures.permutation_figure(p, example, shuffled, fig_dir))
    figs.append(probe_figures.weight_sharing_figure(probes.weight_sharing, fig_dir))
    return figs


def learned_feature_figures(features: LearnedFeatures, image: np.ndarray, fig_dir: Path) -> tuple[Figures, list[str]]:
    """First-layer filters and feature maps of each CNN's first seed; returns the figures and
    the feature-map figure ids."""
    if not features:  # every CNN run diverged: no learned filters to show
        return [not_measured("filters", "First-layer filters", fig_dir)], []
    figs = [model_figures.first_layer_filters([(name, kernel) for name, (kernel, _) in features.items()], fig_dir)]
    fig_ids = []
    for i, (name, (_, maps)) in enumerate(features.items()):
        fig_id = f"feature_maps_{i}"
        figs.append(model_figures.feature_maps(image, [(name, maps)], fig_dir, fig_id, name))
        fig_ids.append(fig_id)
    return figs, fig_ids


def error_figures_of(errors: ErrorAnalysis, matrix: np.ndarray | None, first_predictions: np.ndarray | None,
                     splits: Splits, fig_dir: Path) -> Figures:
    """The best CNN's confusion matrix and misclassified images; when every CNN run diverged,
    figures that say so in their place."""
    if errors.best_model is None or matrix is None or first_predictions is None:
        return [not_measured("confusion", "Confusion matrix of the best CNN", fig_dir),
                not_measured("misclassified", "Misclassified test images", fig_dir)]
    seeds = errors.most_confused.seeds if errors.most_confused else 1
    return [error_figures.confusion(matrix, errors.per_class, splits.class_names, errors.best_model, seeds, fig_dir),
            error_figures.misclassified(splits.x_test, splits.y_test, first_predictions, splits.class_names,
                                        errors.best_model, fig_dir)]
