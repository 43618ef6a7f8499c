"""The models of a study, in report order: the baseline MLP, the reference CNN and one variant
per other level of the factor, then the hand-written variants.
"""

from __future__ import annotations

from typing import Literal

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

    @property
    def kind(self) -> str:
        return "mlp" if isinstance(self.arch, MLPSpec) else "cnn"


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
