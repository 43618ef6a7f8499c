"""What differs between a variant and the reference CNN, and whether the experiment allows it.

One implementation for both readers: the build's verification compares models Keras has just
built (results/verification.py), and the rubric check compares the same signatures as report.json
records them, so the two can never disagree about what "only the factor differs" means.

A model is described by its *signature* — canonical layer name → [Keras type, config without the
name] — and its *settings* (training, data, seeds of its planned runs). Difference keys read like
`conv1.kernel_size`, `pool2.type`, `training.learning_rate`, `seeds`: the keys a hand-written
variant lists in `accept`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from pydantic import JsonValue

from cnnreport.contract import Part

ABSENT = "absent"
_POOL = re.compile(r"^(?:max|avg)pool(\d+)$")
_LAYER_KEY = re.compile(r"^(conv|pool)(\d+)(?:\.(.+))?$")
# The Keras config key each layer-level factor changes.
_FACTOR_ATTR = {"kernel_size": "kernel_size", "filters": "filters", "stride": "strides"}

Signature = Mapping[str, Sequence[Any]]  # layer → (type, config)


def canonical(layer_name: str) -> str:
    """Max and average pooling of block i are the same slot ('pool<i>'): swapping one for the
    other is a type change of one layer, not one layer removed and another added."""
    m = _POOL.match(layer_name)
    return f"pool{m.group(1)}" if m else layer_name


def show(value: Any) -> str:
    """A config value as the report prints it: [5, 5] → '5×5'."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value):
        return "×".join(str(v) for v in value)
    return str(value)


def layer_differences(reference: Signature, variant: Signature) -> list[tuple[str, Any, Any]]:
    """(key, reference value, variant value) for every layer added, removed, retyped or reconfigured."""
    diffs: list[tuple[str, Any, Any]] = []
    for name in list(reference) + [n for n in variant if n not in reference]:
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


def setting_differences(reference: Mapping[str, Any], variant: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Training and data settings and seeds: {"training": {...}, "data": {...}, "seeds": [...]}."""
    diffs: list[tuple[str, Any, Any]] = []
    for section in ("training", "data"):
        a, b = reference.get(section) or {}, variant.get(section) or {}
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key, ABSENT) != b.get(key, ABSENT):
                diffs.append((f"{section}.{key}", a.get(key, ABSENT), b.get(key, ABSENT)))
    if list(reference.get("seeds") or []) != list(variant.get("seeds") or []):
        diffs.append(("seeds", list(reference.get("seeds") or []), list(variant.get("seeds") or [])))
    return diffs


def conv_blocks(signature: Signature) -> int:
    """How many conv blocks a signature has (its layers named conv1, conv2, ...)."""
    return sum(1 for name in signature if _LAYER_KEY.match(str(name)) and str(name).startswith("conv"))


def touched_layers(layers: str, max_blocks: int) -> set[int]:
    """The conv / pool block numbers (1-based) the factor may change: all of them, or the first."""
    return set(range(1, 1 + max_blocks)) if layers == "all" else {1}


def declared(key: str, factor: str, touched: set[int]) -> bool:
    """Whether a difference key belongs to the declared factor on the declared layers."""
    m = _LAYER_KEY.match(key)
    if not m:
        return False
    kind, index, attr = m.group(1), int(m.group(2)), m.group(3)
    if factor == "depth":
        return attr is None  # whole blocks added or removed
    if index not in touched:
        return False
    if factor == "pooling":
        return kind == "pool" and attr in (None, "type")
    return kind == "conv" and attr == _FACTOR_ATTR.get(factor)


def accepted_by(key: str, accept: Sequence[str]) -> str | None:
    """The `accept` entry that covers a key (itself or a prefix: 'dropout' covers 'dropout.rate')."""
    return next((a for a in accept if key == a or key.startswith(a + ".")), None)


class Difference(Part):
    """report.json `experiment.differences[]`: one key in which a CNN differs from the reference."""

    model: str
    key: str  # e.g. conv1.kernel_size, pool2.type, training.learning_rate, seeds
    reference: JsonValue  # the reference's value ("absent" for a layer it lacks)
    variant: JsonValue
    declared: bool  # the experiment's factor on its declared layers
    accepted: bool  # listed in the variant's `accept`


@dataclass(frozen=True)
class Comparison:
    """One variant against the reference: every difference, classified."""

    model: str
    differences: list[Difference]
    unexpected: list[str]  # neither the factor nor accepted: "key a → b"
    unused_accepts: list[str]  # accept entries that match no difference

    @property
    def changes_nothing(self) -> bool:
        return not self.differences


def compare(model: str, reference: tuple[Signature, Mapping[str, Any]],
            variant: tuple[Signature, Mapping[str, Any]], factor: str, touched: set[int],
            accept: Sequence[str] = ()) -> Comparison:
    """Classify every difference between (signature, settings) pairs of a variant and the reference."""
    found = layer_differences(reference[0], variant[0]) + setting_differences(reference[1], variant[1])
    rows, unexpected, used = [], [], set()
    for key, a, b in found:
        is_declared = declared(key, factor, touched)
        accept_entry = None if is_declared else accepted_by(key, accept)
        if accept_entry:
            used.add(accept_entry)
        rows.append(Difference(model=model, key=key, reference=a, variant=b, declared=is_declared,
                               accepted=accept_entry is not None))
        if not is_declared and accept_entry is None:
            unexpected.append(f"{key} {show(a)} → {show(b)}")
    return Comparison(model, rows, unexpected, [a for a in accept if a not in used])
