"""The lab's questions, each judged once.

The report's checklist (report.json `checklist`) and the rubric check (`cnnreport check`) call
these same functions on the same data, report.json's shapes (models, comparisons, experiment),
so a report can never say "failed" in its checklist and "✓" in its rubric appendix.

Each judgement returns whether the question is answered yes, the numbers that decided it, and
how to fix a no. Inputs come from a report.json that may be damaged or hand-edited: a missing
key raises KeyError / TypeError, which the rubric scorer turns into a failed item naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from cnnreport.formatting import fmt_num, fmt_pm, fmt_pts
from cnnreport.results.differences import compare, conv_blocks, show, touched_layers

# A mean training loss at most 2 % above where it started reads as a plateau, not a rise: the
# last epoch of a short run wobbles by about that much between seeds.
LOSS_PLATEAU = 0.02
MIN_LEVELS = 4  # the lab's controlled experiment: the factor at 4 or more levels


@dataclass(frozen=True)
class Judgement:
    passed: bool
    evidence: str
    fix: str = ""


def _name(model: dict[str, Any]) -> str:
    return str(model.get("name", "?"))


def _mean(summary: dict[str, Any] | None) -> float | None:
    value = (summary or {}).get("mean")
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _list(items: Sequence[str], limit: int = 4) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


# --------------------------------------------------------------------------------- losses


def curve_trend(curve: Sequence[float | None], plateau: float = LOSS_PLATEAU) -> dict[str, Any]:
    """Direction of a (mean) loss curve, and for validation loss the epoch overfitting starts:
    the loss reaches its minimum at epoch e and is higher at the end, so from e + 1 on the model
    fits the training set at the validation set's expense."""
    if not curve:
        return {"epochs": 0, "trend": "missing", "min_epoch": None, "overfit_from": None}
    if any(v is None or not math.isfinite(v) for v in curve):
        return {"epochs": len(curve), "trend": "diverged", "min_epoch": None, "overfit_from": None}
    first, last = curve[0], curve[-1]
    best = min(range(len(curve)), key=curve.__getitem__)
    if len(curve) == 1:
        trend = "single epoch"
    elif last < first:
        trend = "decreasing"
    elif last <= first * (1 + plateau):
        trend = "plateau"
    else:
        trend = "rising"
    rises = best < len(curve) - 1 and last > curve[best] * (1 + plateau)
    return {"epochs": len(curve), "trend": trend, "min_epoch": best + 1,
            "overfit_from": best + 2 if rises else None}


def loss_trend(model: dict[str, Any]) -> Judgement:
    """Does the model's training loss (mean over seeds) decrease or plateau? The validation loss
    is reported beside it, with the epoch where overfitting starts: a rising validation loss is
    what the lab asks to note, not a failure."""
    curves = model.get("curves") or {}
    curve = (curves.get("loss") or {}).get("mean") or []
    train = curve_trend(curve)
    if train["trend"] in ("missing", "single epoch"):
        return Judgement(False, f"{_name(model)}: {train['epochs']} epoch(s) of training loss — no trend to read",
                         "train for at least 2 epochs (training.epochs)")
    if train["trend"] == "diverged":
        return Judgement(False, f"{_name(model)}: training loss is not finite (diverged)", "lower the learning rate")
    text = f"{_name(model)}: training loss {fmt_num(curve[0])} → {fmt_num(curve[-1])} over {len(curve)} epochs ({train['trend']})"
    val_curve = (curves.get("val_loss") or {}).get("mean") or []
    val = curve_trend(val_curve)
    if len(val_curve) >= 2 and val["trend"] != "diverged":
        text += f"; validation loss {fmt_num(val_curve[0])} → {fmt_num(val_curve[-1])} ({val['trend']})"
        if val["overfit_from"]:
            text += (f", lowest at epoch {val['min_epoch']}, then rising: overfitting from epoch "
                     f"{val['overfit_from']}")
    if train["trend"] == "rising":
        return Judgement(False, text, "lower the learning rate or check the data pipeline")
    return Judgement(True, text)


def losses(models: list[dict[str, Any]]) -> Judgement:
    """The lab's 'losses decrease or plateau', asked of the baseline and the reference CNN."""
    wanted = [m for m in models if m.get("role") in ("baseline", "reference")]
    if not wanted:
        return Judgement(False, "no baseline or reference CNN", "train the study: `cnnreport build`")
    parts = [loss_trend(m) for m in wanted]
    return Judgement(all(j.passed for j in parts), "; ".join(j.evidence for j in parts),
                     next((j.fix for j in parts if not j.passed), ""))


# ---------------------------------------------------------------------------------- chance


def above_chance(model: dict[str, Any] | None, chance: float) -> Judgement:
    """Is the model's test accuracy above chance (1 / classes)? With two seeds or more the 95 %
    interval's lower end must clear chance (a mean above chance by luck does not count); with
    one seed, the value itself."""
    if model is None:
        return Judgement(False, "no such model in the report", "train it: `cnnreport build`")
    acc = model.get("test_accuracy") or {}
    mean = _mean(acc)
    if mean is None:
        return Judgement(False, f"{_name(model)}: no test accuracy", "train it: `cnnreport build`")
    low = acc.get("ci_low")
    if isinstance(low, (int, float)) and math.isfinite(low):
        decided, how = float(low), f"95 % CI [{fmt_num(low)}, {fmt_num(acc.get('ci_high'))}]"
    else:
        decided, how = mean, "1 seed, no interval"
    text = (f"{_name(model)} test accuracy {fmt_pm(acc)} ({how}) vs chance {fmt_num(chance)} "
            f"(1 / classes): {fmt_pts(mean - chance)}")
    if decided > chance:
        return Judgement(True, text)
    return Judgement(False, text, "the model learns nothing above chance: check the learning rate and the labels")


# ------------------------------------------------------------------------ CNN vs baseline


def primary_comparison(comparisons: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((c for c in comparisons if isinstance(c, dict) and c.get("kind") == "cnn_vs_baseline"), None)


def cnn_above_baseline(comparisons: list[dict[str, Any]]) -> Judgement:
    """Is the reference CNN's test accuracy above the baseline's? Yes only when the comparison's
    test says so (significant and positive): a higher mean that the seeds cannot tell from noise
    is reported, not claimed."""
    c = primary_comparison(comparisons)
    if c is None or c.get("mean_a") is None or c.get("mean_b") is None:
        return Judgement(False, "no reference-CNN-versus-baseline comparison (a model has no finished run)",
                         "train both: `cnnreport build`")
    sentence = str(c.get("sentence") or "")
    if c.get("significant") and (c.get("diff") or 0) > 0:
        return Judgement(True, sentence)
    if (c.get("diff") or 0) > 0:
        return Judgement(False, sentence + " Higher on average, but not shown beyond seed-to-seed noise.",
                         "add seeds or epochs; or explain the gap in text.interpretation (a reader judges it)")
    return Judgement(False, sentence + " The CNN is not above the baseline.",
                     "train longer or on more data; or explain the gap in text.interpretation (a reader judges it)")


# ------------------------------------------------------------------------------- repetition


def repeated_runs(models: list[dict[str, Any]], min_seeds: int) -> Judgement:
    """Is every model reported over at least `min_seeds` finished seeds, as mean ± std?"""
    if not models:
        return Judgement(False, "no models", "train the study: `cnnreport build`")
    counts = {_name(m): int((m.get("test_accuracy") or {}).get("n") or 0) for m in models}
    short = [f"{name} has {n}" for name, n in counts.items() if n < min_seeds]
    no_std = [_name(m) for m in models if (m.get("test_accuracy") or {}).get("std") is None]
    text = f"{len(models)} models, {min(counts.values())}–{max(counts.values())} finished seeds each"
    if short:
        return Judgement(False, f"{text}; fewer than {min_seeds} seeds: {_list(short)}",
                         f"list at least {min_seeds} seeds in the study's `seeds`")
    if no_std:
        return Judgement(False, f"{text}; no std for {_list(no_std)}", "list at least 2 seeds in the study's `seeds`")
    return Judgement(True, f"{text}; test accuracy as mean ± std (ddof = 1) with 95 % t-intervals")


def runs_complete(models: list[dict[str, Any]], seeds: Sequence[int]) -> Judgement:
    """Did every planned run finish without diverging (the lab's 'runs without errors')?"""
    missing = [f"{_name(m)} seed {s}" for m in models for s in seeds if s not in (m.get("seeds") or [])]
    diverged = [f"{_name(m)} seed {s}" for m in models for s in m.get("diverged_seeds") or []]
    planned = len(models) * len(seeds)
    if planned == 0:
        return Judgement(False, "no runs in the report", "train the study: `cnnreport build`")
    if missing:
        return Judgement(False, f"runs missing: {_list(missing)}", "finish training: `cnnreport build`")
    if diverged:
        return Judgement(False, f"{len(diverged)} run(s) diverged (loss became NaN): {_list(diverged)}",
                         "lower the learning rate and rebuild")
    return Judgement(True, f"{planned} of {planned} runs finished, none diverged")


# -------------------------------------------------------------------- controlled experiment


def experiment_levels(experiment: dict[str, Any], models: list[dict[str, Any]],
                      min_levels: int = MIN_LEVELS) -> Judgement:
    """Does the experiment compare at least `min_levels` trained levels of its one factor?"""
    names = set(experiment.get("models") or [])
    trained = [m for m in models if m.get("name") in names and (m.get("test_accuracy") or {}).get("n")]
    labels = experiment.get("level_labels") or [str(v) for v in experiment.get("levels") or []]
    factor = str(experiment.get("factor", "?")).replace("_", " ")
    seeds = sorted({(m.get("test_accuracy") or {}).get("n") for m in trained})
    text = f"{len(trained)} levels of {factor} ({_list(labels, 6)}) × {'/'.join(map(str, seeds)) or 0} seeds"
    if len(trained) < min_levels:
        return Judgement(False, f"{text}: fewer than {min_levels}",
                         f"list at least {min_levels} levels (the reference's included) in experiment.levels")
    return Judgement(True, text)


def controlled(experiment: dict[str, Any]) -> Judgement:
    """Does each variant differ from the reference CNN in the declared factor and nothing else?

    Recomputed from what each CNN was built as (experiment.verification[].signature and
    .settings), with the same rules the build's verification applies; a difference the study
    accepted still makes the experiment not controlled."""
    rows = [r for r in experiment.get("verification") or [] if isinstance(r, dict)]
    factor = str(experiment.get("factor"))
    f_text = factor.replace("_", " ")
    ref = next((r for r in rows if r.get("role") == "reference"), None)
    variants = [r for r in rows if r.get("role") == "variant"]
    if ref is None or "signature" not in ref:
        return Judgement(False, "report.json records no built-layer signatures to verify the controlled variable",
                         "rebuild the report with this cnnreport: `cnnreport render`")
    if not variants:
        return Judgement(False, "no variants: the experiment compares nothing", "list several levels in experiment.levels")
    blocks = max(conv_blocks(r.get("signature") or {}) for r in rows)
    touched = touched_layers(str(experiment.get("layers", "all")), blocks)
    bad = []
    for v in variants:
        found = compare(str(v.get("model")), (ref["signature"], ref.get("settings") or {}),
                        (v.get("signature") or {}, v.get("settings") or {}), factor, touched)
        if found.changes_nothing:
            bad.append(f"{v.get('model')} changes nothing")
        bad += [f"{v.get('model')}: {d['key']} {show(d['reference'])} → {show(d['variant'])}"
                for d in found.differences if not d["declared"]]
    if bad:
        return Judgement(False, f"more than {f_text} varies: {_list(bad)}",
                         f"change only {f_text} between variants (one factor in [experiment])")
    return Judgement(True, f"only {f_text} differs between the {len(variants)} variants and the reference "
                           f"(layer by layer as built, and training, data and seeds)")


def controlled_experiment(experiment: dict[str, Any], models: list[dict[str, Any]],
                          min_levels: int = MIN_LEVELS) -> Judgement:
    """The lab's 'controlled experiment on one factor with 4+ variants'."""
    parts = [experiment_levels(experiment, models, min_levels), controlled(experiment)]
    return Judgement(all(j.passed for j in parts), "; ".join(j.evidence for j in parts),
                     next((j.fix for j in parts if not j.passed), ""))
