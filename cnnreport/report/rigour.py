"""The experimental-rigour part of the report context: verification, comparisons, checklist.

Glue only: each piece lives in its own module (verify, findings, checklist).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnreport.report import cache as memo
from cnnreport.results.checklist import build_checklist
from cnnreport.results.findings import build_comparisons, results_rows
from cnnreport.results.verification import verify_study
from cnnreport.study.schema import Study


def attach(context: dict[str, Any], study: Study, models: list[dict[str, Any]],
           input_shape: tuple[int, int, int], num_classes: int, cache_dir: Path) -> dict[str, Any]:
    """Fill report.json's experiment.{controlled, differences, verification, table},
    `comparisons` and `checklist` in place; raises UserError if the experiment is not controlled.

    The verification builds every CNN; it is memoised in `cache_dir` once per design (the study
    without its prose), so a re-render after editing text needs no Keras."""
    experiment = context["experiment"]
    design = study.model_dump(mode="json", exclude={"text", "title", "author", "source", "profile"})
    experiment.update(memo.json_value(cache_dir, "verification", [design, list(input_shape), num_classes],
                                      lambda: verify_study(study, input_shape, num_classes)))
    comparisons = build_comparisons(models)
    experiment["table"] = results_rows(models, comparisons)
    context["comparisons"] = comparisons
    context["checklist"] = build_checklist(models, comparisons, experiment, 1.0 / num_classes,
                                           list(study.seeds))
    return context
