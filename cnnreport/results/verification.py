"""Controlled-variable verification: every variant differs from the reference CNN only in the
experiment's declared factor.

Each CNN is built as Keras builds it and compared with the reference layer by layer (type and
`get_config()`), and its runs setting by setting (training, data, seeds). The factor's own
differences are expected; anything else fails the build (UserError, exit 2) with every
difference listed, unless the variant's `accept` names it — then the report shows it and the
experiment is marked not controlled. Consequences (parameters, FLOPs, output shapes, receptive
field) are measured on the built models, not inferred from the spec.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Sequence

from pydantic import JsonValue, Strict

from cnnreport.backend import import_keras
from cnnreport.contract import Part
from cnnreport.errors import UserError
from cnnreport.results.differences import Comparison, Difference, canonical, compare, touched_layers
from cnnreport.study.models import ModelSpec
from cnnreport.study.schema import Study
from cnnreport.study.specs import DataSpec, TrainingSpec
from cnnreport.train.models import build_and_analyse
from cnnreport.train.plan import RunSpec

# A built layer as the rubric check recompares it: [Keras type, config without the name].
LayerSignature = Annotated[tuple[str, dict[str, JsonValue]], Strict(False)]


class RunSettings(Part):
    """What a model's planned runs share besides the architecture."""

    training: TrainingSpec
    data: DataSpec
    seeds: list[int]


class OutputShape(Part):
    layer: str
    shape: list[int]


class VerificationRow(Part):
    """One CNN as built: what differs from the reference, and what that does to the network."""

    model: str
    role: Literal["reference", "variant"]
    status: Literal["reference", "controlled", "accepted differences"]
    differences: list[Difference]
    params: int
    params_delta: int  # against the reference
    flops: int
    flops_delta: int
    receptive_field: int | None
    activation_bytes: int
    output_shapes: list[OutputShape]  # of each conv, pooling and flatten layer
    # What the differences were computed from, so the rubric check can recompute them.
    signature: dict[str, LayerSignature]
    settings: RunSettings


class Verification(Part):
    """The controlled-variable verification of every CNN of a study."""

    controlled: bool  # no accepted difference besides the factor
    differences: list[Difference]
    verification: list[VerificationRow]


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def layer_signature(model: Any) -> dict[str, list[Any]]:
    """Canonical layer name → [type, config without the name], in model order (JSON-ready, as
    report.json records it for the rubric check)."""
    keras = import_keras()

    out: dict[str, list[Any]] = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        config = {k: _plain(v) for k, v in layer.get_config().items() if k != "name"}
        out[canonical(layer.name)] = [type(layer).__name__, config]
    return out


def verify_study(study: Study, plan: Sequence[RunSpec], input_shape: tuple[int, int, int],
                 num_classes: int) -> Verification:
    """Build every CNN of the plan, compare each variant with the reference; raise UserError if
    uncontrolled."""
    keras = import_keras()

    runs: dict[str, list[RunSpec]] = {}
    for spec in plan:
        if spec.probe == "none" and spec.model.kind == "cnn":
            runs.setdefault(spec.model.name, []).append(spec)
    models = [specs[0].model for specs in runs.values()]
    reference = next(m for m in models if m.role == "reference")

    exp = study.experiment
    touched = touched_layers(exp.layers, max(len(m.arch.blocks) for m in models))
    built = build_and_analyse(models, input_shape, num_classes)
    described = {m.name: (layer_signature(built[m.name][0]), run_settings(runs[m.name])) for m in models}
    ref_info = built[reference.name][1]

    differences: list[Difference] = []
    rows: list[VerificationRow] = []
    problems: list[str] = []
    for m in models:
        info = built[m.name][1]
        found = (Comparison(m.name, [], [], []) if m is reference else
                 compare(m.name, described[reference.name], described[m.name], exp.factor, touched, m.accept))
        differences += found.differences
        if found.unexpected:
            problems.append(f"variant {m.name!r} differs from the reference beyond its factor "
                            f"({exp.factor}): {'; '.join(found.unexpected)}")
        if found.unused_accepts:
            problems.append(f"variant {m.name!r}: accept lists {found.unused_accepts} but the variant "
                            f"does not differ from the reference there")
        rows.append(_row(m, info, ref_info, found.differences, described[m.name][0], runs[m.name]))
    keras.backend.clear_session()
    if problems:
        raise UserError(f"{study.source}: experiment is not controlled: " + " | ".join(problems)
                        + " — change one factor per experiment, or list the extra keys in the "
                          "variant's accept = [...]")
    return Verification(controlled=not any(d.accepted for d in differences), differences=differences,
                        verification=rows)


def run_settings(specs: list[RunSpec]) -> dict[str, Any]:
    """What a model's planned runs share besides the architecture: training, data, seeds."""
    return {"training": specs[0].training.model_dump(mode="json"),
            "data": specs[0].data.model_dump(mode="json"), "seeds": [s.seed for s in specs]}


def _row(model: ModelSpec, info: dict[str, Any], ref: dict[str, Any], diffs: list[Difference],
         signature: dict[str, list[Any]], specs: list[RunSpec]) -> VerificationRow:
    """One verification-table row: what differs, and what that does to the network."""
    status = ("reference" if model.role == "reference"
              else "accepted differences" if any(d.accepted for d in diffs) else "controlled")
    return VerificationRow.model_validate({
        "model": model.name,
        "role": model.role,
        "status": status,
        "differences": diffs,
        "params": info["params"],
        "params_delta": info["params"] - ref["params"],
        "flops": info["flops"],
        "flops_delta": info["flops"] - ref["flops"],
        "receptive_field": info["receptive_field"],
        "activation_bytes": info["activation_bytes"],
        "output_shapes": [{"layer": layer["name"], "shape": list(layer["output_shape"])}
                          for layer in info["layers"]
                          if layer["type"] in ("Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten")],
        "signature": {name: tuple(sig) for name, sig in signature.items()},
        "settings": RunSettings(training=specs[0].training, data=specs[0].data, seeds=[s.seed for s in specs]),
    })
