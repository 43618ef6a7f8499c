"""Comparisons between models, in two declared families, and the sentences that state them.

Families (report.json `comparisons[].family`):
- "primary": the reference CNN against the baseline — the lab's question, stated before any run
  ("does the CNN beat the fully connected network?"). It is tested alone at α = 0.05: it is not
  one of several looks at the same question, so no correction applies.
- "experiment": each variant against the reference — one question about the factor, asked once
  per level. Holm's step-down correction controls the family-wise error rate within it.

Each comparison's verdict is read from its own family: "higher" / "lower" when the test rejects
at the level Holm's procedure applied to it, "equivalent within ±m pts" only when the equivalence
test (TOST, margin from the study) rejects both one-sided hypotheses, and otherwise "no
significant difference at n seeds" — never "tie", which would claim an equality the test cannot
show. The interval printed beside a verdict is the one the verdict used (statistics.holm_levels),
and every comparison that is not significant says what the seeds could have detected (power.py).
"""

from __future__ import annotations

from typing import Any

from cnnreport.formatting import fmt_p, fmt_pm, pts_value
from cnnreport.results.power import comparison_power
from cnnreport.results.statistics import ALPHA, compare, holm, holm_levels, interval, tost

METRIC = "test_accuracy"
DEFAULT_MARGIN = 0.01  # ±1 pt of test accuracy: the study's experiment.equivalence_margin default
FAMILIES = {"cnn_vs_baseline": "primary", "variant_vs_reference": "experiment"}


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


def build_comparisons(models: list[dict[str, Any]], alpha: float = ALPHA,
                      margin: float = DEFAULT_MARGIN) -> list[dict[str, Any]]:
    """report.json `comparisons`: one entry per pair, judged within its family."""
    out = []
    for a, b, kind in comparison_pairs(models):
        xa, xb = _by_seed(a), _by_seed(b)
        c = compare(xa, xb)
        c.update(a=a["name"], b=b["name"], kind=kind, family=FAMILIES[kind], metric=METRIC, alpha=alpha)
        c["_tost_p"] = _tost(c, xa, xb, margin)
        out.append(c)
    for family in ("primary", "experiment"):
        judge_family([c for c in out if c["family"] == family], alpha, margin)
    for c in out:
        c["sentence"] = sentence(c)
    return out


def _tost(c: dict[str, Any], xa: dict[int, float], xb: dict[int, float], margin: float) -> float | None:
    if c["test"] == "none":
        return None
    paired_runs = c["test"] == "paired t"
    seeds_a, seeds_b = sorted(xa), sorted(xb)
    return tost([xa[s] for s in seeds_a], [xb[s] for s in seeds_b], margin, paired_runs)


def judge_family(family: list[dict[str, Any]], alpha: float, margin: float) -> None:
    """Holm within the family, for the difference test and for the equivalence test; each
    comparison gets its verdict, the interval that verdict used, and its power."""
    p = [c["p"] for c in family]
    tost_p = [c.pop("_tost_p") for c in family]
    tested = sum(1 for x in p if x is not None)
    for c, p_adj, level, q, q_adj, q_level in zip(family, holm(p), holm_levels(p, alpha), tost_p,
                                                  holm(tost_p), holm_levels(tost_p, alpha)):
        c.update(family_size=tested, p_holm=p_adj, level=level,
                 significant=None if p_adj is None else bool(p_adj < alpha))
        c["equivalence"] = _equivalence(c, margin, q, q_adj, q_level, alpha)
        c.update(_verdict(c))
        c["power"] = comparison_power(c, level) if c["significant"] is False else None


def _equivalence(c: dict[str, Any], margin: float, p: float | None, p_adj: float | None,
                 level: float | None, alpha: float) -> dict[str, Any]:
    out = {"margin": margin, "test": "TOST", "p": p, "p_holm": p_adj, "level": level,
           "ci_low": None, "ci_high": None, "confidence": None, "equivalent": None}
    if p is None or level is None:
        return out
    # TOST at level α' ⇔ the 1 − 2α' interval inside (−margin, +margin).
    low, high = interval(c["diff"], c["se"], c["df"], 1 - 2 * level)
    out.update(ci_low=low, ci_high=high, confidence=1 - 2 * level, equivalent=bool(p_adj < alpha))
    return out


def _verdict(c: dict[str, Any]) -> dict[str, Any]:
    """The verdict word and the interval it rests on (report.json `verdict`, `verdict_ci_*`)."""
    none = {"verdict": "no test", "verdict_text": "no test", "verdict_ci_low": None, "verdict_ci_high": None, "verdict_confidence": None,
            "verdict_interval": None}
    if c["significant"] is None:
        return none
    n = min(c["n_a"], c["n_b"])
    eq = c["equivalence"]
    if not c["significant"] and eq["equivalent"]:
        return {"verdict": "equivalent", "verdict_text": f"equivalent within ±{pts_value(eq['margin'], False)} pts",
                "verdict_ci_low": eq["ci_low"], "verdict_ci_high": eq["ci_high"],
                "verdict_confidence": eq["confidence"], "verdict_interval": "equivalence (TOST)"}
    low, high = interval(c["diff"], c["se"], c["df"], 1 - c["level"])
    if c["significant"]:
        word = "higher" if c["diff"] > 0 else "lower"
        text = f"significantly {word}"
    else:
        word, text = "no significant difference", f"no significant difference at {n} seeds"
    return {"verdict": word, "verdict_text": text, "verdict_ci_low": low, "verdict_ci_high": high,
            "verdict_confidence": 1 - c["level"],
            "verdict_interval": "difference" if c["family_size"] == 1 else "difference (Holm step level)"}


# ------------------------------------------------------------------------------------- wording


def confidence_label(confidence: float) -> str:
    """0.95 → '95 %', 0.98333 → '98.3 %', 0.9 → '90 %'."""
    return f"{100 * confidence:.1f}".rstrip("0").rstrip(".") + " %"


def _label(name: str, kind: str, side: str) -> str:
    short = name.removeprefix("cnn · ")
    if kind == "cnn_vs_baseline":
        return f"the reference CNN ({short})" if side == "a" else "the MLP baseline"
    return short + (" (the reference)" if side == "b" else "")


def _pts_range(low: float, high: float) -> str:
    return f"[{pts_value(low)}, {pts_value(high)}]"


def seeds_phrase(power: dict[str, Any] | None, diff: float) -> str:
    """What the seeds could detect, in words (None: no power computed)."""
    if not power:
        return ""
    text = (f"with {power['seeds']} seeds the test detects a difference of "
            f"{pts_value(power['detectable_diff'], False)} pts with {round(100 * power['target'])} % power")
    if not diff:
        return text + "; the observed difference is zero, which no number of seeds would detect"
    need = power["seeds_needed"]
    size = f"{pts_value(abs(diff), False)} pts"
    if need is None:
        return text + f"; the observed {size} would need more than {power['max_seeds']:,} seeds"
    return text + f"; the observed {size} would need {need} seeds per model (if the spread stays as measured)"


def sentence(c: dict[str, Any]) -> str:
    """One finding in words, generated from the numbers of one comparison: the direction from
    the sign, the verdict from the family's test, the interval the verdict used."""
    a, b = _label(c["a"], c["kind"], "a"), _label(c["b"], c["kind"], "b")
    if c["mean_a"] is None or c["mean_b"] is None:
        return f"{a[0].upper() + a[1:]} or {b} has no finished run: nothing to compare."
    head = (f"{a[0].upper() + a[1:]} reached {fmt_pm({'mean': c['mean_a'], 'std': c['std_a']})} against "
            f"{fmt_pm({'mean': c['mean_b'], 'std': c['std_b']})} for {b}: {pts_value(c['diff'])} pts")
    if c["test"] == "none":
        if c["n_a"] < 2 or c["n_b"] < 2:
            return (f"{head}; not enough seeds for a test ({c['n_a']} and {c['n_b']} runs, at least "
                    f"2 per model needed), so no difference is claimed.")
        return (f"{head}; every run gave the same value, so there is no spread to test against and "
                f"no difference is claimed.")
    holm_note = c["family_size"] > 1
    ci = f"{confidence_label(c['verdict_confidence'])} CI {_pts_range(c['verdict_ci_low'], c['verdict_ci_high'])}"
    if c["verdict"] == "equivalent":
        ci += f" (TOST, inside ±{pts_value(c['equivalence']['margin'], False)} pts)"
    elif holm_note:
        ci += f" (Holm, {c['family_size']} comparisons)"
    p = c["equivalence"]["p_holm"] if c["verdict"] == "equivalent" else c["p_holm"]
    stat = f"{'Holm-adjusted ' if holm_note else ''}{fmt_p(p)} ({c['test']}" + \
        (", equivalence" if c["verdict"] == "equivalent" else "") + ")"
    if c["verdict"] in ("higher", "lower"):
        return f"{head}, {ci}, {stat}: {a} scores {c['verdict']}."
    if c["verdict"] == "equivalent":
        return f"{head}, {ci}, {stat}: {c['verdict_text']}."
    text = f"{head}, {ci}, {stat}: {c['verdict_text']}"
    if c["equivalence"]["p"] is not None:
        text += (f", and not shown equivalent within ±{pts_value(c['equivalence']['margin'], False)} pts "
                 f"(TOST {fmt_p(c['equivalence']['p_holm'])})")
    phrase = seeds_phrase(c.get("power"), c["diff"])
    return text + (f". {phrase[0].upper() + phrase[1:]}." if phrase else ".")


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
            mark = {"higher": "*", "lower": "*", "equivalent": "≈", "no test": "n/a"}.get(c.get("verdict", ""), "ns")
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
