"""The plan: one RunSpec per (model, seed), its id a hash of everything that decides its result
(architecture, training settings, data settings, the loaded data's content fingerprint, seed,
probe transform, run format), so a second build skips finished runs and a changed setting, or
other data under the same settings, trains anew.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Sequence

from cnnreport.study.models import ModelSpec, study_models
from cnnreport.study.schema import Study
from cnnreport.study.specs import DataSpec, TrainingSpec

# Bump when a change to training code should invalidate stored runs. 2: the data fingerprint in
# the id; a run folder carries the checksums of its files (train/store.py).
RUN_FORMAT = 2
Probe = str  # "none" | "permuted"
PERMUTATION_SEED = 7  # the one fixed pixel permutation of the locality probe


@dataclass(frozen=True)
class RunSpec:
    study: str
    model: ModelSpec
    seed: int
    training: TrainingSpec
    data: DataSpec
    probe: Probe = "none"
    # The content fingerprint of the splits it trains on (data.splits.Splits.fingerprint). None
    # only in plans that need no run ids (model lists, settings); the runner refuses to store one.
    data_fingerprint: str | None = None

    @property
    def run_id(self) -> str:
        payload = {
            "format": RUN_FORMAT,
            "kind": self.model.kind,
            "arch": self.model.arch.model_dump(mode="json"),
            "training": self.training.model_dump(mode="json"),
            "data": self.data.model_dump(mode="json"),
            "data_fingerprint": self.data_fingerprint,
            "seed": self.seed,
            "probe": self.probe,
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
        return f"{_slug(self.model.name)}-s{self.seed}{'-' + self.probe if self.probe != 'none' else ''}-{digest}"

    def on_data(self, fingerprint: str | None) -> "RunSpec":
        """The same run on other data (another fingerprint): another id."""
        return dataclasses.replace(self, data_fingerprint=fingerprint)

    def describe(self) -> str:
        probe = f" [{self.probe} pixels]" if self.probe != "none" else ""
        return f"{self.model.name} · seed {self.seed}{probe}"


def _slug(name: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in name.replace("×", "x"))
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-").lower()


def plan_runs(study: Study, data_fingerprint: str | None = None,
              models: Sequence[ModelSpec] | None = None) -> list[RunSpec]:
    """Every (model, seed) of the study, seeds inner so that partial results cover all models.

    `data_fingerprint` (of the loaded splits) is part of each run id: pass it wherever run ids
    are used to find or store runs. `models`: the study's models when already expanded."""
    return [RunSpec(study.name, model, seed, model.training or study.training, study.data,
                    data_fingerprint=data_fingerprint)
            for model in (models if models is not None else study_models(study))
            for seed in (model.seeds or study.seeds)]


def full_plan(study: Study, data_fingerprint: str | None = None,
              models: Sequence[ModelSpec] | None = None) -> list[RunSpec]:
    """All runs the report needs: the study's plan, then the locality probe's runs.

    The probe retrains the baseline and the reference CNN on pixels shuffled by one fixed
    permutation, over the same seeds, through the same run store and cache. Its runs carry the
    unshuffled splits' fingerprint: the permutation is fixed, so that decides their data too."""
    plan = plan_runs(study, data_fingerprint, models)
    probe = [dataclasses.replace(r, probe="permuted") for r in plan if r.model.role in ("baseline", "reference")]
    return plan + probe
