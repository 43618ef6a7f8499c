"""What the seeds could detect: the power of a comparison's t-test, from the noncentral t (scipy).

A comparison that is not significant says only that the seeds did not show a difference. How
large a difference they could have shown is the power question: under a true difference Δ the
test's statistic follows a noncentral t with the test's degrees of freedom and noncentrality
Δ / se, and the test rejects when |T| exceeds the two-sided critical value at the level α' the
comparison was judged at (Holm's step level within its family). Two numbers answer it:

- the smallest difference detected with 80 % power at the seeds used (se and df as measured);
- how many seeds the observed difference would need for 80 % power, assuming the spread stays
  as measured (paired: the sd of per-seed differences; Welch: each model's sd, equal seeds).

Both are planning numbers built on a spread estimated from few seeds, and are labelled so.
"""

from __future__ import annotations

import math

from scipy import optimize, stats

from cnnreport.contract import Part
from cnnreport.results.statistics import SeedComparison

TARGET_POWER = 0.8
MAX_SEEDS = 10_000  # beyond this the report says "more than 10,000 seeds"


def power(noncentrality: float, df: float, alpha: float) -> float:
    """Probability that a two-sided t-test at level alpha with df degrees of freedom rejects when
    the statistic is noncentral t(df, noncentrality): P(T > c) + P(T < −c), c = t(1 − α/2, df)."""
    crit = stats.t.ppf(1 - alpha / 2, df)
    # P(T < −c | nc) = P(T > c | −nc): scipy's nct.cdf far in the left tail returns NaN for a
    # large noncentrality and few degrees of freedom, its sf there is a clean (tiny) number.
    return float(stats.nct(df, noncentrality).sf(crit) + stats.nct(df, -noncentrality).sf(crit))


def detectable_noncentrality(df: float, alpha: float, target: float = TARGET_POWER) -> float:
    """The noncentrality at which the test reaches `target` power (power grows with it)."""
    crit = stats.t.ppf(1 - alpha / 2, df)
    high = crit + 1.0
    while power(high, df, alpha) < target:
        high *= 2
    return float(optimize.brentq(lambda nc: power(nc, df, alpha) - target, 0.0, high, xtol=1e-10))


def one_sample_n(effect: float, alpha: float, target: float = TARGET_POWER, limit: int = MAX_SEEDS) -> int | None:
    """Smallest n with power ≥ target for a one-sample (or paired) t-test of standardised effect
    d = Δ / sd: noncentrality d·√n, df n − 1. None when more than `limit` would be needed."""
    return _smallest_n(lambda n: power(abs(effect) * math.sqrt(n), n - 1, alpha), target, limit)


def welch_n(diff: float, sd_a: float, sd_b: float, alpha: float, target: float = TARGET_POWER,
            limit: int = MAX_SEEDS) -> int | None:
    """Smallest n per model with power ≥ target for Welch's test of a difference `diff` between
    models with these standard deviations: se = √((sd_a² + sd_b²) / n) and the Welch–Satterthwaite
    df (n − 1)(sd_a² + sd_b²)² / (sd_a⁴ + sd_b⁴). With sd_a = sd_b this is Student's two-sample
    test (df 2n − 2)."""
    va, vb = sd_a ** 2, sd_b ** 2
    if va + vb == 0:
        return None

    def at(n: int) -> float:
        df = (n - 1) * (va + vb) ** 2 / (va ** 2 + vb ** 2)
        return power(abs(diff) / math.sqrt((va + vb) / n), df, alpha)

    return _smallest_n(at, target, limit)


def _smallest_n(power_at, target: float, limit: int) -> int | None:
    """Smallest n ≥ 2 with power_at(n) ≥ target (power grows with n): doubling, then bisection."""
    if power_at(limit) < target:
        return None
    low, high = 1, 2
    while power_at(high) < target:
        low, high = high, min(2 * high, limit)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if power_at(mid) >= target else (mid, high)
    return high


class Power(Part):
    """report.json `comparisons[].power`: what a non-significant comparison's seeds could show."""

    target: float  # the power asked for (0.8)
    alpha: float  # the level the comparison was judged at (Holm's step level in its family)
    seeds: int  # per model, as run
    detectable_diff: float  # fraction of accuracy, like diff
    observed_power: float
    seeds_needed: int | None  # per model for the observed difference; None: more than max_seeds, or diff 0
    max_seeds: int


def comparison_power(c: SeedComparison, alpha: float, target: float = TARGET_POWER) -> Power | None:
    """The difference the seeds could detect, and the seeds the observed difference would need,
    at the level alpha the comparison was judged at. None when there was no test."""
    if c.test not in ("paired t", "Welch t") or not c.se or not c.df or c.diff is None:
        return None
    nc = detectable_noncentrality(c.df, alpha, target)
    n = min(c.n_a, c.n_b)
    if c.test == "paired t":
        seeds = one_sample_n(c.diff / (c.se * math.sqrt(n)), alpha, target) if c.diff else None
    else:
        seeds = welch_n(c.diff, c.std_a or 0.0, c.std_b or 0.0, alpha, target) if c.diff else None
    return Power(target=target, alpha=alpha, seeds=n, detectable_diff=nc * c.se,
                 observed_power=power(abs(c.diff) / c.se, c.df, alpha), seeds_needed=seeds, max_seeds=MAX_SEEDS)
