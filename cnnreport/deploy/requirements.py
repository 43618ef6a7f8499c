"""What a training job installs: the packages sagemaker/train.py needs beyond the training
image's own, pinned to the versions installed here (those every local run records).

The image is a TensorFlow image, so it holds TensorFlow and everything TensorFlow depends on
(`image_packages`); the job installs the rest of what training imports, and Keras itself pinned,
because the Keras version decides results (run.json records it). Read from the installed
distributions' metadata, so the list follows the environment instead of going stale.
"""

from __future__ import annotations

import importlib.metadata as md
import re

from packaging.requirements import Requirement

# What the training entry point imports beyond TensorFlow's own dependencies: the study schema
# (pydantic) and Pillow for image-folder data sets. Proven complete by a test that runs the
# staged job in a virtual environment holding only TensorFlow's closure plus this list's.
TRAINING_NEEDS = ("keras", "pydantic", "pillow")
IMAGE_ROOT = ("tensorflow-cpu", "tensorflow")  # whichever build is installed here
PINNED_ALWAYS = ("keras",)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_root() -> str:
    """The TensorFlow distribution installed here (tensorflow-cpu or tensorflow)."""
    for name in IMAGE_ROOT:
        try:
            md.distribution(name)
            return name
        except md.PackageNotFoundError:
            continue
    return IMAGE_ROOT[-1]


def closure(names: tuple[str, ...] | list[str]) -> set[str]:
    """The installed distributions `names` need, themselves included (canonical names); extras
    and requirements whose markers do not hold here are left out, as pip leaves them out."""
    seen: set[str] = set()
    todo = [_canonical(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        seen.add(name)
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(_canonical(req.name))
    return seen


def image_packages() -> set[str]:
    """What a TensorFlow training image holds at the least: TensorFlow and its dependencies."""
    return closure([installed_root()])


def training_requirements() -> list[str]:
    """`name==version` lines for what training needs that the image does not hold, plus Keras."""
    wanted = (closure(list(TRAINING_NEEDS)) - image_packages()) | {_canonical(n) for n in PINNED_ALWAYS}
    return sorted(f"{name}=={md.version(name)}" for name in wanted)
