"""The wording layer: every verdict and generated sentence of the report, worded once.

The stages before the report compute numbers and enumerations (results/ never returns English);
this package turns them into words, and every reader of words calls it: the report's Python
(report/context.py fills report.json `generated` and `checklist`), the templates (registered as
the Jinja global `words`), and the rubric check's evidence (rubric/checks). Numbers inside the
words go through cnnreport/formatting.py.

- comparisons: verdicts, the finding sentence per comparison, what the seeds could detect;
- judgements: the lab's questions and each judgement's evidence and fix;
- paragraphs: the generated paragraphs (data set, baseline, probes, the lab's questions);
- words: the small pieces they share.
"""

from __future__ import annotations

from cnnreport.formatting import fmt_value
from cnnreport.report.wording.comparisons import (
    finding,
    short_name,
    test_choice,
    test_choices,
    verdict_mark,
    verdict_text,
)
from cnnreport.report.wording.judgements import QUESTION_TEXT, evidence, factor_words, fix
from cnnreport.results.differences import Difference


def difference(d: Difference) -> str:
    """One row of the verification table: 'conv1.kernel_size: 3×3 → 5×5', '(accepted)' when the
    study accepted a difference beyond its factor."""
    return f"{d.key}: {fmt_value(d.reference)} → {fmt_value(d.variant)}" + ("" if d.declared else " (accepted)")


__all__ = ["QUESTION_TEXT", "difference", "evidence", "factor_words", "finding", "fix", "short_name", "test_choice", "test_choices",
           "verdict_mark", "verdict_text"]
