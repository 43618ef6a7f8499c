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

import re
from typing import Any

from cnnreport.backend import import_keras
from cnnreport.errors import UserError
from cnnreport.study.models import ModelSpec, study_models
from cnnreport.study.schema import Study
from cnnreport.train.plan import plan_runs

ABSENT = "absent"
_POOL = re.compile(r"^(?:max|avg)pool(\d+)$")


def canonical(layer_name: str) -> str:
    """Max and average pooling of block i are the same slot ('pool<i>'): swapping one for the
    other is a type change of one layer, not one layer removed and another added."""
    m = _POOL.match(layer_name)
    return f"pool{m.group(1)}" if m else layer_name


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def show(value: Any) -> str:
    """A config value as the report prints it: [5, 5] → '5×5'."""
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        return "×".join(str(v) for v in value)
    return str(value)


def layer_signature(model: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """Canonical layer name → (type, config without the name), in model order."""
    keras = import_keras()

    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        config = {k: _plain(v) for k, v in layer.get_config().items() if k != "name"}
        out[canonical(layer.name)] = (type(layer).__name__, config)
    return out


def layer_differences(reference: dict[str, tuple[str, dict[str, Any]]],
                      variant: dict[str, tuple[str, dict[str, Any]]]) -> list[tuple[str, Any, Any]]:
    """(key, reference value, variant value) for every layer added, removed, retyped or reconfigured."""
    diffs: list[tuple[str, Any, Any]] = []
    names = list(reference) + [n for n in variant if n not in reference]
    for name in names:
        if name not in variant:
            diffs.append((name, reference[name][0], ABSENT))
        elif name not in reference:
            diffs.append((name, ABSENT, variant[name][0]))
        elif reference[name][0] != variant[name][0]:
            diffs.append((f"{name}.type", reference[name][0], variant[name][0]))
        else:
            ref_cfg, var_cfg = reference[name][1], variant[name][1]
            for key in list(ref_cfg) + [k for k in var_cfg if k not in ref_cfg]:
                if ref_cfg.get(key, ABSENT) != var_cfg.get(key, ABSENT):
                    diffs.append((f"{name}.{key}", ref_cfg.get(key, ABSENT), var_cfg.get(key, ABSENT)))
    return diffs


def setting_differences(reference_runs: list[Any], variant_runs: list[Any]) -> list[tuple[str, Any, Any]]:
    """Training and data settings and seeds of the runs actually planned for two models."""
    diffs: list[tuple[str, Any, Any]] = []
    ref, var = reference_runs[0], variant_runs[0]
    for section in ("training", "data"):
        a = getattr(ref, section).model_dump(mode="json")
        b = getattr(var, section).model_dump(mode="json")
        for key in a:
            if a[key] != b[key]:
                diffs.append((f"{section}.{key}", a[key], b[key]))
    seeds_a, seeds_b = [r.seed for r in reference_runs], [r.seed for r in variant_runs]
    if seeds_a != seeds_b:
        diffs.append(("seeds", seeds_a, seeds_b))
    return diffs


def declared(key: str, factor: str, touched: set[int]) -> bool:
    """Whether a difference key belongs to the declared factor on the declared layers."""
    m = re.match(r"^(conv|pool)(\d+)(?:\.(.+))?$", key)
    if not m:
        return False
    kind, index, attr = m.group(1), int(m.group(2)), m.group(3)
    if factor == "depth":
        return attr is None  # whole blocks added or removed
    if index not in touched:
        return False
    if factor == "pooling":
        return kind == "pool" and attr in (None, "type")
    wanted = {"kernel_size": "kernel_size", "filters": "filters", "stride": "strides"}[factor]
    return kind == "conv" and attr == wanted


def _accepted(key: str, accept: tuple[str, ...]) -> str | None:
    return next((a for a in accept if key == a or key.startswith(a + ".")), None)


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
    touched = set(range(1, 1 + max(len(m.arch.blocks) for m in models))) if exp.layers == "all" else {1}
    built = {m.name: make_model(m, input_shape, num_classes) for m in models}  # vanishing maps raise here
    ref_sig = layer_signature(built[reference.name])
    ref_info = analyse(built[reference.name])

    differences: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for m in models:
        info = analyse(built[m.name]) if m is not reference else ref_info
        found = [] if m is reference else (
            layer_differences(ref_sig, layer_signature(built[m.name]))
            + setting_differences(runs[reference.name], runs[m.name]))
        used_accepts: set[str] = set()
        unexpected: list[str] = []
        for key, a, b in found:
            is_declared = declared(key, exp.factor, touched)
            accept = None if is_declared else _accepted(key, m.accept)
            if accept:
                used_accepts.add(accept)
            differences.append({"model": m.name, "key": key, "reference": a, "variant": b,
                                "declared": is_declared, "accepted": accept is not None})
            if not is_declared and accept is None:
                unexpected.append(f"{key} {show(a)} → {show(b)}")
        if unexpected:
            problems.append(f"variant {m.name!r} differs from the reference beyond its factor "
                            f"({exp.factor}): {'; '.join(unexpected)}")
        unused = [a for a in m.accept if a not in used_accepts]
        if unused:
            problems.append(f"variant {m.name!r}: accept lists {unused} but the variant does not "
                            f"differ from the reference there")
        rows.append(_row(m, info, ref_info, [d for d in differences if d["model"] == m.name]))
    keras.backend.clear_session()
    if problems:
        raise UserError(f"{study.source}: experiment is not controlled: " + " | ".join(problems)
                        + " — change one factor per experiment, or list the extra keys in the "
                          "variant's accept = [...]")
    return {"controlled": not any(d["accepted"] for d in differences),
            "differences": differences, "verification": rows}


def _row(model: ModelSpec, info: dict[str, Any], ref: dict[str, Any],
         diffs: list[dict[str, Any]]) -> dict[str, Any]:
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
    }
