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
from typing import Sequence

import numpy as np
from scipy import stats

from cnnreport.contract import Measured, Part
from cnnreport.results.statistics import CONFIDENCE, Summary


class McNemar(Part):
    """Two models' runs of one seed on the same test images: the images only one gets right."""

    seed: int
    n: int  # test images
    a_only: int  # images only the first model gets right
    b_only: int
    p: float  # exact two-sided binomial p over the a_only + b_only images
    diff: Measured  # (a_only − b_only) / n


class Spread(Part):
    """Where one model's run-to-run uncertainty comes from: seeds or the finite test set."""

    n_images: int
    seeds: int
    test_sd: float  # binomial sd √(p(1 − p) / n) of one accuracy on n images
    seed_sd: Measured  # sample sd of test accuracy over seeds (None with one seed)
    seed_share: Measured  # seed_sd² / (seed_sd² + test_sd²)


class FiniteTestSet(Part):
    """report.json `test_set`: the spread per model (None: no finished run) and, for the primary
    comparison, McNemar's exact test per seed."""

    n_images: int
    models: dict[str, Spread | None]
    mcnemar: list[McNemar]


def correct_count(accuracy: float, n: int) -> int:
    """Images right out of n, from an accuracy computed as a mean over those n images."""
    return int(round(accuracy * n))


def binomial_interval(accuracy: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a proportion of n images (scipy binomtest)."""
    ci = stats.binomtest(correct_count(accuracy, n), n).proportion_ci(confidence, method="exact")
    return float(ci.low), float(ci.high)


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray, seed: int = 0) -> McNemar:
    """Exact McNemar test of two classifiers on the same images: of the images exactly one gets
    right (a only: n_a_only, b only: n_b_only), is the split 50:50? Two-sided binomial p (scipy)."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = a_only + b_only
    p = float(stats.binomtest(a_only, discordant, 0.5).pvalue) if discordant else 1.0
    return McNemar(seed=seed, n=int(len(a)), a_only=a_only, b_only=b_only, p=p,
                   diff=(a_only - b_only) / len(a) if len(a) else None)


def primary_mcnemar(seeds: Sequence[int], correct_a: dict[int, np.ndarray],
                    correct_b: dict[int, np.ndarray]) -> list[McNemar]:
    """McNemar per seed both models ran (per-image correctness by seed)."""
    return [mcnemar(correct_a[s], correct_b[s], s) for s in seeds if s in correct_a and s in correct_b]


def spread(accuracy: Summary, n_images: int) -> Spread | None:
    """How much of one run's uncertainty comes from seeds and how much from the test set.

    seed_sd: the sample sd of test accuracy over seeds (same images, different networks);
    test_sd: the binomial sd √(p(1 − p) / n) of one accuracy measured on n images. As an estimate
    of a freshly trained network's accuracy on new images, one run is off by both: the variance
    shares are seed_sd² and test_sd² over their sum."""
    mean, sd = accuracy.mean, accuracy.std
    if mean is None or not n_images:
        return None
    test_sd = math.sqrt(mean * (1 - mean) / n_images)
    share = sd ** 2 / (sd ** 2 + test_sd ** 2) if sd is not None and (sd ** 2 + test_sd ** 2) > 0 else None
    return Spread(n_images=n_images, seeds=accuracy.n, test_sd=test_sd, seed_sd=sd, seed_share=share)
