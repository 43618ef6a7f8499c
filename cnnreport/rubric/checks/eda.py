"""Checks of the exploratory analysis: class balance reported and drawn, the three splits; for
an image folder also what was skipped (listed), the sizes, resize policy and channels (stated),
and duplicates across the splits (looked for, and leakage into the test split removed)."""

from __future__ import annotations

from typing import Literal

from cnnreport.formatting import fmt_int, fmt_ratio, fmt_shape
from cnnreport.rubric.checks.registry import (
    REBUILD,
    Outcome,
    Params,
    _figure_state,
    _list,
    check,
    fail,
    ok,
)
from cnnreport.rubric.submission import Submission, squash

FOLDER_FIX = "rebuild the report with this version of cnnreport (`cnnreport render`), which states it"
FolderFact = Literal["image_sizes", "resize", "channel_choice"]


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
    if not is_folder(sub):
        return Outcome(1.0 if shown else 0.0, evidence, fix)
    listed, problem_evidence, problem_fix = problems_listed(sub)
    return Outcome((1.0 if shown else 0.0) * (1.0 if listed else 0.5), f"{evidence}; {problem_evidence}",
                   "; ".join(f for f in (fix, problem_fix) if f))


def is_folder(sub: Submission) -> bool:
    """A student's own image folder: the report must also state what loading it found."""
    return sub.report.study.data.source == "folder"


def problems_listed(sub: Submission) -> tuple[bool, str, str]:
    """(listed, evidence, fix): every file skipped, ignored or read with a note is in report.json
    and (the first of them at least) in the report's text."""
    problems = sub.report.dataset.problems
    if problems is None:
        return False, "report.json has no dataset.problems (what loading the folder skipped)", FOLDER_FIX
    if not problems.files:
        return True, "no file skipped or ignored", ""
    html = squash(sub.html.text("data")) if sub.html is not None else ""
    missing = [p.file for p in problems.files[:20] if squash(p.file) not in html]
    counts = (f"{fmt_int(problems.skipped)} skipped, {fmt_int(problems.ignored)} ignored, "
              f"{fmt_int(problems.read)} read with a note")
    if missing:
        return False, f"{counts}, but the data section does not list {_list(missing, 3)}", FOLDER_FIX
    return True, f"{counts}, listed in the data section", ""


def folder_facts(sub: Submission, keys: list[FolderFact]) -> tuple[bool, str, str]:
    """(stated, evidence, fix) for report.json `dataset` facts of an image folder."""
    dataset = sub.report.dataset
    missing = [k for k in keys if getattr(dataset, k) is None]
    if missing:
        return False, f"report.json lacks dataset.{', dataset.'.join(missing)}", FOLDER_FIX
    parts = []
    if "image_sizes" in keys and dataset.image_sizes is not None:
        parts.append(f"{fmt_int(dataset.image_sizes.distinct)} distinct sizes on disk")
    if "resize" in keys and dataset.resize is not None:
        parts.append(f"resize policy {dataset.resize.policy!r} to {fmt_shape(dataset.resize.size)}")
    if "channel_choice" in keys and dataset.channel_choice is not None:
        parts.append(f"channels {dataset.channel_choice.setting!r} → {dataset.channel_choice.chosen}")
    return True, "; ".join(parts), ""


@check("splits")
def splits(sub: Submission, p: Params) -> Outcome:
    """Train, validation (held out of train) and test splits, each non-empty."""
    sizes = sub.report.dataset.sizes
    empty = [s for s in ("train", "val", "test") if not getattr(sizes, s)]
    if empty:
        return fail(f"split(s) {', '.join(empty)} empty or missing",
                    "set data.val_fraction > 0 and keep a test set in the study file")
    data = sub.report.study.data
    evidence = (f"{fmt_int(sizes.train)} train / {fmt_int(sizes.val)} validation (fraction {data.val_fraction} of "
                f"train, split seed {data.split_seed}) / {fmt_int(sizes.test)} test images; the test set is "
                "evaluated once, after training")
    if not is_folder(sub):
        return ok(evidence)
    return _leakage(sub, evidence)


LEAKAGE_SHARE = 1 / 3  # of the splits item lost while exact copies of seen images sit in the test split


def _leakage(sub: Submission, evidence: str) -> Outcome:
    """An image folder: duplicates looked for across the splits; an exact copy of a training or
    validation image in the test split (certain leakage) costs a third of the item, near ones
    (a perceptual hash: possibly two different images) are named but cost nothing."""
    dup = sub.report.dataset.duplicates
    if dup is None:
        return Outcome(1.0 - LEAKAGE_SHARE, f"{evidence}; report.json has no dataset.duplicates "
                       "(the splits were not checked for duplicates and leakage)", FOLDER_FIX)
    exact, near = dup.leakage_exact, dup.leakage_near
    found = (f"duplicates checked ({fmt_int(sum(dup.exact.values()))} exact, {fmt_int(sum(dup.near.values()))} "
             f"near pairs); leakage into test: {fmt_int(exact)} exact, {fmt_int(near)} near pairs")
    if exact:
        return Outcome(1.0 - LEAKAGE_SHARE, f"{evidence}; {found}",
                       f"remove from the test part the {fmt_int(dup.leaked_test_images)} test images that duplicate "
                       "training or validation images (listed in the report's duplicates table), then rebuild")
    return ok(f"{evidence}; {found}")
