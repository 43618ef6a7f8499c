"""The rubric check's result as data: per item the points verified, the evidence and the fix;
human items apart; the rubric's lists; the integrity check. report.json `rubric` holds it (the
build's own check); `cnnreport check --json` prints it with the folder and notes."""

from __future__ import annotations

from typing import Literal

from cnnreport.contract import Part


class RubricInfo(Part):
    title: str
    source: str  # the rubric file


class ItemResult(Part):
    id: str
    name: str
    points: float
    kind: Literal["auto", "human"]
    check: str | None  # the automated check's id
    earned: float  # 0 for a human item: a reader judges it
    passed: bool | None  # None for a human item
    evidence: str
    fix: str


class HumanItem(ItemResult):
    criterion: str


class CriterionResult(Part):
    id: str
    name: str
    points: float
    bonus: bool
    earned: float  # automatic points verified
    automatic: float  # automatic points available
    human: float  # points a reader judges
    items: list[ItemResult]


class Score(Part):
    earned: float
    automatic: float
    human: float
    total: float
    bonus_earned: float
    bonus_automatic: float
    bonus_human: float
    integrity: bool
    line: str  # "verified X of Y automatic points; Z points for a human reader"


class ListEntryResult(Part):
    text: str
    items: list[str]  # rubric item ids
    passed: bool  # every item passed


class ListResult(Part):
    id: str
    title: str
    entries: list[ListEntryResult]


class IntegrityPart(Part):
    name: Literal["html", "pdf", "runs"]
    ok: bool | None  # None: could not be compared (detail says why)
    detail: str


class IntegrityResult(Part):
    ok: bool
    differences: list[str]
    parts: list[IntegrityPart]


PdfState = Literal["read", "skipped", "missing", "damaged"]


class RubricAppendix(Part):
    """report.json `rubric`: the check as the build ran it (before the PDF existed)."""

    rubric: RubricInfo
    score: Score
    criteria: list[CriterionResult]
    human: list[HumanItem]
    lists: list[ListResult]
    integrity: IntegrityResult
    pdf: PdfState


class CheckResult(RubricAppendix):
    """`cnnreport check --json` for one folder."""

    report_dir: str
    generator: str | None
    notes: list[str]


class NotGraded(Part):
    """A folder of a batch that could not be graded, and why."""

    report_dir: str
    error: str


Graded = CheckResult | NotGraded
