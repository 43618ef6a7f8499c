"""The baseline's limits, in numbers: where its validation accuracy plateaus, parameters per
point of accuracy above chance, and how much of it sits in the first dense layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# ------------------------------------------------------------------------------------- baseline


def plateau_epoch(curve: list[float], tolerance: float = 0.005) -> int | None:
    """First epoch whose validation accuracy is within `tolerance` of the best (1-based)."""
    if not curve:
        return None
    best = max(curve)
    return next(i + 1 for i, v in enumerate(curve) if v >= best - tolerance)


def efficiency(model: dict[str, Any], chance: float) -> float | None:
    """Parameters per percentage point of test accuracy above chance."""
    acc = model["test_accuracy"]["mean"]
    if acc is None or acc <= chance or not model["params"]:
        return None
    return model["params"] / (100 * (acc - chance))


def baseline_facts(baseline: dict[str, Any], reference: dict[str, Any] | None, chance: float,
                   input_shape: list[int]) -> dict[str, Any]:
    first = next((l for l in baseline["layers"] if l["type"] == "Dense"), None)
    return {
        "generalisation_gap": baseline["generalisation_gap"],
        "plateau_epoch": plateau_epoch(baseline["curves"]["val_accuracy"]["mean"]),
        "epochs": len(baseline["curves"]["val_accuracy"]["mean"]),
        "params_per_point": efficiency(baseline, chance),
        "reference_params_per_point": efficiency(reference, chance) if reference else None,
        "first_layer_params": first["params"] if first else None,
        "first_layer_share": first["params"] / baseline["params"] if first and baseline["params"] else None,
        "inputs": int(np.prod(input_shape)),
    }
