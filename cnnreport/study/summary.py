"""report.json `study`: the study as the report states it, and what a quick profile leaves out.

The summary names the study file as the user would (relative to the working folder when inside
it) and carries the study's hash, so a reader can tell which design produced the numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from cnnreport.contract import Part
from cnnreport.study.schema import Study
from cnnreport.study.specs import DataSpec, TrainingSpec

Profile = Literal["base", "quick", "full"]


class StudySummary(Part):
    name: str
    title: str
    author: str
    profile: Profile
    hash: str  # of everything that decides results (Study.digest)
    file: str  # the study file, as the user would name it
    training: TrainingSpec
    data: DataSpec
    seeds: list[int]


class ProfileSettings(Part):
    """The settings a profile changes: how much data, how long, how many seeds."""

    train_subset: int | None
    val_subset: int | None
    test_subset: int | None
    epochs: int
    seeds: int


class ProfileNote(Part):
    """A quick-profile report's note: what it ran, what the full profile adds, and how."""

    quick: ProfileSettings
    full: ProfileSettings
    train_images: int  # the quick run's training images, after its subset
    command: str  # the command that builds the full profile


def shown_path(path: str | Path) -> str:
    """A file as the user would name it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def summarize_study(study: Study) -> StudySummary:
    return StudySummary(name=study.name, title=study.title, author=study.author, profile=study.profile,
                        hash=study.digest(), file=shown_path(study.source), training=study.training,
                        data=study.data, seeds=list(study.seeds))


def profile_settings(study: Study) -> ProfileSettings:
    return ProfileSettings(train_subset=study.data.train_subset, val_subset=study.data.val_subset,
                           test_subset=study.data.test_subset, epochs=study.training.epochs,
                           seeds=len(study.seeds))
