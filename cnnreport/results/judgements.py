"""The lab's questions, each judged once.

The report's checklist (report.json `checklist`) and the rubric check (`cnnreport check`) call
these same functions on the same typed parts (models, comparisons, experiment), so a report can
never say "failed" in its checklist and "✓" in its rubric appendix.

Each judgement returns whether the question is answered yes and the numbers that decided it, as
data: report/wording turns a judgement into its evidence and its fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Sequence, Union

from cnnreport.results.differences import Difference, compare, conv_blocks, touched_layers
from cnnreport.results.experiment import Experiment
from cnnreport.results.findings import Comparison, primary_comparison
from cnnreport.results.statistics import Summary
from cnnreport.results.summaries import ModelSummary

# A mean training loss at most 2 % above where it started reads as a plateau, not a rise: the
# last epoch of a short run wobbles by about that much between seeds.
LOSS_PLATEAU = 0.02
MIN_LEVELS = 4  # the lab's controlled experiment: the factor at 4 or more levels

TrendWord = Literal["missing", "diverged", "single epoch", "decreasing", "plateau", "rising"]


@dataclass(frozen=True)
class Trend:
    """The direction of a (mean) loss curve, and for validation loss the epoch overfitting starts."""

    epochs: int
    trend: TrendWord
    first: float | None = None
    last: float | None = None
    min_epoch: int | None = None  # 1-based epoch of the lowest loss
    overfit_from: int | None = None  # first epoch after the minimum, when the loss then rises


def curve_trend(curve: Sequence[float | None], plateau: float = LOSS_PLATEAU) -> Trend:
    """The loss reaches its minimum at epoch e and is higher at the end: from e + 1 on the model
    fits the training set at the validation set's expense."""
    if not curve:
        return Trend(0, "missing")
    if any(v is None or not math.isfinite(v) for v in curve):
        return Trend(len(curve), "diverged")
    values = [float(v) for v in curve if v is not None]
    first, last = values[0], values[-1]
    best = min(range(len(values)), key=values.__getitem__)
    trend: TrendWord
    if len(values) == 1:
        trend = "single epoch"
    elif last < first:
        trend = "decreasing"
    elif last <= first * (1 + plateau):
        trend = "plateau"
    else:
        trend = "rising"
    rises = best < len(values) - 1 and last > values[best] * (1 + plateau)
    return Trend(len(values), trend, first, last, best + 1, best + 2 if rises else None)


# --------------------------------------------------------------------------------- losses


# Each judgement keeps its answer (`passed`) beside the numbers that decided it; its readers
# (report/wording, the rubric) read both as data.


@dataclass(frozen=True)
class LossTrend:
    model: str
    train: Trend
    validation: Trend
    passed: bool  # training loss decreasing or on a plateau


@dataclass(frozen=True)
class Losses:
    parts: list[LossTrend]  # baseline and reference CNN
    passed: bool


def loss_trend(model: ModelSummary) -> LossTrend:
    """Does the model's training loss (mean over seeds) decrease or plateau? The validation loss
    is judged beside it, with the epoch where overfitting starts: a rising validation loss is
    what the lab asks to note, not a failure."""
    train = curve_trend(model.curves.loss.mean)
    return LossTrend(model.name, train, curve_trend(model.curves.val_loss.mean),
                     passed=train.trend in ("decreasing", "plateau"))


def losses(models: Sequence[ModelSummary]) -> Losses:
    """The lab's 'losses decrease or plateau', asked of the baseline and the reference CNN."""
    parts = [loss_trend(m) for m in models if m.role in ("baseline", "reference")]
    return Losses(parts, passed=bool(parts) and all(p.passed for p in parts))


# ---------------------------------------------------------------------------------- chance


@dataclass(frozen=True)
class AboveChance:
    model: str | None  # None: no such model
    accuracy: Summary | None
    chance: float
    passed: bool


def above_chance(model: ModelSummary | None, chance: float) -> AboveChance:
    """Is the model's test accuracy above chance (1 / classes)? With two seeds or more the 95 %
    interval's lower end must clear chance (a mean above chance by luck does not count); with
    one seed, the value itself."""
    acc = model.test_accuracy if model else None
    decided = None if acc is None or acc.mean is None else (acc.ci_low if acc.ci_low is not None else acc.mean)
    return AboveChance(model.name if model else None, acc, chance, passed=decided is not None and decided > chance)


# ------------------------------------------------------------------------ CNN vs baseline


@dataclass(frozen=True)
class CnnAboveBaseline:
    """Yes only when the primary comparison's test says so (significant and positive): a higher
    mean that the seeds cannot tell from noise is reported, not claimed."""

    comparison: Comparison | None  # None: a model has no finished run
    passed: bool


def cnn_above_baseline(comparisons: Sequence[Comparison]) -> CnnAboveBaseline:
    c = primary_comparison(comparisons)
    c = c if c is not None and c.mean_a is not None and c.mean_b is not None else None
    return CnnAboveBaseline(c, passed=c is not None and c.verdict == "higher")


# ------------------------------------------------------------------------------- repetition


@dataclass(frozen=True)
class RepeatedRuns:
    """Is every model reported over at least `min_seeds` finished seeds, as mean ± std?"""

    min_seeds: int
    finished: dict[str, int]  # model → finished seeds
    short: list[tuple[str, int]]  # models with fewer than min_seeds
    without_std: list[str]
    passed: bool


def repeated_runs(models: Sequence[ModelSummary], min_seeds: int) -> RepeatedRuns:
    finished = {m.name: m.test_accuracy.n for m in models}
    short = [(name, n) for name, n in finished.items() if n < min_seeds]
    without_std = [m.name for m in models if m.test_accuracy.std is None]
    return RepeatedRuns(min_seeds, finished, short, without_std,
                        passed=bool(finished) and not short and not without_std)


@dataclass(frozen=True)
class RunsComplete:
    """Did every planned run finish without diverging (the lab's 'runs without errors')?"""

    planned: int
    missing: list[tuple[str, int]]  # (model, seed)
    diverged: list[tuple[str, int]]
    passed: bool


def runs_complete(models: Sequence[ModelSummary], seeds: Sequence[int]) -> RunsComplete:
    planned = len(models) * len(seeds)
    missing = [(m.name, s) for m in models for s in seeds if s not in m.seeds]
    diverged = [(m.name, s) for m in models for s in m.diverged_seeds]
    return RunsComplete(planned, missing, diverged, passed=planned > 0 and not missing and not diverged)


# -------------------------------------------------------------------- controlled experiment


@dataclass(frozen=True)
class ExperimentLevels:
    """Does the experiment compare at least `min_levels` trained levels of its one factor?"""

    factor: str
    labels: list[str]
    trained: int  # levels with a finished run
    seeds: list[int]  # the distinct numbers of finished seeds per trained level
    min_levels: int
    passed: bool


def experiment_levels(experiment: Experiment, models: Sequence[ModelSummary],
                      min_levels: int = MIN_LEVELS) -> ExperimentLevels:
    names = set(experiment.models)
    trained = [m for m in models if m.name in names and m.test_accuracy.n]
    return ExperimentLevels(experiment.factor, experiment.level_labels, len(trained),
                            sorted({m.test_accuracy.n for m in trained}), min_levels,
                            passed=len(trained) >= min_levels)


@dataclass(frozen=True)
class Controlled:
    """Does each variant differ from the reference CNN in the declared factor and nothing else?

    Recomputed from what each CNN was built as (experiment.verification[].signature and
    .settings), with the rules the build's verification applies; a difference the study accepted
    still makes the experiment not controlled."""

    factor: str
    variants: int
    signatures: bool  # the report records the built layers to recompute from
    passed: bool
    unchanged: list[str] = field(default_factory=list)  # variants identical to the reference
    extra: list[Difference] = field(default_factory=list)  # differences beyond the factor


def controlled(experiment: Experiment) -> Controlled:
    rows = experiment.verification
    ref = next((r for r in rows if r.role == "reference"), None)
    variants = [r for r in rows if r.role == "variant"]
    if ref is None:
        return Controlled(experiment.factor, len(variants), signatures=False, passed=False)
    blocks = max(conv_blocks(r.signature) for r in rows)
    touched = touched_layers(experiment.layers, blocks)
    unchanged, extra = [], []
    for v in variants:
        found = compare(v.model, (ref.signature, ref.settings.model_dump(mode="json")),
                        (v.signature, v.settings.model_dump(mode="json")), experiment.factor, touched)
        if found.changes_nothing:
            unchanged.append(v.model)
        extra += [d for d in found.differences if not d.declared]
    return Controlled(experiment.factor, len(variants), True, bool(variants) and not unchanged and not extra,
                      unchanged, extra)


@dataclass(frozen=True)
class ControlledExperiment:
    """The lab's 'controlled experiment on one factor with 4+ variants'."""

    levels: ExperimentLevels
    control: Controlled
    passed: bool


def controlled_experiment(experiment: Experiment, models: Sequence[ModelSummary],
                          min_levels: int = MIN_LEVELS) -> ControlledExperiment:
    levels, control = experiment_levels(experiment, models, min_levels), controlled(experiment)
    return ControlledExperiment(levels, control, passed=levels.passed and control.passed)


Judgement = Union[Losses, LossTrend, AboveChance, CnnAboveBaseline, RepeatedRuns, RunsComplete,
                  ExperimentLevels, Controlled, ControlledExperiment]
