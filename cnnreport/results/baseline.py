"""The baseline's limits, in numbers: where its validation accuracy plateaus, parameters per
point of accuracy above chance, and how much of it sits in the first dense layer.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cnnreport.contract import Measured, Part
from cnnreport.results.statistics import Summary
from cnnreport.results.summaries import ModelSummary

PLATEAU_TOLERANCE = 0.005  # validation accuracy within half a point of its best counts as there


class BaselineFacts(Part):
    """report.json `baseline_facts`: the fully connected baseline's limits."""

    generalisation_gap: Summary  # final training − validation accuracy over seeds
    plateau_epoch: int | None  # first epoch within PLATEAU_TOLERANCE of the best mean validation accuracy
    epochs: int
    params_per_point: Measured  # parameters per percentage point of test accuracy above chance
    reference_params_per_point: Measured
    first_layer_params: int | None
    first_layer_share: Measured  # of all the baseline's parameters
    inputs: int  # pixel values one image feeds the first layer


def plateau_epoch(curve: Sequence[float], tolerance: float = PLATEAU_TOLERANCE) -> int | None:
    """First epoch whose validation accuracy is within `tolerance` of the best (1-based)."""
    if not curve:
        return None
    best = max(curve)
    return next(i + 1 for i, v in enumerate(curve) if v >= best - tolerance)


def efficiency(model: ModelSummary, chance: float) -> float | None:
    """Parameters per percentage point of test accuracy above chance."""
    acc = model.test_accuracy.mean
    if acc is None or acc <= chance or not model.params:
        return None
    return model.params / (100 * (acc - chance))


def baseline_facts(baseline: ModelSummary, reference: ModelSummary | None, chance: float,
                   input_shape: Sequence[int]) -> BaselineFacts:
    first = next((layer for layer in baseline.layers if layer.type == "Dense"), None)
    curve = baseline.curves.val_accuracy.mean
    return BaselineFacts(
        generalisation_gap=baseline.generalisation_gap,
        plateau_epoch=plateau_epoch(curve),
        epochs=len(curve),
        params_per_point=efficiency(baseline, chance),
        reference_params_per_point=efficiency(reference, chance) if reference else None,
        first_layer_params=first.params if first else None,
        first_layer_share=first.params / baseline.params if first and baseline.params else None,
        inputs=int(np.prod(input_shape)),
    )
