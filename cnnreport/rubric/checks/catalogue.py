"""Every automated check a rubric item can name, by id: importing the criterion modules
registers their checks (registry.check); this module is the one place that imports them all."""

from __future__ import annotations

from cnnreport.rubric.checks import eda, interpretation, models, presentation, rigour  # noqa: F401
from cnnreport.rubric.checks.registry import CHECKS, CheckDef

__all__ = ["CHECKS", "CheckDef", "check_ids"]


def check_ids() -> list[str]:
    return sorted(CHECKS)
