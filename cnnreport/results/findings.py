"""Comparisons between models, and the sentences that state them.

The family: the reference CNN against the baseline, and each variant against the reference, on
test accuracy. Holm's correction runs across the whole family. A sentence never claims a
direction the numbers do not support: without a significant Holm-adjusted p-value, a difference
is called a tie.
"""

from __future__ import annotations

from typing import Any

from cnnreport.formatting import fmt_p, fmt_pm, pts_value
from cnnreport.results.statistics import ALPHA, compare, holm

METRIC = "test_accuracy"


def _by_seed(model: dict[str, Any]) -> dict[int, float]:
    return {r["seed"]: r[METRIC] for r in model.get("per_seed", []) if r.get(METRIC) is not None}


def comparison_pairs(models: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    baseline = next((m for m in models if m["role"] == "baseline"), None)
    reference = next((m for m in models if m["role"] == "reference"), None)
    pairs = []
    if baseline and reference:
        pairs.append((reference, baseline, "cnn_vs_baseline"))
    if reference:
        pairs += [(m, reference, "variant_vs_reference") for m in models if m["role"] == "variant"]
    return pairs


def build_comparisons(models: list[dict[str, Any]], alpha: float = ALPHA) -> list[dict[str, Any]]:
    """report.json `comparisons`: one entry per pair, Holm-adjusted across the family."""
    out = []
    for a, b, kind in comparison_pairs(models):
        c = compare(_by_seed(a), _by_seed(b))
        out.append({"a": a["name"], "b": b["name"], "kind": kind, "metric": METRIC, **c})
    for c, p_adj in zip(out, holm([c["p"] for c in out])):
        c["p_holm"] = p_adj
        c["significant"] = None if p_adj is None else bool(p_adj < alpha)
    for c in out:
        c["sentence"] = sentence(c)
    return out


# ------------------------------------------------------------------------------------- wording


def _label(name: str, kind: str, side: str) -> str:
    short = name.removeprefix("cnn · ")
    if kind == "cnn_vs_baseline":
        return f"the reference CNN ({short})" if side == "a" else "the MLP baseline"
    return short + (" (the reference)" if side == "b" else "")


def sentence(c: dict[str, Any]) -> str:
    """One finding in words, generated from the numbers of one comparison."""
    a, b = _label(c["a"], c["kind"], "a"), _label(c["b"], c["kind"], "b")
    if c["mean_a"] is None or c["mean_b"] is None:
        return f"{a[0].upper() + a[1:]} or {b} has no finished run: nothing to compare."
    head = (f"{a[0].upper() + a[1:]} reached {fmt_pm({'mean': c['mean_a'], 'std': c['std_a']})} against "
            f"{fmt_pm({'mean': c['mean_b'], 'std': c['std_b']})} for {b}: {pts_value(c['diff'])} pts")
    if c["test"] == "none":
        if c["n_a"] < 2 or c["n_b"] < 2:
            return (f"{head}; not enough seeds for a test ({c['n_a']} and {c['n_b']} runs, at least "
                    f"2 per model needed), so no difference is claimed.")
        return f"{head}; every run gave the same value, so there is nothing to test — a tie."
    ci = f"95 % CI [{pts_value(c['diff_ci_low'], False)}, {pts_value(c['diff_ci_high'], False)}]"
    stat = f"{fmt_p(c['p_holm'])} ({c['test']}, Holm-adjusted)"
    if c["significant"]:
        verdict = "significantly higher" if c["diff"] > 0 else "significantly lower"
        return f"{head}, {ci}, {stat} — {a} is {verdict}."
    return f"{head}, {ci}, {stat} — not a significant difference: a tie at {min(c['n_a'], c['n_b'])} seeds."


# -------------------------------------------------------------------------------- results table


def results_rows(models: list[dict[str, Any]], comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The scan-able results table: best values flagged, each model's test against its comparator."""
    accs = [m["test_accuracy"]["mean"] for m in models if m["test_accuracy"]["mean"] is not None]
    losses = [m["test_loss"]["mean"] for m in models if m["test_loss"]["mean"] is not None]
    by_a = {c["a"]: c for c in comparisons}
    rows = []
    for m in models:
        c = by_a.get(m["name"])
        mark = ""
        if c is not None:
            mark = "n/a" if c["test"] == "none" else ("*" if c["significant"] else "ns")
        rows.append({
            "name": m["name"], "role": m["role"],
            "n": m["test_accuracy"]["n"],
            "test_accuracy": m["test_accuracy"], "test_loss": m["test_loss"],
            "best_accuracy": accs != [] and m["test_accuracy"]["mean"] == max(accs),
            "best_loss": losses != [] and m["test_loss"]["mean"] == min(losses),
            "vs": c["b"] if c else None, "diff": c["diff"] if c else None,
            "p_holm": c["p_holm"] if c else None, "mark": mark,
            "params": m["params"], "flops": m["flops"], "mean_epoch_s": m["mean_epoch_s"],
            "train_time_s": m["train_time_s"]["mean"], "predict_ms_per_image": m["predict_ms_per_image"],
        })
    return rows
