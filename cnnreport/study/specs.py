"""The parts of a study file, each a strict (unknown key = error) frozen pydantic model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
