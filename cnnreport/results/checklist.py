"""The lab's validation checklist, computed from the runs: each item passed or failed, with the
numbers that decided it (report.json `checklist`)."""

from __future__ import annotations

import math
from typing import Any

# A mean loss within 1 % of where it started counts as a plateau, not as a rise.
PLATEAU = 0.01


def loss_trend(curve: list[float]) -> dict[str, Any]:
    """Direction of a (mean) loss curve, and for validation loss the epoch overfitting starts:
    the loss reaches its minimum at epoch e and is higher at the end, so from e + 1 on the model
    fits the training set at the validation set's expense."""
    if not curve:
        return {"epochs": 0, "trend": "missing", "min_epoch": None, "overfit_from": None}
    if any(not math.isfinite(v) for v in curve):
        return {"epochs": len(curve), "trend": "diverged", "min_epoch": None, "overfit_from": None}
    first, last = curve[0], curve[-1]
    best = min(range(len(curve)), key=curve.__getitem__)
    if len(curve) == 1:
        trend = "single epoch"
    elif last < first * (1 - PLATEAU):
        trend = "decreasing"
    elif last <= first * (1 + PLATEAU):
        trend = "plateau"
    else:
        trend = "rising"
    rises = best < len(curve) - 1 and last > curve[best] * (1 + PLATEAU)
    return {"epochs": len(curve), "trend": trend, "min_epoch": best + 1,
            "overfit_from": best + 2 if rises else None}


def _losses_item(models: list[dict[str, Any]]) -> dict[str, Any]:
    evidence, ok = [], True
    for m in models:
        train = loss_trend(m["curves"]["loss"]["mean"])
        val = loss_trend(m["curves"]["val_loss"]["mean"])
        if m["diverged_seeds"]:
            ok = False
            evidence.append(f"{m['name']}: diverged (loss not finite) with seed(s) "
                            f"{', '.join(map(str, m['diverged_seeds']))}")
            continue
        if train["trend"] in ("rising", "diverged", "missing", "single epoch") \
                or val["trend"] in ("rising", "diverged", "missing"):
            ok = False
        curve = m["curves"]["loss"]["mean"]
        text = (f"{m['name']}: training loss {train['trend']}"
                + (f" ({curve[0]:.3f} → {curve[-1]:.3f})" if len(curve) > 1 else "")
                + f", validation loss {val['trend']}")
        if val["overfit_from"]:
            text += (f", lowest at epoch {val['min_epoch']} then rising: overfitting from epoch "
                     f"{val['overfit_from']}")
        evidence.append(text)
    return {"id": "losses", "item": "Training and validation loss decrease or plateau (no divergence; "
            "the epoch where overfitting starts is noted)", "passed": ok and bool(models),
            "evidence": "; ".join(evidence) or "no runs"}


def build_checklist(models: list[dict[str, Any]], comparisons: list[dict[str, Any]],
                    experiment: dict[str, Any], chance: float, seeds: list[int]) -> list[dict[str, Any]]:
    baseline = next((m for m in models if m["role"] == "baseline"), None)
    items = [_losses_item(models)]

    acc = baseline["test_accuracy"] if baseline else None
    if acc and acc["mean"] is not None:
        # With an interval, its lower end must clear chance; with one seed, the value itself.
        low = acc["ci_low"] if acc["ci_low"] is not None else acc["mean"]
        passed = low > chance
        evidence = (f"baseline test accuracy {acc['mean']:.3f}"
                    + (f", 95 % CI [{acc['ci_low']:.3f}, {acc['ci_high']:.3f}]" if acc["ci_low"] is not None
                       else " (1 seed, no interval)") + f"; chance is {chance:.3f} (1 / classes)")
    else:
        passed, evidence = False, "the baseline has no finished run"
    items.append({"id": "baseline_above_chance", "item": "The baseline beats chance",
                  "passed": passed, "evidence": evidence})

    c = next((c for c in comparisons if c["kind"] == "cnn_vs_baseline"), None)
    if c is None:
        passed, evidence = False, "no reference-versus-baseline comparison (a model has no runs)"
    else:
        passed = bool(c["significant"]) and (c["diff"] or 0) > 0
        evidence = c["sentence"] + ("" if passed else " The CNN is not shown to beat the baseline.")
    items.append({"id": "cnn_beats_baseline", "item": "The CNN beats the baseline (or the report "
                  "says it does not)", "passed": passed, "evidence": evidence})

    counts = {m["name"]: m["test_accuracy"]["n"] for m in models}
    fewest = min(counts.values()) if counts else 0
    items.append({"id": "seeds", "item": "At least 3 seeds per model, reported as mean ± std",
                  "passed": len(seeds) >= 3 and fewest >= 3,
                  "evidence": f"seeds {', '.join(map(str, seeds))}; fewest finished runs of a model: "
                              f"{fewest}" + ("" if fewest >= 2 else " (no std with one run)")})

    n_models = len(models)
    controlled = experiment.get("controlled")
    items.append({"id": "controlled_experiment",
                  "item": "A controlled experiment on one factor with at least 4 models",
                  "passed": bool(controlled) and n_models >= 4,
                  "evidence": f"{n_models} models ({experiment.get('n_variants', 0)} variants of "
                              f"{experiment.get('factor')}); "
                              + ("verified: each variant differs from the reference only in the factor"
                                 if controlled else
                                 "not controlled: accepted extra differences "
                                 + "; ".join(f"{d['model']}: {d['key']}"
                                             for d in experiment.get("differences", []) if d["accepted"])
                                 if controlled is False else "not verified")})
    return items
