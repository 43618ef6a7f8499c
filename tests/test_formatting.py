"""The one formatting module: number filters (Python and Jinja), and the author's text escaped."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from cnnreport.formatting import (
    fmt_confidence,
    fmt_duration,
    fmt_int,
    fmt_num,
    fmt_p_cell,
    fmt_pct,
    fmt_pm,
    fmt_pm_pct,
    fmt_pts,
    fmt_ratio,
    fmt_sd_pts,
    fmt_seconds,
    fmt_shape,
    fmt_si,
    pts_value,
)
from cnnreport.report.html import environment_jinja


def test_pm_omits_the_std_with_one_seed_rather_than_inventing_it():
    assert fmt_pm({"mean": 0.85123, "std": None}) == "0.851 (1 seed)"
    assert fmt_pm({"mean": 0.85123, "std": 0.0123}) == "0.851 ± 0.012"
    assert fmt_pm({"mean": 0.85123, "std": 0.0123}, 4) == "0.8512 ± 0.0123"
    assert fmt_pm({"mean": None, "std": None}) == "—" and fmt_pm(None) == "—"
    assert fmt_pm({"mean": math.nan, "std": 0.1}) == "—"


def test_number_filters():
    assert fmt_pct(0.8512) == "85.1 %" and fmt_pct(1.0, 0) == "100 %" and fmt_pct(None) == "—"
    assert fmt_pts(0.012) == "+1.2 pts" and fmt_pts(-0.0049) == "−0.5 pts" and fmt_pts(math.nan) == "—"
    assert fmt_int(1234567) == "1,234,567" and fmt_int(None) == "—"
    assert fmt_si(1.23e7, "FLOPs") == "12.3 MFLOPs" and fmt_si(950) == "950" and fmt_si(2.5e9) == "2.5 G"
    assert fmt_seconds(3.456) == "3.46 s" and fmt_seconds(75) == "75 s" and fmt_seconds(1800) == "30.0 min"
    assert fmt_shape([28, 28, 1]) == "28×28×1" and fmt_shape([]) == "—"


def test_filters_are_registered_in_the_template_environment():
    env = environment_jinja()
    out = env.from_string("{{ a | pm }} {{ b | pct }} {{ c | pts }} {{ d | int }}").render(
        a={"mean": 0.5, "std": None}, b=0.25, c=-0.1, d=1000)
    assert out == "0.500 (1 seed) 25.0 % −10.0 pts 1,000"


def test_study_text_is_escaped():
    env = environment_jinja()
    html = env.from_string('{% import "macros.html.j2" as ui %}{{ ui.authored(t) }}<h1>{{ title }}</h1>').render(
        t="<script>alert(1)</script>\n\nsecond & last", title="<b>bold</b>")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<p>second &amp; last</p>" in html  # a blank line starts a paragraph
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_a_spread_shows_its_first_significant_digit_and_its_mean_the_same_decimals():
    assert fmt_pm({"mean": 0.85012, "std": 0.00041}) == "0.8501 ± 0.0004"  # not "0.850 ± 0.000"
    assert fmt_pm({"mean": 0.85, "std": 0.0}) == "0.850 ± 0.000"  # a zero spread is zero
    assert fmt_pm({"mean": 0.85, "std": 2e-9}) == "0.850000 ± <0.000001"  # at most 6 decimals, never 0
    assert fmt_pm_pct({"mean": 0.2712, "std": 0.0004}) == "27.12 % ± 0.04"  # not "27.1 % ± 0.0"
    assert fmt_sd_pts(0.00004) == "0.004 pts" and fmt_sd_pts(0.0025) == "0.25 pts"


def test_every_negative_number_has_a_true_minus_and_words_have_their_numbers_formatted():
    assert fmt_num(-9.2, 2) == "−9.20" and fmt_pts(-0.008) == "−0.8 pts" and pts_value(-0.0004) == "−0.04"
    assert fmt_pm({"mean": -0.001, "std": 0.01}) == "−0.001 ± 0.010"
    assert fmt_confidence(0.98333) == "98.3 %" and fmt_confidence(0.95) == "95 %"
    assert fmt_ratio(2.0) == "2.00×" and fmt_ratio(1234.5) == "1,234×" and fmt_p_cell(0.0004) == "< 0.001"
    assert fmt_duration(3900) == "1h05m" and fmt_duration(247) == "4m07s"


def test_a_number_that_prints_as_zero_has_no_sign():
    # a generalisation gap of -0.0004 ± 0.004 once read "−0.000 ± 0.004"
    assert fmt_pm({"mean": -0.0004, "std": 0.004}) == "0.000 ± 0.004"
    assert fmt_num(-0.0001) == "0.000" and fmt_pct(-0.00001) == "0.0 %" and fmt_pts(0.0001) == "0.0 pts"
    assert fmt_num(-0.001) == "−0.001" and fmt_pts(0.001) == "+0.1 pts"  # a shown value keeps its sign


@given(st.floats(min_value=1e-12, max_value=1.0), st.floats(min_value=0.0, max_value=1.0))
def test_no_nonzero_spread_reads_as_zero(std: float, mean: float) -> None:
    for printed in (fmt_pm({"mean": mean, "std": std}).split(" ± ")[1],
                    fmt_pm_pct({"mean": mean, "std": std}).split(" ± ")[1], fmt_sd_pts(std)):
        assert any(ch in "123456789" for ch in printed), printed
