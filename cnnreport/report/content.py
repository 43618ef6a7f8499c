"""report.json's content as the report stage assembles it: every part but the rubric check's
result, which rubric/report_json.py adds to make the root model.

The parts are defined where they are computed (study/, data/, train/, results/, report/); this
module adds the report's own parts — what the author wrote, the checklist in words, the visuals
beside the errors — and the content model that holds them all.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cnnreport.contract import Part
from cnnreport.data.eda import DatasetSummary
from cnnreport.report.figures.figure import Figure
from cnnreport.report.wording.paragraphs import GeneratedText, TextOrigin
from cnnreport.results.baseline import BaselineFacts
from cnnreport.results.checklist import Question
from cnnreport.results.deployment import Deployment
from cnnreport.results.errors import ErrorAnalysis
from cnnreport.results.experiment import Experiment, Headline
from cnnreport.results.findings import Comparison
from cnnreport.results.probes import Probes
from cnnreport.results.summaries import ModelSummary
from cnnreport.results.testset import FiniteTestSet
from cnnreport.study.specs import DECISIONS
from cnnreport.study.summary import StudySummary
from cnnreport.train.environment import Environment
from cnnreport.train.store import RunEntry

# Bump when a report.json key changes meaning. 2: `checklist` holds the lab's validation
# questions (judged as the rubric judges them); `experiment.verification[]` records each CNN's
# built-layer signature and run settings. 3: `comparisons[].p_holm` is Holm within the
# comparison's `family` (the primary comparison alone), with the verdict and its interval.
# 4: a published schema (`$schema`, report.schema.json) every key follows; numbers and
# enumerations where format 3 had English (`comparisons[].test_choice` for `reason`, the
# verification's `differences` for `differs`), the generated words in `generated` (`findings`,
# `headline`); `experiment.table[].verdict` for `mark`.
REPORT_FORMAT = 4
SCHEMA_FILE = "report.schema.json"  # written beside report.json; the repository's copy is committed

Decision = Literal[tuple(d.replace("_", " ") for d in DECISIONS)]  # type: ignore[valid-type]


class AuthorText(Part):
    """The author's own words from the study file's [text] ("" where none was given)."""

    dataset: str
    preprocessing: str
    interpretation: str


class RationaleRow(Part):
    """A design decision with the author's justification, or flagged as missing."""

    decision: Decision
    justification: str
    missing: bool


class ChecklistRow(Part):
    """One of the lab's validation questions, answered by the judgement the rubric applies."""

    id: Question
    item: str
    passed: bool
    evidence: str
    fix: str


class Visuals(ErrorAnalysis):
    """The best CNN's errors, and which figures show feature maps of which test image."""

    feature_map_figures: list[str]  # figure ids
    feature_map_image: int  # index of the test image the feature maps follow


class ReportContent(Part):
    """Everything the report states, as data (report.json without `rubric`)."""

    schema_: str = Field(alias="$schema")  # the JSON Schema this file follows: report.schema.json beside it
    format: Literal[4]
    generator: str  # cnnreport and its version
    generated_at: str
    study: StudySummary
    dataset: DatasetSummary
    models: list[ModelSummary]
    experiment: Experiment
    headline: Headline
    comparisons: list[Comparison]
    test_set: FiniteTestSet
    checklist: list[ChecklistRow]
    probes: Probes
    visuals: Visuals
    baseline_facts: BaselineFacts
    generated: GeneratedText
    text_origin: TextOrigin
    figures: list[Figure]
    text: AuthorText
    rationale: list[RationaleRow]
    runs: list[RunEntry]
    environment: Environment
    deployment: Deployment | None  # the last endpoint test, if any

