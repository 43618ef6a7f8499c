"""A report scored against the rubric: points verified per item with evidence, human items
apart (never counted as earned), the lists, integrity. The score reads "verified X of Y
automatic points; Z points for a human reader".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnreport.rubric.checks.catalogue import CHECKS
from cnnreport.rubric.checks.registry import Outcome
from cnnreport.rubric.integrity import verify
from cnnreport.rubric.schema import Item, Rubric, load_rubric
from cnnreport.rubric.submission import NotAReport, Submission

# ------------------------------------------------------------------------------------- scoring


def _run(sub: Submission, item: Item) -> Outcome:
    if item.check is None:
        return Outcome(0.0, "")
    cdef = CHECKS[item.check]
    try:
        return cdef.fn(sub, cdef.params.model_validate(item.params))
    except NotAReport:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError) as exc:
        # A damaged report.json: the item fails and says what was unreadable.
        return Outcome(0.0, f"report.json damaged where this check reads it ({type(exc).__name__}: {exc})",
                       "rebuild the report with `cnnreport render`")


def _pts(x: float) -> float:
    return round(x + 1e-9, 1)


def score(sub: Submission, rubric: Rubric) -> dict[str, Any]:
    """The check's result as data: criteria with items, human items apart, lists, integrity, score."""
    sub.report  # noqa: B018 - raises NotAReport for a folder that is not a report
    criteria, human, outcomes = [], [], {}
    for c in rubric.criteria:
        items = []
        for i in c.items:
            out = _run(sub, i)
            passed = None if i.human else out.fraction >= 1.0 - 1e-9
            earned = 0.0 if i.human else _pts(i.points * max(0.0, min(1.0, out.fraction)))
            outcomes[i.id] = passed
            row = {"id": i.id, "name": i.name, "points": i.points, "kind": "human" if i.human else "auto",
                   "check": i.check, "earned": earned, "passed": passed, "evidence": out.evidence,
                   "fix": "" if passed else (out.fix or i.fix)}
            if i.human:
                row["fix"] = ""
                human.append({"criterion": c.id, **row})
            items.append(row)
        auto = [r for r in items if r["kind"] == "auto"]
        criteria.append({"id": c.id, "name": c.name, "points": c.points, "bonus": c.bonus,
                         "earned": _pts(sum(r["earned"] for r in auto)),
                         "automatic": _pts(sum(r["points"] for r in auto)),
                         "human": _pts(sum(r["points"] for r in items if r["kind"] == "human")),
                         "items": items})
    main = [c for c in criteria if not c["bonus"]]
    bonus = [c for c in criteria if c["bonus"]]
    x = _pts(sum(c["earned"] for c in main))
    y = _pts(sum(c["automatic"] for c in main))
    z = _pts(sum(c["human"] for c in main))
    integ = verify(sub)
    score_ = {"earned": x, "automatic": y, "human": z, "total": rubric.total,
              "bonus_earned": _pts(sum(c["earned"] for c in bonus)),
              "bonus_automatic": _pts(sum(c["automatic"] for c in bonus)),
              "bonus_human": _pts(sum(c["human"] for c in bonus)),
              "integrity": integ.ok,
              "line": f"verified {x:g} of {y:g} automatic points; {z:g} points for a human reader"}
    if bonus:
        score_["line"] += (f" (bonus: verified {score_['bonus_earned']:g} of {score_['bonus_automatic']:g}; "
                           f"{score_['bonus_human']:g} for a reader)")
    lists = [{"id": cl.id, "title": cl.title,
              "entries": [{"text": e.text, "items": e.items,
                           "passed": all(outcomes.get(i) is True for i in e.items)} for e in cl.entries]}
             for cl in rubric.lists]
    return {"report_dir": str(sub.folder), "rubric": {"title": rubric.title, "source": rubric.source},
            "score": score_, "criteria": criteria, "human": human, "lists": lists,
            "integrity": integ.as_dict(), "pdf": sub.pdf_state,
            "generator": sub.get("generator"), "notes": list(sub.notes)}


def check_report(folder: str | Path, rubric: Rubric | None = None, *, runs_dir: str | Path | None = None) -> dict[str, Any]:
    return score(Submission(folder, runs_dir=runs_dir), rubric or load_rubric())


APPENDIX_KEYS = ("rubric", "score", "criteria", "human", "lists", "integrity", "pdf")


def appendix(folder: Path, context: dict[str, Any], html: str, runs_dir: Path | None,
             rubric: Rubric | None = None) -> dict[str, Any]:
    """report.json's `rubric`: the check as the build runs it, on the HTML just rendered from
    `context` (the PDF does not exist yet; `cnnreport check` reads it afterwards)."""
    ctx = {**context, "rubric": None}
    sub = Submission(folder, ctx, runs_dir=runs_dir, read_pdf=False, html=html, rendered=html)
    result = score(sub, rubric or load_rubric())
    return {k: result[k] for k in APPENDIX_KEYS}
