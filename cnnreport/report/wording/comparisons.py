"""Comparisons in words: each verdict, the finding sentence, what the seeds could detect, why a
test was chosen, and the lab's primary question ("does the CNN beat the baseline?").

Words follow the numbers: the direction from the sign, the verdict from the family's test
(results/findings.py), the interval beside it the one the verdict used; "beats" only where the
primary comparison is significantly higher, never "tie".
"""

from __future__ import annotations

from cnnreport.formatting import fmt_confidence, fmt_int, fmt_p, fmt_pm, fmt_pm_pct, pts_value
from cnnreport.report.wording.words import by_points, capital
from cnnreport.results.findings import Comparison
from cnnreport.results.power import Power

# A results-table mark per verdict: * significant, ≈ equivalent, n/a no test, ns otherwise.
MARKS = {"higher": "*", "lower": "*", "equivalent": "≈", "no test": "n/a", "no significant difference": "ns"}


def verdict_text(c: Comparison) -> str:
    """The verdict as the comparisons table and the headline state it."""
    if c.verdict in ("higher", "lower"):
        return f"significantly {c.verdict}"
    if c.verdict == "equivalent":
        return f"equivalent within ±{pts_value(c.equivalence.margin, False)} pts"
    if c.verdict == "no significant difference":
        return f"no significant difference at {min(c.n_a, c.n_b)} seeds"
    return "no test"


def verdict_mark(verdict: str | None) -> str:
    return MARKS.get(verdict or "", "")


def test_choice(c: Comparison) -> str:
    """Why this comparison used the test it did, as one sentence."""
    return {
        "shared seeds": (f"Paired t-test: both models ran seeds {', '.join(map(str, c.seeds))}, and a seed "
                         "fixes the initialisation and the batch order, so per-seed differences remove that "
                         "shared variance."),
        "different seeds": ("Welch's t-test: the models do not share all seeds, so runs cannot be paired; "
                            "Welch does not assume equal variances."),
        "constant differences": "Welch's t-test: per-seed differences are constant, so the paired test is undefined.",
        "no spread": "No test: every run of both models gave the same value (no spread).",
        "too few seeds": (f"Not enough seeds: {c.n_a} and {c.n_b} finished runs; a test needs at least 2 "
                          "per model."),
    }[c.test_choice]


def test_choices(comparisons: list[Comparison]) -> list[str]:
    """Each distinct reason for a test, in the order the comparisons give them."""
    return list(dict.fromkeys(test_choice(c) for c in comparisons))


def short_name(name: str) -> str:
    """A model's name where the context says it is a CNN: 'cnn · kernel 3×3' → 'kernel 3×3'."""
    return name.removeprefix("cnn · ")


def _label(name: str, kind: str, side: str) -> str:
    short = short_name(name)
    if kind == "cnn_vs_baseline":
        return f"the reference CNN ({short})" if side == "a" else "the MLP baseline"
    return short + (" (the reference)" if side == "b" else "")


def pts_range(low: float | None, high: float | None) -> str:
    return f"[{pts_value(low)}, {pts_value(high)}]"


def seeds_phrase(power: Power | None, diff: float | None) -> str:
    """What the seeds could detect, in words ("" when no power was computed)."""
    if power is None:
        return ""
    text = (f"with {power.seeds} seeds the test detects a difference of "
            f"{pts_value(power.detectable_diff, False)} pts with {fmt_int(100 * power.target)} % power")
    if not diff:
        return text + "; the observed difference is zero, which no number of seeds would detect"
    size = f"{pts_value(abs(diff), False)} pts"
    if power.seeds_needed is None:
        return text + f"; the observed {size} would need more than {fmt_int(power.max_seeds)} seeds"
    return text + f"; the observed {size} would need {power.seeds_needed} seeds per model (if the spread stays as measured)"


def finding(c: Comparison) -> str:
    """One finding in words, generated from the numbers of one comparison."""
    a, b = _label(c.a, c.kind, "a"), _label(c.b, c.kind, "b")
    if c.mean_a is None or c.mean_b is None:
        return f"{capital(a)} or {b} has no finished run: nothing to compare."
    head = (f"{capital(a)} reached {fmt_pm({'mean': c.mean_a, 'std': c.std_a})} against "
            f"{fmt_pm({'mean': c.mean_b, 'std': c.std_b})} for {b}: {pts_value(c.diff)} pts")
    if c.test == "none":
        if c.n_a < 2 or c.n_b < 2:
            return (f"{head}; not enough seeds for a test ({c.n_a} and {c.n_b} runs, at least "
                    f"2 per model needed), so no difference is claimed.")
        return (f"{head}; every run gave the same value, so there is no spread to test against and "
                f"no difference is claimed.")
    holm_note = c.family_size > 1
    ci = f"{fmt_confidence(c.verdict_confidence)} CI {pts_range(c.verdict_ci_low, c.verdict_ci_high)}"
    if c.verdict == "equivalent":
        ci += f" (TOST, inside ±{pts_value(c.equivalence.margin, False)} pts)"
    elif holm_note:
        ci += f" (Holm, {c.family_size} comparisons)"
    p = c.equivalence.p_holm if c.verdict == "equivalent" else c.p_holm
    stat = (f"{'Holm-adjusted ' if holm_note else ''}{fmt_p(p)} ({c.test}"
            + (", equivalence" if c.verdict == "equivalent" else "") + ")")
    if c.verdict in ("higher", "lower"):
        return f"{head}, {ci}, {stat}: {a} scores {c.verdict}."
    if c.verdict == "equivalent":
        return f"{head}, {ci}, {stat}: {verdict_text(c)}."
    text = f"{head}, {ci}, {stat}: {verdict_text(c)}"
    if c.equivalence.p is not None:
        text += (f", and not shown equivalent within ±{pts_value(c.equivalence.margin, False)} pts "
                 f"(TOST {fmt_p(c.equivalence.p_holm)})")
    phrase = seeds_phrase(c.power, c.diff)
    return text + (f". {capital(phrase)}." if phrase else ".")


def primary_words(diff: float, c: Comparison | None, reference_acc: object, baseline_acc: object) -> str:
    """Does the reference CNN beat the baseline? In the words the primary comparison's test allows."""
    means = f"({fmt_pm_pct(reference_acc)} against {fmt_pm_pct(baseline_acc)})"
    if c is None or c.verdict == "no test":
        return (f"The reference CNN is {by_points(diff, 'above', 'below', 'level with')} the baseline in test "
                f"accuracy {means}; without two seeds per model no test says whether it beats it")
    test = "TOST" if c.verdict == "equivalent" else c.test
    ci = (f"{fmt_confidence(c.verdict_confidence)} CI {pts_range(c.verdict_ci_low, c.verdict_ci_high)} pts, "
          f"{fmt_p(c.p)}, {test}")
    if c.verdict == "higher":
        return f"The reference CNN beats the baseline by {pts_value(diff, False)} pts of test accuracy {means}; {ci}"
    if c.verdict == "lower":
        return (f"The reference CNN does not beat the baseline here: it is {pts_value(-diff, False)} pts below it "
                f"{means}, a significant difference ({ci})")
    if c.verdict == "equivalent":
        return f"The reference CNN does not beat the baseline here: the two are {verdict_text(c)} {means} ({ci})"
    text = (f"The reference CNN is {by_points(diff, 'above', 'below', 'level with')} the baseline on average "
            f"{means}, but the difference is not significant at {min(c.n_a, c.n_b)} seeds ({ci})")
    phrase = seeds_phrase(c.power, diff)
    return text + (f": {phrase}" if phrase else "")


def headline(reference_acc: object, baseline_acc: object, diff: float | None, primary: Comparison | None) -> str:
    """The title page's one line: the reference CNN against the baseline, with the verdict."""
    if diff is None:
        return "—"
    verdict = f": {verdict_text(primary)}" if primary is not None else ""
    return (f"reference CNN {fmt_pm(reference_acc)} vs MLP baseline {fmt_pm(baseline_acc)} test accuracy "
            f"({pts_value(diff)} pts{verdict})")
