"""What the commands read besides code: built-in studies, report templates, the course rubric and
the SageMaker entry scripts.

The files live in the repository's top-level folders (`studies/`, `templates/`, `sagemaker/`,
and `rubric.toml`); pyproject.toml maps each folder into this package (`cnnreport.resources.
studies`, …) and rubric.toml beside them, so a wheel carries them inside the package and an
editable install finds them through the same mapping. Every reader goes through
`importlib.resources`: one path per file, in a checkout, an editable install and an installed
wheel alike, with no link to follow (docs/packaging.md). The functions are not named after the
subpackages (`templates`, `studies`): importing a subpackage sets that name on this module.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

_STUDIES = files(f"{__name__}.studies")


def study_files() -> list[Traversable]:
    """The built-in study files, by name."""
    return sorted((p for p in _STUDIES.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name)


def study(name: str) -> Traversable | None:
    """A built-in study file (`cifar10` → studies/cifar10.toml), or None."""
    path = _STUDIES / f"{name}.toml"
    return path if path.is_file() else None


def template_folder() -> Traversable:
    """The Jinja templates' folder (report.html.j2, report.css, sections/)."""
    return files(f"{__name__}.templates")


def rubric() -> Traversable:
    """The course rubric: the repository's top-level rubric.toml, which the wheel places beside
    the studies' folder (pyproject.toml), so it is one folder up from the studies either way."""
    return _STUDIES / ".." / "rubric.toml"


def sagemaker_script(name: str) -> Traversable:
    """A SageMaker entry script: `inference.py` (the serving container's handlers) or `train.py`."""
    return files(f"{__name__}.sagemaker") / name
