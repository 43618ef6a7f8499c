"""The TensorFlow images the installed SageMaker SDK knows, and the refusal when it does not know
the one a plan needs.

SageMaker SDK 3 keeps its image table in sagemaker-core, sagemaker/core/image_uri_config/
tensorflow.json; image_uris.retrieve builds every image URI from it. A release whose table lacks
an image cannot give its URI, and choosing another image instead would serve or train on a
TensorFlow the plan did not check, so `deploy` and `train --backend sagemaker` stop with one line.

FIRST_LISTED was read from the released wheels' tables: sagemaker-core 2.21.0 lists neither the
tensorflow-inference 2.20 nor the tensorflow-training 2.21 image; 2.22.0 lists both (py312), as
does every release after it up to 2.27.0. The first `sagemaker` release that requires
sagemaker-core>=2.22.0 is 3.22.0. pyproject.toml's aws extra declares both floors.
"""

from __future__ import annotations

import importlib.metadata as md
import json
from pathlib import Path
from typing import Any

from cnnreport.errors import UserError

SDK_TABLE_DIST = "sagemaker-core"
FIRST_LISTED = {("inference", "2.20"): "2.22.0", ("training", "2.21"): "2.22.0"}
SDK_FLOOR = "2.22.0"  # the oldest sagemaker-core that lists every image of FIRST_LISTED

# The released images (major.minor) this code knows, as sagemaker-core 2.22.0's table lists them:
# used to decide which image a plan needs, whatever SDK is installed (or none).
KNOWN_VERSIONS = {
    "inference": ("2.11", "2.12", "2.13", "2.14", "2.16", "2.18", "2.19", "2.20"),
    "training": ("2.11", "2.12", "2.13", "2.14", "2.16", "2.18", "2.19", "2.21"),
}


def minor(version: str) -> str:
    """'2.21.0' → '2.21'."""
    return ".".join(version.split(".")[:2])


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in minor(version).split(".") if p.isdigit())


def installed_table() -> dict[str, Any] | None:
    """The installed SDK's tensorflow.json, or None without the SDK."""
    try:
        import sagemaker.core.image_uris as iu
    except ImportError:
        return None
    return json.loads((Path(iu.__file__).parent / "image_uri_config" / "tensorflow.json").read_text(encoding="utf-8"))


def installed_release() -> str:
    try:
        return md.version(SDK_TABLE_DIST)
    except md.PackageNotFoundError:
        return "not installed"


def sdk_versions(scope: str) -> list[str] | None:
    """The image versions (major.minor) of `scope` the installed SDK lists, oldest first; None
    without the SDK."""
    table = installed_table()
    if table is None:
        return None
    return sorted({minor(v) for v in table.get(scope, {}).get("versions", {})}, key=version_key)


def versions(scope: str) -> list[str]:
    """The images a plan may choose from: the ones known here and any newer the SDK lists."""
    return sorted(set(KNOWN_VERSIONS[scope]) | set(sdk_versions(scope) or ()), key=version_key)


def require(scope: str, version: str) -> None:
    """Refuse (one line, exit 2) when the installed SDK's table lacks the tensorflow-`scope`
    `version` image."""
    listed = sdk_versions(scope)
    if listed is None:
        raise UserError("AWS commands need the aws extra: pip install 'cnnreport[aws]'")
    if minor(version) in listed:
        return
    first = FIRST_LISTED.get((scope, minor(version)))
    newest = listed[-1] if listed else "none"
    fix = (f"it is listed from sagemaker-core {first} on: pip install 'sagemaker-core>={first}'" if first
           else "pip install -U sagemaker-core")
    raise UserError(f"the installed SageMaker SDK (sagemaker-core {installed_release()}) does not know the "
                    f"tensorflow-{scope} {minor(version)} image this plan needs (its newest is {newest}); {fix}")
