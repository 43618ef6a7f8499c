"""Generated sentences choose their words from the sign and size of their numbers, and claim
only what the primary comparison's test shows."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from cnnreport.report.wording import paragraphs
from cnnreport.report.wording.words import by_points
from cnnreport.results.baseline import BaselineFacts
from cnnreport.results.findings import build_comparisons
from cnnreport.results.probes import NOT_MEASURED, Permutation, PermutedModel, Probes, ShiftedModel, Translation
from cnnreport.results.statistics import Summary, summarize
from cnnreport.results.testset import FiniteTestSet, McNemar, Spread
from cnnreport.study.summary import ProfileNote, ProfileSettings
from helpers import model_summary

# Phrases a sentence must never print: a verb of direction followed by a negative number, and
# the equality claim no test made.
CONTRADICTIONS = re.compile(r"(exceeds|beats|above|below|by|lowers|raises)[^.;:]{0,40}\bby [−-]\d|"
                            r"\bby [−-]\d|\btie\b")


def _mean(x: float) -> Summary:
    return Summary(n=1, values=[x], mean=x, std=None, ci_low=None, ci_high=None, min=x, max=x)


def _facts(gap: float) -> BaselineFacts:
    return BaselineFacts(generalisation_gap=_mean(gap), plateau_epoch=4, epochs=5, params_per_point=3184.0,
                         reference_params_per_point=5546.0, first_layer_params=200960, first_layer_share=0.855,
                         inputs=784)


@pytest.mark.parametrize("gap, expected", [
    (-0.0007, "its final training accuracy is 0.07 pts below its validation accuracy"),
    (-0.012, "its final training accuracy is 1.2 pts below its validation accuracy"),
    (0.0, "its final training accuracy is equal to its validation accuracy"),
    (0.034, "its final training accuracy exceeds its validation accuracy by 3.4 pts"),
])
def test_baseline_gap_is_worded_by_its_sign(gap: float, expected: str) -> None:
    text = paragraphs.baseline_limits(_facts(gap))
    assert expected in text
    assert not CONTRADICTIONS.search(text), text
    assert ("no generalisation gap" in text) is (gap <= 0)


def test_by_points_words() -> None:
    assert by_points(0.022, "above", "below", "level with") == "2.2 pts above"
    assert by_points(-0.001, "above", "below", "level with") == "0.1 pts below"
    assert by_points(0.00001, "above", "below", "level with") == "level with"


def _model(name: str, role: str, values: list[float], params: int = 1000):
    return model_summary(name, role, values, params=params)


def _probes(translation: dict[str, ShiftedModel] | None = None,
            permutation: dict[str, PermutedModel] | None = None) -> Probes:
    return Probes(translation=Translation(shifts=[0, 4], n_images=100, models=translation or {}),
                  equivariance=NOT_MEASURED, permutation=Permutation(models=permutation or {}, seed=7, run_ids=[]),
                  weight_sharing=[])


NO_PROBES = _probes()
EDA = SimpleNamespace(image_shape=[28, 28, 1])


def _q1(base_values: list[float], ref_values: list[float]):
    base, ref = _model("mlp", "baseline", base_values), _model("cnn · kernel 3×3", "reference", ref_values, 2000)
    primary = build_comparisons([base, ref])[0]
    return paragraphs.q1(base, ref, NO_PROBES, primary), primary


def test_q1_beats_only_when_the_primary_comparison_is_significantly_higher() -> None:
    text, c = _q1([0.8370, 0.8382, 0.8373], [0.8631, 0.8626, 0.8524])
    assert c.verdict == "higher"
    assert text.startswith("The reference CNN beats the baseline by 2.2 pts of test accuracy")
    assert "95 % CI [+0.7, +3.7] pts" in text and "2.00× the baseline's parameters" in text

    text, c = _q1([0.850, 0.860, 0.840], [0.862, 0.848, 0.865])  # higher on average, noisy
    assert c.verdict == "no significant difference"
    assert "beats" not in text and "not significant at 3 seeds" in text
    assert "pts above the baseline on average" in text and "80 % power" in text

    text, c = _q1([0.870, 0.872, 0.871], [0.850, 0.851, 0.849])  # the CNN significantly below
    assert c.verdict == "lower"
    assert "does not beat the baseline here: it is 2.1 pts below it" in text
    assert not CONTRADICTIONS.search(text), text


def test_translation_and_permutation_verbs_follow_the_sign() -> None:
    from cnnreport.train.models import Layer

    base, ref = _model("mlp", "baseline", [0.80, 0.81]), _model("cnn · kernel 3×3", "reference", [0.85, 0.86])
    ref.layers = [Layer(name="conv1", type="Conv2D", output_shape=[28, 28, 8], params=80, kernel="3×3", stride="1",
                        padding="same", receptive_field=3, flops=0, activation_bytes=0)]

    def spread(mean: float) -> Summary:
        return summarize([mean - 0.01, mean + 0.01])

    def shift(first: float, last: float) -> ShiftedModel:
        return ShiftedModel(per_seed=[[first, last], [first, last]], per_shift=[spread(first), spread(last)],
                            drop=summarize([first - last, first - last]))

    def perm(normal: float, permuted: float) -> PermutedModel:
        return PermutedModel(role="", normal=spread(normal), permuted=spread(permuted),
                             change=summarize([permuted - normal, permuted - normal]))

    probes = _probes({"mlp": shift(0.80, 0.82), "cnn · kernel 3×3": shift(0.85, 0.60)},
                     {"mlp": perm(0.80, 0.80), "cnn · kernel 3×3": perm(0.85, 0.86)})
    out = paragraphs.probe_paragraphs(EDA, base, ref, probes)
    assert "raises the baseline from" in out["translation"] and "lowers the reference CNN from" in out["translation"]
    assert "Neither model is invariant" not in out["translation"]  # one of them did not drop
    assert "its advantage does not shrink here" in out["permutation"] and "shrinks." not in out["permutation"]


def test_quick_profile_note_says_what_the_full_profile_adds() -> None:
    note = paragraphs.profile_paragraph(ProfileNote(
        quick=ProfileSettings(train_subset=10000, val_subset=2000, test_subset=None, epochs=5, seeds=3),
        full=ProfileSettings(train_subset=None, val_subset=None, test_subset=None, epochs=15, seeds=5),
        train_images=10000, command="cnnreport build --study fashion-mnist --profile full"))
    assert note.startswith("A quick run: a training subset of 10,000 images, 5 epochs, 3 seeds")
    assert "The full profile uses the whole training split, 15 epochs and 5 seeds (" in note
    assert "cnnreport build --study fashion-mnist --profile full" in note
    assert paragraphs.profile_paragraph(None) is None


def test_test_set_paragraph_splits_the_spread_and_reports_mcnemar() -> None:
    base = _model("mlp", "baseline", [0.837, 0.838, 0.839])
    ref = _model("cnn · kernel 3×3", "reference", [0.857, 0.862, 0.861])
    for m in (base, ref):
        for r in m.per_seed:
            r.test_ci_low, r.test_ci_high = r.test_accuracy - 0.007, r.test_accuracy + 0.007
    test_set = FiniteTestSet(
        n_images=10000,
        models={"mlp": Spread(n_images=10000, seeds=3, seed_sd=0.001, test_sd=0.0037, seed_share=0.068),
                "cnn · kernel 3×3": Spread(n_images=10000, seeds=3, seed_sd=0.0025, test_sd=0.0035, seed_share=0.34)},
        mcnemar=[McNemar(seed=0, n=10000, a_only=576, b_only=372, p=3.6e-11, diff=0.0204),
                 McNemar(seed=1, n=10000, a_only=300, b_only=310, p=0.72, diff=-0.001)])
    text = paragraphs.test_set_paragraph(base, ref, test_set)
    assert "same 10,000 test images" in text and "about ±0.7 pts" in text
    assert "for the reference CNN the seed-to-seed standard deviation is 0.25 pts against 0.35 pts" in text
    assert "seeds make 34 % of the variance" in text
    assert "more of them right in 1 of 2 seeds, with p < 0.05 in 1" in text
    assert "seed 0: 576 against 372, p < 0.001" in text


# ----------------------------------------------------------- author sentences the numbers contradict

from cnnreport.rubric.checks.interpretation import contradictions as check_contradictions  # noqa: E402


def _report(text: str, gap: float = -0.001, verdict: str = "higher", diff_5: float = 0.003):
    models = [model_summary("mlp", "baseline", generalisation_gap=_mean(gap)),
              model_summary("cnn · kernel 3×3", "reference", generalisation_gap=_mean(0.01)),
              model_summary("cnn · kernel 5×5", "variant", generalisation_gap=_mean(0.01))]
    comps = [SimpleNamespace(a="cnn · kernel 3×3", b="mlp", kind="cnn_vs_baseline", diff=0.022, verdict=verdict,
                             n_a=3, n_b=3, equivalence=SimpleNamespace(margin=0.01)),
             SimpleNamespace(a="cnn · kernel 5×5", b="cnn · kernel 3×3", kind="variant_vs_reference", diff=diff_5,
                             verdict="no significant difference", n_a=3, n_b=3)]
    return SimpleNamespace(models=models, comparisons=comps, rationale=[],
                           text=SimpleNamespace(dataset="", preprocessing="", interpretation=text))


def contradictions(report) -> list[dict[str, str]]:
    return check_contradictions(report, report.models[0], report.models[1], report.comparisons[0])


ISSUE_SENTENCE = ("The MLP has to learn each pixel's role separately, and its generalisation gap shows it "
                  "memorising rather than generalising.")


def test_check_lists_memorising_claimed_with_a_gap_at_or_below_zero() -> None:
    found = contradictions(_report(ISSUE_SENTENCE, gap=-0.001))
    assert [f["sentence"] for f in found] == [ISSUE_SENTENCE]
    assert "mlp's generalisation gap is −0.1 pts" in found[0]["why"] and found[0]["field"] == "interpretation"
    assert contradictions(_report(ISSUE_SENTENCE, gap=0.03)) == []  # a positive gap: the claim stands
    # Mentions that claim nothing: prevention, hedges, negation.
    for text in ("Weight sharing limits over-fitting.", "A positive gap would show over-fitting.",
                 "The MLP does not memorise here."):
        assert contradictions(_report(text, gap=-0.001)) == [], text


def test_check_lists_winning_without_a_significant_primary_comparison() -> None:
    text = "Why convolution wins. The CNN outperforms the MLP on every seed."
    assert contradictions(_report(text, verdict="higher")) == []
    found = contradictions(_report(text, verdict="no significant difference"))
    assert [f["sentence"] for f in found] == ["Why convolution wins.", "The CNN outperforms the MLP on every seed."]
    assert "verdict: no significant difference at 3 seeds" in found[0]["why"]
    assert contradictions(_report("Whether the CNN wins is for section 4 to say.",
                                  verdict="no significant difference")) == []


def test_check_lists_higher_or_lower_against_the_sign_of_a_difference() -> None:
    wrong = ["Kernel 5×5 reaches lower accuracy than 3×3.", "The 3×3 reference is higher than 5×5."]
    right = ["Kernel 5×5 reaches higher accuracy than 3×3.", "The 3×3 reference is lower than 5×5.",
             "Kernel 5×5 has higher FLOPs than 3×3."]  # not about accuracy
    for s in wrong:
        assert [f["sentence"] for f in contradictions(_report(s, diff_5=0.003))] == [s]
        assert contradictions(_report(s, diff_5=-0.003)) == []
    for s in right:
        assert contradictions(_report(s, diff_5=0.003)) == [], s


@pytest.mark.parametrize("name", ["fashion-mnist", "cifar10"])
@pytest.mark.parametrize("profile", ["quick", "full"])
def test_built_in_author_text_claims_nothing_any_outcome_contradicts(name: str, profile: str) -> None:
    """Whatever the numbers of either profile turn out to be — gaps of either sign, any primary
    verdict, differences of either sign — no sentence of the built-in studies' text is listed."""
    from cnnreport.report.context import rationale_rows
    from cnnreport.study.loading import load_study

    study = load_study(name, profile)
    for gap in (-0.01, 0.01):
        for verdict in ("higher", "no significant difference", "lower"):
            for sign in (1, -1):
                report = _report("", gap=gap, verdict=verdict, diff_5=sign * 0.003)
                report.comparisons[0].diff *= sign
                report.text, report.rationale = study.text, rationale_rows(study)
                assert contradictions(report) == [], (gap, verdict, sign)


def test_the_rubric_appendix_lists_contradictions_for_the_reader(trained_study) -> None:
    human = {i["id"]: i for i in trained_study.report()["rubric"]["human"]}
    evidence = human["interpretation.discussion"]["evidence"]
    assert "no author sentence contradicted by the numbers" in evidence and "words" in evidence
