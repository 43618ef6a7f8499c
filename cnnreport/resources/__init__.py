"""What the commands read besides code: built-in studies, report templates, the course rubric and
the SageMaker entry scripts.

The files live in the repository's top-level folders (`studies/`, `templates/`, `rubric.toml`,
`sagemaker/`); this package holds links to them, so a wheel carries copies and every reader goes
through `importlib.resources` — the same code path in a checkout, an editable install and a
pip-installed wheel.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

_ROOT = files(__name__)


def studies() -> list[Traversable]:
    """The built-in study files, by name."""
    return sorted((p for p in (_ROOT / "studies").iterdir() if p.name.endswith(".toml")),
                  key=lambda p: p.name)


def study(name: str) -> Traversable | None:
    """A built-in study file (`cifar10` → studies/cifar10.toml), or None."""
    path = _ROOT / "studies" / f"{name}.toml"
    return path if path.is_file() else None


def templates() -> Traversable:
    """The Jinja templates' folder (report.html.j2, report.css, sections/)."""
    return _ROOT / "templates"


def rubric() -> Traversable:
    """The course rubric (rubric.toml)."""
    return _ROOT / "rubric.toml"


def sagemaker_script(name: str) -> Traversable:
    """A SageMaker entry script: `inference.py` (the serving container's handlers) or `train.py`."""
    return _ROOT / "sagemaker" / name
