"""The report: context (plain data, saved as report.json), Jinja → HTML, WeasyPrint → PDF.

Templates lay out; Python computes. Number formatting lives in the Jinja filters below, so the
HTML, the PDF and the rubric check all read the same numbers from report.json.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from . import __version__

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
REPORT_FORMAT = 1  # bump when a report.json key changes meaning


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


def environment_jinja() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(FILTERS)
    return env


# ------------------------------------------------------------------------------------ rendering


def html_from_context(context: dict[str, Any]) -> str:
    """The report's HTML, figures and tables numbered: a pure function of report.json (the
    rubric check re-runs it to detect numbers edited by hand)."""
    from .numbering import number

    return number(environment_jinja().get_template("report.html.j2").render(**context))


def render_html(context: dict[str, Any], out_path: Path) -> Path:
    html = html_from_context(context)
    tmp = out_path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out_path)
    return out_path


def render_pdf(html_path: Path, pdf_path: Path) -> Path:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # font-subsetting chatter
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    tmp = pdf_path.with_suffix(".pdf.tmp")
    HTML(filename=str(html_path), base_url=str(html_path.parent)).write_pdf(str(tmp))
    tmp.replace(pdf_path)
    return pdf_path


def stamp() -> dict[str, Any]:
    return {"format": REPORT_FORMAT, "generator": f"cnnreport {__version__}",
            "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
