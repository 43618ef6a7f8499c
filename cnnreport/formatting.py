"""Number formatting, in one place: the Python that writes sentences (report/wording: findings,
paragraphs, checklist and rubric evidence) and the Jinja filters that lay out tables call the
same functions, so the HTML, the PDF, the generated text and the rubric's evidence print a number
the same way. No other module formats a number for a reader. Standard library only: the training
job's image imports it too (progress lines).

A missing value (None, NaN, ±inf) prints as an em dash, never as "nan"; a negative number has a
true minus sign (U+2212), as wide as the plus beside it in a table. A spread (a std, a
standard deviation in points) is printed with enough decimals to show its first significant
digit (at most 6: below that it prints "<0.000001"), so a non-zero spread never reads "± 0.000";
its mean gets the same decimals.
"""

from __future__ import annotations

import math
from typing import Any

MAX_DIGITS = 6  # a spread smaller than 1e-6 prints as 0.000000: below any accuracy a test set measures

# ------------------------------------------------------------------------------------- filters


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def _field(summary: Any, key: str) -> Any:
    """A summary's value by name, whether it is a model (results.statistics.Summary) or a mapping."""
    if summary is None:
        return None
    if isinstance(summary, dict):
        return summary.get(key)
    return getattr(summary, key, None)


def _signed(text: str) -> str:
    """A printed number with a true minus sign: '-0.5' → '−0.5'. One that prints as zero has no
    sign ('-0.000' → '0.000'): a reader would take '−0.000' for a negative value shown."""
    if text[:1] in "+-" and not any(c in "123456789" for c in text):
        return text[1:]
    return text.replace("-", "−")


def _spread(spread: float, decimals: int) -> str:
    """A non-negative spread at `decimals`; one too small to show says so rather than print 0."""
    if spread and round(spread, decimals) == 0:
        return f"<{10 ** -decimals:.{decimals}f}"
    return f"{spread:.{decimals}f}"


def spread_digits(spread: Any, digits: int) -> int:
    """Decimals for a spread and its mean: `digits`, or more when the spread would otherwise print
    as zero (0.0004 at 3 digits → 4: '0.8501 ± 0.0004')."""
    if _missing(spread) or spread == 0:
        return digits
    first = -math.floor(math.log10(abs(spread)))  # decimals to the first significant digit
    return max(digits, min(MAX_DIGITS, first))


def fmt_num(x: Any, digits: int = 3) -> str:
    return "—" if _missing(x) else _signed(f"{x:.{digits}f}")


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A fraction as percent: 0.8512 → '85.1 %'."""
    return "—" if _missing(x) else _signed(f"{100 * x:.{digits}f}") + " %"


def fmt_pts(x: Any, digits: int = 1) -> str:
    """A difference of fractions in percentage points, signed: 0.012 → '+1.2 pts'."""
    return "—" if _missing(x) else _signed(f"{100 * x:+.{digits}f}") + " pts"


def fmt_pm(summary: Any, digits: int = 3) -> str:
    """mean ± std of a summary; the std is omitted (not invented) with one seed."""
    mean, std = _field(summary, "mean"), _field(summary, "std")
    if _missing(mean):
        return "—"
    if _missing(std):
        return _signed(f"{mean:.{digits}f}") + " (1 seed)"
    d = spread_digits(std, digits)
    return _signed(f"{mean:.{d}f}") + f" ± {_spread(std, d)}"


def fmt_pm_pct(summary: Any, digits: int = 1) -> str:
    """mean ± std of a fraction, in percent: '85.1 % ± 0.3' (the std in points)."""
    mean, std = _field(summary, "mean"), _field(summary, "std")
    if _missing(mean):
        return "—"
    if _missing(std):
        return fmt_pct(mean, digits)
    d = spread_digits(100 * std, digits)
    return f"{fmt_pct(mean, d)} ± {_spread(100 * std, d)}"


def fmt_sd_pts(sd: Any, digits: int = 2) -> str:
    """A standard deviation of fractions in points, unsigned: 0.0025 → '0.25 pts'."""
    if _missing(sd):
        return "—"
    return f"{_spread(100 * sd, spread_digits(100 * sd, digits))} pts"


def pts_value(x: Any, signed: bool = True) -> str:
    """A difference of fractions as a bare number of points, with a true minus sign and two
    decimals when one would print 0.0: 0.012 → '+1.2', -0.0004 → '−0.04'."""
    if _missing(x):
        return "—"
    digits = 2 if abs(100 * x) < 0.1 and x != 0 else 1
    return _signed(f"{100 * x:+.{digits}f}" if signed else f"{100 * x:.{digits}f}")


def fmt_p(p: Any) -> str:
    """A p-value as a sentence prints it: 'p < 0.001', 'p = 0.004', 'p = 0.07'."""
    if _missing(p):
        return "p —"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2f}" if p >= 0.01 else f"p = {p:.3f}"


def fmt_p_cell(p: Any) -> str:
    """A p-value as a table cell prints it: '< 0.001', '0.034'."""
    if _missing(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_confidence(confidence: Any) -> str:
    """A confidence level: 0.95 → '95 %', 0.98333 → '98.3 %', 0.9 → '90 %'."""
    if _missing(confidence):
        return "—"
    return f"{100 * confidence:.1f}".rstrip("0").rstrip(".") + " %"


def fmt_ratio(x: Any, digits: int = 2) -> str:
    """How many times: 2.0 → '2.00×'; at least 100 without decimals: 1234.5 → '1,235×'."""
    if _missing(x):
        return "—"
    return _signed(f"{x:,.0f}×" if abs(x) >= 100 else f"{x:.{digits}f}×")


def fmt_duration(seconds: float) -> str:
    """A time to wait, as a clock says it: `1h05m`, `4m07s`."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def fmt_value(value: Any) -> str:
    """A layer's configuration value as the report prints it: [5, 5] → '5×5'."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value):
        return "×".join(str(v) for v in value)
    return str(value)


def fmt_tiny(e: float) -> str:
    """An error that is zero up to float32 rounding says so instead of printing 0.0e+00."""
    return "below 1e-6 (exact up to float rounding)" if e < 1e-6 else f"{e:.1e}"


def fmt_int(x: Any) -> str:
    return "—" if _missing(x) else _signed(f"{int(x):,}")


def fmt_si(x: Any, unit: str = "") -> str:
    """1.23e7 → '12.3 M'."""
    if _missing(x):
        return "—"
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return _signed(f"{x / div:.1f}") + f" {prefix}{unit}"
    return (_signed(f"{x:.0f}") + f" {unit}").strip()


def fmt_seconds(x: Any) -> str:
    if _missing(x):
        return "—"
    return f"{x:.2f} s" if x < 10 else f"{x:.0f} s" if x < 600 else f"{x / 60:.1f} min"


def fmt_shape(shape: Any) -> str:
    return "×".join(str(d) for d in shape) if shape else "—"


def fmt_points(x: Any) -> str:
    """Rubric points as the check states them: 12.5, 3, 0."""
    return "—" if _missing(x) else f"{x:g}"


def fmt_signed_int(x: Any) -> str:
    """A change in a count, signed with a true minus: 1234 → '+1,234', -12 → '−12', 0 → '0'."""
    if _missing(x):
        return "—"
    return _signed(f"{int(x):+,}") if x else "0"


FILTERS = {"num": fmt_num, "pct": fmt_pct, "pts": fmt_pts, "pm": fmt_pm, "pm_pct": fmt_pm_pct, "int": fmt_int,
           "si": fmt_si, "seconds": fmt_seconds, "shape": fmt_shape,
           "pts_value": pts_value, "sd_pts": fmt_sd_pts, "pvalue": fmt_p_cell, "confidence": fmt_confidence,
           "ratio": fmt_ratio, "signed_int": fmt_signed_int, "value": fmt_value}
