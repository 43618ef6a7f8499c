"""EDA statistics of the splits: sizes, class counts and balance, image shape, per-channel
statistics, pixel range, and the neighbouring-pixel correlation that motivates convolution; for
an image folder also where it came from, what was skipped, sizes on disk, the resize policy, the
channels chosen, and duplicates and leakage across the splits. `describe` returns report.json's
`dataset` part.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from cnnreport.contract import Part
from cnnreport.data.duplicates import DuplicateFacts, find_duplicates
from cnnreport.data.facts import ChannelFacts, LayoutFacts, ProblemList, ResizeFacts, SizeFacts
from cnnreport.data.sources import DISPLAY_NAMES
from cnnreport.data.splits import Splits

Verdict = Literal["balanced", "mildly imbalanced", "imbalanced"]


class SplitSizes(Part):
    train: int
    val: int
    test: int


class ClassCounts(Part):
    """Images per class (in class order) of each split."""

    train: list[int]
    val: list[int]
    test: list[int]


class Balance(Part):
    ratio: float  # largest class / smallest class, training split
    verdict: Verdict
    largest: int  # class index
    smallest: int


class ChannelStats(Part):
    """One channel's pixels after the model's Rescaling(1/255)."""

    channel: Literal["grey", "red", "green", "blue"]
    mean: float
    std: float
    min: float
    max: float
    median: float
    zero_fraction: float  # share of pixels exactly 0


class DatasetSummary(Part):
    """report.json `dataset`: what the splits hold, as the report's EDA states it."""

    name: str
    display_name: str
    origin: str  # where the images were read from
    fingerprint: str  # of the loaded splits' content; each run records its own
    classes: list[str]
    num_classes: int
    image_shape: list[int]  # height, width, channels
    channels: int
    sizes: SplitSizes
    class_counts: ClassCounts
    imbalance_ratio: float
    channel_mean: list[float]  # after scaling to [0, 1], rounded to 4 decimals
    channel_std: list[float]
    pixel_min: int
    pixel_max: int
    dtype: str
    original_sizes: list[list[int]]  # (height, width) of images before resizing, up to 5,000
    balance: Balance
    channel_stats: list[ChannelStats]
    locality_correlation: dict[str, float]  # distance in pixels → correlation
    # An image folder's own facts (data/facts.py, data/duplicates.py); null for a built-in set.
    layout: LayoutFacts | None
    problems: ProblemList | None
    resize: ResizeFacts | None
    channel_choice: ChannelFacts | None
    image_sizes: SizeFacts | None
    duplicates: DuplicateFacts | None


# ------------------------------------------------------------------------------------------- EDA


def describe(splits: Splits) -> DatasetSummary:
    """EDA statistics (report.json's `dataset`), balance and locality included."""
    n = splits.num_classes

    def counts(y: np.ndarray) -> list[int]:
        return np.bincount(y, minlength=n).astype(int).tolist()

    scaled = splits.x_train.astype(np.float64) / 255.0
    axes = (0, 1, 2)
    train_counts = counts(splits.y_train)
    shape = [int(d) for d in splits.x_train.shape[1:]]
    folder = splits.folder
    facts = folder.facts if folder is not None else None
    return DatasetSummary(
        name=splits.name,
        display_name=DISPLAY_NAMES.get(splits.name, splits.name),
        origin=splits.origin,
        fingerprint=splits.fingerprint,
        classes=list(splits.class_names),
        num_classes=n,
        image_shape=shape,
        channels=shape[2],
        sizes=SplitSizes(train=int(len(splits.y_train)), val=int(len(splits.y_val)), test=int(len(splits.y_test))),
        class_counts=ClassCounts(train=train_counts, val=counts(splits.y_val), test=counts(splits.y_test)),
        imbalance_ratio=float(max(train_counts) / max(1, min(train_counts))),
        channel_mean=scaled.mean(axis=axes).round(4).tolist(),
        channel_std=scaled.std(axis=axes).round(4).tolist(),
        pixel_min=int(splits.x_train.min()),
        pixel_max=int(splits.x_train.max()),
        dtype=str(splits.x_train.dtype),
        original_sizes=folder.sizes[:5000].tolist() if folder is not None else [],
        balance=balance_verdict(train_counts),
        channel_stats=channel_table(splits.x_train[:5000]),
        locality_correlation=locality_correlation(splits.x_train),
        layout=facts.layout if facts else None,
        problems=facts.problems if facts else None,
        resize=facts.resize if facts else None,
        channel_choice=facts.channel_choice if facts else None,
        image_sizes=facts.image_sizes if facts else None,
        duplicates=find_duplicates({"train": splits.x_train, "val": splits.x_val, "test": splits.x_test},
                                   folder.parts) if folder is not None else None,
    )


# ------------------------------------------------------------------------------------------ EDA


def locality_correlation(x: np.ndarray, distances: tuple[int, ...] = (1, 2, 4, 8),
                         n_images: int = 2000) -> dict[str, float]:
    """Pearson correlation of pixel pairs `d` pixels apart horizontally (all channels pooled).

    High at d = 1 and falling with d: neighbouring pixels carry related information, the
    statistical fact local receptive fields exploit."""
    x = x[:n_images].astype(np.float64)
    out = {}
    for d in distances:
        if d >= x.shape[2]:
            continue
        a, b = x[:, :, :-d].reshape(-1), x[:, :, d:].reshape(-1)
        out[str(d)] = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
    return out


def balance_verdict(counts: list[int]) -> Balance:
    """Balanced up to 1.2× between the largest and the smallest class, mildly imbalanced up
    to 2×, imbalanced beyond (report/wording says what each means for accuracy)."""
    ratio = max(counts) / max(1, min(counts))
    verdict: Verdict = "balanced" if ratio <= 1.2 else "mildly imbalanced" if ratio <= 2.0 else "imbalanced"
    return Balance(ratio=float(ratio), verdict=verdict, largest=int(np.argmax(counts)),
                   smallest=int(np.argmin(counts)))


def channel_table(x: np.ndarray) -> list[ChannelStats]:
    """Per-channel statistics after the model's Rescaling(1/255)."""
    names = ["grey"] if x.shape[-1] == 1 else ["red", "green", "blue"][: x.shape[-1]]
    rows = []
    for c, name in enumerate(names):
        v = x[..., c].astype(np.float64) / 255.0
        rows.append(ChannelStats(channel=name, mean=float(v.mean()), std=float(v.std()),
                                 min=float(v.min()), max=float(v.max()), median=float(np.median(v)),
                                 zero_fraction=float((x[..., c] == 0).mean())))
    return rows
