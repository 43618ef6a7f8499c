"""The parts of a study file, each a strict (unknown key = error) frozen pydantic model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

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


# Activations a layer can take by name: Keras's own (keras.activations), less those that are
# not one-argument, shape-keeping functions: 'glu' halves the units, 'threshold' needs arguments.
# tests/test_study_strict.py checks this list against the installed Keras.
Activation = Literal[
    "celu", "elu", "exponential", "gelu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6",
    "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus",
    "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
]
Optimizer = Literal["adam", "adamw", "sgd", "rmsprop"]  # train/engine.py's make_optimizer
Padding = Literal["same", "valid"]  # what keras.layers.Conv2D accepts
ResizePolicy = Literal["resize", "pad", "crop"]

# A model's name is drawn in figures and printed in tables: bounded, printable, and free of the
# characters matplotlib reads as mathtext ($ and backslash) or that markup or a shell would
# treat specially. Letters of any script, digits, spaces and the punctuation default names use (·, ×).
MODEL_NAME = r"^[^\W_][\w ·×.,:;()\[\]+/#%=&'-]*$"
MODEL_NAME_MAX = 80

Units = Annotated[int, Field(ge=1, le=65536)]  # of a Dense layer: a typo is an error, not out of memory
Pixels = Annotated[int, Field(ge=1, le=4096)]  # a side of an image
Seed = Annotated[int, Field(ge=0, lt=2**32)]  # NumPy's and Keras's seeds are unsigned 32-bit


class Strict(BaseModel):
    """No silent conversion: "32" is not an int, 2.0 is not an int, "0.001" is not a float, and
    infinities and NaN are not numbers. Tuple fields still take TOML's (and JSON's) lists, item by
    item strictly: each declares `Field(strict=False)`, which applies to the container only."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class DataSpec(Strict):
    source: DataSource
    path: str | None = None  # folder source: the data folder (relative: from the study file's folder)
    image_size: tuple[Pixels, Pixels] | None = Field(None, strict=False)  # folder source: (height, width); 64×64 if omitted
    val_fraction: float = Field(0.1, gt=0, lt=0.5)  # carved out of the training set
    split_seed: int = Field(1234, ge=0)  # fixed, so every run sees the same validation images
    train_subset: int | None = Field(None, ge=10)  # training images kept after the split
    val_subset: int | None = Field(None, ge=10)
    test_subset: int | None = Field(None, ge=10)
    # The folder source only (data/folder.py); set with another source they are an error.
    # How every image reaches image_size: pad (letterbox: whole image, aspect kept, black bars;
    # the default, as nothing is distorted or cut), crop (centre, aspect kept) or resize (stretch).
    resize: ResizePolicy = "pad"
    channels: Literal["auto", 1, 3] = "auto"  # auto: what most images are (grey or colour)
    background: Literal["white", "black"] = "white"  # what transparent pixels are composited on
    on_bad_file: Literal["skip", "error"] = "skip"  # an unreadable image: skip and list it, or stop
    csv: str | None = None  # labels from a CSV of file names and labels (relative to the data folder)
    csv_columns: tuple[str, str] | None = Field(None, strict=False)  # (file column, label column)
    test_fraction: float = Field(0.2, gt=0, lt=0.9)  # held out of each class when the folder has no test/

    @field_validator("channels", mode="before")
    @classmethod
    def _channels_not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):  # True == 1 would pass the literal
            raise ValueError("expected \"auto\", 1 or 3")
        return value

    @model_validator(mode="after")
    def _folder_needs_path(self) -> "DataSpec":
        if self.source == "folder" and not self.path:
            raise ValueError("source = 'folder' needs data.path (one sub-folder per class)")
        if self.source != "folder":
            stray = sorted(set(FOLDER_KEYS) & self.model_fields_set)
            if stray:
                raise ValueError(f"data.{stray[0]} applies to source = 'folder' only (source is {self.source!r})")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        """The folder-only keys are left out of another source's dump: the dump is part of every
        run id (train/plan.py), and the built-in data sets' runs keep their ids."""
        out = handler(self)
        if self.source != "folder":
            for key in FOLDER_KEYS:
                out.pop(key, None)
        return out


# The keys added for image folders (not `path` and `image_size`, which every dump has held).
FOLDER_KEYS = ("resize", "channels", "background", "on_bad_file", "csv", "csv_columns", "test_fraction")


class TrainingSpec(Strict):
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    optimizer: Optimizer = "adam"
    learning_rate: float = Field(gt=0)
    # bf16 compute where the device has it natively (GPU, CPU with AVX512_BF16/AMX); see levers.py
    precision: Literal["auto", "float32", "mixed_bfloat16"] = "auto"


class MLPSpec(Strict):
    hidden: tuple[Units, ...] = Field(min_length=1, strict=False)  # units per hidden Dense layer
    activation: Activation = "relu"
    dropout: float = Field(0.0, ge=0, lt=1)


class ConvBlock(Strict):
    # Upper bounds far above any lab's design: a typo (3000 for 3) is an error here, not an
    # out-of-memory crash inside Keras.
    filters: int = Field(ge=1, le=8192)
    kernel_size: int = Field(ge=1, le=1024)
    stride: int = Field(1, ge=1, le=1024)
    padding: Padding = "same"
    activation: Activation = "relu"
    pooling: Pooling = "max"
    pool_size: int = Field(2, ge=2, le=1024)


class CNNSpec(Strict):
    blocks: tuple[ConvBlock, ...] = Field(min_length=1, strict=False)
    # hidden units of the dense head, before the softmax
    dense: tuple[Units, ...] = Field((), strict=False)
    dense_activation: Activation = "relu"
    dropout: float = Field(0.0, ge=0, lt=1)  # before the classifier


class ExperimentSpec(Strict):
    factor: Factor
    # Omitted: the factor's default levels (see default_levels), set by the Study validator.
    levels: tuple[int | str, ...] | None = Field(None, min_length=2, strict=False)
    layers: Literal["all", "first"] = "all"  # which conv layers the factor touches
    # Percentage points of test accuracy within which two models count as equivalent, if the
    # equivalence test (TOST) shows it; results/findings.py. 1 pt: below what a lab would act on.
    equivalence_margin: float = Field(1.0, gt=0, le=50)

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

    name: str = Field(min_length=1, max_length=MODEL_NAME_MAX, pattern=MODEL_NAME)
    base: Literal["reference"] = "reference"
    cnn: dict[str, Any] = {}
    training: dict[str, Any] = {}
    seeds: tuple[Seed, ...] | None = Field(None, min_length=1, strict=False)
    accept: tuple[str, ...] = Field((), strict=False)  # difference keys, e.g. "conv1.filters" or "training.learning_rate"
