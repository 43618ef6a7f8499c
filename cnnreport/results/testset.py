"""The finite test set: how precisely n test images measure one run's accuracy, whether two runs
differ on the same images (McNemar), and how the spread splits between seeds and test images.

Every run is scored on the same n test images. Its accuracy is then a binomial proportion: the
exact (Clopper–Pearson) 95 % interval says where the accuracy on new images from the same
distribution lies, for that one trained network. The seed-to-seed spread is another source: a
different seed trains a different network. The t-tests between models (findings.py) treat the
test set as fixed — they ask whether the seeds separate the models on these images; McNemar's
exact test asks, per seed, whether two networks' disagreements on these images lean one way
more than chance (binomial, p = ½, over the images exactly one of them gets right).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from scipy import stats

from cnnreport.results.statistics import CONFIDENCE


def correct_count(accuracy: float, n: int) -> int:
    """Images right out of n, from an accuracy computed as a mean over those n images."""
    return int(round(accuracy * n))


def binomial_interval(accuracy: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a proportion of n images (scipy binomtest)."""
    ci = stats.binomtest(correct_count(accuracy, n), n).proportion_ci(confidence, method="exact")
    return float(ci.low), float(ci.high)


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, Any]:
    """Exact McNemar test of two classifiers on the same images: of the images exactly one gets
    right (a only: n_a_only, b only: n_b_only), is the split 50:50? Two-sided binomial p (scipy)."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = a_only + b_only
    p = float(stats.binomtest(a_only, discordant, 0.5).pvalue) if discordant else 1.0
    return {"n": int(len(a)), "a_only": a_only, "b_only": b_only, "p": p,
            "diff": (a_only - b_only) / len(a) if len(a) else None}


def primary_mcnemar(seeds: Sequence[int], correct_a: dict[int, np.ndarray],
                    correct_b: dict[int, np.ndarray]) -> list[dict[str, Any]]:
    """McNemar per seed both models ran (per-image correctness by seed)."""
    return [{"seed": s, **mcnemar(correct_a[s], correct_b[s])} for s in seeds if s in correct_a and s in correct_b]


def spread(model: dict[str, Any], n_images: int) -> dict[str, Any] | None:
    """How much of one run's uncertainty comes from seeds and how much from the test set.

    seed_sd: the sample sd of test accuracy over seeds (same images, different networks);
    test_sd: the binomial sd √(p(1 − p) / n) of one accuracy measured on n images. As an estimate
    of a freshly trained network's accuracy on new images, one run is off by both: the variance
    shares are seed_sd² and test_sd² over their sum."""
    acc = model.get("test_accuracy") or {}
    mean, sd = acc.get("mean"), acc.get("std")
    if mean is None or not n_images:
        return None
    test_sd = math.sqrt(mean * (1 - mean) / n_images)
    out = {"n_images": n_images, "seeds": acc.get("n"), "test_sd": test_sd, "seed_sd": sd,
           "seed_share": None}
    if sd is not None and (sd ** 2 + test_sd ** 2) > 0:
        out["seed_share"] = sd ** 2 / (sd ** 2 + test_sd ** 2)
    return out
