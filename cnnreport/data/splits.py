"""The splits every run sees: validation carved out of the training set with a fixed seed, the
test set kept apart; subsets; and the one fixed pixel permutation of the locality probe.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from cnnreport.data.dataset import Dataset
from cnnreport.data.facts import FolderData
from cnnreport.data.sources import load_dataset
from cnnreport.errors import UserError
from cnnreport.study.specs import DataSpec


@dataclass
class Splits:
    """What training sees: validation carved from the training part, the test part untouched."""

    name: str
    class_names: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    origin: str
    # A folder source's facts, with per-split records ("train", "val", "test") of each image's file.
    folder: FolderData | None = None
    # Set once, when the splits are made: every later stage reads them as plain values.
    input_shape: tuple[int, int, int] = field(init=False)
    num_classes: int = field(init=False)

    def __post_init__(self) -> None:
        self.input_shape = tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[assignment]
        self.num_classes = len(self.class_names)

    @cached_property
    def fingerprint(self) -> str:
        """What the runs were trained and tested on, by content: a hash of every split's images
        and labels (shape, dtype, bytes) and the class names. Part of every run's id, so other
        data under the same study file trains anew instead of reusing runs (report.json
        `dataset.fingerprint`, run.json `data_fingerprint`)."""
        digest = hashlib.sha256(json.dumps(self.class_names).encode())
        for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
            array = np.ascontiguousarray(getattr(self, part))
            digest.update(f"{part} {array.dtype.str} {array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
        return digest.hexdigest()[:16]


# ------------------------------------------------------------------------------------- splitting


def load_splits(spec: DataSpec, data_dir: Path | None, **how: Any) -> Splits:
    """The data set the study names (`how`: load_dataset's options), split, with its content
    fingerprint computed here once."""
    splits = make_splits(load_dataset(spec, data_dir, **how), spec)
    splits.fingerprint  # noqa: B018 - hashed now, while the arrays are at hand
    return splits


def make_splits(dataset: Dataset, spec: DataSpec) -> Splits:
    """Carve validation out of the training part with a fixed seed; subsample per the profile.

    The test part is never used for model selection: it is evaluated once, after training.
    """
    rng = np.random.default_rng(spec.split_seed)
    order = rng.permutation(len(dataset.x_train))
    n_val = max(1, int(round(len(order) * spec.val_fraction)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if spec.val_subset:
        val_idx = val_idx[:spec.val_subset]
    if spec.train_subset:
        train_idx = train_idx[:spec.train_subset]
    test_idx = np.arange(len(dataset.x_test))
    if spec.test_subset and spec.test_subset < len(test_idx):
        test_idx = np.sort(rng.permutation(len(test_idx))[:spec.test_subset])
    splits = Splits(dataset.name, dataset.class_names,
                    dataset.x_train[train_idx], dataset.y_train[train_idx],
                    dataset.x_train[val_idx], dataset.y_train[val_idx],
                    dataset.x_test[test_idx], dataset.y_test[test_idx],
                    origin=dataset.origin, folder=_folder_splits(dataset.folder, train_idx, val_idx, test_idx))
    for part, y in (("training", splits.y_train), ("validation", splits.y_val), ("test", splits.y_test)):
        if len(y) == 0:  # training on nothing "succeeds" and the report then has nothing to say
            raise UserError(f"{dataset.origin}: the {part} split holds no images ({len(dataset.y_train)} "
                            f"training and {len(dataset.y_test)} test images loaded); expected a data set "
                            "with images in every split")
    return splits


def _folder_splits(folder: FolderData | None, train_idx: np.ndarray, val_idx: np.ndarray,
                   test_idx: np.ndarray) -> FolderData | None:
    """The folder's per-image records following the images into their splits."""
    if folder is None:
        return None
    train, test = folder.parts["train"], folder.parts["test"]
    return FolderData(folder.facts, folder.sizes,
                      {"train": train.take(train_idx), "val": train.take(val_idx), "test": test.take(test_idx)})


def pixel_permutation(height: int, width: int, seed: int) -> np.ndarray:
    """The locality probe's ONE fixed order of pixel positions."""
    return np.random.default_rng(seed).permutation(height * width)


def shuffle_pixels(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Images (N, H, W, C) — or one image (H, W, C) — with pixel positions reordered by `perm`."""
    h, w, c = x.shape[-3:]
    return x.reshape(-1, h * w, c)[:, perm, :].reshape(x.shape)


def permute_pixels(splits: Splits, seed: int) -> Splits:
    """Every image's pixel positions shuffled by ONE fixed permutation (the locality probe).

    An MLP is indifferent to a fixed reordering of its inputs; a CNN's locality assumption breaks.
    """
    h, w, _ = splits.input_shape
    perm = pixel_permutation(h, w, seed)
    return Splits(splits.name, splits.class_names, shuffle_pixels(splits.x_train, perm), splits.y_train,
                  shuffle_pixels(splits.x_val, perm), splits.y_val, shuffle_pixels(splits.x_test, perm),
                  splits.y_test, origin=splits.origin, folder=splits.folder)
