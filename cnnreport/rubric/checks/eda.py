"""Checks of the exploratory analysis: class balance reported and drawn, the three splits; for
an image folder also what was skipped (listed), the sizes, resize policy and channels (stated),
and duplicates across the splits (looked for, and leakage into the test split removed)."""

from __future__ import annotations

from typing import Any

from cnnreport.rubric.checks.registry import (
    REBUILD,
    Outcome,
    Params,
    _figure_state,
    check,
    fail,
    ok,
)
from cnnreport.rubric.submission import Submission, squash

FOLDER_FIX = "rebuild the report with this version of cnnreport (`cnnreport render`), which states it"


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
    if not is_folder(sub):
        return Outcome(1.0 if shown else 0.0, evidence, fix)
    listed, problem_evidence, problem_fix = problems_listed(sub)
    return Outcome((1.0 if shown else 0.0) * (1.0 if listed else 0.5), f"{evidence}; {problem_evidence}",
                   "; ".join(f for f in (fix, problem_fix) if f))


def is_folder(sub: Submission) -> bool:
    """A student's own image folder: the report must also state what loading it found."""
    return sub.get("study.data.source") == "folder"


def problems_listed(sub: Submission) -> tuple[bool, str, str]:
    """(listed, evidence, fix): every file skipped, ignored or read with a note is in report.json
    and (the first of them at least) in the report's text."""
    problems = sub.get("dataset.problems")
    if not isinstance(problems, dict) or not isinstance(problems.get("files"), list):
        return False, "report.json has no dataset.problems (what loading the folder skipped)", FOLDER_FIX
    files = [p for p in problems["files"] if isinstance(p, dict)]
    if not files:
        return True, "no file skipped or ignored", ""
    html = squash(sub.html.text("data")) if sub.html is not None else ""
    missing = [str(p.get("file")) for p in files[:20] if squash(str(p.get("file", ""))) not in html]
    counts = f"{problems.get('skipped', 0)} skipped, {problems.get('ignored', 0)} ignored, {problems.get('read', 0)} read with a note"
    if missing:
        return False, f"{counts}, but the data section does not list {_plain(missing)}", FOLDER_FIX
    return True, f"{counts}, listed in the data section", ""


def folder_facts(sub: Submission, keys: list[str]) -> tuple[bool, str, str]:
    """(stated, evidence, fix) for report.json `dataset` facts of an image folder."""
    missing = [k for k in keys if not isinstance(sub.get(f"dataset.{k}"), dict)]
    if missing:
        return False, f"report.json lacks dataset.{', dataset.'.join(missing)}", FOLDER_FIX
    parts = []
    sizes, resize, channels = (sub.get(f"dataset.{k}") for k in ("image_sizes", "resize", "channel_choice"))
    if "image_sizes" in keys:
        parts.append(f"{sizes.get('distinct')} distinct sizes on disk")
    if "resize" in keys:
        parts.append(f"resize policy {resize.get('policy')!r} to {_size(resize.get('size'))}")
    if "channel_choice" in keys:
        parts.append(f"channels {channels.get('setting')!r} → {channels.get('chosen')}")
    return True, "; ".join(parts), ""


def _size(size: Any) -> str:
    return "×".join(str(v) for v in size) if isinstance(size, list) else str(size)


def _plain(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


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
    evidence = (f"{sizes['train']:,} train / {sizes['val']:,} validation (fraction {frac} of train, split seed "
                f"{seed}) / {sizes['test']:,} test images; the test set is evaluated once, after training")
    if not is_folder(sub):
        return ok(evidence)
    return _leakage(sub, evidence)


LEAKAGE_SHARE = 1 / 3  # of the splits item lost while exact copies of seen images sit in the test split


def _leakage(sub: Submission, evidence: str) -> Outcome:
    """An image folder: duplicates looked for across the splits; an exact copy of a training or
    validation image in the test split (certain leakage) costs a third of the item, near ones
    (a perceptual hash: possibly two different images) are named but cost nothing."""
    dup = sub.get("dataset.duplicates")
    if not isinstance(dup, dict) or not isinstance(dup.get("exact"), dict):
        return Outcome(1.0 - LEAKAGE_SHARE, f"{evidence}; report.json has no dataset.duplicates "
                       "(the splits were not checked for duplicates and leakage)", FOLDER_FIX)
    exact, near = int(dup.get("leakage_exact") or 0), int(dup.get("leakage_near") or 0)
    found = (f"duplicates checked ({sum(dup['exact'].values())} exact, {sum((dup.get('near') or {}).values())} "
             f"near pairs); leakage into test: {exact} exact, {near} near pairs")
    if exact:
        return Outcome(1.0 - LEAKAGE_SHARE, f"{evidence}; {found}",
                       f"remove from the test part the {dup.get('leaked_test_images')} test images that duplicate "
                       "training or validation images (listed in the report's duplicates table), then rebuild")
    return ok(f"{evidence}; {found}")
