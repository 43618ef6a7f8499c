"""Number formatting, in one place: the Python that writes sentences (findings, prose, checklist
and rubric evidence) and the Jinja filters that lay out tables call the same functions, so the
HTML, the PDF, the generated text and the rubric's evidence print a number the same way.

A missing value (None, NaN, ±inf) prints as an em dash, never as "nan".
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

# ------------------------------------------------------------------------------------- filters


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def fmt_num(x: Any, digits: int = 3) -> str:
    return "—" if _missing(x) else f"{x:.{digits}f}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A fraction as percent: 0.8512 → '85.1 %'."""
    return "—" if _missing(x) else f"{100 * x:.{digits}f} %"


def fmt_pts(x: Any, digits: int = 1) -> str:
    """A difference of fractions in percentage points, signed: 0.012 → '+1.2 pts'."""
    return "—" if _missing(x) else f"{100 * x:+.{digits}f} pts"


def fmt_pm(summary: dict[str, Any] | None, digits: int = 3) -> str:
    """mean ± std of a summary; the std is omitted (not invented) with one seed."""
    if not summary or _missing(summary.get("mean")):
        return "—"
    if _missing(summary.get("std")):
        return f"{summary['mean']:.{digits}f} (1 seed)"
    return f"{summary['mean']:.{digits}f} ± {summary['std']:.{digits}f}"


def fmt_pm_pct(summary: dict[str, Any] | None) -> str:
    """mean ± std of a fraction, in percent: '85.1 % ± 0.3' (the std in points)."""
    if not summary or _missing(summary.get("mean")):
        return "—"
    std = summary.get("std")
    return fmt_pct(summary["mean"]) + ("" if _missing(std) else f" ± {100 * std:.1f}")


def pts_value(x: float, signed: bool = True) -> str:
    """A difference of fractions as a bare number of points, with a true minus sign and two
    decimals when one would print 0.0: 0.012 → '+1.2', -0.0004 → '−0.04'."""
    digits = 2 if abs(100 * x) < 0.1 and x != 0 else 1
    text = f"{100 * x:+.{digits}f}" if signed else f"{100 * x:.{digits}f}"
    return text.replace("-", "−")


def fmt_p(p: float) -> str:
    """A p-value as a sentence prints it: 'p < 0.001', 'p = 0.004', 'p = 0.07'."""
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2f}" if p >= 0.01 else f"p = {p:.3f}"


def fmt_tiny(e: float) -> str:
    """An error that is zero up to float32 rounding says so instead of printing 0.0e+00."""
    return "below 1e-6 (exact up to float rounding)" if e < 1e-6 else f"{e:.1e}"


def fmt_int(x: Any) -> str:
    return "—" if _missing(x) else f"{int(x):,}"


def fmt_si(x: Any, unit: str = "") -> str:
    """1.23e7 → '12.3 M'."""
    if _missing(x):
        return "—"
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.1f} {prefix}{unit}"
    return f"{x:.0f} {unit}".strip()


def fmt_seconds(x: Any) -> str:
    if _missing(x):
        return "—"
    return f"{x:.2f} s" if x < 10 else f"{x:.0f} s" if x < 600 else f"{x / 60:.1f} min"


def fmt_shape(shape: Any) -> str:
    return "×".join(str(d) for d in shape) if shape else "—"


def paragraphs(text: str) -> Markup:
    """The author's plain text as escaped paragraphs (blank line = new paragraph)."""
    parts = [p.strip() for p in str(text).split("\n\n") if p.strip()]
    return Markup("".join(f"<p>{escape(p)}</p>" for p in parts))


FILTERS = {"num": fmt_num, "pct": fmt_pct, "pts": fmt_pts, "pm": fmt_pm, "int": fmt_int,
           "si": fmt_si, "seconds": fmt_seconds, "shape": fmt_shape, "paragraphs": paragraphs}
