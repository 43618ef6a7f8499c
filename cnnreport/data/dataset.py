"""A whole data set as published: its own train and test parts, raw uint8 images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnreport.data.facts import FolderData


@dataclass
class Dataset:
    name: str
    class_names: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    origin: str  # where it was read from, for the report
    folder: FolderData | None = None  # a folder source's facts and per-image records
