"""What the commands read besides code: built-in studies, report templates, the course rubric and
the SageMaker entry scripts.

The files live in the repository's top-level `studies/`, `templates/`, `sagemaker/` and
`rubric.toml`. pyproject.toml maps `studies/` into this package as `cnnreport.resources.studies`
and carries the others as its package data, one folder up: in a wheel they sit together in
cnnreport/resources/, in an editable install they are read where they are. So every file is found
the same way — beside the studies' folder — in a checkout, an editable install and an installed
wheel, with no link to follow (docs/packaging.md).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_STUDIES = Path(str(files(f"{__name__}.studies")))  # an unpacked install: a real folder
_ROOT = _STUDIES.parent  # the repository's top level, or cnnreport/resources/ in a wheel


def study_files() -> list[Path]:
    """The built-in study files, by name."""
    return sorted((p for p in _STUDIES.iterdir() if p.suffix == ".toml"), key=lambda p: p.name)


def study(name: str) -> Path | None:
    """A built-in study file (`cifar10` → studies/cifar10.toml), or None."""
    path = _STUDIES / f"{name}.toml"
    return path if path.is_file() else None


def template_folder() -> Path:
    """The Jinja templates' folder (report.html.j2, report.css, sections/)."""
    return _ROOT / "templates"


def rubric() -> Path:
    """The course rubric (rubric.toml)."""
    return _ROOT / "rubric.toml"


def sagemaker_script(name: str) -> Path:
    """A SageMaker entry script: `inference.py` (the serving container's handlers) or `train.py`."""
    return _ROOT / "sagemaker" / name
