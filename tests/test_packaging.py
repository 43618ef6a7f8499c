"""Installable anywhere: the wheel built from this checkout, installed into a fresh virtual
environment outside the repository, runs the whole product from an empty folder — `init`, a
tiny `build`, `render`, `check` — with its built-in study, templates, rubric and entry scripts
read from the installed package, never from the checkout.

The new environment's third-party dependencies are the test environment's own (a .pth line):
installing TensorFlow afresh would take minutes and the network. What the wheel declares is
checked against them, so a dependency missing from pyproject.toml still fails here only if the
test environment lacks it too; cnnreport itself comes only from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from helpers import REPO

# The built-in study, shrunk: its [profiles.quick] replaced by a tiny one (2 seeds, 1 epoch,
# 300 training images, a 4-then-8-filter CNN, kernel 1 and 3): 3 models × 2 seeds + the
# locality probe's 4 runs, seconds on a CPU.
TINY_QUICK_PROFILE = """
[profiles.quick]
seeds = [0, 1]
[profiles.quick.data]
train_subset = 300
val_subset = 100
test_subset = 200
[profiles.quick.training]
epochs = 1
[profiles.quick.baseline]
hidden = [16]
[profiles.quick.cnn]
dense = [16]
blocks = [{filters = 4, kernel_size = 3}, {filters = 8, kernel_size = 3}]
[profiles.quick.experiment]
levels = [1, 3]
"""

# Run inside the new environment: where cnnreport comes from, its version, and every
# requirement its metadata declares (extras aside) that no installed distribution satisfies.
PROBE = """
import importlib.metadata as md
import cnnreport
from packaging.requirements import Requirement

unmet = []
for line in md.requires("cnnreport") or []:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue  # another platform's or an extra's requirement
    try:
        found = md.version(req.name)
    except md.PackageNotFoundError:
        unmet.append(f"{req} (not installed)")
        continue
    if not req.specifier.contains(found, prereleases=True):
        unmet.append(f"{req} (found {found})")
print(cnnreport.__file__)
print(md.version("cnnreport"))
print("unmet:", "; ".join(unmet))
"""


def _source_copy(dest: Path) -> Path:
    """The checkout's files as a clone plus its uncommitted changes would have them (tracked and
    untracked-but-not-ignored; links kept as links), so the build never writes into the checkout
    and no stale build/ folder can leak into the wheel."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src, dst = REPO / name, dest / name
        if not src.is_symlink() and not src.exists():
            continue  # deleted in the working tree, not yet in the index
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    return dest


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


def test_the_wheel_installs_into_a_fresh_venv_and_runs_the_product_from_an_empty_folder(
        tmp_path: Path, fashion_copy: Path, follows_schema) -> None:
    # 1. The wheel, built from a copy of the checkout with the build backend pyproject.toml
    #    names (pip's isolated build environment installs setuptools>=68 for it).
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", dist,
          _source_copy(tmp_path / "source")], cwd=tmp_path, env=dict(os.environ))
    (wheel,) = dist.glob("cnnreport-*.whl")
    with zipfile.ZipFile(wheel) as packed:  # the top-level folders, mapped into the package
        names = set(packed.namelist())
    assert {"cnnreport/resources/rubric.toml", "cnnreport/resources/studies/fashion-mnist.toml",
            "cnnreport/resources/templates/report.html.j2", "cnnreport/resources/templates/sections/data.html.j2",
            "cnnreport/resources/sagemaker/inference.py"} <= names
    assert not [n for n in names if "/../" in n or not n.startswith(("cnnreport/", "cnnreport-"))]

    # 2. A fresh venv outside the repository; the wheel installed without any index.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path, env=dict(os.environ))
    python, command = venv / "bin" / "python", venv / "bin" / "cnnreport"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index",
          "--no-deps", wheel], cwd=tmp_path, env=dict(os.environ))
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # Dependencies: a path line is appended to sys.path without running that folder's own .pth
    # files, so the checkout's editable install there is never activated.
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    # 3. An empty folder outside the repository, no path to the checkout.
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"

    probe = _run([python, "-c", PROBE], cwd=work, env=env).stdout.splitlines()
    assert Path(probe[0]).is_relative_to(venv), f"cnnreport imported from {probe[0]}, not the new venv"
    assert probe[2] == "unmet: ", probe[2]  # every dependency the wheel declares is satisfied
    version = probe[1]
    assert _run([command, "--version"], cwd=work, env=env).stdout.strip() == f"cnnreport {version}"
    assert "usage: cnnreport" in _run([python, "-m", "cnnreport", "--help"], cwd=work, env=env).stdout

    _run([command, "init", "--study", "fashion-mnist"], cwd=work, env=env)
    study = work / "fashion-mnist.toml"
    text = study.read_text(encoding="utf-8")
    assert "[profiles.quick]" in text and "[text.rationale]" in text  # the built-in study's copy
    study.write_text(text.split("[profiles.quick]")[0] + TINY_QUICK_PROFILE, encoding="utf-8")

    _run([command, "build", "--study", study.name, "--profile", "quick"], cwd=work, env=env)
    runs = [d for d in (work / "runs" / "fashion-mnist").iterdir() if (d / "run.json").is_file()]
    assert len(runs) == 10  # the tiny profile's 6 runs and the probe's 4: it was the one trained
    report = work / "reports" / "fashion-mnist"
    assert (report / "report.pdf").read_bytes()[:5] == b"%PDF-"
    follows_schema(report / "report.json")  # built in another process: validated here
    first_json = (report / "report.json").stat().st_mtime_ns

    _run([command, "render", "--study", study.name], cwd=work, env=env)  # the profile last trained
    assert (report / "report.json").stat().st_mtime_ns > first_json
    assert (report / "report.pdf").read_bytes()[:5] == b"%PDF-"
    checked = _run([command, "check", "reports/fashion-mnist"], cwd=work, env=env)
    assert "verified" in checked.stdout
    # Everything the commands wrote is in the working folder: the study, runs/ and reports/.
    assert sorted(p.name for p in work.iterdir()) == ["fashion-mnist.toml", "reports", "runs"]


def test_every_package_of_the_source_is_in_the_wheel_list() -> None:
    """pyproject.toml lists the packages by name (the resource packages are mapped from top-level
    folders, which discovery would miss): a new subpackage must be listed too."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "cnnreport").rglob("__init__.py")}
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
    assert not [p for p in (REPO / "cnnreport").rglob("*") if p.is_symlink()]  # no links to follow
