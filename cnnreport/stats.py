"""Statistics over seeds, with scipy: per-model summaries (and, later, comparisons).

Spread is the sample standard deviation (ddof = 1): the seeds are a sample of the runs one
could have made. The 95 % interval of a mean is Student's t interval with n - 1 degrees of
freedom, which is exact for normal per-seed values and honest for small n (wider than ±1.96 s).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """n, mean, std (ddof=1), t-interval, min, max of per-seed values (None where undefined)."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(len(x))
    out: dict[str, Any] = {"n": n, "values": x.tolist(), "mean": None, "std": None,
                           "ci_low": None, "ci_high": None, "min": None, "max": None}
    if n == 0:
        return out
    out.update(mean=float(x.mean()), min=float(x.min()), max=float(x.max()))
    if n >= 2:
        std = float(x.std(ddof=1))
        out["std"] = std
        if std > 0:
            low, high = stats.t.interval(confidence, n - 1, loc=x.mean(), scale=std / math.sqrt(n))
        else:
            low = high = float(x.mean())
        out.update(ci_low=float(low), ci_high=float(high))
    return out
