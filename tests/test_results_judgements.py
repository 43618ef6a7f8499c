"""One judgement per lab question: the report's checklist and the rubric check give the same
verdicts, also where their old, separate rules disagreed (a higher but not significant CNN; a
mean above chance whose interval is not; a training loss 1.5 % above its start)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from helpers import TrainedStudy, copy_report, curves, edit_json, model_summary, report_model

from cnnreport.report.wording import evidence
from cnnreport.results import judgements as judge
from cnnreport.results.checklist import QUESTIONS, judge_questions
from cnnreport.results.statistics import Summary
from cnnreport.rubric.scoring import check_report as check

# Each checklist question and the rubric items that ask it (rubric.toml): they must agree.
RUBRIC_ITEMS = {
    "runs_complete": ["rigour.no_errors"],
    "losses": ["baseline.loss", "cnn.loss"],
    "baseline_above_chance": ["baseline.above_chance"],
    "cnn_beats_baseline": ["cnn.above_baseline"],
    "repeated_runs": ["rigour.repeated"],
    "controlled_experiment": ["rigour.controlled", "rigour.variants"],
}


def check_report(folder: Any) -> dict[str, Any]:
    return check(folder).model_dump(mode="json")


def _summary(mean: float | None, std: float | None = None, ci: tuple[float, float] | None = None,
             n: int = 2) -> Summary:
    return Summary(n=n, values=[], mean=mean, std=std, ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None,
                   min=None, max=None)


def _model(role: str, loss: list[float], val_loss: list[float] | None = None, **acc: Any):
    return model_summary(role, role, test_accuracy=_summary(**acc), curves=curves(loss, val_loss))


def _verdicts(result: dict[str, Any]) -> dict[str, bool]:
    return {i["id"]: bool(i["passed"]) for c in result["criteria"] for i in c["items"]}


def _checklist(report: dict[str, Any]) -> list[dict[str, Any]]:
    """report.json's checklist as the build words it, recomputed from report.json alone."""
    from cnnreport.report.wording import QUESTION_TEXT, fix

    r = report_model(report)
    asked = judge_questions(r.models, r.comparisons, r.experiment, r.headline.chance, r.study.seeds)
    return [{"id": q, "item": QUESTION_TEXT[q], "passed": j.passed, "evidence": evidence(j), "fix": fix(j)}
            for q, j in asked.items()]


# ------------------------------------------------------------------------------- unit rules


def test_every_checklist_question_is_asked_of_the_rubric_too() -> None:
    assert set(QUESTIONS) == set(RUBRIC_ITEMS)


def test_above_chance_needs_the_interval_above_chance_when_there_is_one() -> None:
    chance = 0.1
    assert judge.above_chance(_model("baseline", [1, 0.5], mean=0.2, ci=(0.15, 0.25)), chance).passed
    lucky = judge.above_chance(_model("baseline", [1, 0.5], mean=0.12, ci=(0.05, 0.19)), chance)
    assert not lucky.passed and "95 % CI [0.050, 0.190]" in evidence(lucky)
    single = _model("baseline", [1, 0.5], mean=0.12, n=1)
    assert judge.above_chance(single, chance).passed  # one seed: the value itself decides
    assert not judge.above_chance(None, chance).passed


@pytest.mark.parametrize("last, trend, passed", [(0.90, "decreasing", True), (1.015, "plateau", True),
                                                 (1.03, "rising", False)])
def test_loss_trend_reads_a_small_rise_as_a_plateau(last: float, trend: str, passed: bool) -> None:
    j = judge.loss_trend(_model("baseline", [1.0, 0.95, last], mean=0.5))
    assert j.passed is passed and f"({trend})" in evidence(j)


def test_loss_trend_notes_overfitting_without_failing_and_fails_divergence() -> None:
    j = judge.loss_trend(_model("baseline", [1.0, 0.6, 0.4], val_loss=[0.9, 0.7, 0.8], mean=0.5))
    assert j.passed and "overfitting from epoch 3" in evidence(j)
    assert not judge.loss_trend(_model("baseline", [1.0, math.nan], mean=0.5)).passed  # NaN: null in report.json
    assert not judge.loss_trend(_model("baseline", [1.0], mean=0.5)).passed  # no trend in one epoch
    assert judge.curve_trend([1.0, 0.8, 0.9]).overfit_from == 3


def test_cnn_above_baseline_only_when_the_test_says_so() -> None:
    from cnnreport.results.findings import build_comparisons

    def primary(cnn: list[float]):
        return build_comparisons([model_summary("mlp", "baseline", [0.84, 0.841, 0.839]),
                                  model_summary("cnn · kernel 3×3", "reference", cnn)])

    assert judge.cnn_above_baseline(primary([0.86, 0.861, 0.859])).passed  # significantly higher
    higher = judge.cnn_above_baseline(primary([0.85, 0.83, 0.86]))  # higher on average, noisy
    assert not higher.passed and "not shown beyond seed-to-seed noise" in evidence(higher)
    lower = judge.cnn_above_baseline(primary([0.82, 0.821, 0.819]))
    assert not lower.passed and "The CNN is not above the baseline." in evidence(lower)
    assert not judge.cnn_above_baseline([]).passed


# -------------------------------------------------------------------- on a real tiny report


def test_checklist_and_rubric_agree_on_every_lab_question(trained_study: TrainedStudy, tmp_path) -> None:
    """The three cases where today's checklist and rubric disagreed, in one real report."""
    folder = copy_report(trained_study.report_dir, tmp_path / "tiny")

    def disagreeable(report: dict[str, Any]) -> None:
        primary = next(c for c in report["comparisons"] if c["kind"] == "cnn_vs_baseline")
        primary.update(diff=abs(primary["diff"]) or 0.01, significant=False,  # higher, not significant
                       verdict="no significant difference")
        chance = report["headline"]["chance"]
        base = next(m for m in report["models"] if m["role"] == "baseline")
        base["test_accuracy"].update(mean=chance + 0.01, ci_low=chance - 0.02, ci_high=chance + 0.04)
        ref = next(m for m in report["models"] if m["role"] == "reference")
        loss = ref["curves"]["loss"]["mean"]
        loss[-1] = loss[0] * 1.015  # within 2 %, outside the old checklist's 1 %
        report["checklist"] = _checklist(report)

    report = edit_json(folder, disagreeable)
    checklist = {row["id"]: row["passed"] for row in report["checklist"]}
    assert checklist["cnn_beats_baseline"] is False and checklist["baseline_above_chance"] is False
    assert checklist["losses"] is True

    rubric = _verdicts(check_report(folder))
    for question, items in RUBRIC_ITEMS.items():
        assert checklist[question] == all(rubric[i] for i in items), (question, {i: rubric[i] for i in items})

    # The same questions in the rubric's own lab validation list give the same answers.
    lists = {e["text"]: e["passed"] for cl in check_report(folder)["lists"] for e in cl["entries"]}
    assert lists["CNN above baseline (or explained)"] is checklist["cnn_beats_baseline"]
    assert lists["Baseline above chance"] is checklist["baseline_above_chance"]
    assert lists["Losses decrease or plateau"] is checklist["losses"]


def test_the_built_report_states_its_checklist_as_the_rubric_judges_it(trained_study: TrainedStudy) -> None:
    report = trained_study.report()
    assert report["format"] >= 2  # 2 introduced the checklist
    assert [row["id"] for row in report["checklist"]] == list(QUESTIONS)
    assert report["checklist"] == _checklist(report)  # recomputable from report.json alone
    rubric = _verdicts({"criteria": report["rubric"]["criteria"]})
    for row in report["checklist"]:
        assert row["passed"] == all(rubric[i] for i in RUBRIC_ITEMS[row["id"]]), row
