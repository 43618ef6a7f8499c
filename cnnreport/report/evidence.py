"""What the trained models show, beyond the results table: the inductive-bias probes, learned
filters and feature maps, and the best model's errors — each step's numbers and its figures.

Reads finished runs (run.json, model.keras, test_predictions.npy) and the data splits; trains
nothing. Models are loaded only for what the render cache (reports/<study>/cache/) lacks.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cnnreport.backend import import_keras
from cnnreport.data.splits import Splits, pixel_permutation, shuffle_pixels
from cnnreport.report import cache as memo
from cnnreport.report.figures import errors as error_figures
from cnnreport.report.figures import models as model_figures
from cnnreport.report.figures import probes as probe_figures
from cnnreport.report.figures.style import STYLE, _save, plt
from cnnreport.results import probes
from cnnreport.results.statistics import summarize
from cnnreport.results.summaries import records_by_model
from cnnreport.train.plan import PERMUTATION_SEED

FEATURE_MAP_IMAGE = 0  # index of the test image every feature-map figure shows
DIVERGED = "every run it needs diverged (its training loss became NaN or infinite)"
# Said in place of a generated paragraph about trained models that cannot be written (prose.py
# leaves such a paragraph out; the report keeps its place and says why).
NOT_MEASURED_TEXT = {key: f"Not measured: {DIVERGED}."
                     for key in ("translation", "equivariance", "permutation", "errors", "q1")}


# ------------------------------------------------------------------------------------- caching


def not_measured(fig_id: str, title: str, fig_dir: Path, why: str = DIVERGED) -> dict[str, str]:
    """A figure that says what could not be drawn and why, in the place the report gives it."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.5, 0.9))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{title}: not measured", ha="center", va="center", fontsize=10)
        return _save(fig, fig_dir, fig_id, f"{title}: not measured, because {why}.",
                     f"{title}: not measured, because {why}.")


def finite_runs(model: dict[str, Any]) -> list[str]:
    """The run ids of a model's seeds that did not diverge, in seed order."""
    diverged = set(model.get("diverged_seeds") or [])
    return [r for r, seed in zip(model["run_ids"], model["seeds"]) if seed not in diverged]


def cached(cache_dir: Path, name: str, run_ids: list[str], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A probe's numbers, computed once per set of runs (runs are immutable under their id)."""
    return memo.json_value(cache_dir, name, sorted(run_ids), compute)


# --------------------------------------------------------------------------------- models on disk


def _load(runs_dir: Path, run_id: str) -> Any:
    return import_keras().saving.load_model(runs_dir / run_id / "model.keras", compile=False)


def _conv_layer_names(model: Any) -> list[str]:
    conv2d = import_keras().layers.Conv2D
    return [l.name for l in model.layers if isinstance(l, conv2d)]


def first_layer_and_maps(models: dict[str, Any], image: np.ndarray) -> dict[str, np.ndarray]:
    """For each model (name → loaded model, in order): its first conv layer's kernel, the names of
    its conv layers and their outputs for one image — what the filter and feature-map figures show."""
    keras = import_keras()
    out: dict[str, np.ndarray] = {}
    for i, m in enumerate(models.values()):
        convs = _conv_layer_names(m)
        out[f"kernel_{i}"] = np.asarray(m.get_layer(convs[0]).get_weights()[0], dtype=np.float32)
        out[f"convs_{i}"] = np.asarray(convs)
        sub = keras.Model(m.inputs, [m.get_layer(c).output for c in convs])
        maps = sub.predict(image[None], verbose=0)
        for j, o in enumerate(maps if isinstance(maps, (list, tuple)) else [maps]):
            out[f"map_{i}_{j}"] = np.asarray(o, dtype=np.float32)[0]
    return out


# ----------------------------------------------------------------------------- the evidence


class TrainedModels:
    """Finished runs' models, each loaded from disk at most once, and only when a cache misses."""

    def __init__(self, runs_dir: Path):
        self.runs_dir = runs_dir
        self.get = functools.lru_cache(maxsize=None)(lambda run_id: _load(runs_dir, run_id))


def architecture_figures(baseline: dict[str, Any], reference: dict[str, Any], input_shape: list[int],
                         fig_dir: Path) -> list[dict[str, str]]:
    return [model_figures.architecture_diagram(baseline, input_shape, fig_dir, "arch_baseline",
                                               "Fully connected baseline"),
            model_figures.architecture_diagram(reference, input_shape, fig_dir, "arch_reference",
                                               "Reference CNN")]


def probe_evidence(models: list[dict[str, Any]], records: list[dict[str, Any]], splits: Splits,
                   trained: TrainedModels, cache_dir: Path, fig_dir: Path
                   ) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The inductive-bias probes (report.json `probes`) and their figures.

    Translation and equivariance predict with trained models; their inputs (finished runs, the
    test split) never change under a run id, so their numbers are cached by run id and a
    re-render skips the thousands of predictions. Permutation and weight sharing are read off
    run records and layer tables."""
    baseline = next(m for m in models if m["role"] == "baseline")
    reference = next(m for m in models if m["role"] == "reference")
    figs: list[dict[str, str]] = []
    # Diverged runs (a non-finite loss) have nothing to measure: a model whose every seed
    # diverged is left out of a probe, and a probe without models draws no figure.
    finite = {m["name"]: finite_runs(m) for m in (baseline, reference)}
    used = [r for ids in finite.values() for r in ids]

    def translation_now() -> dict[str, Any]:
        loaded = {name: [trained.get(r) for r in ids] for name, ids in finite.items() if ids}
        return probes.translation(loaded, splits.x_test, splits.y_test)

    translation = cached(cache_dir, "translation", used, translation_now)
    figs.append(probe_figures.translation_figure(translation, fig_dir) if translation["models"]
                else not_measured("probe_translation", "Accuracy under translation", fig_dir))
    if finite[reference["name"]] and finite[baseline["name"]]:
        first_ref, first_base = finite[reference["name"]][0], finite[baseline["name"]][0]
        equivariance = cached(cache_dir, "equivariance", [first_ref, first_base],
                              lambda: probes.equivariance(trained.get(first_ref), trained.get(first_base),
                                                          splits.x_test))
        figs.append(probe_figures.equivariance_figure(equivariance, fig_dir))
    else:
        equivariance = {"n_images": 0, "cnn_layers": [], "mlp_layer": None, "mlp_rows": [],
                        "note": "not measured: every run of the baseline or the reference CNN diverged"}
        figs.append(not_measured("probe_equivariance", "Equivariance of the feature maps", fig_dir))

    perm_by_model = records_by_model(records, probe="permuted")
    permuted = {name: [r["test"]["accuracy"] for r in rs if not r["diverged"]] for name, rs in perm_by_model.items()}
    permutation = probes.permutation(
        {m["name"]: m["test_accuracy"]["values"] for m in (baseline, reference) if m["test_accuracy"]["values"]},
        {name: values for name, values in permuted.items() if values},
        {m["name"]: m["role"] for m in models})
    permutation["seed"] = PERMUTATION_SEED
    permutation["run_ids"] = [r["run_id"] for rs in perm_by_model.values() for r in rs]
    if permutation["models"]:
        h, w, _ = splits.input_shape
        example = splits.x_train[0]
        shuffled = shuffle_pixels(example, pixel_permutation(h, w, PERMUTATION_SEED))
        figs.append(probe_figures.permutation_figure(permutation, example, shuffled, fig_dir))
    sharing = probes.weight_sharing_table(reference["layers"], list(splits.input_shape))
    figs.append(probe_figures.weight_sharing_figure(sharing, fig_dir))
    return figs, {"translation": translation, "equivariance": equivariance,
                  "permutation": permutation, "weight_sharing": sharing}


def learned_features(models: list[dict[str, Any]], splits: Splits, trained: TrainedModels,
                     cache_dir: Path, fig_dir: Path) -> tuple[list[dict[str, str]], list[str]]:
    """First-layer filters and feature maps of each CNN's first seed; returns the figures and
    the feature-map figure ids."""
    first_ids = {m["name"]: finite_runs(m)[0] for m in models if m["kind"] == "cnn" and finite_runs(m)}
    if not first_ids:  # every CNN run diverged: no learned filters to show
        return [not_measured("filters", "First-layer filters", fig_dir)], []
    image = splits.x_test[FEATURE_MAP_IMAGE]
    seen = memo.arrays(cache_dir, "first-layer-and-maps", [list(first_ids.values()), image],
                       lambda: first_layer_and_maps({n: trained.get(r) for n, r in first_ids.items()}, image))
    figs = [model_figures.first_layer_filters([(name, seen[f"kernel_{i}"]) for i, name in enumerate(first_ids)],
                                              fig_dir)]
    fig_ids = []
    for i, name in enumerate(first_ids):
        convs = [str(c) for c in seen[f"convs_{i}"]]
        fig_id = f"feature_maps_{i}"
        figs.append(model_figures.feature_maps(
            image, [(name, [(c, seen[f"map_{i}_{j}"]) for j, c in enumerate(convs)])], fig_dir, fig_id, name))
        fig_ids.append(fig_id)
    return figs, fig_ids


def errors_of_best(models: list[dict[str, Any]], splits: Splits, runs_dir: Path,
                   fig_dir: Path) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The best CNN's confusion matrix (summed over its seeds), per-class accuracy and most
    confused pair, from the test predictions each run saved. When every CNN run diverged there
    is no best model: no figures, and `best_model` None says why."""
    finite = [m for m in models if m["kind"] == "cnn" and m["test_accuracy"]["mean"] is not None]
    if not finite:
        return ([not_measured("confusion", "Confusion matrix of the best CNN", fig_dir),
                 not_measured("misclassified", "Misclassified test images", fig_dir)],
                {"best_model": None, "confusion": None, "per_class": [], "most_confused": None,
                 "note": "every CNN run diverged: no model to show errors of"})
    best = max(finite, key=lambda m: m["test_accuracy"]["mean"])
    preds = [np.load(runs_dir / r / "test_predictions.npy") for r in finite_runs(best)]
    n = splits.num_classes
    matrix = np.zeros((n, n), dtype=np.int64)
    for p in preds:
        np.add.at(matrix, (splits.y_test, p.astype(np.int64)), 1)
    per_class = []
    for c in range(n):
        mask = splits.y_test == c
        per_class.append({"class": splits.class_names[c],
                          "accuracy": summarize([float((p[mask] == c).mean()) for p in preds if mask.any()])})
    figs = [error_figures.confusion(matrix, per_class, splits.class_names, best["name"], len(preds), fig_dir),
            error_figures.misclassified(splits.x_test, splits.y_test, preds[0], splits.class_names,
                                        best["name"], fig_dir)]
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(int(off.argmax()), off.shape)
    return figs, {"best_model": best["name"], "confusion": matrix.tolist(), "per_class": per_class,
                  "most_confused": {"true": splits.class_names[i], "predicted": splits.class_names[j],
                                    "count": int(off[i, j]), "seeds": len(preds)}}
