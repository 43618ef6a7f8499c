"""Inductive-bias probes: arithmetic and measurements on tiny synthetic inputs (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnreport.results import probes
from cnnreport.train.models import Layer

from helpers import random_images


def test_shift_moves_content_and_fills_zeros():
    x = np.arange(1, 17, dtype=np.uint8).reshape(1, 4, 4, 1)
    right = probes.shift_images(x, 0, 1)
    assert (right[0, :, 0, 0] == 0).all()
    assert (right[0, :, 1:, 0] == x[0, :, :3, 0]).all()
    up = probes.shift_images(x, -2, 0)
    assert (up[0, :2, :, 0] == x[0, 2:, :, 0]).all() and (up[0, 2:] == 0).all()
    assert (probes.shift_images(x, 0, 0) == x).all()
    assert not probes.shift_images(x, 5, 0).any()


def _conv_model(kernel: int = 3, pool: bool = False):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, kernel, padding="same", activation="relu", name="conv1")(inputs)
    if pool:
        x = keras.layers.MaxPooling2D(2, name="pool1")(x)
        x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def _mlp():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Dense(8, name="dense1")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def test_conv_layer_is_equivariant_on_the_interior_and_mlp_is_not():
    x = random_images().astype("float32")
    cnn, mlp = _conv_model(pool=True), _mlp()
    result = probes.equivariance(cnn, mlp, x, max_shift=4)
    conv1, conv2 = result.cnn_layers
    assert conv1.stride == 1 and [r.shift for r in conv1.rows] == [1, 2, 3, 4]
    assert conv2.stride == 2 and [r.shift for r in conv2.rows] == [2, 4]
    for layer in (conv1, conv2):
        for row in layer.rows:
            assert row.equivariance < 1e-5          # shift commutes with the layer
            assert row.change > 0.1                 # ...which is not invariance
    assert all(r.change > 0.1 for r in result.mlp_rows)


def test_equivariance_error_detects_a_non_equivariant_map():
    x = random_images().astype("float32")
    ramp = np.linspace(0, 1, 16, dtype="float32")[None, None, :, None]
    position_dependent = lambda b: b * ramp  # noqa: E731 - weights differ by column
    err = probes.equivariance_error(position_dependent, x, shift=2)
    assert err["equivariance"] > 0.05
    with pytest.raises(ValueError):
        probes.equivariance_error(position_dependent, x, shift=3, stride=2)


def test_shifted_accuracy_of_a_position_blind_classifier_is_flat():
    x = random_images(n=20)
    y = np.zeros(20, dtype=int)
    predict = lambda b: np.tile([1.0, 0.0], (len(b), 1))  # noqa: E731 - always class 0
    assert probes.shifted_accuracy(predict, x, y, 3) == [1.0, 1.0, 1.0, 1.0]


def test_weight_sharing_arithmetic():
    r = probes.weight_sharing((28, 28), 1, 3, 32, (28, 28))
    assert r["conv"] == 3 * 3 * 1 * 32 + 32 == 320
    assert r["locally_connected"] == 28 * 28 * 320
    assert r["dense"] == (28 * 28 + 1) * 28 * 28 * 32
    def layer(name: str, kind: str, shape: list[int], params: int, kernel: str) -> Layer:
        return Layer(name=name, type=kind, output_shape=shape, params=params, kernel=kernel, stride="", padding="",
                     receptive_field=None, flops=0, activation_bytes=0)

    layers = [layer("rescale", "Rescaling", [8, 8, 3], 0, ""), layer("conv1", "Conv2D", [8, 8, 4], 112, "3×3"),
              layer("pool", "MaxPooling2D", [4, 4, 4], 0, "2×2"), layer("conv2", "Conv2D", [4, 4, 6], 222, "3×3")]
    rows = probes.weight_sharing_table(layers, [8, 8, 3])
    assert [r.conv for r in rows] == [r.actual_params for r in rows] == [112, 222]
    assert rows[1].input == [4, 4, 4] and rows[1].positions == 16


def test_permutation_summary_pairs_seeds():
    out = probes.permutation({"mlp": [0.8, 0.82], "cnn": [0.9, 0.91]},
                             {"mlp": [0.8, 0.81], "cnn": [0.7, 0.72]}, {"mlp": "baseline", "cnn": "reference"}, 7, [])
    assert out.models["cnn"].change.mean == pytest.approx(-0.195)
    assert out.models["mlp"].change.mean == pytest.approx(-0.005)
