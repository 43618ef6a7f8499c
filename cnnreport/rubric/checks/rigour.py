"""Checks of experimental rigour: levels of one factor, the controlled variable, seeds, finished
runs, statistics.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cnnreport.rubric.checks.registry import (
    REBUILD,
    Outcome,
    Params,
    _figure_state,
    _label,
    _list,
    check,
    fail,
    ok,
)
from cnnreport.rubric.submission import Submission


class VariantsParams(Params):
    min_levels: int = Field(default=4, ge=1)
    figure: str = "variant_curves"


@check("variants", VariantsParams)
def variants(sub: Submission, p: VariantsParams) -> Outcome:
    """The controlled experiment compares at least N levels of one factor, drawn on one plot."""
    exp = sub.get("experiment") or {}
    names = set(exp.get("models") or [])
    trained = [m for m in sub.models() if m.get("name") in names and (m.get("test_accuracy") or {}).get("n")]
    labels = exp.get("level_labels") or [str(v) for v in exp.get("levels") or []]
    factor = str(exp.get("factor", "?")).replace("_", " ")
    seeds = sorted({(m.get("test_accuracy") or {}).get("n") for m in trained})
    text = f"{len(trained)} levels of {factor} ({_list(labels, 6)}) × {'/'.join(map(str, seeds)) or 0} seeds"
    if len(trained) < p.min_levels:
        return fail(text + f": fewer than {p.min_levels}",
                    f"list at least {p.min_levels} levels (the reference's included) in experiment.levels")
    shown, fig_evidence, fix = _figure_state(sub, p.figure)
    if not shown:
        return fail(f"{text}; the plot of all variants is not shown: {fig_evidence}", fix)
    return ok(f"{text}, all on one plot ({p.figure})")


# The architecture keys one experimental factor may change (depth changes the block list itself).
FACTOR_KEYS = {"kernel_size": {"kernel_size"}, "filters": {"filters"}, "stride": {"stride"},
               "pooling": {"pooling"}, "depth": {"depth"}}


def arch_differences(ref: Any, other: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, variable) for every architecture setting that differs; variable = the leaf key."""
    if isinstance(ref, dict) and isinstance(other, dict):
        out = []
        for k in sorted(set(ref) | set(other), key=str):
            out += arch_differences(ref.get(k), other.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(ref, list) and isinstance(other, list):
        if path.endswith("blocks") and len(ref) != len(other):
            # Extra blocks are what a depth change adds; compare only the blocks both have.
            return [(path, "depth")] + [d for a, b in zip(ref, other)
                                        for d in arch_differences(a, b, f"{path}[]")]
        if len(ref) != len(other):
            return [(path, path.rsplit(".", 1)[-1])]
        return [d for i, (a, b) in enumerate(zip(ref, other))
                for d in arch_differences(a, b, f"{path}[{i}]")]
    if ref != other:
        return [(path, path.rsplit(".", 1)[-1].split("[")[0])]
    return []


@check("controlled")
def controlled(sub: Submission, p: Params) -> Outcome:
    """Only the experiment's factor differs between each variant and the reference CNN."""
    exp = sub.get("experiment") or {}
    factor = str(exp.get("factor"))
    ref = sub.model("reference")
    if ref is None or not isinstance(ref.get("arch"), dict):
        return fail("no reference CNN architecture in report.json", REBUILD)
    allowed = FACTOR_KEYS.get(factor, {factor})
    variants_ = sub.models("variant")
    if not variants_:
        return fail("no variants: the experiment compares nothing", "list several levels in experiment.levels")
    bad = []
    for v in variants_:
        changed = sorted({var for _, var in arch_differences(ref["arch"], v.get("arch") or {})})
        extra = [c for c in changed if c not in allowed]
        if extra or not changed:
            what = f"also changes {', '.join(extra)}" if extra else "changes nothing"
            bad.append(f"{_label(v)} {what}")
    stated = exp.get("controlled")
    # The declared factor's own differences are the experiment; others must be accepted.
    unaccepted = [d for d in exp.get("differences") or [] if isinstance(d, dict)
                  and not d.get("declared", False) and not d.get("accepted", False)]
    if stated is False or unaccepted:
        bad += [f"{d.get('model')}: {d.get('key')} {d.get('reference')} → {d.get('variant')}" for d in unaccepted] \
            or ["report.json says the experiment is not controlled"]
    f_text = factor.replace("_", " ")
    if bad:
        return fail(f"more than {f_text} varies: {_list(bad)}",
                    f"change only {f_text} between variants (one factor in [experiment])")
    note = {True: "; report.json's own verification agrees", None: "; report.json carries no verification of its own"}.get(stated, "")
    return ok(f"only {f_text} differs between the {len(variants_)} variants and the reference "
              f"(checked on each model's architecture){note}")


@check("verification")
def verification(sub: Submission, p: Params) -> Outcome:
    """The report shows the controlled-variable verification table (what differs, params, FLOPs)."""
    rows = sub.get("experiment.verification")
    if not rows:
        return fail("report.json has no experiment.verification table",
                    "rebuild with a cnnreport that verifies the controlled variable (`cnnreport render`)")
    n_cnn = len(sub.get("experiment.models") or [])
    if len(rows) < max(1, n_cnn - 1):
        return fail(f"verification table has {len(rows)} rows for {n_cnn} CNNs", REBUILD)
    return ok(f"verification table: {len(rows)} rows (what differs, parameters, FLOPs, output shapes, receptive field)")


class SeedsParams(Params):
    min_seeds: int = Field(default=2, ge=1)
    require_std: bool = True  # mean ± std needs two seeds or more


@check("seeds", SeedsParams)
def seeds(sub: Submission, p: SeedsParams) -> Outcome:
    """Every model reported over at least N finished seeds, as mean ± std."""
    ms = sub.models()
    if not ms:
        return fail("no models in report.json", REBUILD)
    short = [f"{_label(m)} has {(m.get('test_accuracy') or {}).get('n', 0)}" for m in ms
             if ((m.get("test_accuracy") or {}).get("n") or 0) < p.min_seeds]
    no_std = [_label(m) for m in ms if p.require_std and (m.get("test_accuracy") or {}).get("std") is None]
    counts = sorted({(m.get("test_accuracy") or {}).get("n") or 0 for m in ms})
    text = f"{len(ms)} models × {'/'.join(map(str, counts))} seeds"
    if short:
        return fail(f"{text}; fewer than {p.min_seeds} seeds: {_list(short)}",
                    f"list at least {p.min_seeds} seeds in the study's `seeds`")
    if no_std:
        return fail(f"{text}; no std for {_list(no_std)}", "list at least 2 seeds in the study's `seeds`")
    return ok(f"{text}; test accuracy as mean ± std (ddof = 1) with 95 % t-intervals")


@check("runs_complete")
def runs_complete(sub: Submission, p: Params) -> Outcome:
    """Every planned run finished, none diverged (the lab's 'runs without errors')."""
    study_seeds = list(sub.get("study.seeds") or [])
    ms = sub.models()
    missing = [f"{_label(m)} seed {s}" for m in ms for s in study_seeds if s not in (m.get("seeds") or [])]
    diverged = [f"{_label(m)} seed {s}" for m in ms for s in m.get("diverged_seeds") or []]
    runs = [r for r in sub.get("runs") or [] if isinstance(r, dict) and r.get("probe", "none") == "none"]
    planned = len(ms) * len(study_seeds)
    if missing:
        return fail(f"runs missing: {_list(missing)}", "finish training: `cnnreport build`")
    if diverged:
        return fail(f"{len(diverged)} run(s) diverged (loss became NaN): {_list(diverged)}",
                    "lower the learning rate and rebuild")
    if planned == 0:
        return fail("no runs in report.json", "train the study: `cnnreport build`")
    return ok(f"{len(runs)} of {planned} runs finished, none diverged")


@check("statistics")
def statistics(sub: Submission, p: Params) -> Outcome:
    """Significance tests: CNN vs baseline and each variant vs the reference, corrected, with effect sizes."""
    comps = [c for c in sub.get("comparisons") or [] if isinstance(c, dict)]
    if not comps:
        return fail("report.json has no comparisons (significance tests)",
                    "rebuild with a cnnreport that compares models (`cnnreport render`)")
    kinds = {c.get("kind") for c in comps}
    n_var = len(sub.models("variant"))
    vs_ref = [c for c in comps if c.get("kind") == "variant_vs_reference"]
    gaps = []
    if "cnn_vs_baseline" not in kinds:
        gaps.append("no CNN-vs-baseline comparison")
    if len(vs_ref) < n_var:
        gaps.append(f"{len(vs_ref)} of {n_var} variants compared with the reference")
    if any(c.get("p_holm") is None for c in comps):
        gaps.append("p-values not corrected for multiple comparisons (p_holm)")
    if any(min(c.get("n_a") or 0, c.get("n_b") or 0) < 2 for c in comps):
        gaps.append("a comparison rests on fewer than 2 seeds per model")
    if any(c.get("hedges_g") is None for c in comps):
        gaps.append("no effect size (hedges_g)")
    tests = sorted({str(c.get("test")) for c in comps if c.get("test")})
    text = f"{len(comps)} comparisons; {', '.join(tests) or 'test not named'}"
    if gaps:
        return fail(f"{text}; {'; '.join(gaps)}", "needs enough seeds (≥ 2) per model and a rebuild")
    return ok(f"{text}, Holm-corrected p-values, Hedges' g, 95 % CI of each difference")
