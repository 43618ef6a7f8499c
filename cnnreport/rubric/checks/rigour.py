"""Checks of experimental rigour: levels of one factor, the controlled variable, seeds, finished
runs, statistics.
"""

from __future__ import annotations

from pydantic import Field

from cnnreport.results import judgements as judge
from cnnreport.rubric.checks.registry import (
    REBUILD,
    Outcome,
    Params,
    _figure_state,
    check,
    fail,
    from_judgement,
    ok,
)
from cnnreport.rubric.submission import Submission


class VariantsParams(Params):
    min_levels: int = Field(default=4, ge=1)
    figure: str = "variant_curves"


@check("variants", VariantsParams)
def variants(sub: Submission, p: VariantsParams) -> Outcome:
    """The controlled experiment compares at least N levels of one factor, drawn on one plot."""
    levels = judge.experiment_levels(sub.get("experiment") or {}, sub.models(), p.min_levels)
    if not levels.passed:
        return from_judgement(levels)
    shown, fig_evidence, fix = _figure_state(sub, p.figure)
    if not shown:
        return fail(f"{levels.evidence}; the plot of all variants is not shown: {fig_evidence}", fix)
    return ok(f"{levels.evidence}, all on one plot ({p.figure})")


@check("controlled")
def controlled(sub: Submission, p: Params) -> Outcome:
    """Only the experiment's factor differs between each variant and the reference CNN."""
    return from_judgement(judge.controlled(sub.get("experiment") or {}))


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


@check("seeds", SeedsParams)
def seeds(sub: Submission, p: SeedsParams) -> Outcome:
    """Every model reported over at least N finished seeds, as mean ± std."""
    return from_judgement(judge.repeated_runs(sub.models(), p.min_seeds))


@check("runs_complete")
def runs_complete(sub: Submission, p: Params) -> Outcome:
    """Every planned run finished, none diverged (the lab's 'runs without errors')."""
    return from_judgement(judge.runs_complete(sub.models(), list(sub.get("study.seeds") or [])))


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
