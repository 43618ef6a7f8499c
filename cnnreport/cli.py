"""Command line: parse, call the library, print. `main(argv) -> int` so tests call it directly.

Exit codes: 0 success; 1 the job ran but a check failed; 2 bad input (one line, no traceback).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Callable

from cnnreport.backend import choose_default_backend, import_keras
from cnnreport.errors import UserError
from cnnreport.study.loading import load_study, resolve_study_path
from cnnreport.study.specs import DEFAULT_STUDY, PROFILES

choose_default_backend()  # before anything imports Keras

Handler = Callable[[argparse.Namespace], int]


def _echo(msg: str) -> None:
    print(msg, flush=True)


def _workspace(args: argparse.Namespace):
    from cnnreport.pipeline import Workspace

    return Workspace(runs_root=Path(args.runs_dir), reports_root=Path(args.reports_dir),
                     data_dir=Path(args.data_dir) if args.data_dir else None)


def _study(args: argparse.Namespace):
    """The study at the asked profile; commands that read runs default to the profile of the
    study's last training (so `render` after `make report` finds the quick runs), else full."""
    profile = args.profile
    if profile is None:
        from cnnreport.train import store

        name = load_study(args.study, None).name
        last = store.last_profile(store.study_runs_dir(args.runs_dir, name))
        if last not in PROFILES:  # "base": trained from the study file without a profile
            return load_study(args.study, None) if last else load_study(args.study, "full")
        profile = last
    return load_study(args.study, profile)


# ----------------------------------------------------------------------------------- subcommands


def cmd_train(args: argparse.Namespace) -> int:
    if args.backend == "sagemaker":
        from cnnreport.deploy.training_jobs import train_sagemaker

        counts = train_sagemaker(_study(args), _workspace(args), args.region, args.role,
                                 args.instance_type, args.max_parallel, args.bucket, echo=_echo)
        _echo(f"trained {counts['trained']} runs on SageMaker, {counts['skipped']} already done"
              + (f", {counts['failed']} failed" if counts["failed"] else ""))
        return 1 if counts["failed"] else 0
    from cnnreport.pipeline import train

    counts = train(_study(args), _workspace(args), _echo)
    _echo(f"trained {counts['trained']} runs, {counts['skipped']} already done"
          + (f", {counts['diverged']} diverged" if counts["diverged"] else ""))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from cnnreport.deploy.server import serve

    serve(_study(args), _workspace(args), args.model, args.seed, args.host, args.port, args.max_body, _echo)
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from cnnreport.deploy.endpoints import deploy, describe_plan, plan_deploy

    plan = plan_deploy(_study(args), _workspace(args), args.model, args.seed, args.region,
                       args.instance_type, args.role, args.endpoint_name, args.bucket, args.dry_run)
    _echo(describe_plan(plan))
    if not args.dry_run:
        deploy(plan, Path(args.runs_dir), _echo)
    return 0


def cmd_undeploy(args: argparse.Namespace) -> int:
    from cnnreport.deploy.endpoints import undeploy

    undeploy(args.endpoint, args.region, _echo)
    return 0


def cmd_endpoint_test(args: argparse.Namespace) -> int:
    from cnnreport.deploy.endpoint_test import endpoint_test

    t = endpoint_test(_study(args), _workspace(args), args.endpoint, args.local, args.n,
                      args.model, args.seed, args.region, _echo)
    return 0 if t["agreement"] == 1.0 and t["same_model"] else 1  # 1: the endpoint disagrees


def cmd_render(args: argparse.Namespace) -> int:
    from cnnreport.pipeline import render

    render(_study(args), _workspace(args), _echo, pdf=not args.no_pdf)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from cnnreport.pipeline import render, train

    study, ws = _study(args), _workspace(args)
    train(study, ws, _echo)
    render(study, ws, _echo, pdf=not args.no_pdf)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from cnnreport.rubric.grading import run_check

    return run_check(args, _echo)


def cmd_init(args: argparse.Namespace) -> int:
    source = resolve_study_path(args.study)
    target = Path(args.output or f"{Path(source).stem}.toml")
    if target.exists() and not args.force:
        raise UserError(f"{target} exists; pass --force to overwrite it or --output for another name")
    shutil.copyfile(source, target)
    _echo(f"wrote {target}: edit it (names, text.rationale, text.interpretation, ...) and run "
          f"`cnnreport build --study {target}`")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from cnnreport.bench import ACCURACY_TOLERANCE, format_report, run_bench

    load_study(args.study, args.profile)  # bad input fails here, before minutes of training
    ways = (args.only,) if args.only else ("naive", "cnnreport")
    results = run_bench(args.study, args.profile, args.data_dir, args.synthetic, args.seeds_limit,
                        ways=ways, echo=_echo, naive_seeds=args.naive_seeds)
    for line in format_report(results):
        _echo(line)
    if len(results) < 2:
        return 0
    gap = abs(results["naive"]["mean_test_accuracy"] - results["cnnreport"]["mean_test_accuracy"])
    if not args.synthetic and gap > ACCURACY_TOLERANCE:
        _echo(f"accuracy differs by {100 * gap:.2f} pts (> {100 * ACCURACY_TOLERANCE:.1f}): speed cost accuracy")
        return 1
    return 0


# --------------------------------------------------------------------------------------- parser


def _study_options(p: argparse.ArgumentParser, profile_default: str | None = "full") -> None:
    p.add_argument("--study", default=DEFAULT_STUDY,
                   help=f"built-in study name (cifar10, fashion-mnist) or a .toml path (default {DEFAULT_STUDY})")
    default = (f"default {profile_default}" if profile_default
               else "default: the profile this study was last trained with, else full")
    p.add_argument("--profile", choices=PROFILES, default=profile_default,
                   help=f"quick: a subset and few epochs, for a CPU; full: the real study, for a GPU ({default})")
    p.add_argument("--data-dir", help="folder with the data set's original archives (offline use)")
    p.add_argument("--runs-dir", default="runs", help="run store root (default runs/)")
    p.add_argument("--reports-dir", default="reports", help="reports root (default reports/)")


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
                    "lab report (HTML + PDF) from one study file.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="train what is missing, then render the report")
    _study_options(p)
    p.add_argument("--no-pdf", action="store_true", help="HTML and report.json only")
    p.set_defaults(handler=cmd_build)

    p = sub.add_parser("train", help="train the study's runs (finished runs are skipped)")
    _study_options(p)
    p.add_argument("--backend", choices=("local", "sagemaker"), default="local",
                   help="local: in this process (default); sagemaker: one training job per run")
    _aws_options(p, instance_help="training instance type (default ml.m5.xlarge)")
    p.add_argument("--max-parallel", type=int, default=4, help="SageMaker jobs at once (default 4)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("serve", help="a local endpoint with the SageMaker container's contract")
    _study_options(p, profile_default=None)
    _model_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--max-body", type=int, default=6 * 1024 * 1024, help="request size limit in bytes (default 6 MB)")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("deploy", help="deploy a run's model to a SageMaker real-time endpoint")
    _study_options(p, profile_default=None)
    _model_options(p)
    _aws_options(p, instance_help="endpoint instance type (default ml.m5.large)")
    p.add_argument("--endpoint-name", help="endpoint name (default cnnreport-<study>-<run-id>)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, instance type and region; create nothing")
    p.set_defaults(handler=cmd_deploy)

    p = sub.add_parser("undeploy", help="delete a SageMaker endpoint, its config and model")
    p.add_argument("--endpoint", required=True, help="endpoint name")
    p.add_argument("--region", help="AWS region (default AWS_REGION or the AWS config)")
    p.set_defaults(handler=cmd_undeploy)

    p = sub.add_parser("endpoint-test", help="send real test images to an endpoint; write the transcript")
    _study_options(p, profile_default=None)
    _model_options(p)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--endpoint", help="a SageMaker endpoint's name")
    where.add_argument("--local", action="store_true", help="start the local endpoint, test it, stop it")
    p.add_argument("--n", type=int, default=10, help="test images to send (default 10)")
    p.add_argument("--region", help="AWS region (default AWS_REGION or the AWS config)")
    p.set_defaults(handler=cmd_endpoint_test)

    p = sub.add_parser("render", help="rebuild the report from runs/ without training")
    _study_options(p, profile_default=None)
    p.add_argument("--no-pdf", action="store_true", help="HTML and report.json only")
    p.set_defaults(handler=cmd_render)

    p = sub.add_parser("bench", help="time the plan the naive way and the cnnreport way")
    _study_options(p, profile_default="quick")
    p.add_argument("--synthetic", action="store_true",
                   help="random images of the data set's shapes (speed only, e.g. a GPU without the data)")
    p.add_argument("--seeds-limit", type=int, help="only the first N seeds of each model")
    p.add_argument("--only", choices=("naive", "cnnreport"), help="time one way only")
    p.add_argument("--naive-seeds", type=int,
                   help="train the naive way on the first N seeds only and extrapolate its time (GPU)")
    p.set_defaults(handler=cmd_bench)

    p = sub.add_parser("check", help="score reports against the rubric, with evidence (exit 1 below --min-score)")
    p.add_argument("report_dirs", nargs="*", metavar="REPORT_DIR",
                   help="report folder(s) (default reports/<study> for --study); several: grade each")
    p.add_argument("--study", default=DEFAULT_STUDY, help="study whose report to check when no REPORT_DIR is given")
    p.add_argument("--reports-dir", default="reports", help="reports root (default reports/)")
    p.add_argument("--runs-dir", help="run records to verify report.json against (default: found beside the report)")
    p.add_argument("--rubric", help="rubric TOML file (default: the course rubric, rubric.toml)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (top-level `score`)")
    p.add_argument("--min-score", type=float, default=0.0, help="exit 1 when fewer automatic points are verified")
    p.add_argument("--csv", help="write one row per report (a column per criterion and item) to this file")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("init", help="write a copy of a built-in study to edit")
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
    try:
        if args.command not in ("init", "check", "undeploy", "render"):  # render: only on a memo miss
            import_keras()
        return args.handler(args)
    except UserError as exc:
        print(f"cnnreport: error: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("cnnreport: interrupted; finished runs are kept, the next build resumes", file=sys.stderr)
        return 130


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
