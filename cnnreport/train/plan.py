"""The plan: one RunSpec per (model, seed), its id a hash of everything that decides its result
(architecture, training settings, data settings, seed, probe transform, run format), so a
second build skips finished runs and a changed setting trains anew.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cnnreport.study.models import ModelSpec, study_models
from cnnreport.study.schema import Study
from cnnreport.study.specs import DataSpec, TrainingSpec

RUN_FORMAT = 1  # bump when a change to training code should invalidate stored runs
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

    @property
    def run_id(self) -> str:
        payload = {
            "format": RUN_FORMAT,
            "kind": self.model.kind,
            "arch": self.model.arch.model_dump(mode="json"),
            "training": self.training.model_dump(mode="json"),
            "data": self.data.model_dump(mode="json"),
            "seed": self.seed,
            "probe": self.probe,
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
        return f"{_slug(self.model.name)}-s{self.seed}{'-' + self.probe if self.probe != 'none' else ''}-{digest}"

    def describe(self) -> str:
        probe = f" [{self.probe} pixels]" if self.probe != "none" else ""
        return f"{self.model.name} · seed {self.seed}{probe}"


def _slug(name: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in name.replace("×", "x"))
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-").lower()


def plan_runs(study: Study) -> list[RunSpec]:
    """Every (model, seed) of the study, seeds inner so that partial results cover all models."""
    return [RunSpec(study.name, model, seed, model.training or study.training, study.data)
            for model in study_models(study) for seed in (model.seeds or study.seeds)]


def full_plan(study: Study) -> list[RunSpec]:
    """All runs the report needs: the study's plan, then the locality probe's runs.

    The probe retrains the baseline and the reference CNN on pixels shuffled by one fixed
    permutation, over the same seeds, through the same run store and cache.
    """
    plan = plan_runs(study)
    probe = [RunSpec(r.study, r.model, r.seed, r.training, r.data, probe="permuted")
             for r in plan if r.model.role in ("baseline", "reference")]
    return plan + probe
