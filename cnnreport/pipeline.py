"""The pipeline: one context per command, built once and passed down, and the stages called in
order — train (study → runs/) and render (runs/ → reports/). Rendering never trains; training
never renders. `build` is train then render.

A command opens one `Context`: the study file is read once (each profile it needs validated from
that one reading), and the splits, the plan, the data set's summary and the controlled-variable
verification are each computed at most once, when first asked for. cli.py parses arguments and
prints; the work is here (docs/pipeline.md).
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cnnreport import memo
from cnnreport.console import Echo
from cnnreport.data.eda import DatasetSummary, describe
from cnnreport.data.splits import Splits, permute_pixels
from cnnreport.deploy.endpoint_test import load_deployment
from cnnreport.errors import UserError
from cnnreport.formatting import fmt_duration, fmt_int, fmt_seconds
from cnnreport.files import write_bytes
from cnnreport.report.content import STUDY_COPY
from cnnreport.report.context import Inputs, build_report
from cnnreport.report.html import publish
from cnnreport.report.pdf import render_pdf
from cnnreport.results.description import describe_results
from cnnreport.results.table import RESULTS_CSV, write_results_csv
from cnnreport.results.verification import Verification, verify_study
from cnnreport.rubric.report_json import ReportJson, write_report
from cnnreport.rubric.scoring import appendix
from cnnreport.study.loading import StudyFile, read_study, resolve_study_path
from cnnreport.study.models import ModelSpec, study_models
from cnnreport.study.schema import Study
from cnnreport.study.specs import DEFAULT_STUDY, PROFILES
from cnnreport.study.summary import ProfileNote, profile_settings
from cnnreport.train import levers, store
from cnnreport.train.environment import Environment, environment
from cnnreport.train.estimate import estimate_study
from cnnreport.train.plan import PERMUTATION_SEED, RunSpec, full_plan
from cnnreport.train.runner import run_plan
from cnnreport.train.workspace import Workspace


# ------------------------------------------------------------------------------- the context


@dataclass
class Context:
    """Everything one command works from, each part computed once."""

    file: StudyFile
    study: Study
    workspace: Workspace

    @property
    def runs_dir(self) -> Path:
        return store.study_runs_dir(self.workspace.runs_root, self.study.name)

    @property
    def report_dir(self) -> Path:
        return self.workspace.report_dir(self.study)

    @cached_property
    def splits(self) -> Splits:
        return self.workspace.splits(self.study)

    @cached_property
    def specs(self) -> list[ModelSpec]:
        """The study's models in report order: baseline, reference CNN, variants."""
        return study_models(self.study)

    @cached_property
    def plan(self) -> list[RunSpec]:
        """Every run the report needs (the locality probe's included), with its content-hashed id."""
        return full_plan(self.study, self.splits.fingerprint, self.specs)

    @cached_property
    def dataset(self) -> DatasetSummary:
        return describe(self.splits)

    @cached_property
    def verification(self) -> Verification:
        """Every CNN built and compared with the reference (UserError when the experiment is not
        controlled). Read from the render memo when a render stored it: then no Keras."""
        found = memo.lookup(memo.cache_dir(self.report_dir), "verification", self._design)
        if found is not None:
            return Verification.model_validate(found)
        splits = self.splits
        return verify_study(self.study, self.plan, splits.input_shape, splits.num_classes)

    @property
    def _design(self) -> list[object]:
        """What the verification depends on: the study without its prose, the input's shape."""
        design = self.study.model_dump(mode="json", exclude={"text", "title", "author", "source", "profile"})
        return [design, list(self.splits.input_shape), self.splits.num_classes]

    @cached_property
    def profile_note(self) -> ProfileNote | None:
        """For a quick-profile report of a study file: what the full profile adds, and how."""
        if self.study.profile != "quick" or not self.file.path.is_file():
            return None
        return ProfileNote(quick=profile_settings(self.study), full=profile_settings(self.file.at("full")),
                           train_images=int(len(self.splits.y_train)),
                           command=f"cnnreport build --study {self.file.command_name} --profile full")


def open_context(study: str | None, profile: str | None, workspace: Workspace, echo: Echo) -> Context:
    """The study (a built-in name or a file; None: the study last built in the runs folder) at
    `profile` (None: the profile it was last trained with, else full)."""
    argument = study if study is not None else last_built_study(workspace.runs_root, echo)
    file = read_study(argument)
    if profile is None:
        last = store.last_profile(store.study_runs_dir(workspace.runs_root, file.at(None).name))
        # "base": trained from the study file without a profile
        profile = last if last in PROFILES else (None if last else "full")
    return Context(file, file.at(profile), workspace)


def context_for(study: Study, workspace: Workspace) -> Context:
    """A context for a study already loaded (by a test, or a program using the library)."""
    source = Path(study.source)
    file = read_study(source) if source.is_file() else StudyFile(source, {}, study.source)
    return Context(file, study, workspace)


def last_built_study(runs_root: Path, echo: Echo) -> str:
    """The study last built under `runs_root` (else the default study), and a line saying which."""
    note = store.last_study(runs_root)
    if note is None:
        echo(f"study: {DEFAULT_STUDY} (the default; nothing built in {runs_root}/ yet; --study picks another)")
        return DEFAULT_STUDY
    if Path(note["study"]).is_absolute() and not Path(note["study"]).is_file():
        raise UserError(f"{runs_root / store.LAST_STUDY_FILE}: the study last built here, {note['study']}, "
                        "is gone; pass --study")
    echo(f"study: {note['name']} (the last built in {runs_root}/; --study picks another)")
    return note["study"]


def default_report_dir(study: str | None, reports_root: Path, runs_root: Path, echo: Echo) -> Path:
    """reports/<study> of the study named, else of the study last built in the runs folder."""
    argument = study if study is not None else last_built_study(runs_root, echo)
    return reports_root / read_study(argument).at(None).name


# ------------------------------------------------------------------------------------- train


def train(ctx: Context, echo: Echo = print, command: str = "build") -> dict[str, int]:
    """Train what the plan lacks. The experiment is verified first: an uncontrolled one fails
    before any training. `command`: what the user ran, for the suggestion to run it quick."""
    warning = levers.unused_gpu_warning()  # before hours are spent on the CPU
    if warning:
        print(f"cnnreport: WARNING: {warning}", file=sys.stderr, flush=True)
    estimate_full_profile_on_cpu(ctx, echo, command)
    splits, plan = ctx.splits, ctx.plan
    ctx.verification  # noqa: B018 - raises UserError for an uncontrolled experiment
    echo(f"study {ctx.study.name} ({ctx.study.profile} profile): {len(ctx.specs)} models × "
         f"{len(ctx.study.seeds)} seeds = {len(plan)} runs on {fmt_int(splits.x_train.shape[0])} training images")

    def splits_for(spec: RunSpec) -> Splits:
        return permute_pixels(splits, PERMUTATION_SEED) if spec.probe == "permuted" else splits

    counts = run_plan(plan, splits_for, ctx.workspace.runs_root, echo, profile=ctx.study.profile)
    remember_study(ctx)
    return counts


def estimate_full_profile_on_cpu(ctx: Context, echo: Echo, command: str = "build") -> None:
    """The full profile is the GPU's: without a GPU, say first how long it would take here and
    how to get a report in minutes instead, then go on (no question: CI has no one to answer)."""
    study = ctx.study
    if study.profile != "full":
        return
    lighter = ctx.file.at("quick")
    if lighter.model_dump(exclude={"profile"}) == study.model_dump(exclude={"profile"}):
        return  # the study has no quick profile to suggest

    if levers.accelerator() == "gpu":
        return

    estimate = estimate_study(study, ctx.splits, ctx.workspace.runs_root, ctx.plan)
    if estimate is None:
        return  # nothing left to train
    name = ctx.file.command_name
    study_option = "" if name == DEFAULT_STUDY else f" --study {name}"
    demo = ("" if study.name == "fashion-mnist"
            else f", or `cnnreport {command} --study fashion-mnist --profile quick` (the offline demo)")
    echo(f"no GPU visible: the full profile of {study.name} has {estimate.runs} runs to train, "
         f"about {fmt_duration(estimate.seconds)} on this machine")
    echo(f"  estimated from training steps timed on {estimate.device}: {'; '.join(estimate.timed)}")
    echo(f"  for a report in minutes on a CPU: `cnnreport {command}{study_option} --profile quick`"
         f"{demo}; going on with the full profile (Ctrl-C stops; finished runs are kept)")


def remember_study(ctx: Context) -> None:
    """Note the study just trained, for the commands that read finished work. A built-in name is
    kept as it is; a file as its absolute path (told apart as the loader tells them)."""
    given = Path(ctx.file.argument)
    reference = str(given.resolve()) if given.suffix == ".toml" or given.exists() else ctx.file.argument
    store.remember_study(ctx.workspace.runs_root, ctx.study.name, reference)


# ------------------------------------------------------------------------------------ render


@dataclass(frozen=True)
class Rendered:
    paths: dict[str, Path]  # html, json, csv and (unless --no-pdf) pdf
    report: ReportJson


def render(ctx: Context, echo: Echo = print, pdf: bool = True) -> Rendered:
    """Rebuild reports/<study>/ from runs/ alone (plus the data set, for its figures). What depends
    only on runs, data and code is reused from reports/<study>/cache/ (cnnreport/memo.py)."""
    t0 = time.perf_counter()
    started_wall = time.time() - 1.0  # file times may be coarser than this clock
    out, runs_dir = ctx.report_dir, ctx.runs_dir
    records = store.load_plan(runs_dir, ctx.plan, ctx.splits.origin)
    # Stored (or read back) so a later render needs no Keras for it.
    verification = Verification.model_validate(memo.json_value(
        memo.cache_dir(out), "verification", ctx._design, lambda: ctx.verification.model_dump(mode="json")))
    results = describe_results(ctx.study, ctx.specs, records, ctx.splits, verification, runs_dir, out)
    recorded = records[0]["environment"] if records else environment()
    content = build_report(Inputs(
        study=ctx.study, splits=ctx.splits, dataset=ctx.dataset, results=results, records=records,
        runs_dir=runs_dir, environment=Environment.of_run(recorded, list(ctx.study.seeds)),
        deployment=load_deployment(ctx.workspace.runs_root, ctx.study.name, [r["run_id"] for r in records]),
        profile_note=ctx.profile_note), out)

    def check(report: ReportJson, html: str) -> ReportJson:  # the rubric check reads the HTML just drawn
        return ReportJson.of(report, rubric=appendix(out, report, html, runs_dir))

    report, html_path = publish(ReportJson.of(content, rubric=None), out, check)
    paths = {"html": html_path, "json": write_report(out, report), "csv": write_results_csv(records, out / RESULTS_CSV)}
    if ctx.file.path.is_file():  # the folder carries its study file: `check --reproduce` retrains from it
        paths["study"] = write_bytes(out / STUDY_COPY, ctx.file.path.read_bytes())
    memo.prune(memo.cache_dir(out), used_since=started_wall)  # entries of older code or vanished runs
    if pdf:
        paths["pdf"] = render_pdf(paths["html"], out / "report.pdf")
    echo(f"report: {out}/report.html" + (" and report.pdf" if pdf else "")
         + f" ({len(report.figures)} figures, {fmt_seconds(time.perf_counter() - t0)})")
    return Rendered(paths, report)


# -------------------------------------------------------------------------------------- init


def init_study(study: str, output: str | None, force: bool) -> Path:
    """Copy a built-in study (or any study file) to edit."""
    source = resolve_study_path(study)
    target = Path(output or f"{Path(source).stem}.toml")
    if target.exists() and not force:
        raise UserError(f"{target} exists; pass --force to overwrite it or --output for another name")
    shutil.copyfile(source, target)
    return target
