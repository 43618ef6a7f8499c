"""The pipeline's stages wired together: train (study → runs/) and render (runs/ → reports/).

Rendering never trains; training never renders. `build` is train then render.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from cnnreport.data.splits import Splits, permute_pixels
from cnnreport.deploy.endpoint_test import load_deployment
from cnnreport.files import write_json
from cnnreport.report import cache as memo
from cnnreport.report.context import build_report
from cnnreport.report.html import draft, write_html
from cnnreport.report.pdf import render_pdf
from cnnreport.results.table import RESULTS_CSV, write_results_csv
from cnnreport.results.verification import verify_study
from cnnreport.rubric.scoring import appendix
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
    plan = full_plan(study, splits.fingerprint)
    verify_study(study, splits.input_shape, splits.num_classes)  # uncontrolled: fail before training
    echo(f"study {study.name} ({study.profile} profile): {len(study_models(study))} models × "
         f"{len(study.seeds)} seeds = {len(plan)} runs on {splits.x_train.shape[0]:,} training images")

    def splits_for(spec: RunSpec) -> Splits:
        return permute_pixels(splits, PERMUTATION_SEED) if spec.probe == "permuted" else splits

    store.remember_profile(store.study_runs_dir(ws.runs_root, study.name), study.profile)
    return run_plan(plan, splits_for, ws.runs_root, echo)


def render(study: Study, ws: Workspace, echo: Echo = print, pdf: bool = True) -> dict[str, Any]:
    """Rebuild reports/<study>/ from runs/ alone (plus the data set, for its figures). What depends
    only on runs, data and code is reused from reports/<study>/cache/ (report/cache.py)."""
    t0 = time.perf_counter()
    started_wall = time.time() - 1.0  # file times may be coarser than this clock
    runs_dir = store.study_runs_dir(ws.runs_root, study.name)
    splits = ws.splits(study)
    records = store.load_plan(runs_dir, full_plan(study, splits.fingerprint), splits.origin)
    out = ws.report_dir(study)
    report = build_report(study=study, splits=splits, records=records, runs_dir=runs_dir,
                          report_dir=out, environment=records[0]["environment"] if records else environment(),
                          deployment=load_deployment(ws.runs_root, study.name, [r["run_id"] for r in records]))
    # The HTML is drawn once; the rubric check reads it, and its result fills the last appendix.
    first_draft = draft(report)
    report["rubric"] = appendix(out, report, first_draft.html, runs_dir)
    paths = {"html": write_html(first_draft.with_appendix(report), out / "report.html"),
             "json": write_json(out / "report.json", report),
             "csv": write_results_csv(records, out / RESULTS_CSV)}
    memo.prune(memo.cache_dir(out), used_since=started_wall)  # entries of older code or vanished runs
    if pdf:
        paths["pdf"] = render_pdf(paths["html"], out / "report.pdf")
    echo(f"report: {out}/report.html" + (" and report.pdf" if pdf else "")
         + f" ({len(report['figures'])} figures, {time.perf_counter() - t0:.1f} s)")
    return {"paths": paths, "context": report}
