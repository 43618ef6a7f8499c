"""A report scored against the rubric: points verified per item with evidence, human items
apart (never counted as earned), the lists, integrity. The score reads "verified X of Y
automatic points; Z points for a human reader".

The submission's report.json is parsed through the report's models before any check runs
(submission.py), so a check reads typed parts and a malformed report is refused with every field
it breaks named, not scored item by item.
"""

from __future__ import annotations

from pathlib import Path

from cnnreport.formatting import fmt_points
from cnnreport.report.content import ReportContent
from cnnreport.rubric.checks.catalogue import CHECKS
from cnnreport.rubric.checks.registry import Outcome
from cnnreport.rubric.integrity import verify
from cnnreport.rubric.result import (
    CheckResult,
    CriterionResult,
    HumanItem,
    ItemResult,
    ListEntryResult,
    ListResult,
    RubricAppendix,
    RubricInfo,
    Score,
)
from cnnreport.rubric.schema import Item, Rubric, load_rubric
from cnnreport.rubric.submission import Submission

# ------------------------------------------------------------------------------------- scoring


def _run(sub: Submission, item: Item) -> Outcome:
    if item.check is None:
        return Outcome(0.0, "")
    cdef = CHECKS[item.check]
    return cdef.fn(sub, cdef.params.model_validate(item.params))


def _pts(x: float) -> float:
    return round(x + 1e-9, 1)


def score(sub: Submission, rubric: Rubric) -> CheckResult:
    """The check's result: criteria with items, human items apart, lists, integrity, score."""
    sub.report  # noqa: B018 - raises NotAReport (or InvalidReport) for a folder that is not a report
    criteria, human, outcomes = [], [], {}
    for c in rubric.criteria:
        items = []
        for i in c.items:
            out = _run(sub, i)
            passed = None if i.human else out.fraction >= 1.0 - 1e-9
            earned = 0.0 if i.human else _pts(i.points * max(0.0, min(1.0, out.fraction)))
            outcomes[i.id] = passed
            row = ItemResult(id=i.id, name=i.name, points=i.points, kind="human" if i.human else "auto",
                             check=i.check, earned=earned, passed=passed, evidence=out.evidence,
                             fix="" if passed or i.human else (out.fix or i.fix))
            if i.human:
                human.append(HumanItem(criterion=c.id, **dict(row)))
            items.append(row)
        auto = [r for r in items if r.kind == "auto"]
        criteria.append(CriterionResult(id=c.id, name=c.name, points=c.points, bonus=c.bonus,
                                        earned=_pts(sum(r.earned for r in auto)),
                                        automatic=_pts(sum(r.points for r in auto)),
                                        human=_pts(sum(r.points for r in items if r.kind == "human")),
                                        items=items))
    main = [c for c in criteria if not c.bonus]
    bonus = [c for c in criteria if c.bonus]
    x, y, z = (_pts(sum(getattr(c, key) for c in main)) for key in ("earned", "automatic", "human"))
    bx, by, bz = (_pts(sum(getattr(c, key) for c in bonus)) for key in ("earned", "automatic", "human"))
    integ = verify(sub)
    line = f"verified {fmt_points(x)} of {fmt_points(y)} automatic points; {fmt_points(z)} points for a human reader"
    if bonus:
        line += f" (bonus: verified {fmt_points(bx)} of {fmt_points(by)}; {fmt_points(bz)} for a reader)"
    lists = [ListResult(id=cl.id, title=cl.title,
                        entries=[ListEntryResult(text=e.text, items=list(e.items),
                                                 passed=all(outcomes.get(i) is True for i in e.items))
                                 for e in cl.entries])
             for cl in rubric.lists]
    return CheckResult(
        report_dir=str(sub.folder), rubric=RubricInfo(title=rubric.title, source=rubric.source),
        score=Score(earned=x, automatic=y, human=z, total=rubric.total, bonus_earned=bx, bonus_automatic=by,
                    bonus_human=bz, integrity=integ.ok, line=line),
        criteria=criteria, human=human, lists=lists, integrity=integ.as_result(), pdf=sub.pdf_state,
        generator=sub.report.generator, notes=list(sub.notes))


def check_report(folder: str | Path, rubric: Rubric | None = None, *, runs_dir: str | Path | None = None) -> CheckResult:
    return score(Submission(folder, runs_dir=runs_dir), rubric or load_rubric())


def appendix(folder: Path, context: ReportContent, html: str, runs_dir: Path | None,
             rubric: Rubric | None = None) -> RubricAppendix:
    """report.json's `rubric`: the check as the build runs it, on the HTML just rendered from
    `context` (the PDF does not exist yet; `cnnreport check` reads it afterwards)."""
    sub = Submission(folder, context, runs_dir=runs_dir, read_pdf=False, html=html, rendered=html)
    result = score(sub, rubric or load_rubric())
    return RubricAppendix(**{name: getattr(result, name) for name in RubricAppendix.model_fields})
