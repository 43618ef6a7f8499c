"""The pipeline: one context per command, built once and passed down, and the stages called in
order — train (study → runs/) and render (runs/ → reports/). Rendering never trains; training
never renders. `build` is train then render, one build of a study at a time (train/lock.py).

A command opens one `Context`: the study file is read once (each profile it needs validated from
that one reading), and the splits, the plan, the data set's summary and the controlled-variable
verification are each computed at most once, when first asked for. cli.py parses arguments and
prints; the work is here (docs/pipeline.md).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

from cnnreport import memo
from cnnreport.console import Echo
from cnnreport.data.eda import DatasetSummary, describe
from cnnreport.data.splits import Splits, permute_pixels
from cnnreport.deploy.endpoint_test import load_deployment
from cnnreport.errors import Busy, UserError
from cnnreport.files import finish_replacing, naming, remove_dead_temporaries, replace_together
from cnnreport.formatting import fmt_duration, fmt_int, fmt_seconds
from cnnreport.report.content import SCHEMA_FILE, STUDY_COPY
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
from cnnreport.train import levers, lock, store
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


def open_context(study: str | None, profile: str | None, workspace: Workspace, echo: Echo,
                 reads_finished_work: bool = False) -> Context:
    """The study (a built-in name or a file; None: the study last built in the runs folder) at
    `profile` (None: the profile it was last trained with, else full).

    `reads_finished_work` (render, serve, deploy, endpoint-test): stop, before any data set is
    loaded, when nothing was built for the study in the runs folder; and without a --data-dir,
    read the data the study was last built from there."""
    argument = study if study is not None else last_built_study(workspace.runs_root, echo)
    file = read_study(argument)
    if profile is None:
        last = store.last_profile(store.study_runs_dir(workspace.runs_root, file.at(None).name))
        # "base": trained from the study file without a profile
        profile = last if last in PROFILES else (None if last else "full")
    ctx = Context(file, file.at(profile), workspace)
    if reads_finished_work:
        ctx.workspace = _built_here(ctx, echo)
    return ctx


def _built_here(ctx: Context, echo: Echo) -> Workspace:
    """The workspace of a command that reads finished work: UserError when nothing was built for
    the study here (never a data set loaded in its place); without --data-dir, the --data-dir of
    the study's last build here, said in a line."""
    runs_root = ctx.workspace.runs_root
    if not store.has_runs(ctx.runs_dir):
        raise UserError(f"nothing was built for study {ctx.study.name} in {runs_root}/ (no run in {ctx.runs_dir}/); "
                        f"run `cnnreport build --study {ctx.file.argument}` first, or pass --runs-dir where you "
                        "built it")
    note = store.last_study(runs_root)
    if ctx.workspace.data_dir is not None or note is None or note["name"] != ctx.study.name or not note["data_dir"]:
        return ctx.workspace
    data_dir = Path(note["data_dir"])
    if not data_dir.exists():
        raise UserError(f"{runs_root / store.LAST_STUDY_FILE}: {ctx.study.name} was last built from --data-dir "
                        f"{data_dir}, which is gone; pass --data-dir")
    echo(f"data: {data_dir} (the --data-dir of the last build here; --data-dir picks another)")
    return replace(ctx.workspace, data_dir=data_dir)


def context_for(study: Study, workspace: Workspace) -> Context:
    """A context for a study already loaded (by a test, or a program using the library)."""
    source = Path(study.source)
    file = read_study(source) if source.is_file() else StudyFile(source, {}, study.source)
    return Context(file, study, workspace)


def last_built_study(runs_root: Path, echo: Echo) -> str:
    """The study last built under `runs_root`, and a line saying which. UserError when nothing
    was built there: never a default study whose data set would be loaded in its place."""
    note = store.last_study(runs_root)
    if note is None:
        raise UserError(f"nothing was built in {runs_root}/: no study has been trained there; run "
                        "`cnnreport build --study fashion-mnist --profile quick` (the offline demo) or "
                        "`cnnreport build --study YOUR-STUDY.toml` first, or pass --runs-dir where you built")
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
    """Note the study just trained and the --data-dir it was trained from, for the commands that
    read finished work. A built-in name is kept as it is; a file as its absolute path (told apart
    as the loader tells them)."""
    given = Path(ctx.file.argument)
    reference = str(given.resolve()) if given.suffix == ".toml" or given.exists() else ctx.file.argument
    data_dir = str(ctx.workspace.data_dir.resolve()) if ctx.workspace.data_dir else None
    store.remember_study(ctx.workspace.runs_root, ctx.study.name, reference, data_dir)


# ------------------------------------------------------------------------------------ render


@dataclass(frozen=True)
class Rendered:
    paths: dict[str, Path]  # html, json, csv and (unless --no-pdf) pdf
    report: ReportJson


# Written together by every render: replaced at once or not at all (files.replace_together).
REPORT_FILES = ("report.html", "report.json", SCHEMA_FILE, RESULTS_CSV, "report.pdf", STUDY_COPY)


def render(ctx: Context, echo: Echo = print, pdf: bool = True, partial: bool = False) -> Rendered:
    """Rebuild reports/<study>/ from runs/ alone (plus the data set, for its figures). What depends
    only on runs, data and code is reused from reports/<study>/cache/ (cnnreport/memo.py). The
    report's files replace the previous ones together, once all are written: a render stopped or
    refused half-way leaves them as they were, and without `pdf` an older report.pdf is removed
    (it would contradict the rest). With `partial`, from the runs finished so far (the report's
    checklist names the missing ones)."""
    t0 = time.perf_counter()
    started_wall = time.time() - 1.0  # file times may be coarser than this clock
    out, runs_dir = ctx.report_dir, ctx.runs_dir
    records = store.load_plan(runs_dir, ctx.plan, ctx.splits.origin, partial=partial)
    if partial:
        _enough_for_a_partial_report(ctx, records)
    with naming(out):
        out.mkdir(parents=True, exist_ok=True)
    finish_replacing(out)  # a render killed among its renames is completed first
    for folder in (out, out / "figures", memo.cache_dir(out)):
        remove_dead_temporaries(folder)
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

    with replace_together(out, REPORT_FILES) as tmp:
        report, _ = publish(ReportJson.of(content, rubric=None), tmp["report.html"], check)
        write_report(out, report, into=tmp)
        write_results_csv(records, tmp[RESULTS_CSV])
        if pdf:
            render_pdf(tmp["report.html"], tmp["report.pdf"])
        if ctx.file.path.is_file():  # the folder carries its study file: `check --reproduce` retrains from it
            tmp[STUDY_COPY].write_bytes(ctx.file.path.read_bytes())
    paths = {"html": out / "report.html", "json": out / "report.json", "csv": out / RESULTS_CSV}
    if pdf:
        paths["pdf"] = out / "report.pdf"
    memo.prune(memo.cache_dir(out), used_since=started_wall)  # entries of older code or vanished runs
    echo(f"report: {out}/report.html" + (" and report.pdf" if pdf else "")
         + f" ({fmt_int(len(report.figures))} figures, {fmt_seconds(time.perf_counter() - t0)})"
         + (f"; partial: {fmt_int(len(records))} of {fmt_int(len(ctx.plan))} runs finished" if partial else ""))
    return Rendered(paths, report)


def _enough_for_a_partial_report(ctx: Context, records: list[dict[str, Any]]) -> None:
    """The baseline's and the reference CNN's architecture, probes and comparisons come from their
    runs: a partial report needs one finished run of each."""
    finished = {r["model"]["name"] for r in records if r.get("probe", "none") == "none"}
    missing = [m.name for m in ctx.specs if m.role in ("baseline", "reference") and m.name not in finished]
    if missing:
        raise UserError(f"{ctx.runs_dir}: no finished run of {' or '.join(missing)} yet; a partial report needs "
                        "one of the baseline and one of the reference CNN (run `cnnreport render --partial` again "
                        "later)")


# ------------------------------------------------------------------------ one build at a time


@contextlib.contextmanager
def one_build(ctx: Context, command: str, echo: Echo, wait: bool = True) -> Iterator[None]:
    """Hold the study's runs lock (runs/<study>/.lock, train/lock.py) for a build or train: a
    second one waits for the first, saying so once, then finds its runs finished; without `wait`
    it stops at once (Busy: exit 4)."""
    with lock.holding(ctx.runs_dir / lock.BUILD_LOCK, command, wait=wait, echo=echo):
        yield


def build(ctx: Context, echo: Echo = print, pdf: bool = True, wait: bool = True) -> Rendered:
    """`build`: train what is missing, then render, holding the study's runs lock throughout (a
    `render` meanwhile says a build is running) and its render lock while rendering."""
    with one_build(ctx, "build", echo, wait):
        train(ctx, echo, "build")
        with lock.holding(ctx.runs_dir / lock.RENDER_LOCK, "build", wait=wait, echo=echo):
            return render(ctx, echo, pdf=pdf)


def render_command(ctx: Context, echo: Echo = print, pdf: bool = True, partial: bool = False,
                   wait: bool = True) -> Rendered:
    """`render`: while a build or train of the study runs, stop (Busy) unless `partial` asks for
    the runs finished so far; hold the render lock, so two renders never write one report folder
    at once — except in a runs folder this user may not write to (a handed-in one), where no
    cnnreport of theirs can be writing."""
    building = lock.holder_now(ctx.runs_dir / lock.BUILD_LOCK)
    if building is not False and not partial:
        who = building.describe() if building else "another cnnreport build"
        training = building is not None and building.command == "train"
        doing = f"{'is training' if training else 'is building'} {ctx.study.name} in {ctx.workspace.runs_root}/"
        then = "" if training else " and renders it when done"
        raise Busy(f"{who} {doing}{then}; wait for it, or pass --partial to render the runs finished so far")
    with lock.holding(ctx.runs_dir / lock.RENDER_LOCK, "render", wait=wait, echo=echo, unless_read_only=True):
        return render(ctx, echo, pdf=pdf, partial=partial)


# -------------------------------------------------------------------------------------- init


def init_study(study: str, output: str | None, force: bool) -> Path:
    """Copy a built-in study (or any study file) to edit."""
    source = resolve_study_path(study)
    target = Path(output or f"{Path(source).stem}.toml")
    if target.exists() and not force:
        raise UserError(f"{target} exists; pass --force to overwrite it or --output for another name")
    shutil.copyfile(source, target)
    return target
