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

from typing import Any

from cnnreport.backend import import_keras
from cnnreport.errors import UserError
from cnnreport.results.differences import (
    Comparison,
    canonical,
    compare,
    show,
    touched_layers,
)
from cnnreport.study.models import ModelSpec, study_models
from cnnreport.study.schema import Study
from cnnreport.train.plan import plan_runs


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


def verify_study(study: Study, input_shape: tuple[int, int, int], num_classes: int) -> dict[str, Any]:
    """Build every CNN, compare each variant with the reference; raise UserError if uncontrolled.

    Returns {controlled, differences, verification} for report.json's `experiment`.
    """
    keras = import_keras()

    from cnnreport.train.models import analyse, make_model

    models = [m for m in study_models(study) if m.kind == "cnn"]
    reference = next(m for m in models if m.role == "reference")
    runs: dict[str, list[Any]] = {}
    for spec in plan_runs(study):
        runs.setdefault(spec.model.name, []).append(spec)

    exp = study.experiment
    touched = touched_layers(exp.layers, max(len(m.arch.blocks) for m in models))
    built = {m.name: make_model(m, input_shape, num_classes) for m in models}  # vanishing maps raise here
    described = {m.name: (layer_signature(built[m.name]), run_settings(runs[m.name])) for m in models}
    ref_info = analyse(built[reference.name])

    differences: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for m in models:
        info = analyse(built[m.name]) if m is not reference else ref_info
        found = (Comparison(m.name, [], [], []) if m is reference else
                 compare(m.name, described[reference.name], described[m.name], exp.factor, touched, m.accept))
        differences += found.differences
        if found.unexpected:
            problems.append(f"variant {m.name!r} differs from the reference beyond its factor "
                            f"({exp.factor}): {'; '.join(found.unexpected)}")
        if found.unused_accepts:
            problems.append(f"variant {m.name!r}: accept lists {found.unused_accepts} but the variant "
                            f"does not differ from the reference there")
        rows.append(_row(m, info, ref_info, found.differences, described[m.name]))
    keras.backend.clear_session()
    if problems:
        raise UserError(f"{study.source}: experiment is not controlled: " + " | ".join(problems)
                        + " — change one factor per experiment, or list the extra keys in the "
                          "variant's accept = [...]")
    return {"controlled": not any(d["accepted"] for d in differences),
            "differences": differences, "verification": rows}


def run_settings(specs: list[Any]) -> dict[str, Any]:
    """What a model's planned runs share besides the architecture: training, data, seeds."""
    return {"training": specs[0].training.model_dump(mode="json"),
            "data": specs[0].data.model_dump(mode="json"), "seeds": [s.seed for s in specs]}


def _row(model: ModelSpec, info: dict[str, Any], ref: dict[str, Any],
         diffs: list[dict[str, Any]], described: tuple[dict[str, list[Any]], dict[str, Any]]) -> dict[str, Any]:
    """One verification-table row: what differs, and what that does to the network."""
    status = ("reference" if model.role == "reference"
              else "accepted differences" if any(d["accepted"] for d in diffs) else "controlled")
    return {
        "model": model.name,
        "role": model.role,
        "status": status,
        "differs": [f"{d['key']}: {show(d['reference'])} → {show(d['variant'])}"
                    + ("" if d["declared"] else " (accepted)") for d in diffs],
        "params": info["params"],
        "params_delta": info["params"] - ref["params"],
        "flops": info["flops"],
        "flops_delta": info["flops"] - ref["flops"],
        "receptive_field": info["receptive_field"],
        "activation_bytes": info["activation_bytes"],
        "output_shapes": [{"layer": layer["name"], "shape": list(layer["output_shape"])}
                          for layer in info["layers"]
                          if layer["type"] in ("Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten")],
        # What the differences were computed from, so the rubric check can recompute them.
        "signature": described[0],
        "settings": described[1],
    }
