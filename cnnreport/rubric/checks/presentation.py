"""Checks of presentation: figures shown, sections, captions, integrity, text found."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cnnreport.rubric.checks.eda import FolderFact, folder_facts, is_folder
from cnnreport.rubric.checks.interpretation import interpretation_text
from cnnreport.rubric.checks.registry import (
    REBUILD,
    Outcome,
    Params,
    _figure_state,
    _list,
    _text_origin,
    check,
    citations,
    fail,
    ok,
)
from cnnreport.rubric.integrity import verify
from cnnreport.rubric.submission import PDF_STATE_WORDS, Submission, squash, word_count, words

# ------------------------------------------------------------------------------------- checks


class FigureParams(Params):
    id: str
    # report.json `dataset` facts an image folder's report states with this figure (rubric/checks/eda.py)
    folder_facts: list[FolderFact] = []


@check("figure", FigureParams)
def figure(sub: Submission, p: FigureParams) -> Outcome:
    """A figure is in report.json, its PNG exists, report.html shows it and report.pdf has its caption."""
    shown, evidence, fix = _figure_state(sub, p.id)
    if not p.folder_facts or not is_folder(sub):
        return Outcome(1.0 if shown else 0.0, evidence, fix)
    stated, facts, facts_fix = folder_facts(sub, p.folder_facts)
    return Outcome((1.0 if shown else 0.0) * (1.0 if stated else 0.5), f"{evidence}; {facts}",
                   "; ".join(f for f in (fix, facts_fix) if f))


@check("integrity")
def integrity(sub: Submission, p: Params) -> Outcome:
    """No number edited by hand: HTML = report.json, PDF ⊆ HTML, report.json = its runs."""
    result = verify(sub)
    if result.ok:
        return ok(result.summary())
    return fail(result.summary(), "rebuild with `cnnreport render`; never edit the report's numbers by hand")


class SectionsParams(Params):
    ids: list[str] = Field(default=["data", "baseline", "cnn", "experiment", "interpretation",
                                    "deployment", "reproducibility"], min_length=1)


@check("sections", SectionsParams)
def sections(sub: Submission, p: SectionsParams) -> Outcome:
    """Every report section is in report.html and in report.pdf."""
    if sub.html is None:
        return fail("report.html missing or unreadable", REBUILD)
    missing_html = [s for s in p.ids if s not in sub.html.headings]
    if missing_html:
        return fail(f"sections missing from report.html: {', '.join(missing_html)}", REBUILD)
    state = sub.pdf_state
    if state == "skipped":
        return ok(f"{len(p.ids)} sections in report.html (the PDF is rendered after this check)")
    if state == "no_reader":  # the grader's environment, not the student's PDF
        return ok(f"{len(p.ids)} sections in report.html (report.pdf not read: pypdf is missing where "
                  "this check ran)")
    if state != "read":
        return fail(f"{len(p.ids)} sections in report.html; report.pdf {PDF_STATE_WORDS[state]}",
                    "render the PDF: `cnnreport render` (without --no-pdf)")
    pdf = sub.pdf_squashed
    missing_pdf = [sub.html.headings[s] for s in p.ids if squash(sub.html.headings[s]) not in pdf]
    if missing_pdf:
        return fail(f"sections missing from report.pdf: {', '.join(missing_pdf)}", "re-render: `cnnreport render`")
    return ok(f"{len(p.ids)} sections in report.html and report.pdf ({len(sub.pdf_pages or [])} pages)")


@check("captions")
def captions(sub: Submission, p: Params) -> Outcome:
    """Every figure has a caption and alt text, and is shown (its file present, in the HTML)."""
    figs = sub.report.figures
    if not figs:
        return fail("no figures in report.json", REBUILD)
    bad = [f.id for f in figs if len(words(f.caption)) < 3 or not f.alt.strip()]
    if bad:
        return Outcome(0.0, f"figures without caption or alt text: {', '.join(bad)}", REBUILD)
    # A caption under a broken image captions nothing: every figure listed must also be shown.
    states = [_figure_state(sub, f.id) for f in figs]
    unshown = [evidence for shown, evidence, _ in states if not shown]
    if unshown:
        return Outcome(0.0, f"{len(figs)} figures captioned, but not all shown: {_list(unshown, 3)}",
                       f"restore the figures' files or {REBUILD}")
    return ok(f"{len(figs)} figures, each shown with a caption and alt text")


class ExtraFiguresParams(Params):
    min: int = Field(default=2, ge=1)
    standard: list[str] = ["samples", "class_distribution", "image_dimensions", "preprocessing",
                           "curves_baseline", "curves_reference", "variant_curves", "accuracy_bars"]


@check("extra_figures", ExtraFiguresParams)
def extra_figures(sub: Submission, p: ExtraFiguresParams) -> Outcome:
    """Visualisations beyond the required ones (feature maps, filters, probes), each shown."""
    extra = [f.id for f in sub.report.figures if f.id not in p.standard]
    shown = [fid for fid in extra if _figure_state(sub, fid)[0]]
    text = f"{len(shown)} figure(s) beyond the required ones" + (f": {_list(shown, 6)}" if shown else "")
    if len(shown) >= p.min:
        return ok(text)
    return fail(text, "add visualisations: feature maps, learned filters, probe results")


class TextParams(Params):
    source: Literal["dataset", "preprocessing", "interpretation", "rationale"]
    concepts: dict[str, list[str]] = {}  # concept -> phrases that count as mentioning it


@check("text_found", TextParams)
def text_found(sub: Submission, p: TextParams) -> Outcome:
    """What a human reader will find in a piece of the author's text (never earns points)."""
    if p.source == "interpretation":
        text, origin = interpretation_text(sub)
    elif p.source == "rationale":
        text = " ".join(r.justification for r in sub.report.rationale if not r.missing)
        origin = _text_origin(sub, "rationale")
    else:
        text = str(getattr(sub.report.text, p.source))
        origin = _text_origin(sub, p.source)
    n = word_count(text)
    if n == 0:
        return Outcome(0.0, f"nothing written (text.{p.source} is empty)")
    parts = [f"{n} words" + (" (generated by cnnreport)" if origin == "generated" else "")]
    if p.concepts:
        low = text.lower()
        found = [c for c, phrases in p.concepts.items() if any(ph.lower() in low for ph in phrases)]
        parts.append(f"mentions {', '.join(found)}" if found else "mentions none of "
                     + ", ".join(p.concepts))
    parts.append(f"cites {citations(sub, text).n_cited} number(s) from the results")
    return Outcome(0.0, "; ".join(parts))
