"""Comparison statistics against scipy and hand-computed values."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from cnnreport.results import statistics as stats
from cnnreport.report.wording import finding, verdict_text
from cnnreport.results.findings import build_comparisons
from helpers import model_summary

A = [0.912, 0.915, 0.909, 0.914]
B = [0.905, 0.910, 0.904, 0.907]


def test_welch_matches_scipy_and_hand_formula():
    w = stats.welch(A, B)
    ref = sps.ttest_ind(A, B, equal_var=False)
    assert w["t"] == pytest.approx(ref.statistic)
    assert w["p"] == pytest.approx(ref.pvalue)
    va, vb = np.var(A, ddof=1) / 4, np.var(B, ddof=1) / 4
    df = (va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 3)
    assert w["df"] == pytest.approx(df)
    half = sps.t.ppf(0.975, df) * math.sqrt(va + vb)
    diff = np.mean(A) - np.mean(B)
    assert (w["ci_low"], w["ci_high"]) == pytest.approx((diff - half, diff + half))
    ci = ref.confidence_interval(0.95)  # scipy ≥ 1.11 gives Welch's interval directly
    assert (w["ci_low"], w["ci_high"]) == pytest.approx((ci.low, ci.high))


def test_paired_matches_scipy():
    p = stats.paired(A, B)
    ref = sps.ttest_rel(A, B)
    assert p["t"] == pytest.approx(ref.statistic)
    assert p["p"] == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (p["ci_low"], p["ci_high"]) == pytest.approx((ci.low, ci.high))


def test_hedges_g_hand_computed():
    a, b = [1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0]
    # pooled sd: sqrt((2*1 + 3*1.6667)/5) = sqrt(1.4) ; d = (2 - 3.5)/sqrt(1.4) ; J = 1 - 3/(4*7-9)
    d = (2.0 - 3.5) / math.sqrt((2 * 1.0 + 3 * (5 / 3)) / 5)
    assert stats.hedges_g(a, b) == pytest.approx(d * (1 - 3 / 19))
    assert stats.hedges_g([1.0], b) is None


def test_holm_hand_computed():
    # sorted: 0.005×4=0.02, 0.01×3=0.03, 0.03×2=0.06, 0.04×1=0.04 → running max 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, None, 0.9]) == [pytest.approx(1.0), None, pytest.approx(1.0)]
    assert stats.holm([]) == []


def test_compare_prefers_paired_with_shared_seeds_and_welch_otherwise():
    a = dict(zip([0, 1, 2, 3], A))
    b = dict(zip([0, 1, 2, 3], B))
    c = stats.compare(a, b)
    assert c.test == "paired t" and c.p == pytest.approx(sps.ttest_rel(A, B).pvalue)
    assert c.test_choice == "shared seeds" and c.seeds == [0, 1, 2, 3]
    assert c.welch_p == pytest.approx(sps.ttest_ind(A, B, equal_var=False).pvalue)
    c2 = stats.compare(a, dict(zip([4, 5, 6, 7], B)))
    assert c2.test == "Welch t" and c2.paired_p is None and c2.test_choice == "different seeds"
    one = stats.compare({0: 0.9}, {0: 0.8})
    assert one.test == "none" and one.p is None and one.test_choice == "too few seeds"


_model = model_summary


def test_holm_runs_within_each_family_and_sentences_do_not_overclaim():
    models = [_model("mlp", "baseline", [0.80, 0.81, 0.79]),
              _model("cnn · kernel 3×3", "reference", [0.90, 0.91, 0.905]),
              _model("cnn · kernel 5×5", "variant", [0.895, 0.920, 0.900]),
              _model("cnn · kernel 7×7", "variant", [0.910, 0.900, 0.915])]
    comps = build_comparisons(models)
    primary, *experiment = comps
    assert primary.family == "primary" and primary.family_size == 1
    assert primary.p_holm == pytest.approx(primary.p)  # alone: no correction
    assert [c.family for c in experiment] == ["experiment", "experiment"]
    assert [c.p_holm for c in experiment] == pytest.approx(stats.holm([c.p for c in experiment]))
    assert primary.significant and primary.verdict == "higher" and "scores higher" in finding(primary)
    for c in experiment:
        sentence = finding(c)
        assert not c.significant and verdict_text(c) == "no significant difference at 3 seeds"
        assert "higher" not in sentence and "lower" not in sentence
        assert "tie" not in sentence and "(paired t)" in sentence
        assert "Holm-adjusted p" in sentence and "(Holm, 2 comparisons)" in sentence


def test_holm_levels_agree_with_the_adjusted_p_values():
    # sorted 0.005, 0.01, 0.03, 0.04 at α = 0.05: 0.005 < 0.05/4 and 0.01 < 0.05/3 are rejected;
    # 0.03 ≥ 0.05/2 stops the procedure, so 0.03 and 0.04 keep that step's level 0.025.
    p = [0.01, 0.04, 0.03, 0.005]
    levels = stats.holm_levels(p)
    assert levels == pytest.approx([0.05 / 3, 0.025, 0.025, 0.05 / 4])
    for raw, adj, level in zip(p, stats.holm(p), levels):
        assert (raw < level) == (adj < 0.05)
    assert stats.holm_levels([0.2, None]) == [pytest.approx(0.05), None]
    # Both rejected: 0.02 < 0.05 / 2, then 0.024 < 0.05 / 1.
    assert stats.holm_levels([0.02, 0.024]) == pytest.approx([0.025, 0.05])
    # A step-down stop: 0.03 ≥ 0.05 / 2 fails, so 0.04 is not tested at 0.05 (where it would
    # pass) but keeps the failed step's 0.025, as its Holm-adjusted p 0.06 says.
    assert stats.holm_levels([0.04, 0.03]) == pytest.approx([0.025, 0.025])
    assert stats.holm([0.04, 0.03]) == pytest.approx([0.06, 0.06])


def test_interval_is_scipy_t_interval_and_excludes_zero_exactly_when_p_is_below_its_level():
    d = np.asarray(A) - np.asarray(B)
    se = d.std(ddof=1) / math.sqrt(len(d))
    for level in (0.05, 0.01, 0.001, 0.0005):
        low, high = stats.interval(d.mean(), se, len(d) - 1, 1 - level)
        ref = sps.ttest_rel(A, B).confidence_interval(1 - level)
        assert (low, high) == pytest.approx((ref.low, ref.high))
        assert (low > 0 or high < 0) == (sps.ttest_rel(A, B).pvalue < level)


def test_tost_matches_two_one_sided_scipy_tests_and_its_interval():
    d = np.asarray(A) - np.asarray(B)
    m = 0.01
    p = stats.tost(A, B, m, paired_runs=True)
    lower = sps.ttest_1samp(d, -m, alternative="greater").pvalue
    upper = sps.ttest_1samp(d, m, alternative="less").pvalue
    assert p == pytest.approx(max(lower, upper))
    # TOST at α ⇔ the 1 − 2α interval inside (−m, m).
    se = d.std(ddof=1) / math.sqrt(len(d))
    for alpha in (0.05, 0.01):
        low, high = stats.interval(d.mean(), se, len(d) - 1, 1 - 2 * alpha)
        assert (p < alpha) == (-m < low and high < m)
    welch_p = stats.tost(A, B, 0.02, paired_runs=False)
    x, y = np.asarray(A), np.asarray(B)
    ref = max(sps.ttest_ind(x + 0.02, y, equal_var=False, alternative="greater").pvalue,
              sps.ttest_ind(x - 0.02, y, equal_var=False, alternative="less").pvalue)
    assert welch_p == pytest.approx(ref)
    assert stats.tost([0.5, 0.5], [0.4, 0.4], 0.01, paired_runs=True) is None  # no spread


def test_equivalence_is_claimed_only_when_tost_shows_it():
    ref = [0.900, 0.910, 0.905, 0.902, 0.908]
    near = [v + 0.0005 * (-1) ** i for i, v in enumerate(ref)]  # within ±0.05 pts, seed by seed
    models = [_model("cnn · kernel 3×3", "reference", ref), _model("cnn · kernel 5×5", "variant", near),
              _model("cnn · kernel 7×7", "variant", [0.890, 0.915, 0.897, 0.912, 0.899])]
    close, noisy = build_comparisons(models, margin=0.01)
    assert close.verdict == "equivalent" and verdict_text(close) == "equivalent within ±1.0 pts"
    assert -0.01 < close.verdict_ci_low and close.verdict_ci_high < 0.01
    assert close.verdict_interval == "equivalence (TOST)" and "equivalent within ±1.0 pts" in finding(close)
    assert noisy.verdict == "no significant difference" and noisy.equivalence.equivalent is False
    assert "not shown equivalent within ±1.0 pts" in finding(noisy)
    # The same data with a margin too narrow for 5 seeds: no equivalence claimed.
    close_narrow, _ = build_comparisons(models, margin=0.0001)
    assert close_narrow.verdict == "no significant difference"


def test_single_seed_sentence_says_not_enough_seeds_and_no_p():
    (c,) = build_comparisons([_model("cnn · kernel 3×3", "reference", [0.8]), _model("cnn · kernel 5×5", "variant", [0.9])])
    text = finding(c)
    assert c.verdict == "no test" and "not enough seeds" in text and "p =" not in text and "p <" not in text


def test_curve_trend_detects_overfitting_and_divergence():
    from cnnreport.results.judgements import curve_trend

    t = curve_trend([1.0, 0.7, 0.6, 0.65, 0.8])
    assert t.trend == "decreasing" and t.min_epoch == 3 and t.overfit_from == 4
    assert curve_trend([1.0, 0.8, 0.7]).overfit_from is None
    assert curve_trend([1.0, 1.005]).trend == "plateau"
    assert curve_trend([1.0, 2.0]).trend == "rising"
    assert curve_trend([1.0, float("nan")]).trend == "diverged"


def test_plateau_epoch_is_where_the_curve_stops_rising():
    from cnnreport.results.baseline import plateau_epoch

    assert plateau_epoch([0.5, 0.7, 0.795, 0.8]) == 3
