"""The lab's validation checklist: each of the lab's questions answered by its one judgement
(results/judgements.py), the same one the rubric check applies.

The questions, in the lab's words: runs without errors; losses decrease or plateau; the
baseline above chance; the CNN above the baseline (or explained); mean ± std over repeated
runs; and, from the deliverables, a controlled experiment on one factor with 4+ variants.
report/wording words each question and its judgement (report.json `checklist`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Iterator, Literal, Sequence

from cnnreport.results import judgements as judge
from cnnreport.results.experiment import Experiment
from cnnreport.results.findings import Comparison
from cnnreport.results.summaries import ModelSummary, role_model

REPEATED_MIN_SEEDS = 2  # "mean ± std over repeated runs": a std needs two runs

Question = Literal["runs_complete", "losses", "baseline_above_chance", "cnn_beats_baseline", "repeated_runs",
                   "controlled_experiment"]
QUESTIONS: tuple[Question, ...] = ("runs_complete", "losses", "baseline_above_chance", "cnn_beats_baseline",
                                   "repeated_runs", "controlled_experiment")


@dataclass(frozen=True)
class LabJudgements:
    """Each of the lab's questions with its judgement, in the checklist's order."""

    runs_complete: judge.RunsComplete
    losses: judge.Losses
    baseline_above_chance: judge.AboveChance
    cnn_beats_baseline: judge.CnnAboveBaseline
    repeated_runs: judge.RepeatedRuns
    controlled_experiment: judge.ControlledExperiment

    def items(self) -> Iterator[tuple[Question, judge.Judgement]]:
        for f in fields(self):
            yield f.name, getattr(self, f.name)  # type: ignore[misc]


def judge_questions(models: Sequence[ModelSummary], comparisons: Sequence[Comparison], experiment: Experiment,
                    chance: float, seeds: Sequence[int]) -> LabJudgements:
    return LabJudgements(
        runs_complete=judge.runs_complete(models, seeds),
        losses=judge.losses(models),
        baseline_above_chance=judge.above_chance(role_model(models, "baseline"), chance),
        cnn_beats_baseline=judge.cnn_above_baseline(comparisons),
        repeated_runs=judge.repeated_runs(models, REPEATED_MIN_SEEDS),
        controlled_experiment=judge.controlled_experiment(experiment, models),
    )
