"""How often a `build` climbs back: a data-flow trace of the pipeline's stages.

The pipeline's stages run in order (study → data → train → results → report → rubric; deploy
beside train). A stage is *left* once it has been entered and none of its frames is on the call
stack any more. A *climb-back* is a call from another stage (or from cli/pipeline) into a stage
that has been left: the data flow going back up to fetch or recompute something instead of
having been handed it. The base modules (formatting, files, errors, backend, resources, console)
are utilities every stage uses and are not counted.

Method: `sys.setprofile` sees every Python call and return; only frames whose code lives in the
cnnreport package are tracked. For each call into a stage that is left, the caller is the
nearest cnnreport frame on the stack; the call site (caller file:line → callee function) is
recorded. Printed: the total of such calls and the number of distinct call sites (a loop that
calls back once per model counts once there). A model's own validator or serializer that
pydantic runs while building or dumping it is not a climb-back (the caller is pydantic).

The build is traced with its runs already trained (a first, untraced build trains them) and its
render memo deleted (reports/<study>/cache/), so every render step runs: training internals
(Keras, thousands of calls per batch) would slow the tracer without changing the flow.

    python bench/trace_build.py STUDY.toml [--profile quick] [--keep DIR] [--sites]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import io
import shutil
import sys
import tempfile
from pathlib import Path

import pydantic

PACKAGE = Path(__file__).resolve().parent.parent / "cnnreport"
STAGES = ("study", "data", "train", "results", "report", "rubric", "deploy")
TOP = {"cli", "pipeline", "__main__", "bench"}


def stage_of(filename: str) -> str | None:
    """'study', …, 'top' for cli/pipeline, 'base' for the utilities, None outside the package."""
    try:
        parts = Path(filename).resolve().relative_to(PACKAGE).parts
    except ValueError:
        return None
    head = parts[0].removesuffix(".py")
    if head in STAGES:
        return head
    return "top" if head in TOP else "base"


PYDANTIC = Path(pydantic.__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def _in_pydantic(filename: str) -> bool:
    return Path(filename).resolve().is_relative_to(PYDANTIC)


def _run_by_pydantic(caller) -> bool:
    """A model's own validator or serializer, run by pydantic while it builds or dumps that model
    (a study's DataSpec dumped into each run id): part of the data handed along, not a trip back."""
    return caller is not None and _in_pydantic(caller.f_code.co_filename)


class Tracer:
    def __init__(self) -> None:
        self.stack: list[tuple[str, str]] = []  # (stage, "file:line of the frame") per cnnreport frame
        self.active: collections.Counter[str] = collections.Counter()
        self.entered: set[str] = set()
        self.sites: collections.Counter[tuple[str, str]] = collections.Counter()
        self._stages: dict[str, str | None] = {}

    def _stage(self, code) -> str | None:
        name = code.co_filename
        if name not in self._stages:
            self._stages[name] = stage_of(name)
        return self._stages[name]

    def __call__(self, frame, event: str, arg) -> None:
        if event not in ("call", "return"):
            return
        stage = self._stage(frame.f_code)
        if stage is None:
            return
        if event == "call":
            back = frame.f_back
            if self.stack and stage not in ("base", "top") and not _run_by_pydantic(back):
                caller_stage, _ = self.stack[-1]
                if caller_stage != stage and stage in self.entered and self.active[stage] == 0:
                    where = (f"{Path(back.f_code.co_filename).relative_to(PACKAGE.parent)}:{back.f_lineno}"
                             if back is not None and self._stage(back.f_code) is not None else "?")
                    callee = f"{Path(frame.f_code.co_filename).relative_to(PACKAGE.parent)}:{frame.f_code.co_qualname}"
                    self.sites[(where, callee)] += 1
            self.stack.append((stage, ""))
            self.active[stage] += 1
            self.entered.add(stage)
        elif self.stack:
            popped, _ = self.stack.pop()
            self.active[popped] -= 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--keep", help="work in this folder (kept) instead of a temporary one")
    parser.add_argument("--sites", action="store_true", help="list every call site that climbs back")
    args = parser.parse_args(argv)

    from cnnreport import cli

    root = Path(args.keep or tempfile.mkdtemp(prefix="trace-build-"))
    build = ["build", "--study", args.study, "--runs-dir", str(root / "runs"),
             "--reports-dir", str(root / "reports"), "--no-pdf"]
    if args.profile:
        build += ["--profile", args.profile]
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(build) == 0, "the untraced build failed"
    for cache in (root / "reports").glob("*/cache"):
        shutil.rmtree(cache)

    tracer = Tracer()
    with contextlib.redirect_stdout(io.StringIO()):
        sys.setprofile(tracer)
        try:
            code = cli.main(build)
        finally:
            sys.setprofile(None)
    assert code == 0, "the traced build failed"
    if args.sites:
        for (where, callee), n in sorted(tracer.sites.items()):
            print(f"{n:6d}  {where} → {callee}")
    print(f"climb-backs: {sum(tracer.sites.values())} calls from {len(tracer.sites)} call sites")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
