"""The served graph: a float32 export of a model trained in mixed precision, its two signatures,
and the serving image chosen by TensorFlow's compatibility rule."""

from __future__ import annotations

import io

import numpy as np
import pytest

from cnnreport.deploy import export, tf_compat


@pytest.fixture(scope="module")
def mixed_model():
    """A small CNN built under the mixed_bfloat16 policy, as a run on a bf16 machine is."""
    import keras

    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(0)
        inputs = keras.Input((8, 8, 1), name="pixels")
        x = keras.layers.Rescaling(1 / 255)(inputs)
        x = keras.layers.Conv2D(4, 3, activation="relu")(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(8, activation="relu")(x)
        outputs = keras.layers.Dense(3, activation="softmax", dtype="float32")(x)
        return keras.Model(inputs, outputs)
    finally:
        keras.config.set_dtype_policy(previous)


def test_the_export_of_a_mixed_precision_model_computes_in_float32(mixed_model, tmp_path):
    assert "mixed_bfloat16" in export.compute_dtypes(mixed_model)
    as_trained = export.export_savedmodel(mixed_model, tmp_path / "as-trained")
    served = export.export_savedmodel(export.float32_copy(mixed_model), tmp_path / "served")
    assert {n.split(" ")[1] for n in export.bf16_nodes(as_trained)} >= {"(Conv2D)", "(MatMul)"}  # before
    assert export.bf16_nodes(served) == []
    images = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 1)).astype(np.float32)
    probs = export.serving_answers(served, images)
    exact = export.float32_copy(mixed_model).predict(images, verbose=0)
    assert np.abs(probs - exact).max() < 1e-5
    agree = export.agreement(served, images, mixed_model.predict(images, verbose=0).argmax(1))
    assert agree["images"] == 16 and agree["same_top1"] + agree["near_ties"] >= 15


def test_the_image_signature_decodes_and_resizes_in_the_graph(mixed_model, tmp_path):
    import tensorflow as tf
    from PIL import Image

    served = export.export_savedmodel(export.float32_copy(mixed_model), tmp_path / "served")
    fn = tf.saved_model.load(str(served)).signatures[export.IMAGE_SIGNATURE]
    pixels = np.random.default_rng(1).integers(0, 256, (8, 8), dtype=np.uint8)
    same, bigger = io.BytesIO(), io.BytesIO()
    Image.fromarray(pixels).save(same, "PNG")
    Image.fromarray(pixels).convert("RGB").resize((20, 16)).save(bigger, "JPEG")
    out = next(iter(fn(image_bytes=tf.constant([same.getvalue(), bigger.getvalue()])).values())).numpy()
    direct = export.serving_answers(served, pixels[None, :, :, None].astype(np.float32))
    assert out.shape == (2, 3) and np.abs(out[0] - direct[0]).max() < 1e-6  # the same pixels, untouched
    assert np.isclose(out[1].sum(), 1.0, atol=1e-5)  # an RGB JPEG of another size, converted and resized


def test_the_serving_image_follows_tensorflows_compatibility_rule():
    images = ["2.16", "2.18", "2.19", "2.20"]
    assert tf_compat.serving_version("2.18.1", images)[0] == "2.18"
    assert tf_compat.serving_version("2.17.0", images)[0] == "2.18"  # newer reads older
    version, why = tf_compat.serving_version("2.21.0", images)
    assert version == "2.20" and "no tensorflow-inference image is as new as the exporting TensorFlow 2.21" in why


def test_an_export_using_what_the_older_image_lacks_is_named():
    ops = {"Conv2D": ["T", "padding"], "DecodeJxl": ["dtype"], "TensorListGetItem": ["Tshape", "element_dtype"]}
    problems = tf_compat.load_problems(ops, "2.21.0", "2.20")
    assert problems == ["operation DecodeJxl (new in TensorFlow 2.21)",
                        "attribute Tshape of TensorListGetItem (new in TensorFlow 2.21)"]
    assert tf_compat.load_problems({"Conv2D": ["T"]}, "2.21.0", "2.20") == []
    assert tf_compat.load_problems(ops, "2.19.0", "2.20") == []  # the image is newer: nothing to check
    assert tf_compat.load_problems(ops, "2.22.0", "2.20") is None  # no table: said, not guessed
