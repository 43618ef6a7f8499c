"""report.json `experiment` and `headline`: the controlled experiment as run (its factor, levels,
verification and results table), and the numbers the report's text quotes most."""

from __future__ import annotations

from typing import Literal, Sequence

from cnnreport.contract import Measured, Part
from cnnreport.results.differences import Difference
from cnnreport.results.findings import Comparison, ResultsRow, results_rows
from cnnreport.results.summaries import ModelSummary, role_model
from cnnreport.results.verification import Verification, VerificationRow
from cnnreport.study.models import ModelSpec
from cnnreport.study.schema import Study
from cnnreport.study.specs import Factor


class Experiment(Part):
    factor: Factor
    layers: Literal["all", "first"]  # which conv layers the factor touches
    levels: list[int | str]
    level_labels: list[str]  # as the models' names say them: "kernel 5×5"
    reference_level: int | str
    models: list[str]  # the CNNs, in report order
    n_variants: int
    seeds: list[int]
    controlled: bool
    differences: list[Difference]
    verification: list[VerificationRow]
    table: list[ResultsRow]


class Headline(Part):
    """The numbers the text quotes: best CNN, baseline, reference, chance."""

    chance: float  # 1 / classes
    baseline: str | None
    reference: str | None
    best_cnn: str | None  # the CNN with the highest mean test accuracy
    reference_params_ratio: Measured  # reference parameters / baseline parameters
    reference_minus_baseline: Measured  # mean test accuracy; None unless both have a finished run


def describe_experiment(study: Study, specs: Sequence[ModelSpec], models: Sequence[ModelSummary],
                        comparisons: Sequence[Comparison], verification: Verification) -> Experiment:
    exp = study.experiment
    levels = [m for m in specs if m.kind == "cnn" and not m.handwritten]  # one per level, in level order
    return Experiment(
        factor=exp.factor, layers=exp.layers, levels=[m.level for m in levels],
        level_labels=[m.label for m in levels],
        reference_level=next(m.level for m in levels if m.role == "reference"),
        models=[m.name for m in models if m.kind == "cnn"],
        n_variants=sum(1 for m in models if m.role == "variant"),
        seeds=list(study.seeds), controlled=verification.controlled,
        differences=verification.differences, verification=verification.verification,
        table=results_rows(models, comparisons))


def headline(models: Sequence[ModelSummary], num_classes: int) -> Headline:
    baseline, reference = role_model(models, "baseline"), role_model(models, "reference")
    cnns = [m for m in models if m.kind == "cnn" and m.test_accuracy.mean is not None]
    best = max(cnns, key=lambda m: m.test_accuracy.mean or 0.0) if cnns else None
    ratio = diff = None
    if baseline and reference:
        # The ratio needs no trained run; the difference needs a finite result of each (when
        # every seed of one diverged it is left out, and the report says why).
        ratio = reference.params / baseline.params if baseline.params and reference.params is not None else None
        if baseline.test_accuracy.mean is not None and reference.test_accuracy.mean is not None:
            diff = reference.test_accuracy.mean - baseline.test_accuracy.mean
    return Headline(chance=1.0 / num_classes, baseline=baseline.name if baseline else None,
                    reference=reference.name if reference else None, best_cnn=best.name if best else None,
                    reference_params_ratio=ratio, reference_minus_baseline=diff)
