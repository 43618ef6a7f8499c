"""The plan: one run per (model, seed), with a variant's own seeds and training settings."""

from __future__ import annotations

from cnnreport.study.loading import study_from_dict
from cnnreport.train.plan import plan_runs

from helpers import study_dict


def test_variant_with_own_seeds_and_training_runs_them():
    raw = study_dict(experiment={"factor": "kernel_size", "levels": [3, 5]})
    raw["variants"] = [{"name": "v", "seeds": [7, 8], "training": {"epochs": 3},
                        "accept": ["seeds", "training.epochs"]}]
    study = study_from_dict(raw, None)
    runs = [r for r in plan_runs(study) if r.model.name == "v"]
    assert [r.seed for r in runs] == [7, 8] and runs[0].training.epochs == 3  # the study trains 2
