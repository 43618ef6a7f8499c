"""Every comparison of a report recomputed from report.json's per-seed values with scipy — Welch,
paired, Hedges' g, Holm within each declared family — and every verdict checked against the
interval printed beside it."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats as sps

from cnnreport.report.wording import finding, verdict_text
from cnnreport.results.findings import Comparison, build_comparisons
from cnnreport.results.summaries import ModelSummary
from helpers import model_summary, report_model

ALPHA = 0.05


def _values(models: list[ModelSummary], name: str) -> dict[int, float]:
    model = next(m for m in models if m.name == name)
    return {r.seed: r.test_accuracy for r in model.per_seed if r.test_accuracy is not None}


def _hedges_g(x: np.ndarray, y: np.ndarray) -> float:
    pooled = math.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2))
    return (x.mean() - y.mean()) / pooled * (1 - 3 / (4 * (len(x) + len(y)) - 9))


def _holm(p: list[float]) -> list[float]:
    """Holm's adjusted p-values, written out independently of the code under test."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def check_comparisons(models: list[ModelSummary], comps: list[Comparison]) -> None:
    """The assertions of the "Done when": recompute, regroup by family, check each verdict."""
    families: dict[str, list[Comparison]] = {}
    for c in comps:
        families.setdefault(c.family, []).append(c)
    # The declared families: the primary comparison alone, the variants together.
    has_baseline = any(m.role == "baseline" for m in models)
    assert [c.kind for c in families.get("primary", [])] == (["cnn_vs_baseline"] if has_baseline else [])
    assert all(c.kind == "variant_vs_reference" for c in families.get("experiment", []))
    variants = [m for m in models if m.role == "variant"]
    assert len(families.get("experiment", [])) == len(variants)
    scipy_tests = {}

    for family, members in families.items():
        raw = []
        for c in members:
            a, b = _values(models, c.a), _values(models, c.b)
            seeds = sorted(a)
            x, y = np.array([a[s] for s in seeds]), np.array([b[s] for s in sorted(b)])
            welch = sps.ttest_ind(x, y, equal_var=False)
            assert c.welch_p == pytest.approx(welch.pvalue) and c.welch_t == pytest.approx(welch.statistic)
            assert c.hedges_g == pytest.approx(_hedges_g(x, y))
            assert c.diff == pytest.approx(x.mean() - y.mean())
            if sorted(a) == sorted(b):
                paired = sps.ttest_rel(x, y)
                assert c.test == "paired t" and c.paired_p == pytest.approx(paired.pvalue)
                primary_test = paired
            else:
                assert c.test == "Welch t"
                primary_test = welch
            assert c.p == pytest.approx(primary_test.pvalue)
            raw.append(primary_test.pvalue)
            ci95 = primary_test.confidence_interval(0.95)
            assert (c.diff_ci_low, c.diff_ci_high) == pytest.approx((ci95.low, ci95.high))
            scipy_tests[(c.a, c.b)] = primary_test
        assert [c.p_holm for c in members] == pytest.approx(_holm(raw)), family
        assert all(c.family_size == len(members) for c in members)

        for c in members:
            sentence = finding(c)
            significant = c.p_holm < ALPHA
            assert c.significant is significant
            low, high = c.verdict_ci_low, c.verdict_ci_high
            word = c.verdict
            assert not re.search(r"\btie\b", sentence + verdict_text(c))
            ci = scipy_tests[(c.a, c.b)].confidence_interval(c.verdict_confidence)
            if word == "equivalent":
                eq = c.equivalence
                assert not significant and eq.equivalent
                assert -eq.margin < low and high < eq.margin, sentence
            else:
                # The interval is scipy's for the verdict's own test at the verdict's level, and
                # excludes zero exactly when the family's Holm-adjusted p says significant.
                assert (low > 0 or high < 0) is significant, sentence
                assert word == ("higher" if significant and c.diff > 0 else
                                "lower" if significant else "no significant difference")
                if family == "primary":
                    assert c.verdict_confidence == pytest.approx(0.95)
            assert (low, high) == pytest.approx((ci.low, ci.high))
            if not significant:
                assert c.power is not None and c.power.detectable_diff > 0
                assert f"no significant difference at {min(c.n_a, c.n_b)} seeds" in sentence or word == "equivalent"


# The quick Fashion-MNIST report of the issue: every CNN seed ahead of every MLP seed, paired
# p = 0.024. Holm across all four comparisons made it "a tie" (p = 0.07) beside a 95 % interval
# [+0.7, +3.7] that excludes zero.
ISSUE_MODELS = {
    ("mlp", "baseline"): [0.8370, 0.8382, 0.8373],
    ("cnn · kernel 3×3", "reference"): [0.8631, 0.8626, 0.8524],
    ("cnn · kernel 1×1", "variant"): [0.8200, 0.8190, 0.8150],
    ("cnn · kernel 5×5", "variant"): [0.8650, 0.8610, 0.8560],
    ("cnn · kernel 7×7", "variant"): [0.8640, 0.8590, 0.8570],
}


def _report(models: dict[tuple[str, str], list[float]]) -> tuple[list[ModelSummary], list[Comparison]]:
    ms = [model_summary(n, r, vals) for (n, r), vals in models.items()]
    return ms, build_comparisons(ms)


def test_issue_numbers_primary_alone_is_higher_with_the_interval_it_used() -> None:
    models, comps = _report(ISSUE_MODELS)
    check_comparisons(models, comps)
    primary = next(c for c in comps if c.family == "primary")
    assert primary.p == pytest.approx(0.0236, abs=5e-4) and primary.p_holm == primary.p
    assert primary.verdict == "higher" and "95 % CI [+0.7, +3.7]" in finding(primary)
    assert "p = 0.02" in finding(primary) and "tie" not in finding(primary)


def test_a_step_down_stop_prints_the_interval_that_includes_zero() -> None:
    """Two variants: the first p fails its Holm step, so the second — which would pass at 0.05
    on its own — is not significant, and its printed interval includes zero even though the
    unadjusted 95 % one does not."""
    models = {("cnn · kernel 3×3", "reference"): [0.900, 0.905, 0.910, 0.903],
              ("cnn · kernel 5×5", "variant"): [0.905, 0.915, 0.912, 0.910],
              ("cnn · kernel 7×7", "variant"): [0.908, 0.909, 0.913, 0.912]}
    ms, comps = _report(models)
    check_comparisons(ms, comps)
    stopped = [c for c in comps if c.p < 0.05 and not c.significant]
    assert stopped, [c.p for c in comps]
    for c in stopped:
        assert c.diff_ci_low > 0 and c.verdict_ci_low < 0 < c.verdict_ci_high
        assert c.verdict == "no significant difference"


def test_every_comparison_of_a_real_report_recomputes_and_agrees(trained_study) -> None:
    report = report_model(trained_study.report())
    check_comparisons(report.models, report.comparisons)
    html = (trained_study.report_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"\btie\b", html)
