"""Checks of the exploratory analysis: class balance reported and drawn, the three splits."""

from __future__ import annotations

from cnnreport.formatting import fmt_int, fmt_ratio
from cnnreport.rubric.checks.registry import (
    REBUILD,
    Outcome,
    Params,
    _figure_state,
    check,
    fail,
    ok,
)
from cnnreport.rubric.submission import Submission


class ClassBalanceParams(Params):
    figure: str = "class_distribution"


@check("class_balance", ClassBalanceParams)
def class_balance(sub: Submission, p: ClassBalanceParams) -> Outcome:
    """Class counts per split are reported and drawn."""
    dataset = sub.report.dataset
    counts = dataset.class_counts
    k = dataset.num_classes
    missing = [s for s in ("train", "val", "test") if len(getattr(counts, s)) != k or k == 0]
    if missing:
        return fail(f"class counts missing for {', '.join(missing)}", REBUILD)
    shown, fig_evidence, fix = _figure_state(sub, p.figure)
    train = counts.train
    evidence = (f"{k} classes; training class sizes {fmt_int(min(train))}–{fmt_int(max(train))} "
                f"({fmt_ratio(dataset.imbalance_ratio)}); {fig_evidence}")
    return Outcome(1.0 if shown else 0.0, evidence, fix)


@check("splits")
def splits(sub: Submission, p: Params) -> Outcome:
    """Train, validation (held out of train) and test splits, each non-empty."""
    sizes = sub.report.dataset.sizes
    empty = [s for s in ("train", "val", "test") if not getattr(sizes, s)]
    if empty:
        return fail(f"split(s) {', '.join(empty)} empty or missing",
                    "set data.val_fraction > 0 and keep a test set in the study file")
    data = sub.report.study.data
    return ok(f"{fmt_int(sizes.train)} train / {fmt_int(sizes.val)} validation (fraction {data.val_fraction} of "
              f"train, split seed {data.split_seed}) / {fmt_int(sizes.test)} test images; the test set is "
              "evaluated once, after training")
