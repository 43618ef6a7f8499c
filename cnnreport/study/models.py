"""The models of a study, in report order: the baseline MLP, the reference CNN and one variant
per other level of the factor, then the hand-written variants.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from cnnreport.study.schema import Study
from cnnreport.study.specs import CNNSpec, Factor, MLPSpec, Strict, TrainingSpec
from cnnreport.study.variants import (
    apply_factor,
    level_label,
    reference_level,
    variant_cnn,
    variant_training,
)

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
    label: str = ""  # the level as the model's name says it: "kernel 5×5"
    # What the architecture is, kept as a value: every later stage reads it per run and model.
    kind: Literal["mlp", "cnn"] = "mlp"

    @model_validator(mode="after")
    def _kind_of_arch(self) -> "ModelSpec":
        # Frozen model: set once, while it is being built.
        object.__setattr__(self, "kind", "mlp" if isinstance(self.arch, MLPSpec) else "cnn")
        return self


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
            label=level_label(exp.factor, level),
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
