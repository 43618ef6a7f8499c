"""Variants of the reference CNN: the experiment's default levels, one factor applied to the
reference, and hand-written variants merged over it.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from cnnreport.study.specs import CNNSpec, ExperimentSpec, TrainingSpec, VariantSpec


def default_levels(cnn: CNNSpec, experiment: ExperimentSpec) -> tuple[int | str, ...]:
    """Levels used when the study omits `experiment.levels`: the reference plus three neighbours
    (four CNNs), except pooling, which has only three kinds (with the baseline: four models), and
    stride on every layer, where stride 4 would erase a 28×28 image after two pooled blocks."""
    factor = experiment.factor
    ref = reference_level(cnn, experiment)
    if factor == "pooling":
        return ("max", "average", "none")
    if factor == "kernel_size":
        candidates = [1, 3, 5, 7]
    elif factor == "filters":
        candidates = [max(1, int(ref) // 2), int(ref), int(ref) * 2, int(ref) * 4]
    elif factor == "depth":
        candidates = [1, 2, 3, 4]
    else:  # stride
        candidates = [1, 2, 3, 4] if experiment.layers == "first" else [1, 2, 3]
    return tuple(sorted(set(candidates) | {int(ref)}))


def reference_level(cnn: CNNSpec, experiment: ExperimentSpec) -> int | str:
    """The value the factor takes in the reference CNN (its first conv block decides)."""
    if experiment.factor == "depth":
        return len(cnn.blocks)
    first = cnn.blocks[0]
    return {"kernel_size": first.kernel_size, "filters": first.filters,
            "pooling": first.pooling, "stride": first.stride}[experiment.factor]


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def level_label(factor: str, level: int | str) -> str:
    """What a variant's name says changed, e.g. 'kernel 5×5'."""
    return {
        "kernel_size": lambda v: f"kernel {v}×{v}",
        "filters": lambda v: f"{v} filters",
        "depth": lambda v: f"{v} conv layer" + ("s" if v != 1 else ""),
        "pooling": lambda v: "no pooling" if v == "none" else f"{v} pooling",
        "stride": lambda v: f"stride {v}",
    }[factor](level)


def apply_factor(cnn: CNNSpec, factor: str, level: int | str, layers: str) -> CNNSpec:
    """The reference CNN with ONE factor set to `level` (on the first conv layer or all of them)."""
    blocks = list(cnn.blocks)
    if factor == "depth":
        depth = int(level)
        if depth <= len(blocks):
            blocks = blocks[:depth]
        else:  # deeper: repeat the last block's design, doubling filters as the reference does
            while len(blocks) < depth:
                blocks.append(blocks[-1].model_copy(update={"filters": blocks[-1].filters * 2}))
        return cnn.model_copy(update={"blocks": tuple(blocks)})
    touched = range(len(blocks)) if layers == "all" else range(1)
    for i in touched:
        if factor == "filters":
            # Keep each layer's width ratio to the first layer: level is the first layer's filters.
            ratio = blocks[i].filters / cnn.blocks[0].filters
            update = {"filters": max(1, round(int(level) * ratio))}
        else:
            update = {factor: level}
        blocks[i] = blocks[i].model_copy(update=update)
    return cnn.model_copy(update={"blocks": tuple(blocks)})


def _merge_blocks(ref: CNNSpec, override: dict[str, Any]) -> dict[str, Any]:
    merged = deep_merge(ref.model_dump(mode="json"), {k: v for k, v in override.items() if k != "blocks"})
    if "blocks" in override:
        blocks = override["blocks"]
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise ValueError("cnn.blocks: expected a list of tables, one per block")
        base = merged["blocks"]
        merged["blocks"] = [deep_merge(base[i], b) if i < len(base) else b for i, b in enumerate(blocks)]
    return merged


def _variant_error(variant: VariantSpec, section: str, err: ValidationError) -> str:
    e = err.errors()[0]
    key = ".".join(str(p) for p in e["loc"])
    msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
    return f"variants.{variant.name}.{section}.{key}: {msg}"


def variant_cnn(ref: CNNSpec, variant: VariantSpec) -> CNNSpec:
    """The reference CNN with a hand-written variant's overrides applied."""
    try:
        return CNNSpec.model_validate(_merge_blocks(ref, variant.cnn))
    except ValidationError as err:
        raise ValueError(_variant_error(variant, "cnn", err)) from None


def variant_training(ref: TrainingSpec, variant: VariantSpec) -> TrainingSpec:
    try:
        return TrainingSpec.model_validate(deep_merge(ref.model_dump(mode="json"), variant.training))
    except ValidationError as err:
        raise ValueError(_variant_error(variant, "training", err)) from None
