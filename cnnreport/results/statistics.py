"""Statistics over seeds, with scipy: per-model summaries, comparisons, Holm's correction with the
intervals that agree with it, and the equivalence test (TOST).

Spread is the sample standard deviation (ddof = 1): the seeds are a sample of the runs one
could have made. The 95 % interval of a mean is Student's t interval with n - 1 degrees of
freedom, which is exact for normal per-seed values and honest for small n (wider than ±1.96 s).
"""

from __future__ import annotations

import math
from typing import Any, Literal, Sequence

import numpy as np
from scipy import stats

from cnnreport.contract import Measured, Part

CONFIDENCE = 0.95


class Summary(Part):
    """A quantity over seeds: its finite per-seed values, mean, sample std (ddof = 1), the 95 %
    t-interval of the mean, min and max; null where undefined (no value; one value: no std)."""

    n: int
    values: list[float]
    mean: Measured
    std: Measured
    ci_low: Measured
    ci_high: Measured
    min: Measured
    max: Measured


def summarize(values: Sequence[float | None], confidence: float = CONFIDENCE) -> Summary:
    """n, mean, std (ddof=1), t-interval, min, max of per-seed values (None where undefined)."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(len(x))
    if n == 0:
        return Summary(n=0, values=[], mean=None, std=None, ci_low=None, ci_high=None, min=None, max=None)
    std = low = high = None
    if n >= 2:
        std = float(x.std(ddof=1))
        if std > 0:
            low, high = (float(v) for v in stats.t.interval(confidence, n - 1, loc=x.mean(), scale=std / math.sqrt(n)))
        else:
            low = high = float(x.mean())
    return Summary(n=n, values=x.tolist(), mean=float(x.mean()), std=std, ci_low=low, ci_high=high,
                   min=float(x.min()), max=float(x.max()))


# ----------------------------------------------------------------------------------- comparisons
#
# A comparison asks whether model A's mean differs from model B's. Welch's t-test does not assume
# equal variances. When both models ran the same seeds, runs with the same seed share their
# initialisation random stream and the order of the training batches (one seed drives both in
# this tool), so the paired t-test on per-seed differences removes that shared variance; it is
# then the primary test. Holm's step-down correction controls the family-wise error rate within
# one family of comparisons (findings.py declares the families).

ALPHA = 0.05


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def welch(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Difference of means (a − b) with its Welch interval, t, df and two-sided p (scipy)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(x.mean() - y.mean())
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(va + vb)
    out = {"diff": diff, "t": None, "df": None, "p": None, "ci_low": None, "ci_high": None, "se": se}
    if se == 0:  # both samples constant: no spread to test against
        return out
    df = (va + vb) ** 2 / (va ** 2 / (len(x) - 1) + vb ** 2 / (len(y) - 1))
    res = stats.ttest_ind(x, y, equal_var=False)
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    out.update(t=_finite(res.statistic), df=float(df), p=_finite(res.pvalue),
               ci_low=diff - half, ci_high=diff + half)
    return out


def paired(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Mean per-pair difference (a − b) with its t interval, t and two-sided p (scipy ttest_rel)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    diff = float(d.mean())
    sd = float(d.std(ddof=1))
    out = {"diff": diff, "t": None, "p": None, "ci_low": None, "ci_high": None, "se": sd / math.sqrt(len(d))}
    if sd == 0:
        return out
    res = stats.ttest_rel(a, b)
    half = stats.t.ppf(0.5 + confidence / 2, len(d) - 1) * sd / math.sqrt(len(d))
    out.update(t=_finite(res.statistic), p=_finite(res.pvalue), ci_low=diff - half, ci_high=diff + half)
    return out


def hedges_g(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Standardised mean difference (a − b) / pooled std, times the small-sample correction
    J = 1 − 3 / (4 (n_a + n_b) − 9) (Hedges 1981), which removes Cohen's d's upward bias."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    na, nb = len(x), len(y)
    if na < 2 or nb < 2:
        return None
    pooled = math.sqrt(((na - 1) * x.var(ddof=1) + (nb - 1) * y.var(ddof=1)) / (na + nb - 2))
    if pooled == 0:
        return None
    return float((x.mean() - y.mean()) / pooled * (1 - 3 / (4 * (na + nb) - 9)))


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values, in input order; None (no test) stays None and is not
    counted in the family. The i-th smallest of m p-values is multiplied by (m − i + 1), then a
    running maximum keeps the adjusted values monotone, capped at 1."""
    indexed = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    m = len(indexed)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def holm_levels(pvalues: Sequence[float | None], alpha: float = ALPHA) -> list[float | None]:
    """The per-comparison level α' at which Holm's step-down procedure judged each p-value.

    Sorted ascending, the i-th smallest (0-based) of m p-values is tested at α / (m − i) while
    every earlier one was rejected; at the first that is not, the procedure stops and it and all
    larger ones keep that step's level. So p < α' exactly when the Holm-adjusted p < α, and an
    interval at confidence 1 − α' excludes zero exactly when Holm rejects: the interval printed
    beside a verdict is the one the verdict used. (These per-step intervals are the ones that
    agree with Holm; Bonferroni's 1 − α / m intervals have guaranteed simultaneous coverage but
    can include zero where Holm rejects.)"""
    indexed = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    m = len(indexed)
    out: list[float | None] = [None] * len(pvalues)
    stopped: float | None = None
    for rank, (p, i) in enumerate(indexed):
        level = stopped if stopped is not None else alpha / (m - rank)
        if stopped is None and not p < level:
            stopped = level
        out[i] = level
    return out


def interval(diff: float, se: float, df: float, confidence: float) -> tuple[float, float]:
    """diff ± t(1 − (1 − confidence) / 2, df) · se: the t interval the comparison's test inverts."""
    low, high = stats.t.interval(confidence, df, loc=diff, scale=se)
    return float(low), float(high)


def tost(xa: Sequence[float], xb: Sequence[float], margin: float, paired_runs: bool) -> float | None:
    """Two one-sided tests (Schuirmann 1987) of |mean a − mean b| < margin, with the comparison's
    own test (paired or Welch, scipy): H0 Δ ≤ −margin and H0 Δ ≥ +margin, each rejected by a
    one-sided t-test; the TOST p-value is the larger of the two. Equivalence at level α' holds
    exactly when the 1 − 2α' interval lies inside (−margin, +margin)."""
    x, y = np.asarray(xa, dtype=float), np.asarray(xb, dtype=float)
    if paired_runs:
        d = x - y
        if d.std(ddof=1) == 0:
            return None
        low = stats.ttest_1samp(d, -margin, alternative="greater").pvalue
        high = stats.ttest_1samp(d, margin, alternative="less").pvalue
    else:
        if x.var(ddof=1) + y.var(ddof=1) == 0:
            return None
        low = stats.ttest_ind(x + margin, y, equal_var=False, alternative="greater").pvalue
        high = stats.ttest_ind(x - margin, y, equal_var=False, alternative="less").pvalue
    return _finite(max(float(low), float(high)))


TestName = Literal["paired t", "Welch t", "none"]
# Why a comparison used the test it did (report/wording says it in words).
TestChoice = Literal["shared seeds", "different seeds", "constant differences", "no spread", "too few seeds"]


class SeedComparison(Part):
    """Two models' per-seed values compared: the chosen test and everything scipy computed."""

    n_a: int
    n_b: int
    mean_a: Measured
    mean_b: Measured
    std_a: Measured
    std_b: Measured
    diff: Measured  # mean a − mean b, fraction of accuracy
    diff_ci_low: Measured  # unadjusted 95 % interval of the chosen test
    diff_ci_high: Measured
    welch_t: Measured
    welch_df: Measured
    welch_p: Measured
    paired_t: Measured
    paired_p: Measured
    hedges_g: Measured
    test: TestName
    test_choice: TestChoice
    seeds: list[int]  # the seeds both models ran (the pairing), else []
    p: Measured  # of the chosen test, unadjusted
    se: Measured  # standard error of the difference, for the test's intervals
    df: Measured


def compare(a: dict[int, float], b: dict[int, float]) -> SeedComparison:
    """Compare per-seed values of two models ({seed: value}). Picks the primary test:
    paired t when both have the same ≥ 2 seeds, Welch otherwise; none with < 2 seeds a side."""
    xa = [a[s] for s in sorted(a)]
    xb = [b[s] for s in sorted(b)]
    shared = sorted(a) == sorted(b)
    out: dict[str, Any] = {
        "n_a": len(xa), "n_b": len(xb),
        "mean_a": float(np.mean(xa)) if xa else None, "mean_b": float(np.mean(xb)) if xb else None,
        "std_a": float(np.std(xa, ddof=1)) if len(xa) > 1 else None,
        "std_b": float(np.std(xb, ddof=1)) if len(xb) > 1 else None,
        "diff": float(np.mean(xa) - np.mean(xb)) if xa and xb else None,
        "diff_ci_low": None, "diff_ci_high": None,
        "welch_t": None, "welch_df": None, "welch_p": None, "paired_t": None, "paired_p": None,
        "hedges_g": hedges_g(xa, xb), "test": "none", "test_choice": "too few seeds",
        "seeds": sorted(a) if shared else [], "p": None, "se": None, "df": None,
    }
    if len(xa) < 2 or len(xb) < 2:
        return SeedComparison(**out)
    w = welch(xa, xb)
    out.update(welch_t=w["t"], welch_df=w["df"], welch_p=w["p"])
    if shared:
        p = paired(xa, xb)
        out.update(paired_t=p["t"], paired_p=p["p"])
        if p["p"] is not None:
            out.update(test="paired t", test_choice="shared seeds", p=p["p"], diff_ci_low=p["ci_low"],
                       diff_ci_high=p["ci_high"], se=p["se"], df=float(len(xa) - 1))
            return SeedComparison(**out)
    if w["p"] is not None:
        out.update(test="Welch t", test_choice="constant differences" if shared else "different seeds",
                   p=w["p"], diff_ci_low=w["ci_low"], diff_ci_high=w["ci_high"], se=w["se"], df=w["df"])
    else:
        out["test_choice"] = "no spread"
    return SeedComparison(**out)
