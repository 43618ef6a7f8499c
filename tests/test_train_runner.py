"""The local runner's grouping: runs that share training data and probe train as one program,
up to the device's cap."""

from __future__ import annotations

from cnnreport.train.plan import plan_runs
from cnnreport.train.runner import groups_of

from helpers import tiny_study


def test_groups_share_training_data_and_probe_and_respect_the_cap():
    study = tiny_study(experiment={"factor": "kernel_size", "levels": [1, 3]})
    plan = plan_runs(study)
    assert [len(g) for g in groups_of(plan, 1)] == [1] * len(plan)
    assert [len(g) for g in groups_of(plan, 32)] == [len(plan)]
    assert [len(g) for g in groups_of(plan, 4)] == [4, 2]
    permuted = [type(r)(r.study, r.model, r.seed, r.training, r.data, "permuted") for r in plan[:2]]
    assert [len(g) for g in groups_of(plan[:2] + permuted, 32)] == [2, 2]
