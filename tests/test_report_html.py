"""The HTML is drawn once per render, and the draft plus its appendix is exactly the HTML that
report.json renders to (what the rubric check's integrity comparison re-renders); results.csv
holds one row per run with report.json's numbers."""

from __future__ import annotations

import json
import math

import pandas as pd
from helpers import TrainedStudy, report_model

from cnnreport.pipeline import render
from cnnreport.report import html as report_html


def test_draft_with_its_appendix_is_the_html_report_json_renders_to(trained_study: TrainedStudy) -> None:
    raw = trained_study.report()
    assert raw["rubric"] is not None
    report = report_model(raw)
    first = report_html.draft(report_model({**raw, "rubric": None}))
    assert "Appendix: rubric self-check</h2>" not in first.html  # the check reads the draft
    finished = first.with_appendix(report)
    assert finished == report_html.html_from_context(report)
    assert finished == (trained_study.report_dir / "report.html").read_text(encoding="utf-8")


def test_a_render_draws_the_report_template_once(trained_copy: TrainedStudy, monkeypatch) -> None:
    drawn: list[str] = []
    real = report_html._render

    def counting(template: str, context) -> str:
        drawn.append(template)
        return real(template, context)

    monkeypatch.setattr(report_html, "_render", counting)
    render(trained_copy.context(), echo=lambda _: None, pdf=False)
    assert drawn.count(report_html.REPORT_TEMPLATE) == 1


def test_results_csv_has_one_row_per_run_with_report_json_values(trained_study: TrainedStudy) -> None:
    report = trained_study.report()
    frame = pd.read_csv(trained_study.report_dir / "results.csv")
    assert sorted(frame["run_id"]) == sorted(r["run_id"] for r in report["runs"])
    assert {"model", "role", "level", "seed", "probe", "test_accuracy", "test_loss", "best_val_accuracy",
            "best_val_epoch", "epochs", "train_time_s"} <= set(frame.columns)
    plain = frame[frame["probe"] == "none"]
    for m in report["models"]:
        rows = plain[plain["model"] == m["name"]].sort_values("seed")
        assert rows["seed"].tolist() == m["seeds"]
        for row, per_seed in zip(rows.itertuples(), m["per_seed"]):
            assert math.isclose(row.test_accuracy, per_seed["test_accuracy"])
            assert row.best_val_epoch == per_seed["best_val_epoch"]
    assert json.loads((trained_study.report_dir / "report.json").read_text())["format"] >= 2
