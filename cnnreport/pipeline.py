"""The pipeline's stages wired together: train (study → runs/) and render (runs/ → reports/).

Rendering never trains; training never renders. `build` is train then render.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from cnnreport.data.eda import describe, eda_extras
from cnnreport.data.splits import Splits, permute_pixels
from cnnreport.deploy.endpoint_test import load_deployment
from cnnreport.files import write_json
from cnnreport.report import cache as memo
from cnnreport.report import evidence, rigour
from cnnreport.report.context import build_context
from cnnreport.report.figures import data as data_figures
from cnnreport.report.figures import style
from cnnreport.report.figures import training as training_figures
from cnnreport.report.html import render_html
from cnnreport.report.pdf import render_pdf
from cnnreport.results import summaries as analysis
from cnnreport.results.verification import verify_study
from cnnreport.rubric import scoring as rubric
from cnnreport.study.models import study_models
from cnnreport.study.schema import Study
from cnnreport.train import store
from cnnreport.train.environment import environment
from cnnreport.train.plan import PERMUTATION_SEED, RunSpec, full_plan
from cnnreport.train.runner import run_plan
from cnnreport.train.workspace import Workspace

Echo = Callable[[str], None]


def train(study: Study, ws: Workspace, echo: Echo = print) -> dict[str, int]:
    splits = ws.splits(study)
    plan = full_plan(study)
    verify_study(study, splits.input_shape, splits.num_classes)  # uncontrolled: fail before training
    echo(f"study {study.name} ({study.profile} profile): {len(study_models(study))} models × "
         f"{len(study.seeds)} seeds = {len(plan)} runs on {splits.x_train.shape[0]:,} training images")

    def splits_for(spec: RunSpec) -> Splits:
        return permute_pixels(splits, PERMUTATION_SEED) if spec.probe == "permuted" else splits

    store.remember_profile(store.study_runs_dir(ws.runs_root, study.name), study.profile)
    return run_plan(plan, splits_for, ws.runs_root, echo)


def render(study: Study, ws: Workspace, echo: Echo = print, pdf: bool = True) -> dict[str, Any]:
    """Rebuild reports/<study>/ from runs/ alone (plus the data set, for its figures). What depends
    only on runs, data and code is reused from reports/<study>/cache/ (memo.py)."""
    t0 = time.perf_counter()
    started_wall = time.time() - 1.0  # file times may be coarser than this clock
    plan = full_plan(study)
    records = store.load_runs(store.study_runs_dir(ws.runs_root, study.name), [r.run_id for r in plan])
    splits = ws.splits(study)
    out = ws.report_dir(study)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)

    models = analysis.summarize_models(study_models(study), records)
    eda = describe(splits)
    eda.update(eda_extras(splits, eda))
    by_model = analysis.records_by_model(records)
    figs = [
        data_figures.sample_grid(splits.x_train, splits.y_train, splits.class_names, fig_dir),
        data_figures.class_distribution(eda["class_counts"], splits.class_names, fig_dir),
        data_figures.image_dimensions(eda["image_shape"], eda["original_sizes"], splits.x_train, fig_dir),
        data_figures.preprocessing(splits.x_train[0], splits.x_train, fig_dir),
    ]
    for m in models:
        if m["role"] in ("baseline", "reference"):
            fig_id = "curves_baseline" if m["role"] == "baseline" else "curves_reference"
            figs.append(training_figures.training_curves(m, [r["history"] for r in by_model.get(m["name"], [])],
                                                fig_dir, fig_id))
    figs.append(training_figures.variant_curves(models, fig_dir, {
        name: [r["history"] for r in runs] for name, runs in by_model.items()}))
    figs.append(training_figures.accuracy_bars(models, splits.num_classes, fig_dir))

    more_figs, extra = evidence.collect(study, splits, models, records, eda,
                                        store.study_runs_dir(ws.runs_root, study.name), fig_dir)
    figs.extend(more_figs)
    figs = [style.with_print_width(f, out, style.DPI) for f in figs]
    env = records[0]["environment"] if records else environment()
    deployment = load_deployment(ws.runs_root, study.name, [r["run_id"] for r in records])
    context = build_context(study=study, study_file=Path(study.source), dataset=eda,
                            models=models, records=records, figures=figs, environment=env,
                            extra={**extra, "deployment": deployment})
    rigour.attach(context, study, models, splits.input_shape, splits.num_classes, memo.cache_dir(out))
    html_path = render_html(context, out / "report.html")
    # The rubric check reads the HTML just rendered (the PDF comes after), then joins the appendix.
    context["rubric"] = rubric.appendix(out, context, store.study_runs_dir(ws.runs_root, study.name))
    html_path = render_html(context, out / "report.html")
    write_json(out / "report.json", context)
    memo.prune(memo.cache_dir(out), used_since=started_wall)  # entries of older code or vanished runs
    paths = {"html": html_path, "json": out / "report.json"}
    if pdf:
        paths["pdf"] = render_pdf(html_path, out / "report.pdf")
    echo(f"report: {out}/report.html" + (" and report.pdf" if pdf else "")
         + f" ({len(figs)} figures, {time.perf_counter() - t0:.1f} s)")
    return {"paths": paths, "context": context}
