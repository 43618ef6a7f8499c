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


PdfState = Literal["read", "skipped", "missing", "damaged", "too_large", "no_reader"]


class RubricAppendix(Part):
    """report.json `rubric`: the check as the build ran it (before the PDF existed)."""

    rubric: RubricInfo
    score: Score
    criteria: list[CriterionResult]
    human: list[HumanItem]
    lists: list[ListResult]
    integrity: IntegrityResult
    pdf: PdfState


class SharedItem(Part):
    """One thing two submissions share (rubric/copies.py)."""

    kind: Literal["run_json", "predictions", "run_ids", "text"]
    mine: str  # a run id, or where a paragraph is ("text.interpretation ¶2")
    theirs: str
    similarity: float | None  # text only: Jaccard similarity of the paragraphs' word 5-shingles
    excerpt: str  # text only: the start of this submission's paragraph


class SharedWith(Part):
    """Another submission of the batch this one shares work with, and what."""

    submission: str
    items: list[SharedItem]


class EnvironmentMatch(Part):
    """Where the grader retrained against where the submission's run was trained."""

    backend: tuple[str, str]  # (submission's, grader's)
    backend_version: tuple[str, str]
    device: tuple[str, str]
    processor: tuple[str, str]
    precision: tuple[str, str]
    same: bool  # every one of them equal


class ReproducedRun(Part):
    """One drawn run retrained from the study file, against what the submission claims."""

    run_id: str
    model: str
    seed: int
    probe: Literal["none", "permuted"]
    test_images: int
    claimed_accuracy: float
    retrained_accuracy: float
    accuracy_tolerance: float  # |claimed − retrained| above this fails
    claimed_val_loss: float | None  # None without the submission's run.json
    retrained_val_loss: float
    val_loss_tolerance: float
    rerun_sd: tuple[float, float]  # (accuracy, val loss): run-to-run sd the tolerances used
    rerun_sd_source: Literal["measured", "seed_spread"]
    environment: EnvironmentMatch
    passed: bool


class Reproduction(Part):
    """`check --reproduce N`: the draw, each retrained run, and the verdict."""

    requested: int
    seed: int  # of the draw (pass it to --reproduce-seed to draw the same runs)
    drawn: list[str]
    alpha: float  # family-wise: Bonferroni over the 2 × runs comparisons
    z: float
    runs: list[ReproducedRun]
    passed: bool | None  # None: not attempted (problem says why)
    problem: str  # why it failed before training, or was not attempted; "" otherwise


class CheckResult(RubricAppendix):
    """`cnnreport check --json` for one folder."""

    report_dir: str
    generator: str | None
    notes: list[str]
    shared_with: list[SharedWith] = []  # grading several: the others this one shares work with
    reproduction: Reproduction | None = None  # with --reproduce


class NotGraded(Part):
    """A folder of a batch that could not be graded, and why."""

    report_dir: str
    error: str
    # Graded again by `--resume`: over the time or memory budget, or the grading process ended
    # (a larger budget may grade it); a folder that is not a report stays as it is.
    retry: bool = False


Graded = CheckResult | NotGraded
