"""Power of the t-tests (noncentral t, scipy) against published values, and what a comparison
that is not significant reports about the seeds."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from cnnreport.results import power
from cnnreport.results.statistics import compare

# Published sample sizes and achieved power, two-sided α = 0.05, target power 0.80, from G*Power
# 3.1 (Faul, Erdfelder, Lang & Buchner 2007), "t tests — Means: difference from constant (one
# sample case)" and "Means: difference between two independent means (two groups)", allocation
# ratio 1; the same numbers are statsmodels' TTestPower / TTestIndPower.solve_power rounded up
# (33.37 → 34, 63.77 → 64). Cohen (1988, Table 2.4.1) lists 64 per group for d = 0.5 and 26 for
# d = 0.8 (393 for d = 0.2, from his normal approximation; the exact noncentral t gives 394).
ONE_SAMPLE = [(0.5, 34, 0.8077775), (0.8, 15, 0.8213105), (0.2, 199, None)]
TWO_GROUPS = [(0.5, 64, 0.8014596), (0.8, 26, 0.8074866), (0.2, 394, None)]


@pytest.mark.parametrize("d, n, achieved", ONE_SAMPLE)
def test_one_sample_sizes_match_gpower(d: float, n: int, achieved: float | None) -> None:
    assert power.one_sample_n(d, 0.05) == n
    if achieved is not None:
        assert power.power(d * math.sqrt(n), n - 1, 0.05) == pytest.approx(achieved, abs=1e-6)
    assert power.power(d * math.sqrt(n - 1), n - 2, 0.05) < 0.8  # n is the smallest


@pytest.mark.parametrize("d, n, achieved", TWO_GROUPS)
def test_two_group_sizes_match_gpower(d: float, n: int, achieved: float | None) -> None:
    assert power.welch_n(d, 1.0, 1.0, 0.05) == n  # equal sds: Student's two-sample test
    if achieved is not None:
        assert power.power(d * math.sqrt(n / 2), 2 * n - 2, 0.05) == pytest.approx(achieved, abs=1e-6)


def test_power_at_zero_effect_is_alpha_and_grows_with_the_effect() -> None:
    assert power.power(0.0, 4, 0.05) == pytest.approx(0.05)
    values = [power.power(nc, 4, 0.05) for nc in (0.5, 1, 2, 4, 8)]
    assert values == sorted(values)


def test_detectable_noncentrality_inverts_power_even_where_nct_cdf_fails() -> None:
    # df = 2 at a Holm level of 0.05 / 3: scipy's nct.cdf far in the left tail gives NaN here.
    for df, alpha in ((2, 0.05 / 3), (2, 0.05), (9, 0.01), (60, 0.05)):
        nc = power.detectable_noncentrality(df, alpha)
        assert power.power(nc, df, alpha) == pytest.approx(0.8, abs=1e-8)
        assert math.isfinite(power.power(3 * nc, df, alpha))
    # Large df: the normal approximation (z_{1-α/2} + z_{0.8}) = 2.80 for α = 0.05.
    assert power.detectable_noncentrality(10_000, 0.05) == pytest.approx(
        sps.norm.ppf(0.975) + sps.norm.ppf(0.8), abs=0.01)


def test_comparison_power_reports_detectable_difference_and_seeds_needed() -> None:
    a = {0: 0.900, 1: 0.910, 2: 0.905}
    b = {0: 0.899, 1: 0.907, 2: 0.906}
    c = compare(a, b)
    p = power.comparison_power(c, 0.05)
    d = np.subtract(list(a.values()), list(b.values()))
    se = d.std(ddof=1) / math.sqrt(3)
    assert p.detectable_diff == pytest.approx(power.detectable_noncentrality(2, 0.05) * se)
    assert p.seeds == 3 and p.alpha == 0.05
    n = p.seeds_needed
    effect = d.mean() / d.std(ddof=1)
    assert n == power.one_sample_n(effect, 0.05) and n > 3
    assert power.power(effect * math.sqrt(n), n - 1, 0.05) >= 0.8 > power.power(effect * math.sqrt(n - 1), n - 2, 0.05)
    welch = compare(a, {5: 0.899, 6: 0.907, 7: 0.906})
    w = power.comparison_power(welch, 0.05)
    assert welch.test == "Welch t" and w.seeds_needed == power.welch_n(welch.diff, welch.std_a, welch.std_b, 0.05)
    assert power.comparison_power(compare({0: 0.9}, {0: 0.8}), 0.05) is None  # no test, no power


def test_a_zero_or_hopeless_difference_needs_no_or_too_many_seeds() -> None:
    assert power.one_sample_n(0.0, 0.05) is None
    assert power.one_sample_n(1e-4, 0.05) is None  # beyond MAX_SEEDS
    c = compare({0: 0.90, 1: 0.91, 2: 0.92}, {0: 0.91, 1: 0.90, 2: 0.92})
    assert c.diff == pytest.approx(0.0)
    assert power.comparison_power(c, 0.05).seeds_needed is None
