"""Model builders and architecture analysis, checked against hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from cnnreport.errors import UserError
from cnnreport.train.models import analyse, make_cnn, make_mlp, make_model
from cnnreport.study.specs import CNNSpec, ConvBlock, MLPSpec
from cnnreport.study.loading import load_study
from cnnreport.study.models import study_models


def test_mlp_shapes_and_parameters():
    model = make_mlp(MLPSpec(hidden=(16,), dropout=0.1), (28, 28, 1), 10)
    assert tuple(model.output.shape) == (None, 10)
    assert model.count_params() == (784 * 16 + 16) + (16 * 10 + 10)
    assert [layer.name for layer in model.layers][1:3] == ["rescale", "flatten"]  # scaling is in the model


def _two_block_cnn() -> CNNSpec:
    return CNNSpec(blocks=(ConvBlock(filters=4, kernel_size=3, padding="same", pooling="max"),
                           ConvBlock(filters=8, kernel_size=3, padding="valid", pooling="none")))


def test_cnn_analysis_matches_hand_computation():
    model = make_cnn(_two_block_cnn(), (28, 28, 1), 10)
    assert tuple(model.output.shape) == (None, 10)
    a = analyse(model)
    rows = {r["name"]: r for r in a["layers"]}
    assert rows["conv1"]["output_shape"] == [28, 28, 4] and rows["conv1"]["params"] == 9 * 1 * 4 + 4
    assert rows["maxpool1"]["output_shape"] == [14, 14, 4]
    assert rows["conv2"]["output_shape"] == [12, 12, 8] and rows["conv2"]["params"] == 9 * 4 * 8 + 8
    assert rows["classifier"]["params"] == 12 * 12 * 8 * 10 + 10
    assert a["params"] == 40 + 296 + 11530 == model.count_params()
    # FLOPs per image, multiply-add = 2: conv 2·k²·C_in per output value, pool k² per output value
    assert rows["conv1"]["flops"] == 2 * 9 * 1 * 28 * 28 * 4
    assert rows["maxpool1"]["flops"] == 4 * 14 * 14 * 4
    assert rows["conv2"]["flops"] == 2 * 9 * 4 * 12 * 12 * 8
    assert rows["classifier"]["flops"] == 2 * 1152 * 10
    assert a["flops"] == 56448 + 3136 + 82944 + 23040
    # receptive field: conv3 → 3; pool 2 → 4 (jump 2); conv3 → 4 + 2·2 = 8
    assert [rows[n]["receptive_field"] for n in ("conv1", "maxpool1", "conv2")] == [3, 4, 8]
    assert a["receptive_field"] == 8


def test_stride_and_kernel_change_receptive_field_and_shape():
    spec = CNNSpec(blocks=(ConvBlock(filters=2, kernel_size=5, stride=2, pooling="none"),
                           ConvBlock(filters=2, kernel_size=3, pooling="average")))
    a = analyse(make_cnn(spec, (28, 28, 3), 5))
    rows = {r["name"]: r for r in a["layers"]}
    assert rows["conv1"]["output_shape"] == [14, 14, 2]
    assert rows["conv1"]["flops"] == 2 * 25 * 3 * 14 * 14 * 2
    # conv5/2: 5, jump 2; conv3: 5 + 2·2 = 9; avgpool 2: 9 + 1·2 = 11, jump 4
    assert [rows[n]["receptive_field"] for n in ("conv1", "conv2", "avgpool2")] == [5, 9, 11]
    assert a["layers"][-1]["output_shape"] == [5]


def test_mlp_has_no_receptive_field():
    assert analyse(make_mlp(MLPSpec(hidden=(8,)), (8, 8, 1), 3))["receptive_field"] is None


def test_variants_differ_only_in_kernel_size(tmp_path):
    study = load_study("fashion-mnist", "quick")
    shapes, params = {}, {}
    for m in study_models(study):
        model = make_model(m, (28, 28, 1), 10)
        assert tuple(model.output.shape) == (None, 10)
        a = analyse(model)
        if m.kind == "cnn":
            shapes[m.level] = [r["output_shape"] for r in a["layers"]]
            params[m.level] = a["params"]
    assert len({tuple(map(tuple, s)) for s in shapes.values()}) == 1  # 'same' padding: same shapes
    assert params[1] < params[3] < params[5] < params[7]


def test_model_takes_raw_pixels():
    model = make_mlp(MLPSpec(hidden=(4,)), (2, 2, 1), 2)
    assert float(model.get_layer("rescale").scale) == pytest.approx(1 / 255)
    out = model.predict(np.full((1, 2, 2, 1), 255, dtype=np.uint8), verbose=0)
    assert out.shape == (1, 2) and np.isclose(out.sum(), 1.0, atol=1e-5)


def test_feature_map_vanishing_is_a_user_error():
    too_deep = CNNSpec(blocks=tuple(ConvBlock(filters=2, kernel_size=3) for _ in range(5)))  # 28→14→7→3→1→0
    with pytest.raises(UserError) as info:
        make_cnn(too_deep, (28, 28, 1), 10, name="cnn · 5 conv layers")
    assert "cnn · 5 conv layers" in str(info.value) and "pooling after conv5" in str(info.value)
    big_valid = CNNSpec(blocks=(ConvBlock(filters=2, kernel_size=7, padding="valid", pooling="none"),))
    with pytest.raises(UserError) as info:
        make_cnn(big_valid, (4, 4, 1), 10)
    assert "conv1 leaves no feature map" in str(info.value)
    make_cnn(CNNSpec(blocks=tuple(ConvBlock(filters=2, kernel_size=3) for _ in range(4))), (28, 28, 1), 10)
