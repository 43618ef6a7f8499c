"""Generated sentences choose their words from the sign and size of their numbers, and claim
only what the primary comparison's test shows."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cnnreport.report import prose
from cnnreport.results.findings import build_comparisons

# Phrases a sentence must never print: a verb of direction followed by a negative number, and
# the equality claim no test made.
CONTRADICTIONS = re.compile(r"(exceeds|beats|above|below|by|lowers|raises)[^.;:]{0,40}\bby [−-]\d|"
                            r"\bby [−-]\d|\btie\b")


def _facts(gap: float) -> dict[str, Any]:
    return {"generalisation_gap": {"mean": gap}, "plateau_epoch": 4, "epochs": 5, "params_per_point": 3184.0,
            "reference_params_per_point": 5546.0, "first_layer_params": 200960, "first_layer_share": 0.855,
            "inputs": 784}


@pytest.mark.parametrize("gap, expected", [
    (-0.0007, "its final training accuracy is 0.07 pts below its validation accuracy"),
    (-0.012, "its final training accuracy is 1.2 pts below its validation accuracy"),
    (0.0, "its final training accuracy is equal to its validation accuracy"),
    (0.034, "its final training accuracy exceeds its validation accuracy by 3.4 pts"),
])
def test_baseline_gap_is_worded_by_its_sign(gap: float, expected: str) -> None:
    text = prose.baseline_paragraphs(_facts(gap))["baseline_limits"]
    assert expected in text
    assert not CONTRADICTIONS.search(text), text
    assert ("no generalisation gap" in text) is (gap <= 0)


def test_by_points_words() -> None:
    assert prose.by_points(0.022, "above", "below", "level with") == "2.2 pts above"
    assert prose.by_points(-0.001, "above", "below", "level with") == "0.1 pts below"
    assert prose.by_points(0.00001, "above", "below", "level with") == "level with"


def _model(name: str, role: str, values: list[float], params: int = 1000) -> dict[str, Any]:
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return {"name": name, "role": role, "params": params, "receptive_field": None, "layers": [],
            "test_accuracy": {"mean": mean, "std": std, "n": len(values)},
            "per_seed": [{"seed": s, "test_accuracy": v} for s, v in enumerate(values)]}


NO_PROBES = {"permutation": {"models": {}}, "weight_sharing": [], "equivariance": {"cnn_layers": []}}
EDA = {"image_shape": [28, 28, 1]}


def _q1(base_values: list[float], ref_values: list[float]) -> tuple[str, dict[str, Any]]:
    base, ref = _model("mlp", "baseline", base_values), _model("cnn · kernel 3×3", "reference", ref_values, 2000)
    primary = build_comparisons([base, ref])[0]
    return prose.question_paragraphs(EDA, base, ref, NO_PROBES, primary)["q1"], primary


def test_q1_beats_only_when_the_primary_comparison_is_significantly_higher() -> None:
    text, c = _q1([0.8370, 0.8382, 0.8373], [0.8631, 0.8626, 0.8524])
    assert c["verdict"] == "higher"
    assert text.startswith("The reference CNN beats the baseline by 2.2 pts of test accuracy")
    assert "95 % CI [+0.7, +3.7] pts" in text and "2.00× the baseline's parameters" in text

    text, c = _q1([0.850, 0.860, 0.840], [0.862, 0.848, 0.865])  # higher on average, noisy
    assert c["verdict"] == "no significant difference"
    assert "beats" not in text and "not significant at 3 seeds" in text
    assert "pts above the baseline on average" in text and "80 % power" in text

    text, c = _q1([0.870, 0.872, 0.871], [0.850, 0.851, 0.849])  # the CNN significantly below
    assert c["verdict"] == "lower"
    assert "does not beat the baseline here: it is 2.1 pts below it" in text
    assert not CONTRADICTIONS.search(text), text


def test_translation_and_permutation_verbs_follow_the_sign() -> None:
    base, ref = _model("mlp", "baseline", [0.80, 0.81]), _model("cnn · kernel 3×3", "reference", [0.85, 0.86])
    ref["layers"] = [{"type": "Conv2D", "kernel": "3×3"}]

    def shift(first: float, last: float) -> dict[str, Any]:
        return {"per_shift": [{"mean": first, "std": 0.01}, {"mean": last, "std": 0.01}],
                "drop": {"mean": first - last}, "per_seed": [0, 1]}

    def perm(normal: float, permuted: float) -> dict[str, Any]:
        return {"normal": {"mean": normal, "std": 0.01}, "permuted": {"mean": permuted, "std": 0.01},
                "change": {"mean": permuted - normal}}

    probes = {"translation": {"shifts": [0, 4], "n_images": 100,
                              "models": {"mlp": shift(0.80, 0.82), "cnn · kernel 3×3": shift(0.85, 0.60)}},
              "equivariance": {"cnn_layers": []}, "weight_sharing": [],
              "permutation": {"models": {"mlp": perm(0.80, 0.80), "cnn · kernel 3×3": perm(0.85, 0.86)}}}
    out = prose.probe_paragraphs(EDA, base, ref, probes)
    assert "raises the baseline from" in out["translation"] and "lowers the reference CNN from" in out["translation"]
    assert "Neither model is invariant" not in out["translation"]  # one of them did not drop
    assert "its advantage does not shrink here" in out["permutation"] and "shrinks." not in out["permutation"]


def test_quick_profile_note_says_what_the_full_profile_adds() -> None:
    note = prose.profile_paragraphs({
        "quick": {"train_subset": 10000, "val_subset": 2000, "test_subset": None, "epochs": 5, "seeds": 3},
        "full": {"train_subset": None, "val_subset": None, "test_subset": None, "epochs": 15, "seeds": 5},
        "command": "cnnreport build --study fashion-mnist --profile full"})["quick_run"]
    assert note.startswith("A quick run: a training subset of 10,000 images, 5 epochs, 3 seeds")
    assert "the whole training split; 15 epochs; 5 seeds" in note
    assert "cnnreport build --study fashion-mnist --profile full" in note
    assert prose.profile_paragraphs(None) == {}


def test_test_set_paragraph_splits_the_spread_and_reports_mcnemar() -> None:
    base = _model("mlp", "baseline", [0.837, 0.838, 0.839])
    ref = _model("cnn · kernel 3×3", "reference", [0.857, 0.862, 0.861])
    for m in (base, ref):
        for r in m["per_seed"]:
            r.update(test_ci_low=r["test_accuracy"] - 0.007, test_ci_high=r["test_accuracy"] + 0.007)
    test_set = {"n_images": 10000,
                "models": {"mlp": {"seed_sd": 0.001, "test_sd": 0.0037, "seed_share": 0.068},
                           "cnn · kernel 3×3": {"seed_sd": 0.0025, "test_sd": 0.0035, "seed_share": 0.34}},
                "mcnemar": [{"seed": 0, "a_only": 576, "b_only": 372, "p": 3.6e-11},
                            {"seed": 1, "a_only": 300, "b_only": 310, "p": 0.72}]}
    text = prose.test_set_paragraphs(base, ref, test_set)["test_set"]
    assert "same 10,000 test images" in text and "about ±0.7 pts" in text
    assert "for the reference CNN the seed-to-seed standard deviation is 0.25 pts against 0.35 pts" in text
    assert "seeds make 34% of the variance" in text
    assert "more of them right in 1 of 2 seeds, with p < 0.05 in 1" in text
    assert "seed 0: 576 against 372, p < 0.001" in text
