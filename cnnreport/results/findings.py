"""Comparisons between models, in two declared families, each with its verdict.

Families (report.json `comparisons[].family`):
- "primary": the reference CNN against the baseline — the lab's question, stated before any run
  ("does the CNN beat the fully connected network?"). It is tested alone at α = 0.05: it is not
  one of several looks at the same question, so no correction applies.
- "experiment": each variant against the reference — one question about the factor, asked once
  per level. Holm's step-down correction controls the family-wise error rate within it.

Each comparison's verdict is read from its own family: "higher" / "lower" when the test rejects
at the level Holm's procedure applied to it, "equivalent" (within ±m pts) only when the
equivalence test (TOST, margin from the study) rejects both one-sided hypotheses, and otherwise
"no significant difference" — never "tie", which would claim an equality the test cannot show.
The interval kept beside a verdict is the one the verdict used (statistics.holm_levels), and
every comparison that is not significant says what the seeds could have detected (power.py).
Numbers and enumerations only: report/wording turns them into sentences.
"""

from __future__ import annotations

from typing import Literal, Sequence

from cnnreport.contract import Measured, Part
from cnnreport.results.power import Power, comparison_power
from cnnreport.results.statistics import ALPHA, SeedComparison, Summary, compare, holm, holm_levels, interval, tost
from cnnreport.results.summaries import ModelSummary, role_model
from cnnreport.results.testset import McNemar

METRIC = "test_accuracy"
DEFAULT_MARGIN = 0.01  # ±1 pt of test accuracy: the study's experiment.equivalence_margin default
Kind = Literal["cnn_vs_baseline", "variant_vs_reference"]
Family = Literal["primary", "experiment"]
FAMILIES: dict[str, Family] = {"cnn_vs_baseline": "primary", "variant_vs_reference": "experiment"}
Verdict = Literal["higher", "lower", "equivalent", "no significant difference", "no test"]
VerdictInterval = Literal["difference", "difference (Holm step level)", "equivalence (TOST)"]


class Equivalence(Part):
    """The equivalence test (TOST) of |difference| < margin, Holm-adjusted within the family."""

    margin: float  # fraction of accuracy
    test: Literal["TOST"]
    p: Measured
    p_holm: Measured
    level: Measured  # the α′ Holm tested it at
    ci_low: Measured  # the 1 − 2α′ interval that lies inside ±margin exactly when equivalent
    ci_high: Measured
    confidence: Measured
    equivalent: bool | None  # None: no test


class Comparison(SeedComparison):
    """report.json `comparisons[]`: model a against model b on test accuracy, judged in its family."""

    a: str
    b: str
    kind: Kind
    family: Family
    family_size: int  # comparisons tested in the family (Holm's m)
    metric: Literal["test_accuracy"]
    alpha: float
    p_holm: Measured  # Holm within the family; = p for the primary comparison
    level: Measured  # the α′ Holm's step-down procedure tested this comparison at
    significant: bool | None  # None: no test
    equivalence: Equivalence
    verdict: Verdict
    verdict_ci_low: Measured  # the interval the verdict used
    verdict_ci_high: Measured
    verdict_confidence: Measured
    verdict_interval: VerdictInterval | None
    power: Power | None  # only for a comparison that is not significant
    mcnemar: list[McNemar]  # the primary comparison only: per seed


class ResultsRow(Part):
    """report.json `experiment.table[]`: one model's line of the results table."""

    name: str
    role: Literal["baseline", "reference", "variant"]
    n: int  # finished seeds
    test_accuracy: Summary
    test_loss: Summary
    best_accuracy: bool  # the highest mean test accuracy of the table
    best_loss: bool
    vs: str | None  # the model its Δ is against
    diff: Measured
    p_holm: Measured
    verdict: Verdict | None
    params: int | None
    flops: int | None
    mean_epoch_s: Measured
    train_time_s: Measured  # mean per run
    predict_ms_per_image: Measured


def _by_seed(model: ModelSummary) -> dict[int, float]:
    return {r.seed: r.test_accuracy for r in model.per_seed if r.test_accuracy is not None}


def comparison_pairs(models: Sequence[ModelSummary]) -> list[tuple[ModelSummary, ModelSummary, Kind]]:
    baseline, reference = role_model(models, "baseline"), role_model(models, "reference")
    pairs: list[tuple[ModelSummary, ModelSummary, Kind]] = []
    if baseline and reference:
        pairs.append((reference, baseline, "cnn_vs_baseline"))
    if reference:
        pairs += [(m, reference, "variant_vs_reference") for m in models if m.role == "variant"]
    return pairs


def build_comparisons(models: Sequence[ModelSummary], alpha: float = ALPHA, margin: float = DEFAULT_MARGIN,
                      mcnemar: Sequence[McNemar] = ()) -> list[Comparison]:
    """report.json `comparisons`: one entry per pair, judged within its family. `mcnemar`: the
    primary comparison's per-seed McNemar tests (testset.primary_mcnemar)."""
    tested = []
    for a, b, kind in comparison_pairs(models):
        xa, xb = _by_seed(a), _by_seed(b)
        result = compare(xa, xb)
        tested.append((a, b, kind, result, _tost(result, xa, xb, margin)))
    out: list[Comparison] = []
    for family in ("primary", "experiment"):
        members = [t for t in tested if FAMILIES[t[2]] == family]
        out += judge_family(members, alpha, margin, list(mcnemar))
    order = {(t[0].name, t[1].name): i for i, t in enumerate(tested)}
    return sorted(out, key=lambda c: order[(c.a, c.b)])


def _tost(c: SeedComparison, xa: dict[int, float], xb: dict[int, float], margin: float) -> float | None:
    if c.test == "none":
        return None
    seeds_a, seeds_b = sorted(xa), sorted(xb)
    return tost([xa[s] for s in seeds_a], [xb[s] for s in seeds_b], margin, c.test == "paired t")


def judge_family(family: list[tuple[ModelSummary, ModelSummary, Kind, SeedComparison, float | None]],
                 alpha: float, margin: float, mcnemar: list[McNemar]) -> list[Comparison]:
    """Holm within the family, for the difference test and for the equivalence test; each
    comparison gets its verdict, the interval that verdict used, and its power."""
    p = [t[3].p for t in family]
    tost_p = [t[4] for t in family]
    size = sum(1 for x in p if x is not None)
    out = []
    for (a, b, kind, result, q), p_adj, level, q_adj, q_level in zip(
            family, holm(p), holm_levels(p, alpha), holm(tost_p), holm_levels(tost_p, alpha)):
        significant = None if p_adj is None else bool(p_adj < alpha)
        equivalence = _equivalence(result, margin, q, q_adj, q_level, alpha)
        verdict = _verdict(result, significant, level, size, equivalence)
        out.append(Comparison(
            **result.model_dump(), a=a.name, b=b.name, kind=kind, family=FAMILIES[kind], family_size=size,
            metric=METRIC, alpha=alpha, p_holm=p_adj, level=level, significant=significant,
            equivalence=equivalence, **verdict,
            power=comparison_power(result, level) if significant is False and level is not None else None,
            mcnemar=mcnemar if kind == "cnn_vs_baseline" else []))
    return out


def _equivalence(c: SeedComparison, margin: float, p: float | None, p_adj: float | None,
                 level: float | None, alpha: float) -> Equivalence:
    if p is None or level is None or p_adj is None or c.diff is None or c.se is None or c.df is None:
        return Equivalence(margin=margin, test="TOST", p=p, p_holm=p_adj, level=level, ci_low=None,
                           ci_high=None, confidence=None, equivalent=None)
    # TOST at level α' ⇔ the 1 − 2α' interval inside (−margin, +margin).
    low, high = interval(c.diff, c.se, c.df, 1 - 2 * level)
    return Equivalence(margin=margin, test="TOST", p=p, p_holm=p_adj, level=level, ci_low=low, ci_high=high,
                       confidence=1 - 2 * level, equivalent=bool(p_adj < alpha))


def _verdict(c: SeedComparison, significant: bool | None, level: float | None, family_size: int,
             eq: Equivalence) -> dict[str, object]:
    """The verdict and the interval it rests on (report.json `verdict`, `verdict_ci_*`)."""
    if significant is None or level is None or c.diff is None or c.se is None or c.df is None:
        return {"verdict": "no test", "verdict_ci_low": None, "verdict_ci_high": None,
                "verdict_confidence": None, "verdict_interval": None}
    if not significant and eq.equivalent:
        return {"verdict": "equivalent", "verdict_ci_low": eq.ci_low, "verdict_ci_high": eq.ci_high,
                "verdict_confidence": eq.confidence, "verdict_interval": "equivalence (TOST)"}
    low, high = interval(c.diff, c.se, c.df, 1 - level)
    verdict = ("higher" if c.diff > 0 else "lower") if significant else "no significant difference"
    return {"verdict": verdict, "verdict_ci_low": low, "verdict_ci_high": high, "verdict_confidence": 1 - level,
            "verdict_interval": "difference" if family_size == 1 else "difference (Holm step level)"}


def primary_comparison(comparisons: Sequence[Comparison]) -> Comparison | None:
    """The reference CNN against the baseline, when both trained."""
    return next((c for c in comparisons if c.kind == "cnn_vs_baseline"), None)


# -------------------------------------------------------------------------------- results table


def results_rows(models: Sequence[ModelSummary], comparisons: Sequence[Comparison]) -> list[ResultsRow]:
    """The results table: each model with its Δ against the model it is compared with."""
    accs = [m.test_accuracy.mean for m in models if m.test_accuracy.mean is not None]
    losses = [m.test_loss.mean for m in models if m.test_loss.mean is not None]
    by_a = {c.a: c for c in comparisons}
    rows = []
    for m in models:
        c = by_a.get(m.name)
        rows.append(ResultsRow(
            name=m.name, role=m.role, n=m.test_accuracy.n, test_accuracy=m.test_accuracy, test_loss=m.test_loss,
            best_accuracy=accs != [] and m.test_accuracy.mean == max(accs),
            best_loss=losses != [] and m.test_loss.mean == min(losses),
            vs=c.b if c else None, diff=c.diff if c else None, p_holm=c.p_holm if c else None,
            verdict=c.verdict if c else None, params=m.params, flops=m.flops, mean_epoch_s=m.mean_epoch_s,
            train_time_s=m.train_time_s.mean, predict_ms_per_image=m.predict_ms_per_image))
    return rows
