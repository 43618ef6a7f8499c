"""What the best CNN gets wrong: its confusion matrix summed over its seeds, per-class accuracy,
and the pair of classes it confuses most, from the test predictions each run saved."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from pydantic import Field

from cnnreport.contract import Part
from cnnreport.results.statistics import Summary, summarize
from cnnreport.results.summaries import ModelSummary

PREDICTIONS_FILE = "test_predictions.npy"  # train/store.py writes it into every run folder


class ClassAccuracy(Part):
    class_: str = Field(alias="class")
    accuracy: Summary  # over the best model's seeds


class Confusion(Part):
    true: str
    predicted: str
    count: int  # test images, summed over seeds
    seeds: int


class ErrorAnalysis(Part):
    """The best CNN's errors; `best_model` None when every CNN run diverged."""

    best_model: str | None
    confusion: list[list[int]] | None  # [true class][predicted class], summed over seeds
    per_class: list[ClassAccuracy]
    most_confused: Confusion | None


NO_BEST_MODEL = ErrorAnalysis(best_model=None, confusion=None, per_class=[], most_confused=None)


def best_cnn(models: Sequence[ModelSummary]) -> ModelSummary | None:
    finite = [m for m in models if m.kind == "cnn" and m.test_accuracy.mean is not None]
    return max(finite, key=lambda m: m.test_accuracy.mean or 0.0) if finite else None


def predictions(model: ModelSummary, runs_dir: Path) -> list[np.ndarray]:
    """The saved test predictions of a model's finished seeds."""
    return [np.load(runs_dir / r / PREDICTIONS_FILE) for r in model.finite_run_ids()]


def error_analysis(model: ModelSummary | None, preds: list[np.ndarray], y_test: np.ndarray,
                   class_names: Sequence[str]) -> tuple[ErrorAnalysis, np.ndarray | None]:
    """The analysis and the confusion matrix as an array (for its figure)."""
    if model is None or not preds:
        return NO_BEST_MODEL, None
    n = len(class_names)
    matrix = np.zeros((n, n), dtype=np.int64)
    for p in preds:
        np.add.at(matrix, (y_test, p.astype(np.int64)), 1)
    per_class = []
    for c in range(n):
        mask = y_test == c
        per_class.append(ClassAccuracy.model_validate(
            {"class": class_names[c], "accuracy": summarize([float((p[mask] == c).mean()) for p in preds if mask.any()])}))
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(int(off.argmax()), off.shape)
    worst = Confusion(true=class_names[i], predicted=class_names[j], count=int(off[i, j]), seeds=len(preds))
    return ErrorAnalysis(best_model=model.name, confusion=matrix.tolist(), per_class=per_class,
                         most_confused=worst), matrix
