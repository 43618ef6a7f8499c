"""Checks of the baseline and the CNN: models present, architecture reported, above chance,
loss trends, the CNN against the baseline, design decisions justified.
"""

from __future__ import annotations

import math

from pydantic import Field

from cnnreport.rubric.checks.registry import (
    REBUILD,
    Outcome,
    Params,
    _chance,
    _label,
    _list,
    _pm,
    _text_origin,
    check,
    fail,
    ok,
)
from cnnreport.rubric.submission import Submission


class RoleParams(Params):
    role: str = Field(pattern="^(baseline|reference)$")


@check("model", RoleParams)
def model_present(sub: Submission, p: RoleParams) -> Outcome:
    """The baseline (or reference CNN) was trained: finished seeds, parameters, a layer table."""
    m = sub.model(p.role)
    what = "fully connected baseline" if p.role == "baseline" else "reference CNN"
    if m is None:
        return fail(f"no {what} in report.json", f"the study file needs a [{'baseline' if p.role == 'baseline' else 'cnn'}] table")
    n = (m.get("test_accuracy") or {}).get("n") or 0
    if n == 0:
        return fail(f"{_label(m)}: no finished run", "train it: `cnnreport build`")
    if not m.get("params") or not m.get("layers"):
        return fail(f"{_label(m)}: no parameter count or layer table", REBUILD)
    return ok(f"{_label(m)}: {m['params']:,} parameters, {len(m['layers'])} layers, {n} finished seed{'s' if n != 1 else ''}")


@check("architecture", RoleParams)
def architecture(sub: Submission, p: RoleParams) -> Outcome:
    """Layer table with output shapes and parameters; FLOPs; receptive field for a CNN."""
    m = sub.model(p.role)
    if m is None or not m.get("layers"):
        return fail(f"no layer table for the {p.role} model", REBUILD)
    gaps = [str(layer.get("name")) for layer in m["layers"]
            if layer.get("output_shape") is None or layer.get("params") is None]
    if gaps:
        return fail(f"{_label(m)}: layers without output shape or parameters: {_list(gaps)}", REBUILD)
    if m.get("flops") is None:
        return fail(f"{_label(m)}: FLOPs not reported", REBUILD)
    text = f"{_label(m)}: {len(m['layers'])} layers with output shapes and parameters; {m['flops']:,} FLOPs per image"
    if m.get("kind") == "cnn":
        if not m.get("receptive_field"):
            return fail(f"{_label(m)}: receptive field not reported", REBUILD)
        text += f"; receptive field {m['receptive_field']} px"
    return ok(text)


class ChanceParams(Params):
    role: str = Field(default="baseline", pattern="^(baseline|reference)$")


@check("above_chance", ChanceParams)
def above_chance(sub: Submission, p: ChanceParams) -> Outcome:
    """Mean test accuracy above chance (1 / classes)."""
    m = sub.model(p.role)
    acc = (m or {}).get("test_accuracy") or {}
    if acc.get("mean") is None:
        return fail(f"no test accuracy for the {p.role} model", "train it: `cnnreport build`")
    chance = _chance(sub)
    ci = f"; 95 % CI low {acc['ci_low']:.3f}" if acc.get("ci_low") is not None else ""
    text = f"{_label(m)} {_pm(acc)} vs chance {chance:.3f} ({100 * (acc['mean'] - chance):+.1f} pts{ci})"
    if acc["mean"] > chance:
        return ok(text)
    return fail(text, "the baseline learns nothing: check the learning rate and the labels")


class LossParams(Params):
    role: str = Field(default="baseline", pattern="^(baseline|reference)$")
    tolerance: float = Field(default=0.02, ge=0, le=1)  # relative rise still read as a plateau


@check("loss_trend", LossParams)
def loss_trend(sub: Submission, p: LossParams) -> Outcome:
    """Training loss decreases or plateaus (mean over seeds, first vs last epoch)."""
    m = sub.model(p.role)
    curve = (((m or {}).get("curves") or {}).get("loss") or {}).get("mean") or []
    if len(curve) < 2:
        return fail(f"{p.role}: {len(curve)} epoch(s) of training loss — no trend to read",
                    "train for at least 2 epochs (training.epochs)")
    first, last = curve[0], curve[-1]
    if any(v is None or not math.isfinite(v) for v in curve):
        return fail(f"{_label(m)}: training loss is not finite", "lower the learning rate")
    val = (((m.get("curves") or {}).get("val_loss") or {}).get("mean") or [])
    val_text = f"; validation loss {val[0]:.3f} → {val[-1]:.3f}" if len(val) >= 2 else ""
    text = f"{_label(m)}: training loss {first:.3f} → {last:.3f} over {len(curve)} epochs{val_text}"
    if last <= first * (1 + p.tolerance):
        return ok(text + (" (decreasing)" if last < first else " (plateau)"))
    return fail(text + " (rising)", "lower the learning rate or check the data pipeline")


@check("cnn_above_baseline")
def cnn_above_baseline(sub: Submission, p: Params) -> Outcome:
    """Reference CNN's mean test accuracy above the baseline's (or the gap explained, for a reader)."""
    ref, base = sub.model("reference"), sub.model("baseline")
    if not ref or not base or (ref.get("test_accuracy") or {}).get("mean") is None \
            or (base.get("test_accuracy") or {}).get("mean") is None:
        return fail("reference CNN or baseline has no test accuracy", "train both: `cnnreport build`")
    diff = ref["test_accuracy"]["mean"] - base["test_accuracy"]["mean"]
    text = f"{_label(ref)} {_pm(ref['test_accuracy'])} vs {_label(base)} {_pm(base['test_accuracy'])} ({100 * diff:+.1f} pts)"
    comp = next((c for c in sub.get("comparisons") or [] if isinstance(c, dict)
                 and c.get("kind") == "cnn_vs_baseline"), None)
    if comp and comp.get("p_holm", comp.get("welch_p")) is not None:
        text += f"; {comp.get('test', 'test')} p = {comp.get('p_holm', comp.get('welch_p')):.3g}"
    if diff > 0:
        return ok(text)
    return fail(text + ": the CNN is not above the baseline",
                "train longer or on more data; or explain the gap in text.interpretation (a human reader judges it)")


class GeneratedParams(Params):
    accept_generated: bool = False  # text cnnreport wrote for the author earns nothing by default


@check("justification", GeneratedParams)
def justification(sub: Submission, p: GeneratedParams) -> Outcome:
    """Share of the CNN design decisions the author justified (partial credit)."""
    rows = [r for r in sub.get("rationale") or [] if isinstance(r, dict)]
    if not rows:
        return fail("no design-decision table in report.json", REBUILD)
    origin = _text_origin(sub, "rationale", "x" if any(not r.get("missing") for r in rows) else "")
    if origin == "generated" and not p.accept_generated:
        return fail("the design justifications were generated by cnnreport, not written by the author",
                    "write text.rationale.<decision> in the study file")
    missing = [str(r.get("decision")) for r in rows if r.get("missing") or not str(r.get("justification", "")).strip()]
    done = len(rows) - len(missing)
    text = f"{done} of {len(rows)} design decisions justified"
    if not missing:
        return ok(text)
    return Outcome(done / len(rows), f"{text}; missing: {_list(missing, 10)}",
                   "write text.rationale.<decision> in the study file for each missing decision")
