"""report.json → HTML with Jinja (autoescape on: text from a study file is the user's), figures
and tables numbered. The HTML is a pure function of report.json's model, so the rubric check can
re-render it to detect numbers edited by hand. The templates receive the models (each top-level
part by its name, plus `baseline`, `reference` and `primary`), the number filters of
formatting.py and the wording layer as `words`.

A render draws the report's HTML once: the rubric check reads that draft, and its result (the
last appendix) is rendered alone and put in the slot the draft left for it. The result is the
same text `html_from_context` gives for the finished report.json (tests/test_report_html.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import jinja2
from markupsafe import Markup, escape

from cnnreport import resources
from cnnreport.files import write_text
from cnnreport.formatting import FILTERS
from cnnreport.report import wording
from cnnreport.report.content import ReportContent
from cnnreport.report.numbering import number
from cnnreport.results.findings import primary_comparison
from cnnreport.results.summaries import roles

REPORT_TEMPLATE = "report.html.j2"
APPENDIX_TEMPLATE = "sections/rubric.html.j2"  # included last by REPORT_TEMPLATE


def paragraphs(text: str) -> Markup:
    """The author's plain text as escaped paragraphs (blank line = new paragraph)."""
    parts = [p.strip() for p in str(text).split("\n\n") if p.strip()]
    return Markup("".join(f"<p>{escape(p)}</p>" for p in parts))


def environment_jinja() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(resources.template_folder())),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(FILTERS, paragraphs=paragraphs)
    env.globals["words"] = wording
    return env


def template_names(report: ReportContent) -> dict[str, Any]:
    """What a template sees: each part of report.json by its name (`rubric` None before the
    check), and the models found by role."""
    names: dict[str, Any] = {name: getattr(report, name) for name in type(report).model_fields}
    names.setdefault("rubric", None)
    names.update(roles(report.models), primary=primary_comparison(report.comparisons))
    return names


def _render(template: str, report: ReportContent) -> str:
    return environment_jinja().get_template(template).render(**template_names(report))


def html_from_context(context: ReportContent) -> str:
    """The report's HTML, figures and tables numbered: a pure function of report.json (the
    rubric check re-runs it to detect numbers edited by hand)."""
    return number(_render(REPORT_TEMPLATE, context))


@dataclass(frozen=True)
class Draft:
    """The report's HTML before the rubric check: rendered once, the appendix's slot empty."""

    raw: str  # un-numbered template output
    slot: str  # what the appendix template rendered without a rubric result

    @property
    def html(self) -> str:
        """What the rubric check reads: the draft, figures and tables numbered."""
        return number(self.raw)

    def with_appendix(self, context: ReportContent) -> str:
        """The finished HTML: the appendix rendered for `context["rubric"]` in its slot."""
        if self.raw.count(self.slot) != 1:
            raise RuntimeError("the report template must include the rubric appendix exactly once")
        return number(self.raw.replace(self.slot, _render(APPENDIX_TEMPLATE, context)))


def draft(context: ReportContent) -> Draft:
    """Render report.json without its rubric result (`rubric` None)."""
    if getattr(context, "rubric", None) is not None:
        raise ValueError("a draft is rendered before the rubric check: `rubric` must be None")
    return Draft(_render(REPORT_TEMPLATE, context), _render(APPENDIX_TEMPLATE, context))


Report = TypeVar("Report", bound=ReportContent)


def publish(report: Report, html_path: Path, check: Callable[[Report, str], Report]) -> tuple[Report, Path]:
    """Draw the report's HTML once, hand it to `check` (the rubric check, which returns the report
    with its result), and write the HTML with the result as its last appendix to `html_path`
    (report.html, or its temporary while the report's files are replaced together)."""
    first = draft(report)
    finished = check(report, first.html)
    return finished, write_html(first.with_appendix(finished), html_path)


def write_html(html: str, out_path: Path) -> Path:
    return write_text(out_path, html)


def render_html(context: ReportContent, out_path: Path) -> Path:
    """Re-render a finished report.json to report.html (e.g. after editing its text by hand)."""
    return write_html(html_from_context(context), out_path)
