"""Command line: parse arguments, call the pipeline, print. `main(argv) -> int` so tests call it
directly. The work lives in pipeline.py (and bench.py, the deploy and rubric entry points).

Exit codes (docs/exit-codes.md, errors.py): 0 success; 1 the job ran but a check failed; 2 bad
input; 3 the environment refused (no space, read-only, permission denied, too many open files);
4 busy (another build of the study holds its runs folder); 128 + n stopped by signal n (130
Ctrl-C, 129 SIGHUP, 143 SIGTERM). Every failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Callable

from cnnreport import __version__, bench, pipeline, signals
from cnnreport.backend import choose_default_backend, import_keras
from cnnreport.console import say
from cnnreport.deploy import endpoint_test, endpoints, server, training_jobs
from cnnreport.errors import EXIT_BAD_INPUT, EXIT_BUSY, EXIT_REFUSED, Busy, UserError, refusal_line
from cnnreport.rubric.autograder import write_bundle
from cnnreport.rubric.batch import MEMORY_BUDGET_MIB, REPRODUCE_BUDGET_S, TIME_BUDGET_S, Budget, Reproduce, default_jobs
from cnnreport.rubric.gradebook import LAYOUTS
from cnnreport.rubric.gradescope import VISIBILITIES
from cnnreport.rubric.grading import Options, run_check
from cnnreport.rubric.reproduce import new_seed
from cnnreport.rubric.schema import load_rubric
from cnnreport.rubric.submission import MAX_FILE_BYTES
from cnnreport.rubric.report_json import schema_text
from cnnreport.study.specs import DEFAULT_STUDY, PROFILES
from cnnreport.train.workspace import Workspace

Handler = Callable[[argparse.Namespace], int]


def _context(args: argparse.Namespace, reads_finished_work: bool = False) -> pipeline.Context:
    """The command's one context. A command that reads finished work (render, serve, deploy,
    endpoint-test) stops when nothing was built for the study, before any data set is loaded."""
    workspace = Workspace(runs_root=Path(args.runs_dir), reports_root=Path(args.reports_dir),
                          data_dir=Path(args.data_dir) if args.data_dir else None)
    return pipeline.open_context(args.study, args.profile, workspace, say, reads_finished_work=reads_finished_work)


# ----------------------------------------------------------------------------------- subcommands


def cmd_train(args: argparse.Namespace) -> int:
    ctx = _context(args)
    if args.dry_run and args.backend != "sagemaker":
        raise UserError("--dry-run plans SageMaker training jobs: use it with --backend sagemaker")
    if args.dry_run:  # plans only: nothing written, no lock
        return _train(args, ctx)
    with pipeline.one_build(ctx, "train", say, wait=not args.no_wait):
        return _train(args, ctx)


def _train(args: argparse.Namespace, ctx: pipeline.Context) -> int:
    if args.backend == "sagemaker":
        counts = training_jobs.train_sagemaker(ctx.study, ctx.workspace, args.region, args.role,
                                               args.instance_type, args.max_parallel, args.bucket, echo=say,
                                               dry_run=args.dry_run)
        if args.dry_run:
            return 0
        pipeline.remember_study(ctx)
        say(f"trained {counts['trained']} runs on SageMaker, {counts['skipped']} already done"
            + (f", {counts['failed']} failed" if counts["failed"] else ""))
        return 1 if counts["failed"] else 0
    counts = pipeline.train(ctx, say, args.command)
    say(f"trained {counts['trained']} runs, {counts['skipped']} already done"
        + (f", {counts['diverged']} diverged" if counts["diverged"] else ""))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    pipeline.build(_context(args), say, pdf=not args.no_pdf, wait=not args.no_wait)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    pipeline.render_command(_context(args, reads_finished_work=True), say, pdf=not args.no_pdf,
                            partial=args.partial, wait=not args.no_wait)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    ctx = _context(args, reads_finished_work=True)
    server.serve(ctx.study, ctx.workspace, args.model, args.seed, args.host, args.port, args.max_body, say,
                 workers=args.workers)
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    ctx = _context(args, reads_finished_work=True)
    plan = endpoints.plan_deploy(ctx.study, ctx.workspace, args.model, args.seed, args.region, args.instance_type,
                                 args.role, args.endpoint_name, args.bucket, args.dry_run, say)
    say(endpoints.describe_plan(plan))
    if not args.dry_run:
        endpoints.deploy(plan, Path(args.runs_dir), say)
    return 0


def cmd_undeploy(args: argparse.Namespace) -> int:
    endpoints.undeploy(args.endpoint, args.region, say, Path(args.runs_dir))
    return 0


def cmd_endpoint_test(args: argparse.Namespace) -> int:
    ctx = _context(args, reads_finished_work=True)
    t = endpoint_test.endpoint_test(ctx.study, ctx.workspace, args.endpoint, args.local, args.n,
                                    args.model, args.seed, args.region, say)
    # 1: the endpoint disagrees with the local model, or answered a bad request otherwise than expected
    return 0 if t["agreement"] == 1.0 and t["same_model"] and t["bad_requests_as_expected"] else 1


def cmd_check(args: argparse.Namespace) -> int:
    folders = [Path(d) for d in args.report_dirs]
    if not folders:
        # --json prints data on stdout: the note on which study was taken goes to stderr there.
        note = (lambda msg: print(msg, file=sys.stderr, flush=True)) if args.json else say
        folders = [pipeline.default_report_dir(args.study, Path(args.reports_dir), Path(args.runs_dir or "runs"),
                                               note)]
    reproduce = None
    if args.reproduce is not None:
        reproduce = Reproduce(args.reproduce, args.reproduce_seed if args.reproduce_seed is not None else new_seed(),
                              args.scratch, args.data_dir)
    options = Options(rubric_file=args.rubric, runs_dir=args.runs_dir, min_score=args.min_score, as_json=args.json,
                      csv_file=args.csv, csv_layout=args.csv_layout, resume=args.resume, jobs=args.jobs,
                      budget=Budget(args.time_budget, args.memory_budget), gradescope=args.gradescope,
                      visibility=args.visibility, feedback_dir=args.feedback, reproduce=reproduce)
    return run_check(folders, options, say)


def cmd_autograder(args: argparse.Namespace) -> int:
    zipped = write_bundle(Path(args.out), load_rubric(args.rubric), args.install, args.visibility, args.reproduce)
    say(f"wrote {args.out}/ (setup.sh, run_autograder, rubric.toml, README.md) and {zipped}: upload the zip as "
        "the Gradescope assignment's autograder (README.md says how)")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    target = pipeline.init_study(args.study, args.output, args.force)
    say(f"wrote {target}: edit it (names, text.rationale, text.interpretation, ...) and run "
        f"`cnnreport build --study {target}`")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    ways = (args.only,) if args.only else ("naive", "cnnreport")
    results = bench.run_bench(args.study, args.profile, args.data_dir, args.synthetic, args.seeds_limit,
                              ways=ways, echo=say, naive_seeds=args.naive_seeds)
    for line in bench.format_report(results):
        say(line)
    if len(results) < 2:
        return 0
    gap = bench.accuracy_gap(results)
    if not args.synthetic and gap > bench.ACCURACY_TOLERANCE:
        say(f"accuracy differs by {bench.points(gap)} (> {bench.points(bench.ACCURACY_TOLERANCE)}): "
            "speed cost accuracy")
        return 1
    return 0


# --------------------------------------------------------------------------------------- parser

# Each subcommand's --help: what it does (description) and examples (epilog), kept as written.
HELP = {
    "build": ("train what is missing, then render the report", """\
Train every run of the study that is not stored yet (each (model, seed), plus the locality
probe's runs), then render reports/<study>/ (report.html, report.pdf, report.json, figures/) and
check it against the rubric. Runs are found again by a hash of everything that decides them, so a
second build trains nothing and a stopped build resumes. One build of a study runs at a time: a
second one waits for the first, then skips what it finished (--no-wait: exit 4 at once). Without a
GPU, the full profile first says how long it would take on this machine and how to run the quick
profile instead.""", """\
examples:
  cnnreport build --study fashion-mnist --profile quick   # offline demo, minutes on a CPU
  cnnreport build                                         # the CIFAR-10 lab, full profile (GPU)
  cnnreport build --data-dir ~/data                       # offline: ~/data/cifar-10-python.tar.gz"""),
    "train": ("train the study's runs (finished runs are skipped)", """\
Train the study's runs that are not stored yet, without rendering: here (GPU or CPU), or in at
most --max-parallel SageMaker training jobs, each training its share of the runs and pulled back
into runs/<study>/ (--dry-run: the jobs, the runs in each, instance, image and estimated cost).
Each run is written under a temporary name and renamed when complete, so an interrupted training
loses only the runs in progress.""", """\
examples:
  cnnreport train --study fashion-mnist --profile quick
  cnnreport train --backend sagemaker --max-parallel 8 --region eu-west-1 --dry-run"""),
    "render": ("rebuild the report from runs/ without training", """\
Rebuild reports/<study>/ from the stored runs alone (and the data set, for its figures); never
trains, and fails with one line naming what is missing. Without --study it renders the study last
built in --runs-dir, at the profile it was last trained with and from the --data-dir it was built
from. The report's files replace the previous ones together, or not at all. While a build of the
study runs, it says so and stops (exit 4), unless --partial asks for the runs finished so far.""", """\
examples:
  cnnreport render                          # the study last built here
  cnnreport render --study fashion-mnist --no-pdf
  cnnreport render --partial                # while a long build runs"""),
    "check": ("score reports against the rubric, with evidence (exit 1 below --min-score or on a "
              "failed integrity check)", f"""\
Score a report folder against the course rubric (rubric.toml): per item the points verified,
the evidence, and how to fix what is missing; human-judged items are listed apart and never
counted. Without REPORT_DIR it checks reports/<study> of --study, else of the study last built in
runs/. A submission is not trusted: every path it names is read only inside its folder, its study
file is data (never executed), and no file over {MAX_FILE_BYTES // 2**20} MiB is read.

Grading a class (several folders, or --csv): each submission is graded in a process of its own,
--jobs at once, within a time budget (--time-budget, default {TIME_BUDGET_S:.0f} s per submission;
--reproduce adds {REPRODUCE_BUDGET_S:.0f} s) and a memory budget (--memory-budget, default
{MEMORY_BUDGET_MIB} MiB); a submission over either gets a row saying so and grading goes on. One
folder alone is graded in this process, within the same time budget. The CSV is written row by
row as submissions finish, so a killed batch keeps its finished rows; --resume grades only the
rows still missing. Submissions that share runs, test predictions or paragraphs of their own
text are named in each other's rows. Exit 1 when a report verifies fewer than --min-score
points, fails the integrity check (numbers edited by hand, runs of other data) or its
reproduction fails.""", """\
examples:
  cnnreport check                                   # the report of the study last built here
  cnnreport check reports/fashion-mnist --min-score 80
  cnnreport check submissions/* --csv grades.csv --feedback feedback/
  cnnreport check submissions/* --csv canvas.csv --csv-layout canvas --resume
  cnnreport check submissions/alice --reproduce 2   # retrain 2 drawn runs from her study.toml
  cnnreport check /autograder/submission --gradescope /autograder/results/results.json"""),
    "autograder": ("write a Gradescope autograder bundle (setup.sh, run_autograder, README)", """\
Write the files a Gradescope programming assignment's autograder needs, and autograder.zip
holding them: setup.sh installs cnnreport from the package index, run_autograder checks
/autograder/submission and writes /autograder/results/results.json (one Gradescope test per
rubric item), README.md says how to upload it and which manual questions to add.""", """\
examples:
  cnnreport autograder --out gradescope/
  cnnreport autograder --out gradescope/ --rubric my-course.toml --visibility after_published"""),
    "serve": ("a local endpoint with the SageMaker container's contract", """\
Serve one run's model over HTTP as the SageMaker TensorFlow Serving container would (the same
model.tar.gz, handlers and error answers), for trying requests before deploying. Default: the
reference CNN's seed with the best final validation accuracy of the study last built here.""", """\
examples:
  cnnreport serve --port 8080
  curl -s localhost:8080/invocations -H 'Content-Type: image/png' --data-binary @shirt.png"""),
    "deploy": ("deploy a run's model to a SageMaker real-time endpoint", """\
Export a run's model as a float32 SavedModel, pack and upload it, and create a SageMaker
real-time endpoint for it under names of its own (needs the aws extra and credentials); a failed
step deletes what was created. Recorded in runs/<study>/endpoint/deployments.json. --dry-run
prints the plan, instance type, image and region and creates nothing.""", """\
examples:
  cnnreport deploy --dry-run
  cnnreport deploy --study fashion-mnist --region eu-west-1 --role arn:aws:iam::123456789012:role/sm"""),
    "undeploy": ("delete a SageMaker endpoint, its config and model", """\
Delete a SageMaker endpoint together with its endpoint configuration and model, by the names
`deploy` recorded under --runs-dir (else as AWS describes the endpoint); parts already gone are
reported, not errors.""", """\
example:
  cnnreport undeploy --endpoint cnnreport-fashion-mnist-cnn-kernel-3x3-20261126-041133-a1b2"""),
    "endpoint-test": ("send real test images to an endpoint; write the transcript", """\
Send real test-set images (one class after another) through boto3's invoke_endpoint, to the
local endpoint (--local) or a SageMaker one, compare each answer with the local model, and write
the transcript to runs/<study>/endpoint/ for the report. Exit 1 when the endpoint disagrees.""", """\
examples:
  cnnreport endpoint-test --local --n 10
  cnnreport endpoint-test --endpoint cnnreport-cifar10-cnn-kernel-3x3-20261126-041133-a1b2"""),
    "bench": ("time the plan the naive way and the cnnreport way", """\
Train the study's plan twice in separate processes, the naive way (model.fit, float32, batch 128,
one model at a time) and the way build does, and print both times, accuracies and `speedup: …`.
Exit 1 when the faster way cost accuracy.""", """\
examples:
  cnnreport bench --study fashion-mnist --profile quick
  cnnreport bench --study cifar10 --synthetic --naive-seeds 1   # a GPU without the data"""),
    "schema": ("print report.json's JSON Schema", """\
Print the JSON Schema (draft 2020-12) every report.json of this cnnreport follows, generated from
the models `check` reads a report through (report.schema.json in the repository is the same
text). Any JSON Schema validator then checks a submission without cnnreport.""", """\
examples:
  cnnreport schema > report.schema.json
  check-jsonschema --schemafile report.schema.json submissions/*/report.json"""),
    "init": ("write a copy of a built-in study to edit", """\
Copy a built-in study file here to edit: names, seeds, the experiment's factor and levels, and
your own prose (data set, rationale per design decision, interpretation).""", """\
example:
  cnnreport init --study fashion-mnist -o my-study.toml && cnnreport build --study my-study.toml"""),
}


def _subcommand(sub: Any, name: str) -> argparse.ArgumentParser:
    short, description, epilog = HELP[name]
    return sub.add_parser(name, help=short, description=description, epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _study_options(p: argparse.ArgumentParser, profile_default: str | None = "full",
                   reads_finished_work: bool = False) -> None:
    study_help = ("default: the study last built in --runs-dir, else " + DEFAULT_STUDY
                  if reads_finished_work else f"default {DEFAULT_STUDY}")
    p.add_argument("--study", default=None if reads_finished_work else DEFAULT_STUDY,
                   help=f"built-in study name (cifar10, fashion-mnist) or a .toml path ({study_help})")
    default = (f"default {profile_default}" if profile_default
               else "default: the profile this study was last trained with, else full")
    p.add_argument("--profile", choices=PROFILES, default=profile_default,
                   help=f"quick: a subset and few epochs, for a CPU; full: the real study, for a GPU ({default})")
    p.add_argument("--data-dir", help="folder with the data set's original archives (offline use)")
    p.add_argument("--runs-dir", default="runs", help="run store root (default runs/)")
    p.add_argument("--reports-dir", default="reports", help="reports root (default reports/)")


def _reader_options(p: argparse.ArgumentParser) -> None:
    """Options of the commands that read finished work: study and profile default to the last built."""
    _study_options(p, profile_default=None, reads_finished_work=True)


def _no_wait_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--no-wait", action="store_true",
                   help=f"exit at once (code {EXIT_BUSY}) when another {what} of the study is running, "
                        "instead of waiting for it")


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model name as in the report (default: the reference CNN)")
    p.add_argument("--seed", type=int, help="seed (default: best final validation accuracy)")


def _aws_options(p: argparse.ArgumentParser, instance_help: str) -> None:
    p.add_argument("--region", help="AWS region (default AWS_REGION or the AWS config)")
    p.add_argument("--role", help="SageMaker execution role ARN (default $SAGEMAKER_ROLE_ARN)")
    p.add_argument("--instance-type", help=instance_help)
    p.add_argument("--bucket", help="S3 bucket (default sagemaker-<region>-<account>)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnreport",
        description="Train an MLP baseline and a controlled CNN experiment over seeds, and write the "
                    "lab report (HTML + PDF) from one study file.",
        epilog="`cnnreport COMMAND --help` describes each command, with examples.")
    parser.add_argument("--version", action="version", version=f"cnnreport {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _subcommand(sub, "build")
    _study_options(p)
    p.add_argument("--no-pdf", action="store_true", help="HTML and report.json only")
    _no_wait_option(p, "build")
    p.set_defaults(handler=cmd_build)

    p = _subcommand(sub, "train")
    _study_options(p)
    p.add_argument("--backend", choices=("local", "sagemaker"), default="local",
                   help="local: in this process (default); sagemaker: at most --max-parallel training jobs")
    _aws_options(p, instance_help="training instance type (default ml.m5.xlarge)")
    p.add_argument("--max-parallel", type=int, default=4,
                   help="SageMaker training jobs the runs are split into, all at once (default 4)")
    p.add_argument("--dry-run", action="store_true",
                   help="with --backend sagemaker: print the jobs, their runs, instance, image and cost; create nothing")
    _no_wait_option(p, "build or train")
    p.set_defaults(handler=cmd_train)

    p = _subcommand(sub, "serve")
    _reader_options(p)
    _model_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--max-body", type=int, default=6 * 1024 * 1024, help="request size limit in bytes (default 6 MB)")
    p.add_argument("--workers", type=int, default=1,
                   help="requests handled at once (default 1, as the container's one gunicorn worker; "
                        "more departs from the container: latency and burst figures then do not carry over to AWS)")
    p.set_defaults(handler=cmd_serve)

    p = _subcommand(sub, "deploy")
    _reader_options(p)
    _model_options(p)
    _aws_options(p, instance_help="endpoint instance type (default ml.m5.large)")
    p.add_argument("--endpoint-name", help="endpoint name (default cnnreport-<study>-<model>-<deployment id>)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, instance type and region; create nothing")
    p.set_defaults(handler=cmd_deploy)

    p = _subcommand(sub, "undeploy")
    p.add_argument("--endpoint", required=True, help="endpoint name")
    p.add_argument("--region", help="AWS region (default: as recorded by deploy, else AWS_REGION or the AWS config)")
    p.add_argument("--runs-dir", default="runs", help="where deploy recorded it (default runs/)")
    p.set_defaults(handler=cmd_undeploy)

    p = _subcommand(sub, "endpoint-test")
    _reader_options(p)
    _model_options(p)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--endpoint", help="a SageMaker endpoint's name")
    where.add_argument("--local", action="store_true", help="start the local endpoint, test it, stop it")
    p.add_argument("--n", type=int, default=10, help="test images to send (default 10)")
    p.add_argument("--region", help="AWS region (default AWS_REGION or the AWS config)")
    p.set_defaults(handler=cmd_endpoint_test)

    p = _subcommand(sub, "render")
    _reader_options(p)
    p.add_argument("--no-pdf", action="store_true", help="HTML and report.json only (an earlier report.pdf is removed)")
    p.add_argument("--partial", action="store_true",
                   help="render the runs finished so far, while a build runs or after one stopped (needs a "
                        "finished run of the baseline and of the reference CNN)")
    _no_wait_option(p, "render")
    p.set_defaults(handler=cmd_render)

    p = _subcommand(sub, "bench")
    _study_options(p, profile_default="quick")
    p.add_argument("--synthetic", action="store_true",
                   help="random images of the data set's shapes (speed only, e.g. a GPU without the data)")
    p.add_argument("--seeds-limit", type=int, help="only the first N seeds of each model")
    p.add_argument("--only", choices=("naive", "cnnreport"), help="time one way only")
    p.add_argument("--naive-seeds", type=int,
                   help="train the naive way on the first N seeds only and extrapolate its time (GPU)")
    p.set_defaults(handler=cmd_bench)

    p = _subcommand(sub, "check")
    p.add_argument("report_dirs", nargs="*", metavar="REPORT_DIR",
                   help="report folder(s) (default reports/<study>); several: grade each")
    p.add_argument("--study", help="study whose report to check when no REPORT_DIR is given "
                                   f"(default: the study last built in --runs-dir, else {DEFAULT_STUDY})")
    p.add_argument("--reports-dir", default="reports", help="reports root (default reports/)")
    p.add_argument("--runs-dir", help="run records to verify report.json against (default: found beside "
                                      "the report; runs/ for the last built study)")
    p.add_argument("--rubric", help="rubric TOML file (default: the course rubric, rubric.toml)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (top-level `score`)")
    p.add_argument("--min-score", type=float, default=0.0, help="exit 1 when fewer automatic points are verified")
    p.add_argument("--csv", help="write one row per report to this file, as each is graded")
    p.add_argument("--csv-layout", choices=LAYOUTS, default="full",
                   help="full: status, scores, shared work, reproduction, a column per criterion and item "
                        "(default); canvas / moodle: that platform's gradebook import, the student taken "
                        "from the folder's name")
    p.add_argument("--resume", action="store_true",
                   help="keep the finished rows of --csv and grade only the others (without it the file is "
                        "started afresh)")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"submissions graded at once (default: the cores here, {default_jobs()})")
    p.add_argument("--time-budget", type=float, default=TIME_BUDGET_S,
                   help=f"seconds one submission may take to grade (default {TIME_BUDGET_S:.0f}); over it, its "
                        "row says so and grading goes on")
    p.add_argument("--memory-budget", type=int, default=MEMORY_BUDGET_MIB,
                   help=f"MiB one grading process may allocate, grading several (default {MEMORY_BUDGET_MIB})")
    p.add_argument("--feedback", metavar="DIR", help="write one Markdown feedback file per submission here")
    p.add_argument("--gradescope", metavar="RESULTS_JSON",
                   help="write Gradescope's autograder results.json for the one submission checked")
    p.add_argument("--visibility", choices=VISIBILITIES, default="visible",
                   help="Gradescope visibility of the results (default visible)")
    p.add_argument("--reproduce", type=int, metavar="N",
                   help="retrain N runs of each submission, drawn by a seeded draw, from its own study.toml, "
                        "and compare test accuracy and final validation loss with its claims")
    p.add_argument("--reproduce-seed", type=int, help="the draw's seed (default: a new one, printed)")
    p.add_argument("--scratch", help="where the retrained runs go (default: a temporary folder, removed after)")
    p.add_argument("--data-dir", help="the data set's original archives, for --reproduce (offline use)")
    p.set_defaults(handler=cmd_check)

    p = _subcommand(sub, "autograder")
    p.add_argument("--out", required=True, help="folder to write the bundle to")
    p.add_argument("--rubric", help="rubric TOML file (default: the course rubric, rubric.toml)")
    p.add_argument("--install", help="what setup.sh pip-installs (default: this cnnreport's version, "
                                     f"cnnreport=={__version__})")
    p.add_argument("--visibility", choices=VISIBILITIES, default="visible",
                   help="when students see the results (default visible)")
    p.add_argument("--reproduce", type=int, metavar="N", help="also retrain N drawn runs of each submission")
    p.set_defaults(handler=cmd_autograder)

    p = _subcommand(sub, "schema")
    p.set_defaults(handler=cmd_schema)

    p = _subcommand(sub, "init")
    p.add_argument("--study", default=DEFAULT_STUDY, help="built-in study to copy")
    p.add_argument("--output", "-o", help="file to write (default <study>.toml here)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=cmd_init)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    choose_default_backend()  # Keras reads KERAS_BACKEND once; subprocesses inherit it
    with signals.stop_as_interrupt():  # SIGTERM and SIGHUP clean up as Ctrl-C does
        try:
            if args.command not in ("init", "check", "undeploy", "render", "schema", "autograder"):  # render: only on a memo miss
                import_keras()
            return args.handler(args)
        except UserError as exc:
            return _fail(str(exc), EXIT_BAD_INPUT)
        except Busy as exc:
            return _fail(str(exc), EXIT_BUSY)
        except OSError as exc:  # the environment refused: one line, what to do
            if os.environ.get("CNNREPORT_TRACEBACK"):
                raise
            return _fail(refusal_line(exc, _movable_folders(args)), EXIT_REFUSED)
        except KeyboardInterrupt as exc:
            _to_stderr(f"cnnreport: {_stopped_line(args.command, exc)}")
            return signals.exit_code(exc)


def _fail(line: str, code: int) -> int:
    _to_stderr(f"cnnreport: error: {line}")
    return code


def _to_stderr(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # stderr may be gone: SIGHUP is a terminal closing
        print(line, file=sys.stderr, flush=True)


def _movable_folders(args: argparse.Namespace) -> dict[Path, str]:
    """The folders an option moves elsewhere, for the line about a full or read-only disk."""
    options = {"runs_dir": "--runs-dir", "reports_dir": "--reports-dir"}
    return {Path(getattr(args, key)): option for key, option in options.items() if getattr(args, key, None)}


def _stopped_line(command: str, exc: KeyboardInterrupt) -> str:
    how = "interrupted" if not isinstance(exc, signals.Stopped) or exc.name == "Ctrl-C" else f"stopped by {exc.name}"
    if command == "build":
        return f"{how}; finished runs are kept and the report files are as they were; the next build resumes"
    if command == "train":
        return f"{how}; finished runs are kept, the next build resumes"
    if command == "render":
        return f"{how}; the report files are as they were before this render"
    return how


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
