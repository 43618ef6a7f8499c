"""report.json's content, built in one place: each part comes from one step below, in the order
the report reads. The parts' models are the contract (docs/contracts.md); the rubric check's own
result (`rubric`) is added afterwards, by the render step that runs the check on the rendered HTML.

The report stage receives what the stages before it computed (the study, its data summary, the
results) and adds figures and words; it computes no statistic and loads no study.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from cnnreport import __version__
from cnnreport.data.eda import DatasetSummary
from cnnreport.data.splits import Splits
from cnnreport.report import evidence
from cnnreport.report.content import (
    REPORT_FORMAT,
    SCHEMA_FILE,
    AuthorText,
    ChecklistRow,
    RationaleRow,
    ReportContent,
    Visuals,
)
from cnnreport.report.figures import data as data_figures
from cnnreport.report.figures import style
from cnnreport.report.figures import training as training_figures
from cnnreport.report.wording import paragraphs
from cnnreport.report.wording.judgements import QUESTION_TEXT, evidence as judgement_evidence, fix
from cnnreport.results.deployment import Deployment
from cnnreport.results.description import Results
from cnnreport.results.evidence import FEATURE_MAP_IMAGE
from cnnreport.results.summaries import ModelSummary, Record, records_by_model
from cnnreport.study.schema import Study
from cnnreport.study.specs import DECISIONS
from cnnreport.study.summary import ProfileNote, summarize_study
from cnnreport.train.environment import Environment
from cnnreport.train.store import run_entries


@dataclass(frozen=True)
class Inputs:
    """What the report is built from: the earlier stages' outputs, each computed once."""

    study: Study
    splits: Splits
    dataset: DatasetSummary
    results: Results
    records: list[Record]
    runs_dir: Path
    environment: Environment
    deployment: Deployment | None
    profile_note: ProfileNote | None


def build_report(inputs: Inputs, report_dir: Path) -> ReportContent:
    """report.json's content (without `rubric`), and every figure drawn into report_dir/figures/.

    A figure already drawn from the same inputs by the same code is reused (cnnreport/memo.py)."""
    study, splits, res = inputs.study, inputs.splits, inputs.results
    fig_dir = report_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    input_shape = list(inputs.dataset.image_shape)
    style.warn_undrawable([m.name for m in res.models], "model name")

    figures = data_figure_list(splits, inputs.dataset, fig_dir)
    figures += training_figure_list(res.models, inputs.records, inputs.dataset.num_classes, fig_dir)
    figures += evidence.architecture_figures(res.baseline, res.reference, input_shape, fig_dir)
    figures += evidence.probe_figures_of(res.probes, splits, fig_dir)
    feature_figs, feature_fig_ids = evidence.learned_feature_figures(
        res.features, splits.x_test[FEATURE_MAP_IMAGE], fig_dir)
    figures += feature_figs
    figures += evidence.error_figures_of(res.errors, res.confusion, res.first_predictions, splits, fig_dir)

    return ReportContent.model_validate({
        "$schema": SCHEMA_FILE,
        "format": REPORT_FORMAT,
        "generator": f"cnnreport {__version__}",
        "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "study": summarize_study(study),
        "dataset": inputs.dataset,
        "models": res.models,
        "experiment": res.experiment,
        "headline": res.headline,
        "comparisons": res.comparisons,
        "test_set": res.test_set,
        "checklist": [ChecklistRow(id=q, item=QUESTION_TEXT[q], passed=j.passed, evidence=judgement_evidence(j),
                                   fix=fix(j)) for q, j in res.checklist.items()],
        "probes": res.probes,
        "visuals": Visuals(**dict(res.errors), feature_map_figures=feature_fig_ids,
                           feature_map_image=FEATURE_MAP_IMAGE),
        "baseline_facts": res.facts,
        "generated": paragraphs.generate(dataset=inputs.dataset, models=res.models, baseline=res.baseline,
                                         reference=res.reference, facts=res.facts, probes=res.probes, errors=res.errors,
                                         comparisons=res.comparisons, test_set=res.test_set,
                                         headline_numbers=res.headline, profiles=inputs.profile_note),
        "text_origin": paragraphs.text_origin(study),
        "figures": [style.with_print_width(f, report_dir, style.DPI) for f in figures],
        "text": AuthorText(dataset=study.text.dataset, preprocessing=study.text.preprocessing,
                           interpretation=study.text.interpretation),
        "rationale": rationale_rows(study),
        "runs": run_entries(inputs.records),
        "environment": inputs.environment,
        "deployment": inputs.deployment,
    })


def rationale_rows(study: Study) -> list[RationaleRow]:
    """Each design decision with the author's justification, or flagged as missing."""
    rows = []
    for decision in DECISIONS:
        text = study.text.rationale.get(decision, "").strip()
        rows.append(RationaleRow(decision=decision.replace("_", " "), justification=text, missing=not text))
    return rows


# ----------------------------------------------------------------------------------- figures


def data_figure_list(splits: Splits, dataset: DatasetSummary, fig_dir: Path) -> evidence.Figures:
    style.warn_undrawable(splits.class_names, "class name")
    # A folder's sizes on disk: every image loaded (report.json keeps the first 5,000).
    sizes = splits.folder.sizes if splits.folder is not None else dataset.original_sizes
    figures = [
        data_figures.sample_grid(splits.x_train, splits.y_train, splits.class_names, fig_dir),
        data_figures.class_distribution(dataset.class_counts.model_dump(), splits.class_names, fig_dir),
        data_figures.image_dimensions(dataset.image_shape, sizes, splits.x_train, fig_dir,
                                      dataset.resize.model_dump(mode="json") if dataset.resize else None),
        data_figures.preprocessing(splits.x_train[0], splits.x_train, fig_dir),
    ]
    pairs = [p.model_dump(mode="json") for p in dataset.duplicates.pairs[:8]] if dataset.duplicates else []
    if pairs and dataset.duplicates is not None:
        by_split = {"train": splits.x_train, "val": splits.x_val, "test": splits.x_test}
        images = [by_split[p[f"{side}_split"]][p[f"{side}_index"]] for p in pairs for side in ("a", "b")]
        figures.append(data_figures.duplicate_pairs(pairs, images, dataset.duplicates.near_bits, fig_dir))
    return figures


def training_figure_list(models: list[ModelSummary], records: list[Record], num_classes: int,
                         fig_dir: Path) -> evidence.Figures:
    by_model = records_by_model(records)
    histories = {name: [r["history"] for r in runs] for name, runs in by_model.items()}
    figs = [training_figures.training_curves(m, histories.get(m.name, []), fig_dir,
                                             "curves_baseline" if m.role == "baseline" else "curves_reference")
            for m in models if m.role in ("baseline", "reference")]
    figs.append(training_figures.variant_curves(models, fig_dir, histories))
    figs.append(training_figures.accuracy_bars(models, num_classes, fig_dir))
    return figs
