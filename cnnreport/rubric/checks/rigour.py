"""Checks of experimental rigour: levels of one factor, the controlled variable, seeds, finished
runs, statistics.
"""

from __future__ import annotations

from pydantic import Field

from cnnreport.report.wording import evidence
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
    levels = sub.judgements.controlled_experiment.levels
    if levels.min_levels != p.min_levels:  # the rubric asks for another number of levels than the lab
        levels = judge.experiment_levels(sub.report.experiment, sub.report.models, p.min_levels)
    if not levels.passed:
        return from_judgement(levels)
    shown, fig_evidence, fix = _figure_state(sub, p.figure)
    if not shown:
        return fail(f"{evidence(levels)}; the plot of all variants is not shown: {fig_evidence}", fix)
    return ok(f"{evidence(levels)}, all on one plot ({p.figure})")


@check("controlled")
def controlled(sub: Submission, p: Params) -> Outcome:
    """Only the experiment's factor differs between each variant and the reference CNN."""
    return from_judgement(sub.judgements.controlled_experiment.control)


@check("verification")
def verification(sub: Submission, p: Params) -> Outcome:
    """The report shows the controlled-variable verification table (what differs, params, FLOPs)."""
    rows = sub.report.experiment.verification
    if not rows:
        return fail("report.json has no experiment.verification table",
                    "rebuild with a cnnreport that verifies the controlled variable (`cnnreport render`)")
    n_cnn = len(sub.report.experiment.models)
    if len(rows) < max(1, n_cnn - 1):
        return fail(f"verification table has {len(rows)} rows for {n_cnn} CNNs", REBUILD)
    return ok(f"verification table: {len(rows)} rows (what differs, parameters, FLOPs, output shapes, receptive field)")


class SeedsParams(Params):
    min_seeds: int = Field(default=2, ge=1)


@check("seeds", SeedsParams)
def seeds(sub: Submission, p: SeedsParams) -> Outcome:
    """Every model reported over at least N finished seeds, as mean ± std."""
    asked = sub.judgements.repeated_runs
    if asked.min_seeds == p.min_seeds:
        return from_judgement(asked)
    return from_judgement(judge.repeated_runs(sub.report.models, p.min_seeds))


@check("runs_complete")
def runs_complete(sub: Submission, p: Params) -> Outcome:
    """Every planned run finished, none diverged (the lab's 'runs without errors')."""
    return from_judgement(sub.judgements.runs_complete)


@check("statistics")
def statistics(sub: Submission, p: Params) -> Outcome:
    """Significance tests: CNN vs baseline and each variant vs the reference, corrected, with effect sizes."""
    comps = sub.report.comparisons
    if not comps:
        return fail("report.json has no comparisons (significance tests)",
                    "rebuild with a cnnreport that compares models (`cnnreport render`)")
    kinds = {c.kind for c in comps}
    n_var = sum(1 for m in sub.report.models if m.role == "variant")
    vs_ref = [c for c in comps if c.kind == "variant_vs_reference"]
    gaps = []
    if "cnn_vs_baseline" not in kinds:
        gaps.append("no CNN-vs-baseline comparison")
    if len(vs_ref) < n_var:
        gaps.append(f"{len(vs_ref)} of {n_var} variants compared with the reference")
    if any(c.p_holm is None for c in comps):
        gaps.append("p-values not corrected for multiple comparisons (p_holm)")
    if any(min(c.n_a, c.n_b) < 2 for c in comps):
        gaps.append("a comparison rests on fewer than 2 seeds per model")
    if any(c.hedges_g is None for c in comps):
        gaps.append("no effect size (hedges_g)")
    tests = sorted({c.test for c in comps})
    text = f"{len(comps)} comparisons; {', '.join(tests) or 'test not named'}"
    if gaps:
        return fail(f"{text}; {'; '.join(gaps)}", "needs enough seeds (≥ 2) per model and a rebuild")
    return ok(f"{text}, Holm-corrected p-values, Hedges' g, 95 % CI of each difference")
