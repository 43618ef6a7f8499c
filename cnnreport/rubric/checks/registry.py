"""How a check is declared: its id, its parameters (pydantic), and the `Outcome` it returns —
the fraction of the item's points verified (0..1), the evidence found and, short of full marks,
how to fix it. A check reads report.json through its typed models (the submission was parsed
before any check runs), so a missing key cannot reach one.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict

from cnnreport.formatting import fmt_si
from cnnreport.report.content import ReportContent
from cnnreport.report.wording import evidence, fix
from cnnreport.results.judgements import Judgement
from cnnreport.rubric.submission import (
    OUTSIDE,
    Submission,
    decimals,
    is_measurement,
    number_value,
    numbers_in,
    squash,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REBUILD = "rebuild the report with `cnnreport render --study <study>`"


@dataclass
class Outcome:
    fraction: float  # of the item's points verified, 0..1
    evidence: str
    fix: str = ""


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class CheckDef:
    id: str
    params: type[Params]
    fn: Callable[[Submission, Any], Outcome]
    doc: str


CHECKS: dict[str, CheckDef] = {}


def check(check_id: str, params: type[Params] = Params) -> Callable:
    def register(fn: Callable[[Submission, Any], Outcome]) -> Callable[[Submission, Any], Outcome]:
        CHECKS[check_id] = CheckDef(check_id, params, fn, (fn.__doc__ or "").strip().splitlines()[0])
        return fn
    return register


def from_judgement(j: Judgement) -> Outcome:
    """A lab question's one judgement (results/judgements.py) as a rubric outcome, in the words
    the report's checklist uses (report/wording)."""
    return Outcome(1.0 if j.passed else 0.0, evidence(j), fix(j))


def ok(evidence: str) -> Outcome:
    return Outcome(1.0, evidence)


def fail(evidence: str, fix: str) -> Outcome:
    return Outcome(0.0, evidence, fix)


# ------------------------------------------------------------------------------------ helpers


def _list(text_items: list[str], limit: int = 4) -> str:
    more = f" and {len(text_items) - limit} more" if len(text_items) > limit else ""
    return ", ".join(text_items[:limit]) + more


def _figure_state(sub: Submission, fig_id: str) -> tuple[bool, str, str]:
    """(shown, evidence, fix) for one figure: listed, file present, referenced, in the PDF."""
    fig = next((f for f in sub.report.figures if f.id == fig_id), None)
    if fig is None:
        return False, f"no figure '{fig_id}' in report.json", REBUILD
    rel = fig.file
    path = sub.file(rel)  # resolved: a path out of the submission folder is never opened
    if path is None:
        return False, f"{rel} {OUTSIDE}", f"keep figures inside the report folder; {REBUILD}"
    if not path.is_file():
        return False, f"{rel} is missing from the report folder", f"restore {rel} or {REBUILD}"
    with path.open("rb") as fh:
        if fh.read(8) != PNG_MAGIC:
            return False, f"{rel} is not a PNG image", f"restore {rel} or {REBUILD}"
    size = fmt_si(path.stat().st_size, "B")
    if sub.html is None:
        return False, f"{rel} exists but report.html is missing", REBUILD
    if rel not in sub.html.images:
        return False, f"{rel} exists but report.html does not show it", REBUILD
    where = "report.html"
    if sub.pdf_state == "read":
        caption = fig.caption[:60]
        if caption and squash(caption) not in squash(sub.pdf_text or ""):
            return False, f"{rel} shown in report.html but its caption is not in report.pdf", \
                "re-render the PDF: `cnnreport render`"
        where += " and report.pdf"
    return True, f"{rel} ({size}) shown in {where}", ""


def result_values(report: ReportContent) -> list[float]:
    """Every number the results state (models, headline, comparisons, probes), for citations."""
    out: list[float] = []
    skip = {"curves", "layers", "arch", "seeds", "run_ids", "diverged_seeds", "level", "n"}

    def walk(x: Any) -> None:
        if isinstance(x, bool) or x is None:
            return
        if isinstance(x, (int, float)):
            if math.isfinite(x):
                out.append(float(x))
        elif isinstance(x, dict):
            for k, v in x.items():
                if k not in skip:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    parts = report.model_dump(mode="json", include={"models", "headline", "comparisons", "probes", "experiment"})
    for key in ("models", "headline", "comparisons", "probes", "experiment"):
        walk(parts[key])
    return out


def cited_numbers(text: str, values: list[float]) -> tuple[list[str], list[str]]:
    """(numbers in text that state a result, numbers that look like results but match none).

    Each number is looked up in the sorted values (bisection), so a report with many numbers in
    both its text and its results costs n log n, not n × m."""
    plain, percent = sorted(values), sorted(100 * v for v in values)

    def near(ordered: list[float], x: float, tol: float) -> bool:  # some value within x ± tol
        i = bisect.bisect_left(ordered, x - tol)
        return i < len(ordered) and ordered[i] <= x + tol

    cited, unknown = [], []
    for tok in numbers_in(text):
        x, d = number_value(tok), decimals(tok)
        if d == 0 and abs(x) < 100:
            continue  # "3×3", "2 seeds": too common to count as a cited result
        tol = 0.5 * 10 ** -d + 1e-9
        if near(plain, x, tol) or (d >= 1 and near(percent, x, tol)):
            cited.append(tok)
        elif is_measurement(tok):
            unknown.append(tok)
    return cited, unknown


def _text_origin(sub: Submission, section: str) -> str:
    """'author', 'generated' (or for the rationale 'partial', 'missing'): report.json `text_origin`."""
    return str(getattr(sub.report.text_origin, section))
