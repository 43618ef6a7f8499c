"""One "differences from the reference": the build's verification and the rubric check classify
the same differences the same way, from the same signatures."""

from __future__ import annotations

import copy
from typing import Any

from helpers import TrainedStudy, report_model

from cnnreport.report.wording import evidence
from cnnreport.results import judgements as judge
from cnnreport.results.differences import canonical, compare, conv_blocks, declared, touched_layers


def _conv(kernel: int = 3, filters: int = 8, strides: int = 1) -> list[Any]:
    return ["Conv2D", {"filters": filters, "kernel_size": [kernel, kernel], "strides": [strides, strides],
                       "activation": "relu"}]


def _model(*layers: tuple[str, list[Any]]) -> dict[str, list[Any]]:
    return dict(layers)


SETTINGS = {"training": {"epochs": 2, "learning_rate": 0.001}, "data": {"source": "mnist"}, "seeds": [0, 1]}
REF = (_model(("conv1", _conv(3)), ("pool1", ["MaxPooling2D", {"pool_size": [2, 2]}]),
              ("conv2", _conv(3, 16)), ("dense", ["Dense", {"units": 10}])), SETTINGS)


def test_the_factor_on_the_declared_layers_is_declared_and_nothing_else() -> None:
    kernel5 = copy.deepcopy(REF)
    kernel5[0]["conv1"][1]["kernel_size"] = [5, 5]
    kernel5[0]["conv2"][1]["kernel_size"] = [5, 5]
    c = compare("k5", REF, kernel5, "kernel_size", touched_layers("all", 2))
    assert [d.key for d in c.differences] == ["conv1.kernel_size", "conv2.kernel_size"]
    assert all(d.declared for d in c.differences) and not c.unexpected
    first_only = compare("k5", REF, kernel5, "kernel_size", touched_layers("first", 2))
    assert first_only.unexpected == ["conv2.kernel_size 3×3 → 5×5"]


def test_an_extra_change_is_unexpected_unless_accepted_and_unused_accepts_are_named() -> None:
    variant = copy.deepcopy(REF)
    variant[0]["conv1"][1]["kernel_size"] = [5, 5]
    variant[0]["dense"][1]["units"] = 20
    variant = (variant[0], {**SETTINGS, "training": {"epochs": 2, "learning_rate": 0.01}})
    c = compare("v", REF, variant, "kernel_size", {1, 2})
    assert c.unexpected == ["dense.units 10 → 20", "training.learning_rate 0.001 → 0.01"]
    ok = compare("v", REF, variant, "kernel_size", {1, 2}, accept=("dense", "training.learning_rate", "seeds"))
    assert not ok.unexpected and ok.unused_accepts == ["seeds"]
    assert {d.key: d.accepted for d in ok.differences}["dense.units"] is True


def test_pooling_swap_and_depth_are_one_slot_each() -> None:
    assert canonical("avgpool2") == canonical("maxpool2") == "pool2"
    assert declared("pool1.type", "pooling", {1}) and not declared("conv1.kernel_size", "pooling", {1})
    deeper = copy.deepcopy(REF)
    deeper[0]["conv3"] = _conv(3, 32)
    c = compare("d3", REF, deeper, "depth", {1, 2, 3})
    assert [d.key for d in c.differences] == ["conv3"] and c.differences[0].declared
    assert compare("same", REF, copy.deepcopy(REF), "depth", {1, 2}).changes_nothing
    assert conv_blocks(deeper[0]) == 3 and conv_blocks(REF[0]) == 2


def test_the_rubric_recomputes_the_builds_verification_from_report_json(trained_study: TrainedStudy) -> None:
    raw = trained_study.report()
    experiment = report_model(raw).experiment
    assert experiment.controlled is True and judge.controlled(experiment).passed
    ref = next(row for row in experiment.verification if row.role == "reference")
    recomputed = [d for row in experiment.verification if row.role == "variant"
                  for d in compare(row.model, (ref.signature, ref.settings.model_dump(mode="json")),
                                   (row.signature, row.settings.model_dump(mode="json")), experiment.factor,
                                   touched_layers(experiment.layers, conv_blocks(ref.signature))).differences]
    assert recomputed == experiment.differences  # the build's own list, key for key

    tampered = copy.deepcopy(raw)
    variant = next(r for r in tampered["experiment"]["verification"] if r["role"] == "variant")
    variant["signature"]["conv1"][1]["activation"] = "tanh"
    j = judge.controlled(report_model(tampered).experiment)
    assert not j.passed and f"{variant['model']}: conv1.activation relu → tanh" in evidence(j)
