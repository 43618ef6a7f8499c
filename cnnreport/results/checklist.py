"""The lab's validation checklist (report.json `checklist`): each of the lab's questions answered
by its one judgement (results/judgements.py), the same one the rubric check applies.

The questions, in the lab's words: runs without errors; losses decrease or plateau; the
baseline above chance; the CNN above the baseline (or explained); mean ± std over repeated
runs; and, from the deliverables, a controlled experiment on one factor with 4+ variants.
"""

from __future__ import annotations

from typing import Any, Callable

from cnnreport.results import judgements as judge

REPEATED_MIN_SEEDS = 2  # "mean ± std over repeated runs": a std needs two runs

# id → (the lab's wording, how it is judged from report.json's data)
QUESTIONS: dict[str, tuple[str, Callable[[dict[str, Any]], judge.Judgement]]] = {
    "runs_complete": ("Runs without errors: every planned run finished, none diverged",
                      lambda r: judge.runs_complete(r["models"], r["study"]["seeds"])),
    "losses": ("Training loss decreases or plateaus (the epoch where overfitting starts is noted)",
               lambda r: judge.losses(r["models"])),
    "baseline_above_chance": ("The baseline beats chance",
                              lambda r: judge.above_chance(_role(r, "baseline"), r["headline"]["chance"])),
    "cnn_beats_baseline": ("The CNN beats the baseline (or the report says it does not)",
                           lambda r: judge.cnn_above_baseline(r["comparisons"])),
    "repeated_runs": ("Mean ± std over repeated runs (seeds)",
                      lambda r: judge.repeated_runs(r["models"], REPEATED_MIN_SEEDS)),
    "controlled_experiment": ("A controlled experiment on one factor with at least 4 levels",
                              lambda r: judge.controlled_experiment(r["experiment"], r["models"])),
}


def _role(report: dict[str, Any], role: str) -> dict[str, Any] | None:
    return next((m for m in report["models"] if m.get("role") == role), None)


def build_checklist(report: dict[str, Any]) -> list[dict[str, Any]]:
    """report.json's `checklist` from the rest of report.json (models, comparisons, experiment,
    headline, study): one row per question, with the judgement's evidence."""
    rows = []
    for qid, (item, ask) in QUESTIONS.items():
        j = ask(report)
        rows.append({"id": qid, "item": item, "passed": j.passed, "evidence": j.evidence, "fix": j.fix})
    return rows
