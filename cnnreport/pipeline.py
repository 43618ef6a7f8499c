"""The pipeline's stages wired together: train (study → runs/) and render (runs/ → reports/).

Rendering never trains; training never renders. `build` is train then render.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import analysis, evidence, figures, memo, rigour, rubric, store, vis
from .context import build_context
from .data import Splits, describe, load_dataset, make_splits, permute_pixels
from .report import render_html, render_pdf
from .transcript import load_deployment  # the endpoint test's transcript, when one was run
from .runner import PERMUTATION_SEED, RunSpec, environment, plan_runs, run_plan
from .study import Study, study_models
from .verify import verify_study
from .store import write_json

Echo = Callable[[str], None]


@dataclass
class Workspace:
    """Where things live: runs/ and reports/ roots, and an optional local data folder."""

    runs_root: Path = Path("runs")
    reports_root: Path = Path("reports")
    data_dir: Path | None = None
    _splits: dict[str, Splits] = field(default_factory=dict)

    def splits(self, study: Study) -> Splits:
        key = study.data.model_dump_json()
        if key not in self._splits:
            self._splits[key] = make_splits(load_dataset(study.data, self.data_dir), study.data)
        return self._splits[key]

    def report_dir(self, study: Study) -> Path:
        return self.reports_root / study.name


def full_plan(study: Study) -> list[RunSpec]:
    """All runs the report needs: the study's plan, then the locality probe's runs.

    The probe retrains the baseline and the reference CNN on pixels shuffled by one fixed
    permutation, over the same seeds, through the same run store and cache.
    """
    plan = plan_runs(study)
    probe = [RunSpec(r.study, r.model, r.seed, r.training, r.data, probe="permuted")
             for r in plan if r.model.role in ("baseline", "reference")]
    return plan + probe


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
    eda.update(evidence.eda_extras(splits, eda))
    by_model = analysis.records_by_model(records)
    figs = [
        figures.sample_grid(splits.x_train, splits.y_train, splits.class_names, fig_dir),
        figures.class_distribution(eda["class_counts"], splits.class_names, fig_dir),
        figures.image_dimensions(eda["image_shape"], eda["original_sizes"], splits.x_train, fig_dir),
        figures.preprocessing(splits.x_train[0], splits.x_train, fig_dir),
    ]
    for m in models:
        if m["role"] in ("baseline", "reference"):
            fig_id = "curves_baseline" if m["role"] == "baseline" else "curves_reference"
            figs.append(figures.training_curves(m, [r["history"] for r in by_model.get(m["name"], [])],
                                                fig_dir, fig_id))
    figs.append(figures.variant_curves(models, fig_dir, {
        name: [r["history"] for r in runs] for name, runs in by_model.items()}))
    figs.append(figures.accuracy_bars(models, splits.num_classes, fig_dir))

    more_figs, extra = evidence.collect(study, splits, models, records, eda,
                                        store.study_runs_dir(ws.runs_root, study.name), fig_dir)
    figs.extend(more_figs)
    figs = [vis.with_print_width(f, out, figures.DPI) for f in figs]
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
