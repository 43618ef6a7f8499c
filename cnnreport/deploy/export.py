"""The served graph: a float32 SavedModel of a run's Keras model with the two signatures the
endpoint calls, what operations it holds, and how often it agrees with the run's own answers.

    serving_default   pixels (N, H, W, C) float32, raw 0–255 → class probabilities (N, K)
    serving_image     image_bytes (N,) string, PNG or JPEG files → class probabilities (N, K)

A run trained in mixed precision computes in bfloat16; exported as trained, its graph holds bf16
Conv2D and MatMul kernels, which CPUs without native bf16 (ml.m5, ml.c5) emulate slowly and which
round differently from the float32 model the report describes. The export is a float32 copy:
the same layers with a float32 policy, the same weights (float32 already under mixed
precision; cast where a layer kept bf16 variables).

TensorFlow only (the SavedModel format is TensorFlow's); imported where it is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnreport.backend import import_keras
from cnnreport.errors import UserError

SIGNATURE = "serving_default"
IMAGE_SIGNATURE = "serving_image"  # the name sagemaker/inference.py asks TensorFlow Serving for
INPUT_NAME = "pixels"
IMAGE_INPUT_NAME = "image_bytes"
AGREEMENT_BATCH = 500  # images per call when checking the export against the run's answers
# A disagreement where the run's class is within this probability of the export's top class is a
# near-tie: bf16 keeps about 3 significant digits, so a run trained in mixed precision can rank
# two classes of almost equal probability the other way round than float32 does.
NEAR_TIE = 0.01


def _tf() -> Any:
    try:
        import tensorflow as tf
    except ImportError:
        raise UserError("exporting a SavedModel needs TensorFlow: pip install tensorflow-cpu "
                        "(the JAX backend trains, but TensorFlow Serving loads only SavedModels)") from None
    return tf


def compute_dtypes(model: Any) -> list[str]:
    """The dtype policies the model's layers compute in, e.g. ['float32', 'mixed_bfloat16']."""
    return sorted({layer.dtype_policy.name for layer in model.layers})


def float32_copy(model: Any) -> Any:
    """The model with every layer computing in float32 and the same weights (cast to float32)."""
    keras = import_keras()

    if compute_dtypes(model) == ["float32"] and all(w.dtype == "float32" for w in model.weights):
        return model

    def as_float32(layer: Any) -> Any:
        config = layer.get_config()
        config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=as_float32)
    copy.set_weights([np.asarray(w, dtype=np.float32) for w in model.get_weights()])
    return copy


def export_savedmodel(model: Any, dest: Path) -> Path:
    """`model` (float32) as a SavedModel at `dest` with both serving signatures."""
    keras = import_keras()

    tf = _tf()
    if keras.backend.backend() != "tensorflow":
        raise UserError("exporting the SavedModel needs Keras's TensorFlow backend "
                        "(run with KERAS_BACKEND=tensorflow); TensorFlow Serving loads only SavedModels")
    h, w, c = (int(d) for d in model.input_shape[1:])

    def predict(pixels: Any) -> Any:
        return model(pixels, training=False)

    def predict_images(images: Any) -> Any:
        def one(encoded: Any) -> Any:
            # decode_image sniffs PNG/JPEG/GIF/BMP; inference.py admits PNG and JPEG whose header
            # declares at most 4 megapixels, so the decode here is bounded.
            img = tf.io.decode_image(encoded, channels=c, expand_animations=False, dtype=tf.uint8)
            # Bilinear with half-pixel centres samples an image of the model's size exactly at its
            # pixels, so those go in untouched (the test checks it); others are resized.
            return tf.ensure_shape(tf.image.resize(tf.cast(img, tf.float32), (h, w), method="bilinear"), (h, w, c))

        pixels = tf.map_fn(one, images, fn_output_signature=tf.TensorSpec((h, w, c), tf.float32))
        return model(pixels, training=False)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SIGNATURE, predict,
                         input_signature=[tf.TensorSpec((None, h, w, c), tf.float32, name=INPUT_NAME)])
    archive.add_endpoint(IMAGE_SIGNATURE, predict_images,
                         input_signature=[tf.TensorSpec((None,), tf.string, name=IMAGE_INPUT_NAME)])
    archive.write_out(str(dest), verbose=False)
    if not (dest / "saved_model.pb").is_file():
        raise RuntimeError(f"{dest}: export wrote no saved_model.pb")
    return dest


def graph_nodes(saved_dir: Path) -> list[Any]:
    """Every NodeDef of the SavedModel: the graph's and those of its function library."""
    _tf()
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((saved_dir / "saved_model.pb").read_bytes())
    nodes = []
    for meta in saved.meta_graphs:
        nodes.extend(meta.graph_def.node)
        for fn in meta.graph_def.library.function:
            nodes.extend(fn.node_def)
    return nodes


def graph_ops(saved_dir: Path) -> dict[str, list[str]]:
    """Operation name → the attributes its nodes set (sorted), over the whole SavedModel."""
    ops: dict[str, set[str]] = {}
    for node in graph_nodes(saved_dir):
        ops.setdefault(node.op, set()).update(node.attr.keys())
    return {op: sorted(attrs) for op, attrs in sorted(ops.items())}


def bf16_nodes(saved_dir: Path) -> list[str]:
    """'name (Op)' of every node with a bfloat16 type attribute: none in a float32 export."""
    tf = _tf()
    bf16 = tf.bfloat16.as_datatype_enum
    found = []
    for node in graph_nodes(saved_dir):
        types = [v.type for v in node.attr.values()] + [t for v in node.attr.values() for t in v.list.type]
        if bf16 in types:
            found.append(f"{node.name} ({node.op})")
    return found


def serving_answers(saved_dir: Path, images: np.ndarray) -> np.ndarray:
    """Class probabilities of the SavedModel's serving_default signature on `images` (N, H, W, C)."""
    tf = _tf()
    fn = tf.saved_model.load(str(saved_dir)).signatures[SIGNATURE]
    out = [next(iter(fn(**{INPUT_NAME: tf.constant(images[i:i + AGREEMENT_BATCH], tf.float32)}).values())).numpy()
           for i in range(0, len(images), AGREEMENT_BATCH)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def agreement(saved_dir: Path, images: np.ndarray, saved_predictions: np.ndarray) -> dict[str, Any]:
    """How often the export's top-1 class equals the run's saved test prediction, and how many
    of the disagreements are near-ties (the run's class within NEAR_TIE of the export's top)."""
    probs = serving_answers(saved_dir, images)
    saved = np.asarray(saved_predictions).reshape(-1).astype(int)
    top1 = probs.argmax(axis=1)
    differ = np.flatnonzero(top1 != saved)
    margins = probs[differ, top1[differ]] - probs[differ, saved[differ]]
    return {"images": int(len(top1)), "same_top1": int(len(top1) - len(differ)),
            "fraction": float((len(top1) - len(differ)) / max(1, len(top1))),
            "near_ties": int((margins <= NEAR_TIE).sum()), "near_tie_margin": NEAR_TIE}
