"""Command line: parse, call the library, print. `main(argv) -> int` so tests call it directly.

Exit codes: 0 success; 1 the job ran but a check failed; 2 bad input (one line, no traceback).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Callable

# Quiet TensorFlow's C++ start-up chatter before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import logging  # noqa: E402

logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes are not the user's concern

from .errors import UserError  # noqa: E402
from .study import DEFAULT_STUDY, PROFILES, load_study, resolve_study_path  # noqa: E402

Handler = Callable[[argparse.Namespace], int]


def _echo(msg: str) -> None:
    print(msg, flush=True)


def _workspace(args: argparse.Namespace):
    from .pipeline import Workspace

    return Workspace(runs_root=Path(args.runs_dir), reports_root=Path(args.reports_dir),
                     data_dir=Path(args.data_dir) if args.data_dir else None)


def _study(args: argparse.Namespace):
    return load_study(args.study, args.profile)


# ----------------------------------------------------------------------------------- subcommands


def cmd_train(args: argparse.Namespace) -> int:
    from .pipeline import train

    counts = train(_study(args), _workspace(args), _echo)
    _echo(f"trained {counts['trained']} runs, {counts['skipped']} already done"
          + (f", {counts['diverged']} diverged" if counts["diverged"] else ""))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from .pipeline import render

    render(_study(args), _workspace(args), _echo, pdf=not args.no_pdf)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .pipeline import render, train

    study, ws = _study(args), _workspace(args)
    train(study, ws, _echo)
    render(study, ws, _echo, pdf=not args.no_pdf)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .check_cli import run_check

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


# --------------------------------------------------------------------------------------- parser


def _study_options(p: argparse.ArgumentParser, profile_default: str | None = "full") -> None:
    p.add_argument("--study", default=DEFAULT_STUDY,
                   help=f"built-in study name (cifar10, fashion-mnist) or a .toml path (default {DEFAULT_STUDY})")
    p.add_argument("--profile", choices=PROFILES, default=profile_default,
                   help="quick: a subset and few epochs, for a CPU; full: the real study, for a GPU "
                        "(default full)")
    p.add_argument("--data-dir", help="folder with the data set's original archives (offline use)")
    p.add_argument("--runs-dir", default="runs", help="run store root (default runs/)")
    p.add_argument("--reports-dir", default="reports", help="reports root (default reports/)")


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
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("render", help="rebuild the report from runs/ without training")
    _study_options(p)
    p.add_argument("--no-pdf", action="store_true", help="HTML and report.json only")
    p.set_defaults(handler=cmd_render)

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
