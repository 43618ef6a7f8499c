"""The study as a whole: its sections validated together (levels include the reference's own,
variant names unique, overrides valid) and its digest (what decides results).
"""

from __future__ import annotations

import hashlib
import json

from pydantic import Field, model_validator

from cnnreport.study.specs import (
    CNNSpec,
    DataSpec,
    ExperimentSpec,
    MLPSpec,
    Prose,
    Seed,
    Strict,
    TrainingSpec,
    VariantSpec,
)
from cnnreport.study.variants import (
    default_levels,
    level_label,
    reference_level,
    variant_cnn,
    variant_training,
)

STUDY_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
STUDY_NAME_MAX = 64


class Study(Strict):
    # Names the folders runs/<name>/ and reports/<name>/: a portable file name, well under any
    # file system's limit (255 bytes) once a run id or a temporary prefix is added to paths.
    name: str = Field(pattern=STUDY_NAME, max_length=STUDY_NAME_MAX)
    title: str = Field(max_length=300)
    author: str = Field("", max_length=300)
    profile: str = "base"  # set by the loader
    source: str = ""  # the study file it was read from, set by the loader
    data: DataSpec
    seeds: tuple[Seed, ...] = Field(min_length=1, strict=False)
    training: TrainingSpec
    baseline: MLPSpec
    cnn: CNNSpec
    experiment: ExperimentSpec
    variants: tuple[VariantSpec, ...] = Field((), strict=False)
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
