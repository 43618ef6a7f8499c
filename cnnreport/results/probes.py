"""Inductive-bias probes: what convolution assumes, measured on the study's own trained models.

- translation: accuracy of saved models on test images shifted by 0…k pixels, and the
  equivariance of conv feature maps (shift the input vs shift the feature map);
- permutation (locality): runs retrained on pixels shuffled by one fixed permutation, read from
  the run store like every other run (runner.RunSpec.probe == "permuted");
- weight sharing: parameters of a conv layer against a locally connected layer and a dense layer
  that see the same receptive fields (pure arithmetic).

Everything here reads finished runs; nothing trains. Numbers come back as report.json's
`probes`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from cnnreport.backend import import_keras
from cnnreport.contract import Part
from cnnreport.results.statistics import Summary, summarize
from cnnreport.train.models import Layer

MAX_SHIFT = 4  # pixels: beyond ~15 % of a 28-pixel image the object starts to leave the frame
TRANSLATION_IMAGES = 1000  # test images per shifted copy: enough for ±1.5 pts, fast on a CPU
EQUIVARIANCE_IMAGES = 64


# ---------------------------------------------------------------------------------- the parts


class ShiftedModel(Part):
    per_seed: list[list[float]]  # per seed: accuracy at each shift
    per_shift: list[Summary]  # per shift: over seeds
    drop: Summary  # accuracy at shift 0 − at the largest shift, over seeds


class Translation(Part):
    """Accuracy of saved models on test images shifted right, left, down and up (mean of the
    four) by 0…k pixels, zero-filled."""

    shifts: list[int]
    n_images: int
    models: dict[str, ShiftedModel]


class EquivarianceRow(Part):
    shift: int  # input pixels, down and right
    equivariance: float  # ‖f(shift x) − shift f(x)‖ / ‖shift f(x)‖ on the interior
    change: float  # ‖f(shift x) − f(x)‖ / ‖f(x)‖: equivariance is not invariance
    interior: list[int]  # the compared part of the map, height × width


class EquivarianceLayer(Part):
    layer: str
    stride: int  # the map's downsampling from the input
    rows: list[EquivarianceRow]


class DenseShift(Part):
    shift: int
    change: float


class Equivariance(Part):
    """Whether conv feature maps shift with the input (diagonal shifts), against the MLP's first
    dense layer. `n_images` 0: not measured (every run of a model diverged)."""

    n_images: int
    cnn_layers: list[EquivarianceLayer]
    mlp_layer: str | None
    mlp_rows: list[DenseShift]


class PermutedModel(Part):
    role: str
    normal: Summary  # test accuracy on original pixels
    permuted: Summary  # retrained and tested on permuted pixels
    change: Summary  # permuted − original, paired by seed


class Permutation(Part):
    """The locality probe: models retrained on pixels shuffled by one fixed permutation."""

    models: dict[str, PermutedModel]
    seed: int  # of the permutation
    run_ids: list[str]  # the probe's runs


class WeightSharing(Part):
    """One conv layer's parameters against a locally connected and a dense layer of the same
    input and output shapes."""

    layer: str
    conv: int
    locally_connected: int
    dense: int
    positions: int
    kernel: int
    in_channels: int
    filters: int
    input: list[int]
    output: list[int]
    actual_params: int  # as Keras counted them


class Probes(Part):
    """report.json `probes`."""

    translation: Translation
    equivariance: Equivariance
    permutation: Permutation
    weight_sharing: list[WeightSharing]


NOT_MEASURED = Equivariance(n_images=0, cnn_layers=[], mlp_layer=None, mlp_rows=[])


# --------------------------------------------------------------------------------- image shifts


def shift_images(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Shift (N, H, W, C) images by (dy, dx) pixels, filling the uncovered border with zeros.

    Not circular: content that leaves the frame is lost, as in a real translated photograph.
    """
    out = np.zeros_like(x)
    h, w = x.shape[1], x.shape[2]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_y = slice(max(0, -dy), h - max(0, dy))
    dst_y = slice(max(0, dy), h - max(0, -dy))
    src_x = slice(max(0, -dx), w - max(0, dx))
    dst_x = slice(max(0, dx), w - max(0, -dx))
    out[:, dst_y, dst_x] = x[:, src_y, src_x]
    return out


def _directions(s: int) -> list[tuple[int, int]]:
    """Right, left, down, up by s pixels (the average hides no direction-specific luck)."""
    return [(0, 0)] if s == 0 else [(0, s), (0, -s), (s, 0), (-s, 0)]


# ---------------------------------------------------------------------------------- translation


def shifted_accuracy(predict: Any, x: np.ndarray, y: np.ndarray, max_shift: int) -> list[float]:
    """Accuracy at each shift 0…max_shift (mean over the four directions), one batched predict."""
    batches, owners = [], []
    for s in range(max_shift + 1):
        for dy, dx in _directions(s):
            batches.append(shift_images(x, dy, dx))
            owners.append(s)
    probs = np.asarray(predict(np.concatenate(batches)))
    correct = (probs.argmax(axis=1).reshape(len(batches), len(x)) == y[None, :]).mean(axis=1)
    return [float(np.mean([c for c, o in zip(correct, owners) if o == s])) for s in range(max_shift + 1)]


def translation(models: dict[str, list[Any]], x_test: np.ndarray, y_test: np.ndarray,
                max_shift: int = MAX_SHIFT, n_images: int = TRANSLATION_IMAGES) -> Translation:
    """Per model (name → its per-seed keras models): accuracy vs shift, mean ± std over seeds."""
    x, y = x_test[:n_images], y_test[:n_images]
    out = {}
    for name, seed_models in models.items():
        per_seed = [shifted_accuracy(lambda b, m=m: m.predict(b, batch_size=1000, verbose=0), x, y, max_shift)
                    for m in seed_models]
        out[name] = ShiftedModel(per_seed=per_seed,
                                 per_shift=[summarize([acc[s] for acc in per_seed]) for s in range(max_shift + 1)],
                                 drop=summarize([acc[0] - acc[-1] for acc in per_seed]))
    return Translation(shifts=list(range(max_shift + 1)), n_images=int(len(x)), models=out)


# -------------------------------------------------------------------------------- equivariance


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """‖a − b‖ / ‖b‖ (0 when both are zero)."""
    denom = float(np.linalg.norm(b))
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def equivariance_error(feature: Any, x: np.ndarray, shift: int, stride: int = 1,
                       margin: int = 1) -> dict[str, float]:
    """How far `feature` (images → (N, h, w, c) maps) is from commuting with a shift.

    Compares feature(shift(x)) with shift(feature(x)) on the interior (a border of
    `margin` + the shift is cropped, where zero fill and padding legitimately differ). The input
    shift must be a multiple of `stride` (the map's downsampling) to correspond to a whole-pixel
    shift of the map. Also returns the plain change ‖feature(shift x) − feature(x)‖, to show that
    equivariance is not invariance.
    """
    if shift % stride:
        raise ValueError(f"shift {shift} is not a multiple of the map's stride {stride}")
    fx = np.asarray(feature(x), dtype=np.float32)  # a mixed-precision model answers in bf16
    fsx = np.asarray(feature(shift_images(x, shift, shift)), dtype=np.float32)
    s = shift // stride
    shifted_fx = shift_images(fx, s, s)
    # Near side: the zero-filled band plus the kernel's reach; far side: where dropped content
    # was within reach. Both differ legitimately and are cropped.
    lo, hi_y, hi_x = s + margin, fx.shape[1] - margin, fx.shape[2] - margin
    if hi_y - lo < 1 or hi_x - lo < 1:
        raise ValueError(f"shift {shift} leaves no interior in a {fx.shape[1]}×{fx.shape[2]} map")
    inner = (slice(None), slice(lo, hi_y), slice(lo, hi_x))
    return {"equivariance": relative_error(fsx[inner], shifted_fx[inner]),
            "change": relative_error(fsx[inner], fx[inner]), "interior": [hi_y - lo, hi_x - lo]}


def dense_change(dense: Any, x: np.ndarray, shift: int) -> float:
    """Relative change of a dense layer's output when the input shifts: it has no spatial axes, so
    no re-shift of its units can undo the change."""
    return relative_error(np.asarray(dense(shift_images(x, shift, shift)), dtype=np.float32),
                          np.asarray(dense(x), dtype=np.float32))


def conv_strides(model: Any) -> list[tuple[str, int, int]]:
    """(layer name, cumulative downsampling at its output, kernel size) for each Conv2D layer."""
    keras = import_keras()
    out, jump = [], 1
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            jump *= layer.strides[0]
            out.append((layer.name, jump, layer.kernel_size[0]))
        elif isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            jump *= layer.strides[0]
    return out


def equivariance(cnn: Any, mlp: Any, x: np.ndarray, max_shift: int = MAX_SHIFT) -> Equivariance:
    """Equivariance error of every conv layer of `cnn` and the change of `mlp`'s first dense layer.

    A conv layer is sampled at input shifts that are multiples of its downsampling (after a 2×2
    pool, only even shifts are whole map pixels). Pooling makes deeper maps only approximately
    equivariant: that is measured, not assumed.
    """
    keras = import_keras()
    x = x[:EQUIVARIANCE_IMAGES]
    layers = []
    for name, jump, kernel in conv_strides(cnn):
        sub = keras.Model(cnn.inputs, cnn.get_layer(name).output)
        feature = lambda b, m=sub: m.predict(b, batch_size=256, verbose=0)  # noqa: E731
        size = int(sub.output.shape[1])
        margin = kernel // 2 + 1
        shifts = [s for s in range(1, max(max_shift, jump) + 1)
                  if s % jump == 0 and size - 2 * margin - s // jump >= 1]
        rows = [EquivarianceRow(shift=s, **equivariance_error(feature, x, s, jump, margin=margin)) for s in shifts]
        if rows:
            layers.append(EquivarianceLayer(layer=name, stride=jump, rows=rows))
    dense_name = next(l.name for l in mlp.layers if isinstance(l, keras.layers.Dense))
    dense = keras.Model(mlp.inputs, mlp.get_layer(dense_name).output)
    mlp_rows = [DenseShift(shift=s, change=dense_change(lambda b: dense.predict(b, batch_size=256, verbose=0), x, s))
                for s in range(1, max_shift + 1)]
    return Equivariance(n_images=int(len(x)), cnn_layers=layers, mlp_layer=dense_name, mlp_rows=mlp_rows)


# ----------------------------------------------------------------------------------- permutation


def permutation(normal: dict[str, list[float]], permuted: dict[str, list[float]], roles: dict[str, str],
                seed: int, run_ids: list[str]) -> Permutation:
    """Test accuracy per model on ordinary and on permuted pixels, paired by seed."""
    out = {}
    for name, acc in normal.items():
        if name not in permuted:
            continue
        perm = permuted[name]
        n = min(len(acc), len(perm))
        out[name] = PermutedModel(role=roles.get(name, ""), normal=summarize(acc), permuted=summarize(perm),
                                  change=summarize([perm[i] - acc[i] for i in range(n)]))
    return Permutation(models=out, seed=seed, run_ids=run_ids)


# -------------------------------------------------------------------------------- weight sharing


def weight_sharing(input_hw: Sequence[int], in_channels: int, kernel: int, filters: int,
                   out_hw: Sequence[int]) -> dict[str, Any]:
    """Parameters of three layers mapping the same input to the same (out_h, out_w, filters) map.

    conv: one k×k×C kernel per filter, shared by every position, plus a bias per filter.
    locally connected: the same receptive fields, but its own kernel and bias at each position.
    dense: every output unit sees every input value (no locality, no sharing).
    """
    h, w = input_hw
    oh, ow = out_hw
    positions = oh * ow
    conv = kernel * kernel * in_channels * filters + filters
    local = positions * (kernel * kernel * in_channels * filters + filters)
    dense = (h * w * in_channels + 1) * positions * filters
    return {"conv": conv, "locally_connected": local, "dense": dense, "positions": positions,
            "kernel": kernel, "in_channels": in_channels, "filters": filters,
            "input": [int(h), int(w), int(in_channels)], "output": [int(oh), int(ow), int(filters)]}


def weight_sharing_table(layers: Sequence[Layer], input_shape: Sequence[int]) -> list[WeightSharing]:
    """weight_sharing() for every Conv2D row of a models.analyse() layer table."""
    rows, prev = [], list(input_shape)
    for layer in layers:
        if layer.type == "Conv2D":
            k = int(layer.kernel.split("×")[0])
            out = layer.output_shape
            rows.append(WeightSharing(layer=layer.name, actual_params=layer.params,
                                      **weight_sharing(prev[:2], prev[2], k, out[2], out[:2])))
        if len(layer.output_shape) == 3:
            prev = list(layer.output_shape)
    return rows
