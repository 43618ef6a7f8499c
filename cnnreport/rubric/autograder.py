"""`cnnreport autograder --out DIR`: the bundle a grader uploads to Gradescope as it is.

Gradescope's contract (gradescope-autograders.readthedocs.io, "Autograder Specifications"): a zip
with `setup.sh` (run once, as root, when Gradescope builds the autograder's image) and
`run_autograder` (run for every submission, working folder /autograder) at its root; the
student's files arrive in /autograder/submission, the zip's own in /autograder/source, and
/autograder/results/results.json is what Gradescope reads back.

`run_autograder` honours AUTOGRADER_ROOT (default /autograder) and CNNREPORT (the command; default
the virtual environment setup.sh made), so the same script runs in a folder laid out like
/autograder on any machine: the tests do that, and so can a grader before uploading. It always
leaves a results.json: when cnnreport itself cannot run, one with score 0 that says so.
"""

from __future__ import annotations

import shlex
import stat
import zipfile
from pathlib import Path

from cnnreport import __version__
from cnnreport.files import atomic_path, write_text
from cnnreport.formatting import fmt_points
from cnnreport.rubric.batch import TIME_BUDGET_S
from cnnreport.rubric.schema import Rubric

FILES = ("setup.sh", "run_autograder", "rubric.toml", "README.md")
GRADESCOPE_TIME_BUDGET_S = max(TIME_BUDGET_S, 300.0)  # one submission per container: it may take longer


def setup_script(install: str) -> str:
    return f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: cnnreport from the
# package index into a virtual environment of its own.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip
python3 -m venv /autograder/cnnreport-venv
/autograder/cnnreport-venv/bin/pip install --quiet --upgrade pip
/autograder/cnnreport-venv/bin/pip install --quiet {shlex.quote(install)}
/autograder/cnnreport-venv/bin/cnnreport --version
"""


def run_script(visibility: str, reproduce: int | None) -> str:
    extra = f" --reproduce {reproduce}" if reproduce else ""
    return f"""#!/usr/bin/env bash
# Gradescope runs this for every submission, in /autograder: the student's files are in
# submission/, this bundle's in source/, and results/results.json is read back.
# AUTOGRADER_ROOT moves the whole layout (to try it on your machine); CNNREPORT names the command.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
CNNREPORT="${{CNNREPORT:-$ROOT/cnnreport-venv/bin/cnnreport}}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
"$CNNREPORT" check "$ROOT/submission" --gradescope "$RESULTS" --rubric "$ROOT/source/rubric.toml" \\
    --visibility {visibility} --time-budget {GRADESCOPE_TIME_BUDGET_S:.0f}{extra}
status=$?
if [ ! -s "$RESULTS" ]; then
    # cnnreport itself could not run: the student sees that, not a failed autograder.
    printf '{{"score": 0, "output": "The autograder could not run (cnnreport exited %s); your instructor has been told.", "tests": []}}\\n' "$status" > "$RESULTS"
fi
exit 0
"""


def readme(rubric: Rubric, install: str, reproduce: int | None) -> str:
    auto = sum(i.points for c, i in rubric.items() if not i.human and not c.bonus)
    human = [(c, i) for c, i in rubric.items() if i.human]
    manual = "\n".join(f"   - {i.name}: {fmt_points(i.points)} points ({c.name})" for c, i in human)
    return f"""# cnnreport autograder for Gradescope

Written by `cnnreport autograder` ({__version__}) for the rubric "{rubric.title}".

## Upload

1. On Gradescope: Create Assignment → Programming Assignment. Autograder points:
   **{fmt_points(auto)}** (the rubric's automatic items; bonus items may add more).
2. Configure Autograder → Zipped folder of autograder files: upload `autograder.zip` from this
   folder (it holds `setup.sh`, `run_autograder`, `rubric.toml` and this README at its root).
   Base image: Ubuntu 22.04 or later. Building the image installs `{install}` and takes a few
   minutes (TensorFlow is among its dependencies).
3. Add a manual question for each item a person reads (the autograder lists them with their
   points and what it found, and adds nothing for them):
{manual or "   (none in this rubric)"}

## What students upload

Their report folder as `cnnreport build` wrote it, `reports/<study>/` (report.json, report.html,
report.pdf, figures/, study.toml), as the folder itself or zipped; the autograder finds the
folder holding report.json up to three levels down. Adding their `runs/<study>/` folder as
`runs/` inside it lets the integrity check compare report.json with the run records{
    " and is needed for the reproduction's validation losses" if reproduce else ""}.

## What it does per submission

`cnnreport check /autograder/submission --gradescope /autograder/results/results.json`: one
Gradescope test per rubric item (points, evidence and how to fix), the human items at 0 with
their maximum and a note, the score the tests' sum.{
    f" It also retrains {reproduce} drawn run(s) of each submission from its study.toml and says "
    "whether the claims reproduce (allow the time: Gradescope's timeout must cover the training)."
    if reproduce else ""} Nothing a student hands in is executed: the study file is data.

## Try it before uploading

    mkdir -p /tmp/ag/source /tmp/ag/submission
    cp rubric.toml /tmp/ag/source/ && cp -r path/to/reports/<study>/. /tmp/ag/submission/
    AUTOGRADER_ROOT=/tmp/ag CNNREPORT=$(command -v cnnreport) bash run_autograder
    cat /tmp/ag/results/results.json
"""


def write_bundle(out: Path, rubric: Rubric, install: str | None = None, visibility: str = "visible",
                 reproduce: int | None = None) -> Path:
    """The bundle's files in `out` and, beside them, autograder.zip holding them at its root."""
    install = install or f"cnnreport=={__version__}"
    out.mkdir(parents=True, exist_ok=True)
    texts = {"setup.sh": setup_script(install), "run_autograder": run_script(visibility, reproduce),
             "rubric.toml": Path(rubric.source).read_text(encoding="utf-8"),
             "README.md": readme(rubric, install, reproduce)}
    for name, text in texts.items():
        write_text(out / name, text)
    for name in ("setup.sh", "run_autograder"):
        path = out / name
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    zipped = out / "autograder.zip"
    with atomic_path(zipped) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name in FILES:
            info = zipfile.ZipInfo(name)
            info.external_attr = ((0o755 if name in ("setup.sh", "run_autograder") else 0o644) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, texts[name])
    return zipped
