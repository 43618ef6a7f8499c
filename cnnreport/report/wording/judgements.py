"""The lab's questions and their judgements in words: the checklist's item, evidence and fix,
which the rubric check's evidence repeats word for word (results/judgements.py decides; this
module only says it)."""

from __future__ import annotations

from functools import singledispatch

from cnnreport.formatting import fmt_num, fmt_pm, fmt_pts, fmt_value
from cnnreport.report.wording.comparisons import finding
from cnnreport.report.wording.words import listed
from cnnreport.results import judgements as judge

# Each checklist question in the lab's words (results/checklist.QUESTIONS).
QUESTION_TEXT = {
    "runs_complete": "Runs without errors: every planned run finished, none diverged",
    "losses": "Training loss decreases or plateaus (the epoch where overfitting starts is noted)",
    "baseline_above_chance": "The baseline beats chance",
    "cnn_beats_baseline": "The CNN beats the baseline (or the report says it does not)",
    "repeated_runs": "Mean ± std over repeated runs (seeds)",
    "controlled_experiment": "A controlled experiment on one factor with at least 4 levels",
}
TRAIN = "train the study: `cnnreport build`"


@singledispatch
def evidence(j: object) -> str:
    raise TypeError(f"no words for {type(j).__name__}")


@singledispatch
def fix(j: object) -> str:
    """How to turn a no into a yes ("" when the answer is yes)."""
    raise TypeError(f"no words for {type(j).__name__}")


# --------------------------------------------------------------------------------- losses


def _trend_text(t: judge.Trend) -> str:
    return f"{fmt_num(t.first)} → {fmt_num(t.last)}"


@evidence.register
def _(j: judge.LossTrend) -> str:
    train, val = j.train, j.validation
    if train.trend in ("missing", "single epoch"):
        return f"{j.model}: {train.epochs} epoch(s) of training loss — no trend to read"
    if train.trend == "diverged":
        return f"{j.model}: training loss is not finite (diverged)"
    text = f"{j.model}: training loss {_trend_text(train)} over {train.epochs} epochs ({train.trend})"
    if val.epochs >= 2 and val.trend != "diverged":
        text += f"; validation loss {_trend_text(val)} ({val.trend})"
        if val.overfit_from:
            text += f", lowest at epoch {val.min_epoch}, then rising: overfitting from epoch {val.overfit_from}"
    return text


@fix.register
def _(j: judge.LossTrend) -> str:
    return {"missing": "train for at least 2 epochs (training.epochs)",
            "single epoch": "train for at least 2 epochs (training.epochs)",
            "diverged": "lower the learning rate",
            "rising": "lower the learning rate or check the data pipeline"}.get(j.train.trend, "")


@evidence.register
def _(j: judge.Losses) -> str:
    return "; ".join(evidence(p) for p in j.parts) if j.parts else "no baseline or reference CNN"


@fix.register
def _(j: judge.Losses) -> str:
    if not j.parts:
        return TRAIN
    return next((fix(p) for p in j.parts if not p.passed), "")


# ---------------------------------------------------------------------------------- chance


@evidence.register
def _(j: judge.AboveChance) -> str:
    acc = j.accuracy
    if j.model is None or acc is None:
        return "no such model in the report"
    if acc.mean is None:
        return f"{j.model}: no test accuracy"
    how = (f"95 % CI [{fmt_num(acc.ci_low)}, {fmt_num(acc.ci_high)}]" if acc.ci_low is not None
           else "1 seed, no interval")
    return (f"{j.model} test accuracy {fmt_pm(acc)} ({how}) vs chance {fmt_num(j.chance)} "
            f"(1 / classes): {fmt_pts(acc.mean - j.chance)}")


@fix.register
def _(j: judge.AboveChance) -> str:
    if j.passed:
        return ""
    if j.accuracy is None or j.accuracy.mean is None:
        return "train it: `cnnreport build`"
    return "the model learns nothing above chance: check the learning rate and the labels"


# ------------------------------------------------------------------------ CNN vs baseline


@evidence.register
def _(j: judge.CnnAboveBaseline) -> str:
    c = j.comparison
    if c is None:
        return "no reference-CNN-versus-baseline comparison (a model has no finished run)"
    if j.passed:
        return finding(c)
    if (c.diff or 0) > 0:
        return finding(c) + " Higher on average, but not shown beyond seed-to-seed noise."
    return finding(c) + " The CNN is not above the baseline."


@fix.register
def _(j: judge.CnnAboveBaseline) -> str:
    c = j.comparison
    if c is None:
        return "train both: `cnnreport build`"
    if j.passed:
        return ""
    if (c.diff or 0) > 0:
        return "add seeds or epochs; or explain the gap in text.interpretation (a reader judges it)"
    return "train longer or on more data; or explain the gap in text.interpretation (a reader judges it)"


# ------------------------------------------------------------------------------- repetition


@evidence.register
def _(j: judge.RepeatedRuns) -> str:
    if not j.finished:
        return "no models"
    counts = j.finished.values()
    low, high = min(counts), max(counts)
    seeds = f"{low}" if low == high else f"{low}–{high}"  # "3–3" reads as a typo
    text = f"{len(j.finished)} models, {seeds} finished seeds each"
    if j.short:
        return f"{text}; fewer than {j.min_seeds} seeds: {listed([f'{name} has {n}' for name, n in j.short])}"
    if j.without_std:
        return f"{text}; no std for {listed(j.without_std)}"
    return f"{text}; test accuracy as mean ± std (ddof = 1) with 95 % t-intervals"


@fix.register
def _(j: judge.RepeatedRuns) -> str:
    if not j.finished:
        return TRAIN
    if j.short:
        return f"list at least {j.min_seeds} seeds in the study's `seeds`"
    return "list at least 2 seeds in the study's `seeds`" if j.without_std else ""


def _runs(pairs: list[tuple[str, int]]) -> list[str]:
    return [f"{model} seed {seed}" for model, seed in pairs]


@evidence.register
def _(j: judge.RunsComplete) -> str:
    if j.planned == 0:
        return "no runs in the report"
    if j.missing:
        return f"runs missing: {listed(_runs(j.missing))}"
    if j.diverged:
        return f"{len(j.diverged)} run(s) diverged (loss became NaN): {listed(_runs(j.diverged))}"
    return f"{j.planned} of {j.planned} runs finished, none diverged"


@fix.register
def _(j: judge.RunsComplete) -> str:
    if j.planned == 0:
        return TRAIN
    if j.missing:
        return "finish training: `cnnreport build`"
    return "lower the learning rate and rebuild" if j.diverged else ""


# -------------------------------------------------------------------- controlled experiment


def factor_words(factor: str) -> str:
    return factor.replace("_", " ")


@evidence.register
def _(j: judge.ExperimentLevels) -> str:
    text = (f"{j.trained} levels of {factor_words(j.factor)} ({listed(j.labels, 6)}) × "
            f"{'/'.join(map(str, j.seeds)) or 0} seeds")
    return text if j.passed else f"{text}: fewer than {j.min_levels}"


@fix.register
def _(j: judge.ExperimentLevels) -> str:
    return "" if j.passed else f"list at least {j.min_levels} levels (the reference's included) in experiment.levels"


@evidence.register
def _(j: judge.Controlled) -> str:
    f = factor_words(j.factor)
    if not j.signatures:
        return "report.json records no built-layer signatures to verify the controlled variable"
    if not j.variants:
        return "no variants: the experiment compares nothing"
    bad = [f"{name} changes nothing" for name in j.unchanged]
    bad += [f"{d.model}: {d.key} {fmt_value(d.reference)} → {fmt_value(d.variant)}" for d in j.extra]
    if bad:
        return f"more than {f} varies: {listed(bad)}"
    return (f"only {f} differs between the {j.variants} variants and the reference "
            f"(layer by layer as built, and training, data and seeds)")


@fix.register
def _(j: judge.Controlled) -> str:
    if not j.signatures:
        return "rebuild the report with this cnnreport: `cnnreport render`"
    if not j.variants:
        return "list several levels in experiment.levels"
    return "" if j.passed else f"change only {factor_words(j.factor)} between variants (one factor in [experiment])"


@evidence.register
def _(j: judge.ControlledExperiment) -> str:
    return f"{evidence(j.levels)}; {evidence(j.control)}"


@fix.register
def _(j: judge.ControlledExperiment) -> str:
    return fix(j.levels) or fix(j.control)
