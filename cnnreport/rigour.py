"""The experimental-rigour part of the report context: verification, comparisons, checklist.

Glue only: each piece lives in its own module (verify, findings, checklist).
"""

from __future__ import annotations

from typing import Any

from .checklist import build_checklist
from .findings import build_comparisons, results_rows
from .study import Study
from .verify import verify_study


def attach(context: dict[str, Any], study: Study, models: list[dict[str, Any]],
           input_shape: tuple[int, int, int], num_classes: int) -> dict[str, Any]:
    """Fill report.json's experiment.{controlled, differences, verification, table},
    `comparisons` and `checklist` in place; raises UserError if the experiment is not controlled."""
    experiment = context["experiment"]
    experiment.update(verify_study(study, input_shape, num_classes))
    comparisons = build_comparisons(models)
    experiment["table"] = results_rows(models, comparisons)
    context["comparisons"] = comparisons
    context["checklist"] = build_checklist(models, comparisons, experiment, 1.0 / num_classes,
                                           list(study.seeds))
    return context
