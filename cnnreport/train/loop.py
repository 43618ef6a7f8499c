"""What every training loop shares, the towers' engine and the batched seeds alike: the
optimizer, each seed's data order, how a program's log keys name its towers, what a loop's
epochs produce, and the inference batch size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnreport.backend import import_keras
from cnnreport.study.specs import TrainingSpec
from cnnreport.train.plan import RunSpec


def make_optimizer(training: TrainingSpec) -> Any:
    keras = import_keras()

    cls = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
           "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}[training.optimizer]
    kwargs = {"momentum": 0.9} if training.optimizer == "sgd" else {}
    return cls(learning_rate=training.learning_rate, **kwargs)


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The training-data order of one seed in one epoch: the same whether the seed trains alone
    or stacked with others, so seed-matched runs of different models share their data order."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def tower_keys(specs: list[RunSpec]) -> list[str]:
    return [f"t{i}" for i in range(len(specs))]


def history_of(history: dict[str, list[float]], key: str, n: int) -> dict[str, list[float]]:
    """One tower's metrics out of a stacked model's history (keys like 's3_accuracy')."""
    out = {}
    for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if n == 1:
            name = metric
        else:
            name = f"val_{key}_{metric[4:]}" if metric.startswith("val_") else f"{key}_{metric}"
        out[metric] = [float(v) for v in history.get(name, [])]
    return out


@dataclass
class Trained:
    """What the epochs of one program produced, before the test set is touched."""

    history: dict[str, list[float]]  # Keras's log keys (per tower 't0_loss', … when stacked)
    epoch_times: list[float]  # s per epoch, the whole program's
    diverged: list[bool]  # per tower: a non-finite training loss
    wall_s: float  # all epochs, validation included


def inference_batch(n: int, target: int = 512) -> int:
    """A batch size for inference near `target` that divides n when one does (2,000 → 500,
    10,000 → 500): every batch then has one shape, so the step is traced once, not twice.
    Inference results do not depend on the batch size."""
    divisors = [d for d in range(target // 2, 2 * target + 1) if n % d == 0]
    return min(divisors, key=lambda d: abs(d - target)) if divisors else target
