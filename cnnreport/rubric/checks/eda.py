"""Checks of the exploratory analysis: class balance reported and drawn, the three splits."""

from __future__ import annotations

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
    counts = sub.get("dataset.class_counts") or {}
    k = int(sub.get("dataset.num_classes") or 0)
    missing = [s for s in ("train", "val", "test") if len(counts.get(s) or []) != k or k == 0]
    if missing:
        return fail(f"class counts missing for {', '.join(missing)}", REBUILD)
    shown, fig_evidence, fix = _figure_state(sub, p.figure)
    train = counts["train"]
    evidence = (f"{k} classes; training class sizes {min(train)}–{max(train)} "
                f"({sub.get('dataset.imbalance_ratio') or max(train) / max(1, min(train)):.2f}×); {fig_evidence}")
    return Outcome(1.0 if shown else 0.0, evidence, fix)


@check("splits")
def splits(sub: Submission, p: Params) -> Outcome:
    """Train, validation (held out of train) and test splits, each non-empty."""
    sizes = sub.get("dataset.sizes") or {}
    empty = [s for s in ("train", "val", "test") if not sizes.get(s)]
    if empty:
        return fail(f"split(s) {', '.join(empty)} empty or missing",
                    "set data.val_fraction > 0 and keep a test set in the study file")
    frac = sub.get("study.data.val_fraction")
    seed = sub.get("study.data.split_seed")
    return ok(f"{sizes['train']:,} train / {sizes['val']:,} validation (fraction {frac} of train, split seed "
              f"{seed}) / {sizes['test']:,} test images; the test set is evaluated once, after training")
