"""Keras model builders from specs, and architecture analysis (layer table, parameters, FLOPs,
receptive field).

Backend-agnostic Keras 3 only: no `tf.*` here, so the JAX backend trains the same models.
Scaling to [0, 1] is a Rescaling layer inside the model, so a saved model takes raw pixels
(0–255), exactly what an endpoint receives.
"""

from __future__ import annotations

from typing import Any, Sequence

from cnnreport.backend import import_keras
from cnnreport.contract import Part
from cnnreport.errors import UserError
from cnnreport.study.models import ModelSpec
from cnnreport.study.specs import CNNSpec, MLPSpec

PIXEL_SCALE = 1.0 / 255.0


def _inputs(input_shape: tuple[int, int, int]) -> tuple[Any, Any]:
    keras = import_keras()
    inputs = keras.Input(shape=input_shape, name="pixels")
    return inputs, keras.layers.Rescaling(PIXEL_SCALE, name="rescale")(inputs)


def make_mlp(spec: MLPSpec, input_shape: tuple[int, int, int], num_classes: int,
             name: str = "mlp") -> Any:
    keras = import_keras()
    inputs, x = _inputs(input_shape)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(spec.hidden, start=1):
        x = keras.layers.Dense(units, activation=spec.activation, name=f"dense{i}")(x)
        if spec.dropout:
            x = keras.layers.Dropout(spec.dropout, name=f"dropout{i}")(x)
    return keras.Model(inputs, _classifier(x, num_classes), name=_keras_name(name))


def _classifier(x: Any, num_classes: int) -> Any:
    # float32 softmax even under mixed precision: bf16 probabilities lose the small ones.
    return import_keras().layers.Dense(num_classes, activation="softmax", dtype="float32", name="classifier")(x)


def make_cnn(spec: CNNSpec, input_shape: tuple[int, int, int], num_classes: int,
             name: str = "cnn") -> Any:
    keras = import_keras()
    check_feature_maps(spec, input_shape, name)
    inputs, x = _inputs(input_shape)
    for i, block in enumerate(spec.blocks, start=1):
        x = keras.layers.Conv2D(block.filters, block.kernel_size, strides=block.stride,
                                padding=block.padding, activation=block.activation,
                                name=f"conv{i}")(x)
        if block.pooling == "max":
            x = keras.layers.MaxPooling2D(block.pool_size, name=f"maxpool{i}")(x)
        elif block.pooling == "average":
            x = keras.layers.AveragePooling2D(block.pool_size, name=f"avgpool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(spec.dense, start=1):
        x = keras.layers.Dense(units, activation=spec.dense_activation, name=f"dense{i}")(x)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="dropout")(x)
    return keras.Model(inputs, _classifier(x, num_classes), name=_keras_name(name))


def make_model(model: ModelSpec, input_shape: tuple[int, int, int], num_classes: int,
               suffix: str = "") -> Any:
    """A fresh, untrained keras.Model for one model of the study (`suffix` keeps names unique
    when several seeds of it share one program)."""
    if isinstance(model.arch, MLPSpec):
        return make_mlp(model.arch, input_shape, num_classes, model.name + suffix)
    return make_cnn(model.arch, input_shape, num_classes, model.name + suffix)


def build_and_analyse(models: Sequence[ModelSpec], input_shape: tuple[int, int, int],
                      num_classes: int) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Each model built fresh (a design whose feature map vanishes raises UserError here) with its
    analysis: name → (keras.Model, analyse())."""
    out = {}
    for m in models:
        built = make_model(m, input_shape, num_classes)
        out[m.name] = (built, analyse(built))
    return out


def _keras_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_") or "model"


# ---------------------------------------------------------------------------- shape arithmetic


def _conv_out(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":
        return -(-size // stride)
    return (size - kernel) // stride + 1


def check_feature_maps(spec: CNNSpec, input_shape: tuple[int, int, int], model_name: str) -> None:
    """Refuse a design whose feature map vanishes (too deep or too strided for the image)."""
    h, w = input_shape[0], input_shape[1]
    for i, block in enumerate(spec.blocks, start=1):
        h, w = (_conv_out(s, block.kernel_size, block.stride, block.padding) for s in (h, w))
        if h < 1 or w < 1:
            raise UserError(f"model {model_name!r}: conv{i} leaves no feature map "
                            f"({block.kernel_size}×{block.kernel_size} 'valid' kernel on a smaller input)")
        if block.pooling != "none":
            h, w = h // block.pool_size, w // block.pool_size
            if h < 1 or w < 1:
                raise UserError(f"model {model_name!r}: pooling after conv{i} leaves no feature map "
                                f"(input {input_shape[0]}×{input_shape[1]} is too small for "
                                f"{len(spec.blocks)} conv layers with these strides and pooling)")


# ------------------------------------------------------------------------- architecture analysis


class Layer(Part):
    """One row of a model's layer table (run.json `architecture.layers`, report.json
    `models[].layers`)."""

    name: str
    type: str  # the Keras class: Conv2D, Dense, MaxPooling2D, ...
    output_shape: list[int]  # per image
    params: int
    kernel: str  # "3×3" for conv and pooling layers, else ""
    stride: str
    padding: str
    receptive_field: int | None  # input pixels one unit sees (one side), conv/pool layers
    flops: int  # per image, multiply-add = 2 FLOPs
    activation_bytes: int  # per image: this layer's output values × bytes per value


def analyse(model: Any) -> dict[str, Any]:
    """Layer table, parameters, FLOPs per image (multiply-add = 2 FLOPs), receptive field and
    activation memory per image (bytes of every layer's output).

    Receptive field follows the usual recurrence r_out = r_in + (k - 1) * j_in, j_out = j_in * s,
    where j is the distance in input pixels between neighbouring units.
    """
    keras = import_keras()
    rows: list[Layer] = []
    rf, jump = 1, 1
    flops_total = 0
    activations = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = [int(d) for d in layer.output.shape[1:]]
        units = 1
        for d in shape:
            units *= d
        activations += units
        params = int(layer.count_params())
        kernel = stride = padding = ""
        layer_rf: int | None = None
        flops = 0
        if isinstance(layer, keras.layers.Conv2D):
            k, s = layer.kernel_size[0], layer.strides[0]
            rf, jump = rf + (k - 1) * jump, jump * s
            kernel, stride, padding, layer_rf = f"{k}×{k}", str(s), layer.padding, rf
            in_ch = int(layer.input.shape[-1])
            flops = 2 * k * k * in_ch * units  # one MAC per kernel weight per output unit
        elif isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            k, s = layer.pool_size[0], layer.strides[0]
            rf, jump = rf + (k - 1) * jump, jump * s
            kernel, stride, padding, layer_rf = f"{k}×{k}", str(s), layer.padding, rf
            flops = k * k * units  # one compare/add per window element
        elif isinstance(layer, keras.layers.Dense):
            flops = 2 * int(layer.input.shape[-1]) * int(layer.units)
        rows.append(Layer(name=layer.name, type=type(layer).__name__, output_shape=shape, params=params,
                          kernel=kernel, stride=stride, padding=padding, receptive_field=layer_rf,
                          flops=flops, activation_bytes=units * _bytes_per_value(layer)))
        flops_total += flops
    return {
        "layers": [r.model_dump() for r in rows],
        "params": int(model.count_params()),
        "flops": int(flops_total),
        "receptive_field": rf if any(r.receptive_field for r in rows) else None,
        "activation_values": int(activations),  # per image
        # Forward-pass activation memory per image: every layer's output kept (as training does).
        "activation_bytes": int(sum(r.activation_bytes for r in rows)),
    }


def _bytes_per_value(layer: Any) -> int:
    """Bytes of one output value in the layer's compute dtype (float32 → 4, float16 → 2)."""
    dtype = str(getattr(layer, "compute_dtype", None) or import_keras().config.floatx())
    digits = "".join(c for c in dtype if c.isdigit())
    return int(digits) // 8 if digits else 4
