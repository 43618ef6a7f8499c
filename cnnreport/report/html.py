"""report.json → HTML with Jinja (autoescape on: text from a study file is the user's), figures
and tables numbered. The HTML is a pure function of report.json, so the rubric check can
re-render it to detect numbers edited by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from cnnreport import resources
from cnnreport.files import write_text
from cnnreport.report.formatting import FILTERS


def environment_jinja() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(resources.templates())),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(FILTERS)
    return env


# ------------------------------------------------------------------------------------ rendering


def html_from_context(context: dict[str, Any]) -> str:
    """The report's HTML, figures and tables numbered: a pure function of report.json (the
    rubric check re-runs it to detect numbers edited by hand)."""
    from cnnreport.report.numbering import number

    return number(environment_jinja().get_template("report.html.j2").render(**context))


def render_html(context: dict[str, Any], out_path: Path) -> Path:
    html = html_from_context(context)
    write_text(out_path, html)
    return out_path
