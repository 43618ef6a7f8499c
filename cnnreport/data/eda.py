"""EDA statistics of the splits: sizes, class counts and balance, image shape, per-channel
statistics, pixel range, and the neighbouring-pixel correlation that motivates convolution; for
an image folder also where it came from, what was skipped, sizes on disk, the resize policy, the
channels chosen, and duplicates and leakage across the splits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnreport.data.duplicates import find_duplicates
from cnnreport.data.facts import FolderData
from cnnreport.data.sources import DISPLAY_NAMES
from cnnreport.data.splits import Splits

# ------------------------------------------------------------------------------------------- EDA


def describe(splits: Splits) -> dict[str, Any]:
    """EDA statistics as plain data (report.json's `dataset`), balance and locality included."""
    eda = _basics(splits)
    eda.update(eda_extras(splits, eda))
    if splits.folder is not None:  # the built-in sets' `dataset` keeps exactly its keys
        eda.update(folder_section(splits, splits.folder))
    return eda


def folder_section(splits: Splits, folder: FolderData) -> dict[str, Any]:
    """report.json `dataset` keys of an image folder: `layout`, `problems`, `resize`,
    `channel_choice`, `image_sizes` (data/facts.py) and `duplicates` (data/duplicates.py)."""
    found = find_duplicates({"train": splits.x_train, "val": splits.x_val, "test": splits.x_test}, folder.parts)
    return {**folder.facts.model_dump(mode="json"), "duplicates": found.model_dump(mode="json")}


def _basics(splits: Splits) -> dict[str, Any]:
    n = splits.num_classes

    def counts(y: np.ndarray) -> list[int]:
        return np.bincount(y, minlength=n).astype(int).tolist()

    scaled = splits.x_train.astype(np.float64) / 255.0
    axes = (0, 1, 2)
    train_counts = counts(splits.y_train)
    return {
        "name": splits.name,
        "display_name": DISPLAY_NAMES.get(splits.name, splits.name),
        "origin": splits.origin,
        "fingerprint": splits.fingerprint,  # of the loaded splits' content; each run records its own
        "classes": splits.class_names,
        "num_classes": n,
        "image_shape": list(splits.input_shape),
        "channels": splits.input_shape[2],
        "sizes": {"train": int(len(splits.y_train)), "val": int(len(splits.y_val)),
                  "test": int(len(splits.y_test))},
        "class_counts": {"train": train_counts, "val": counts(splits.y_val), "test": counts(splits.y_test)},
        "imbalance_ratio": float(max(train_counts) / max(1, min(train_counts))),
        "channel_mean": scaled.mean(axis=axes).round(4).tolist(),
        "channel_std": scaled.std(axis=axes).round(4).tolist(),
        "pixel_min": int(splits.x_train.min()),
        "pixel_max": int(splits.x_train.max()),
        "dtype": str(splits.x_train.dtype),
        "original_sizes": splits.folder.sizes[:5000].tolist() if splits.folder is not None else [],
    }


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


def balance_verdict(counts: list[int]) -> dict[str, Any]:
    ratio = max(counts) / max(1, min(counts))
    if ratio <= 1.2:
        verdict = "balanced"
        advice = "plain accuracy is a fair summary and no class weighting is needed"
    elif ratio <= 2.0:
        verdict = "mildly imbalanced"
        advice = "accuracy is still usable; the per-class accuracy in the interpretation shows any class left behind"
    else:
        verdict = "imbalanced"
        advice = "plain accuracy flatters the majority classes: read the per-class accuracy and confusion matrix"
    return {"ratio": ratio, "verdict": verdict, "advice": advice,
            "largest": int(np.argmax(counts)), "smallest": int(np.argmin(counts))}


def channel_table(x: np.ndarray) -> list[dict[str, Any]]:
    """Per-channel statistics after the model's Rescaling(1/255)."""
    names = ["grey"] if x.shape[-1] == 1 else ["red", "green", "blue"][: x.shape[-1]]
    rows = []
    for c, name in enumerate(names):
        v = x[..., c].astype(np.float64) / 255.0
        rows.append({"channel": name, "mean": float(v.mean()), "std": float(v.std()),
                     "min": float(v.min()), "max": float(v.max()), "median": float(np.median(v)),
                     "zero_fraction": float((x[..., c] == 0).mean())})
    return rows


def eda_extras(splits: Splits, eda: dict[str, Any]) -> dict[str, Any]:
    return {"balance": balance_verdict(eda["class_counts"]["train"]),
            "channel_stats": channel_table(splits.x_train[:5000]),
            "locality_correlation": locality_correlation(splits.x_train)}
