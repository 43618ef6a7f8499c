"""What loading an image folder found, as data: the facts the report states about a student's own
data set (pydantic models, dumped into report.json's `dataset`), and the per-image records that
tie each loaded image back to its file (NumPy arrays, no per-image Python objects).

Each model is filled by the stage that computes it: `layout` (where the files and labels came
from, what was not data), `images` (problems met while decoding), `folder` (resizing, channels,
sizes on disk); duplicates have their own model in `duplicates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import ConfigDict

from cnnreport.contract import Part

# What happened to a file that is not plainly a labelled image:
#   skipped: meant as data but not used (unreadable, empty, undecodable, a non-image file in a
#            class folder, a CSV row naming no file); `data.on_bad_file = "error"` stops on these.
#   ignored: not data at all (system and tool files and folders, stray files beside the classes).
#   read:    used, with something worth knowing (an extension that lies, an animation's first frame).
Action = Literal["skipped", "ignored", "read"]
ProblemKind = Literal[
    "empty", "unreadable", "not_an_image", "undecodable", "too_large", "not_image_extension",
    "system_file", "tool_folder", "outside_classes", "unused_folder", "not_in_csv",
    "csv_row", "format_mismatch", "animated", "out_of_range",
]


class Facts(Part):
    """A fact about the folder as report.json states it: strict as every part of the report
    (cnnreport/contract.py), and never changed once found."""

    model_config = ConfigDict(frozen=True)


class FileProblem(Facts):
    file: str  # relative to the data folder, "/"-separated; a folder ends in "/"
    kind: ProblemKind
    action: Action
    detail: str  # one line, for the report's table and the load-time message


class LayoutFacts(Facts):
    """Where the images and their labels came from."""

    path: str  # the data folder, as resolved
    labels_from: Literal["class folders", "csv"]
    # Required though nullable, as every key of report.json (docs/contracts.md)
    csv: str | None  # relative to the data folder
    csv_columns: tuple[str, str] | None  # (file, label)
    # folders: train/ and test/ as found; csv: its split column; study: test_fraction held out
    # of every class (stratified, fixed seed)
    split_by: Literal["folders", "csv", "study"]
    test_fraction: float | None
    files_considered: int  # image files (by extension or CSV row) tried
    images_loaded: int


class ResizeFacts(Facts):
    policy: Literal["resize", "pad", "crop"]
    size: tuple[int, int]  # (height, width) every image is brought to
    method: str  # the resampling filter
    pad_fill: int  # the pixel value of letterbox bars (policy pad)
    background: Literal["white", "black"]  # what transparent pixels are composited on
    changed: int  # images whose size on disk differed from `size`
    aspect_changed: int  # ... and whose aspect ratio differed too (bars, crop or stretch)


class ChannelFacts(Facts):
    setting: Literal["auto", 1, 3]  # data.channels
    chosen: Literal[1, 3]
    grey_images: int  # grey-scale by mode or content (colour spread <= GREY_TOLERANCE levels)
    colour_images: int
    converted: int  # images changed to the chosen channels (colour -> luma, or grey -> RGB)


class Summary(Facts):
    min: float
    median: float
    max: float


class SizeFacts(Facts):
    """Sizes on disk (after EXIF orientation) of every image loaded."""

    n: int
    height: Summary
    width: Summary
    aspect: Summary  # width / height
    distinct: int  # distinct (height, width) pairs
    common: list[tuple[int, int, int]]  # up to 5 most common (height, width, images)


class ProblemList(Facts):
    skipped: int
    ignored: int
    read: int
    files: list[FileProblem]


class FolderFacts(Facts):
    layout: LayoutFacts
    problems: ProblemList
    resize: ResizeFacts
    channel_choice: ChannelFacts
    image_sizes: SizeFacts


# ------------------------------------------------------------------------------ per-image records


@dataclass
class ImageRecords:
    """One row per loaded image, aligned with its images: where it came from and what it was."""

    files: np.ndarray  # str, relative to the data folder
    sha256: np.ndarray  # (N, 32) uint8: the file's bytes, for exact duplicates
    sizes: np.ndarray  # (N, 2) int32: (height, width) on disk

    def take(self, index: np.ndarray) -> "ImageRecords":
        return ImageRecords(self.files[index], self.sha256[index], self.sizes[index])

    def __len__(self) -> int:
        return len(self.files)


@dataclass
class FolderData:
    """A folder data set's facts and records: `parts` are the Dataset's train / test parts, or
    (after make_splits) the train / val / test splits."""

    facts: FolderFacts
    sizes: np.ndarray  # (N, 2) int32: sizes on disk of every image loaded (`facts.image_sizes`)
    parts: dict[str, ImageRecords] = field(default_factory=dict)
