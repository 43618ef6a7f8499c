"""The pipeline's stages wired together: train (study → runs/) and render (runs/ → reports/).

Rendering never trains; training never renders. `build` is train then render.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from cnnreport.data.splits import Splits, permute_pixels
from cnnreport.deploy.endpoint_test import load_deployment
from cnnreport.errors import UserError
from cnnreport.files import finish_replacing, naming, remove_dead_temporaries, replace_together, write_json
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


# Written together by every render: replaced at once or not at all (files.replace_together).
REPORT_FILES = ("report.html", "report.json", RESULTS_CSV, "report.pdf")


def render(study: Study, ws: Workspace, echo: Echo = print, pdf: bool = True,
           partial: bool = False) -> dict[str, Any]:
    """Rebuild reports/<study>/ from runs/ alone (plus the data set, for its figures). What depends
    only on runs, data and code is reused from reports/<study>/cache/ (report/cache.py). The
    report's files replace the previous ones together, once all are written. With `partial`,
    from the runs finished so far (the report's checklist names the missing ones)."""
    t0 = time.perf_counter()
    started_wall = time.time() - 1.0  # file times may be coarser than this clock
    runs_dir = store.study_runs_dir(ws.runs_root, study.name)
    splits = ws.splits(study)
    plan = full_plan(study, splits.fingerprint)
    records = store.load_plan(runs_dir, plan, splits.origin, partial=partial)
    if partial:
        _enough_for_a_partial_report(study, records, runs_dir)
    out = ws.report_dir(study)
    with naming(out):
        out.mkdir(parents=True, exist_ok=True)
    finish_replacing(out)  # a render killed among its renames is completed first
    for folder in (out, out / "figures", memo.cache_dir(out)):
        remove_dead_temporaries(folder)
    report = build_report(study=study, splits=splits, records=records, runs_dir=runs_dir,
                          report_dir=out, environment=records[0]["environment"] if records else environment(),
                          deployment=load_deployment(ws.runs_root, study.name, [r["run_id"] for r in records]))
    # The HTML is drawn once; the rubric check reads it, and its result fills the last appendix.
    first_draft = draft(report)
    report["rubric"] = appendix(out, report, first_draft.html, runs_dir)
    with replace_together(out, REPORT_FILES) as tmp:
        write_html(first_draft.with_appendix(report), tmp["report.html"])
        write_json(tmp["report.json"], report)
        write_results_csv(records, tmp[RESULTS_CSV])
        if pdf:
            render_pdf(tmp["report.html"], tmp["report.pdf"])
    paths = {"html": out / "report.html", "json": out / "report.json", "csv": out / RESULTS_CSV}
    if pdf:
        paths["pdf"] = out / "report.pdf"
    memo.prune(memo.cache_dir(out), used_since=started_wall)  # entries of older code or vanished runs
    echo(f"report: {out}/report.html" + (" and report.pdf" if pdf else "")
         + f" ({len(report['figures'])} figures, {time.perf_counter() - t0:.1f} s)"
         + (f"; partial: {len(records)} of {len(plan)} runs finished" if partial else ""))
    return {"paths": paths, "context": report}


def _enough_for_a_partial_report(study: Study, records: list[dict[str, Any]], runs_dir: Path) -> None:
    """The baseline's and the reference CNN's architecture, probes and comparisons come from their
    runs: a partial report needs one finished run of each."""
    finished = {r["model"]["name"] for r in records if r.get("probe", "none") == "none"}
    missing = [m.name for m in study_models(study) if m.role in ("baseline", "reference") and m.name not in finished]
    if missing:
        raise UserError(f"{runs_dir}: no finished run of {' or '.join(missing)} yet; a partial report needs one "
                        "of the baseline and one of the reference CNN (run `cnnreport render --partial` again later)")
