"""The study file: schema, loading, profiles and variant expansion.

A study is one TOML file (see studies/). Profiles (`[profiles.quick]`, `[profiles.full]`) list only
what differs from the base and are merged over it before validation, so a typo in a profile is
caught like a typo anywhere else: an unknown key is an error, never a silent default.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import UserError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

STUDIES_DIR = Path(__file__).resolve().parent.parent / "studies"
PROFILES = ("quick", "full")
DEFAULT_STUDY = "cifar10"

DataSource = Literal["cifar10", "cifar100", "mnist", "fashion_mnist", "folder"]
Factor = Literal["kernel_size", "filters", "depth", "pooling", "stride"]
Pooling = Literal["max", "average", "none"]

# The design decisions a CNN report must justify, in the order the report lists them.
DECISIONS = (
    "conv_layers",
    "kernel_size",
    "filters",
    "stride",
    "padding",
    "activation",
    "pooling",
    "dense_head",
    "regularisation",
    "optimizer",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(Strict):
    source: DataSource
    path: str | None = None  # folder source: one sub-folder per class
    image_size: tuple[int, int] | None = None  # folder source: resize to (height, width)
    val_fraction: float = Field(0.1, gt=0, lt=0.5)  # carved out of the training set
    split_seed: int = 1234  # fixed, so every run sees the same validation images
    train_subset: int | None = Field(None, ge=10)  # training images kept after the split
    val_subset: int | None = Field(None, ge=10)
    test_subset: int | None = Field(None, ge=10)

    @model_validator(mode="after")
    def _folder_needs_path(self) -> "DataSpec":
        if self.source == "folder" and not self.path:
            raise ValueError("source = 'folder' needs data.path (one sub-folder per class)")
        return self


class TrainingSpec(Strict):
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    learning_rate: float = Field(gt=0)
    # bf16 compute where the device has it natively (GPU, CPU with AVX512_BF16/AMX); see levers.py
    precision: Literal["auto", "float32", "mixed_bfloat16"] = "auto"


class MLPSpec(Strict):
    hidden: tuple[int, ...] = Field(min_length=1)  # units per hidden Dense layer
    activation: str = "relu"
    dropout: float = Field(0.0, ge=0, lt=1)


class ConvBlock(Strict):
    filters: int = Field(ge=1)
    kernel_size: int = Field(ge=1)
    stride: int = Field(1, ge=1)
    padding: Literal["same", "valid"] = "same"
    activation: str = "relu"
    pooling: Pooling = "max"
    pool_size: int = Field(2, ge=2)


class CNNSpec(Strict):
    blocks: tuple[ConvBlock, ...] = Field(min_length=1)
    dense: tuple[int, ...] = ()  # hidden units of the dense head, before the softmax
    dense_activation: str = "relu"
    dropout: float = Field(0.0, ge=0, lt=1)  # before the classifier


class ExperimentSpec(Strict):
    factor: Factor
    # Omitted: the factor's default levels (see default_levels), set by the Study validator.
    levels: tuple[int | str, ...] | None = Field(None, min_length=2)
    layers: Literal["all", "first"] = "all"  # which conv layers the factor touches

    @model_validator(mode="after")
    def _levels_fit_factor(self) -> "ExperimentSpec":
        if self.levels is None:
            return self
        if len(set(self.levels)) != len(self.levels):
            raise ValueError(f"experiment.levels has duplicates: {list(self.levels)}")
        for level in self.levels:
            if self.factor == "pooling":
                if level not in ("max", "average", "none"):
                    raise ValueError(f"pooling level {level!r}: expected 'max', 'average' or 'none'")
            elif not isinstance(level, int) or level < 1:
                raise ValueError(f"{self.factor} level {level!r}: expected a positive integer")
        return self


class Prose(Strict):
    """The author's own words. Empty means: the report uses its generated default and says so."""

    dataset: str = ""  # why this data set, and what it asks of a model
    preprocessing: str = ""
    rationale: dict[str, str] = {}  # decision (see DECISIONS) -> justification
    interpretation: str = ""

    @model_validator(mode="after")
    def _known_decisions(self) -> "Prose":
        unknown = sorted(set(self.rationale) - set(DECISIONS))
        if unknown:
            raise ValueError(f"unknown decision(s) {unknown}; expected some of {list(DECISIONS)}")
        return self


class VariantSpec(Strict):
    """A hand-written variant: the reference CNN with some keys overridden.

    `cnn` overrides [cnn] keys; `cnn.blocks` is one table per block, merged over the reference
    block at the same position (the list's length is the variant's depth). `training` overrides
    [training] keys and `seeds` the study's seeds. Every difference from the reference other than
    the experiment's factor fails verification unless its key is listed in `accept`.
    """

    name: str = Field(min_length=1)
    base: Literal["reference"] = "reference"
    cnn: dict[str, Any] = {}
    training: dict[str, Any] = {}
    seeds: tuple[int, ...] | None = Field(None, min_length=1)
    accept: tuple[str, ...] = ()  # difference keys, e.g. "conv1.filters" or "training.learning_rate"


class Study(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # names runs/<name>/ and reports/<name>/
    title: str
    author: str = ""
    profile: str = "base"  # set by the loader
    source: str = ""  # the study file it was read from, set by the loader
    data: DataSpec
    seeds: tuple[int, ...] = Field(min_length=1)
    training: TrainingSpec
    baseline: MLPSpec
    cnn: CNNSpec
    experiment: ExperimentSpec
    variants: tuple[VariantSpec, ...] = ()
    text: Prose = Prose()

    @model_validator(mode="after")
    def _reference_in_levels(self) -> "Study":
        if self.experiment.levels is None:
            # Frozen model: the loader's one write, before anyone reads the study.
            object.__setattr__(self, "experiment", self.experiment.model_copy(
                update={"levels": default_levels(self.cnn, self.experiment)}))
        ref = reference_level(self.cnn, self.experiment)
        if ref not in self.experiment.levels:
            raise ValueError(
                f"experiment.levels {list(self.experiment.levels)} must include the reference CNN's "
                f"own {self.experiment.factor} ({ref!r}), so the reference is one of the compared models"
            )
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds has duplicates: {list(self.seeds)}")
        names = ["mlp"] + [f"cnn · {level_label(self.experiment.factor, lv)}" for lv in self.experiment.levels]
        for v in self.variants:
            if v.name in names:
                raise ValueError(f"variants: name {v.name!r} is already used by another model")
            names.append(v.name)
            variant_cnn(self.cnn, v)  # a bad override is a load-time error, not a training-time one
            variant_training(self.training, v)
        return self

    def digest(self) -> str:
        """Hash of everything that decides results (prose excluded: rewording retrains nothing)."""
        payload = self.model_dump(mode="json", exclude={"text", "title", "author", "source"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


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


# --------------------------------------------------------------------------------------- loading


def resolve_study_path(study: str) -> Path:
    """A built-in study name (`cifar10`, `fashion-mnist`) or a path to a TOML file."""
    candidate = Path(study)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise UserError(f"{study}: no such study file")
        return candidate
    builtin = STUDIES_DIR / f"{study}.toml"
    if builtin.is_file():
        return builtin
    names = sorted(p.stem for p in STUDIES_DIR.glob("*.toml"))
    raise UserError(f"unknown study {study!r}: expected one of {names} or a path to a .toml file")


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _format_validation_error(path: Path, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif "input" in e and not isinstance(e["input"], (dict, list)):
            msg = f"{msg} (got {e['input']!r})"
        parts.append(f"{key}: {msg}")
    return f"{path}: " + "; ".join(parts)


def load_study(study: str | Path = DEFAULT_STUDY, profile: str | None = None) -> Study:
    """Load, merge the profile, validate. Raises UserError naming the file and the key."""
    path = resolve_study_path(str(study))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    return study_from_dict(raw, profile, origin=path)


def study_from_dict(raw: dict[str, Any], profile: str | None, origin: Path | str = "<study>") -> Study:
    raw = dict(raw)
    profiles = raw.pop("profiles", {})
    if not isinstance(profiles, dict):
        raise UserError(f"{origin}: profiles: expected tables like [profiles.quick]")
    unknown = sorted(set(profiles) - set(PROFILES))
    if unknown:
        raise UserError(f"{origin}: profiles.{unknown[0]}: unknown profile; expected one of {list(PROFILES)}")
    if profile is not None:
        if profile not in PROFILES:
            raise UserError(f"unknown profile {profile!r}: expected one of {list(PROFILES)}")
        override = profiles.get(profile, {})
        if not isinstance(override, dict):
            raise UserError(f"{origin}: profiles.{profile}: expected a table")
        raw = deep_merge(raw, override)
        raw["profile"] = profile
    raw["source"] = str(origin)
    try:
        return Study.model_validate(raw)
    except ValidationError as err:
        raise UserError(_format_validation_error(Path(str(origin)), err)) from None


# ------------------------------------------------------------------------------ models of a study


class ModelSpec(Strict):
    """One model of the study: the baseline, the reference CNN, or a variant of it."""

    name: str
    role: Literal["baseline", "reference", "variant"]
    arch: MLPSpec | CNNSpec
    factor: Factor | None = None
    level: int | str | None = None
    # Hand-written variants only: their own training settings / seeds, and accepted differences.
    training: TrainingSpec | None = None
    seeds: tuple[int, ...] | None = None
    accept: tuple[str, ...] = ()
    handwritten: bool = False

    @property
    def kind(self) -> str:
        return "mlp" if isinstance(self.arch, MLPSpec) else "cnn"


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


def study_models(study: Study) -> list[ModelSpec]:
    """Baseline MLP, reference CNN and one variant per other level (in the study's level order),
    then the hand-written variants in file order."""
    exp = study.experiment
    ref = reference_level(study.cnn, exp)
    models = [ModelSpec(name="mlp", role="baseline", arch=study.baseline)]
    for level in exp.levels or ():
        models.append(ModelSpec(
            name=f"cnn · {level_label(exp.factor, level)}",
            role="reference" if level == ref else "variant",
            arch=study.cnn if level == ref else apply_factor(study.cnn, exp.factor, level, exp.layers),
            factor=exp.factor,
            level=level,
        ))
    for v in study.variants:
        arch = variant_cnn(study.cnn, v)
        training = variant_training(study.training, v)
        models.append(ModelSpec(
            name=v.name, role="variant", arch=arch, factor=exp.factor,
            level=reference_level(arch, exp),
            training=None if training == study.training else training,
            seeds=v.seeds, accept=v.accept, handwritten=True,
        ))
    return models
