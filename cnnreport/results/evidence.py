"""What the trained models show, as numbers: the inductive-bias probes (report.json `probes`) and
the learned first-layer kernels and feature maps of each CNN.

Reads finished runs (run.json, model.keras) and the test split; trains nothing. Translation,
equivariance and the learned features predict with trained models; their inputs never change
under a run id, so they are kept in the render memo (cnnreport/memo.py) by run id, and a
re-render loads no model.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from cnnreport import memo
from cnnreport.backend import import_keras
from cnnreport.data.splits import Splits
from cnnreport.results import probes
from cnnreport.results.summaries import ModelSummary, Record, records_by_model
from cnnreport.train.plan import PERMUTATION_SEED

FEATURE_MAP_IMAGE = 0  # index of the test image every feature-map figure shows


class TrainedModels:
    """Finished runs' models, each loaded from disk at most once, and only when a memo misses."""

    def __init__(self, runs_dir: Path):
        self.get = functools.lru_cache(maxsize=None)(
            lambda run_id: import_keras().saving.load_model(runs_dir / run_id / "model.keras", compile=False))


def measure_probes(baseline: ModelSummary, reference: ModelSummary, models: Sequence[ModelSummary],
                   records: list[Record], splits: Splits, trained: TrainedModels, cache_dir: Path) -> probes.Probes:
    """The four probes. Diverged runs (a non-finite loss) have nothing to measure: a model whose
    every seed diverged is left out of a probe."""
    finite = {m.name: m.finite_run_ids() for m in (baseline, reference)}
    used = sorted(r for ids in finite.values() for r in ids)

    def translation_now() -> dict[str, Any]:
        loaded = {name: [trained.get(r) for r in ids] for name, ids in finite.items() if ids}
        return probes.translation(loaded, splits.x_test, splits.y_test).model_dump(mode="json")

    translation = probes.Translation.model_validate(memo.json_value(cache_dir, "translation", used, translation_now))
    first_ref, first_base = finite[reference.name][:1], finite[baseline.name][:1]
    equivariance = probes.NOT_MEASURED
    if first_ref and first_base:
        equivariance = probes.Equivariance.model_validate(memo.json_value(
            cache_dir, "equivariance", sorted(first_ref + first_base),
            lambda: probes.equivariance(trained.get(first_ref[0]), trained.get(first_base[0]),
                                        splits.x_test).model_dump(mode="json")))
    perm_by_model = records_by_model(records, probe="permuted")
    permuted = {name: [r["test"]["accuracy"] for r in rs if not r["diverged"]] for name, rs in perm_by_model.items()}
    permutation = probes.permutation(
        {m.name: m.test_accuracy.values for m in (baseline, reference) if m.test_accuracy.values},
        {name: values for name, values in permuted.items() if values},
        {m.name: m.role for m in models}, PERMUTATION_SEED,
        [r["run_id"] for rs in perm_by_model.values() for r in rs])
    sharing = probes.weight_sharing_table(reference.layers, list(splits.input_shape))
    return probes.Probes(translation=translation, equivariance=equivariance, permutation=permutation,
                         weight_sharing=sharing)


def _first_layer_and_maps(models: dict[str, Any], image: np.ndarray) -> dict[str, np.ndarray]:
    """For each model (name → loaded model, in order): its first conv layer's kernel, the names of
    its conv layers and their outputs for one image."""
    keras = import_keras()
    conv2d = keras.layers.Conv2D
    out: dict[str, np.ndarray] = {}
    for i, m in enumerate(models.values()):
        convs = [layer.name for layer in m.layers if isinstance(layer, conv2d)]
        out[f"kernel_{i}"] = np.asarray(m.get_layer(convs[0]).get_weights()[0], dtype=np.float32)
        out[f"convs_{i}"] = np.asarray(convs)
        sub = keras.Model(m.inputs, [m.get_layer(c).output for c in convs])
        maps = sub.predict(image[None], verbose=0)
        for j, o in enumerate(maps if isinstance(maps, (list, tuple)) else [maps]):
            out[f"map_{i}_{j}"] = np.asarray(o, dtype=np.float32)[0]
    return out


LearnedFeatures = dict[str, tuple[np.ndarray, list[tuple[str, np.ndarray]]]]  # model → (first kernel, [(conv, map)])


def learned_features(models: Sequence[ModelSummary], splits: Splits, trained: TrainedModels,
                     cache_dir: Path) -> LearnedFeatures:
    """Each CNN's first finished seed: its first-layer kernel and every conv layer's feature map
    of one test image (FEATURE_MAP_IMAGE). Empty when every CNN run diverged."""
    first_ids = {m.name: m.finite_run_ids()[0] for m in models if m.kind == "cnn" and m.finite_run_ids()}
    if not first_ids:
        return {}
    image = splits.x_test[FEATURE_MAP_IMAGE]
    seen = memo.arrays(cache_dir, "first-layer-and-maps", [list(first_ids.values()), image],
                       lambda: _first_layer_and_maps({n: trained.get(r) for n, r in first_ids.items()}, image))
    return {name: (seen[f"kernel_{i}"], [(str(c), seen[f"map_{i}_{j}"]) for j, c in enumerate(seen[f"convs_{i}"])])
            for i, name in enumerate(first_ids)}
