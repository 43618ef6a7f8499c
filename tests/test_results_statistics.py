"""Comparison statistics against scipy and hand-computed values."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from cnnreport.results import statistics as stats
from cnnreport.results.findings import build_comparisons, sentence

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
    assert c["test"] == "paired t" and c["p"] == pytest.approx(sps.ttest_rel(A, B).pvalue)
    assert c["welch_p"] == pytest.approx(sps.ttest_ind(A, B, equal_var=False).pvalue)
    c2 = stats.compare(a, dict(zip([4, 5, 6, 7], B)))
    assert c2["test"] == "Welch t" and c2["paired_p"] is None
    one = stats.compare({0: 0.9}, {0: 0.8})
    assert one["test"] == "none" and one["p"] is None and "not enough seeds" in one["reason"]


def _model(name, role, values):
    return {"name": name, "role": role,
            "per_seed": [{"seed": s, "test_accuracy": v} for s, v in enumerate(values)]}


def test_family_is_holm_adjusted_and_sentences_do_not_overclaim():
    models = [_model("mlp", "baseline", [0.80, 0.81, 0.79]),
              _model("cnn · kernel 3×3", "reference", [0.90, 0.91, 0.905]),
              _model("cnn · kernel 5×5", "variant", [0.901, 0.912, 0.903])]
    comps = build_comparisons(models)
    raw = [c["p"] for c in comps]
    assert [c["p_holm"] for c in comps] == pytest.approx(stats.holm(raw))
    big, tie = comps
    assert big["significant"] and "significantly higher" in big["sentence"]
    assert not tie["significant"] and "not a significant difference" in tie["sentence"]
    assert "higher" not in tie["sentence"] and "lower" not in tie["sentence"]
    assert "(paired t, Holm-adjusted)" in tie["sentence"]


def test_single_seed_sentence_says_not_enough_seeds_and_no_p():
    c = stats.compare({0: 0.9}, {0: 0.8})
    c.update(a="cnn · kernel 5×5", b="cnn · kernel 3×3", kind="variant_vs_reference")
    text = sentence(c)
    assert "not enough seeds" in text and "p =" not in text and "p <" not in text


def test_curve_trend_detects_overfitting_and_divergence():
    from cnnreport.results.judgements import curve_trend

    t = curve_trend([1.0, 0.7, 0.6, 0.65, 0.8])
    assert t["trend"] == "decreasing" and t["min_epoch"] == 3 and t["overfit_from"] == 4
    assert curve_trend([1.0, 0.8, 0.7])["overfit_from"] is None
    assert curve_trend([1.0, 1.005])["trend"] == "plateau"
    assert curve_trend([1.0, 2.0])["trend"] == "rising"
    assert curve_trend([1.0, float("nan")])["trend"] == "diverged"


def test_plateau_epoch_is_where_the_curve_stops_rising():
    from cnnreport.results.baseline import plateau_epoch

    assert plateau_epoch([0.5, 0.7, 0.795, 0.8]) == 3
