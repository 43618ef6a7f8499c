"""The controlled experiment: every factor's models build, verify and train; what verification
finds in hand-written variants; a single-seed study reported without invented statistics.

Verification and training run on tiny synthetic data (28×28 grey images, 3 classes, a few
dozen images, 1 epoch); the single-seed report re-renders the shared trained study's runs."""

import json
import shutil

import numpy as np
import pytest

from cnnreport.data.splits import Splits
from cnnreport.errors import UserError
from cnnreport.train.plan import plan_runs
from cnnreport.train.engine import train_run
from cnnreport.study.loading import load_study, study_from_dict
from cnnreport.results.verification import verify_study

from helpers import shared_study_toml, study_dict

SHAPE = (28, 28, 1)


def tiny_splits(n: int = 36) -> Splits:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, *SHAPE), dtype=np.uint8)
    y = np.arange(n) % 3
    return Splits("synthetic", ["a", "b", "c"], x, y, x[:9], y[:9], x[:12], y[:12], origin="synthetic")


def verified(study, shape=SHAPE, classes=3) -> dict:
    """The study's verification over its plan, as report.json records it."""
    return verify_study(study, plan_runs(study), shape, classes).model_dump(mode="json")


def raw_study(**experiment) -> dict:
    """The tiny study, one seed and one epoch, with this experiment (reference: 8 then 16 filters)."""
    return study_dict(seeds=[0], training={"epochs": 1, "batch_size": 64, "learning_rate": 1e-3},
                      experiment=experiment)


@pytest.mark.parametrize("factor", ["kernel_size", "filters", "depth", "pooling", "stride"])
def test_each_factor_expands_into_models_that_build_verify_and_train(factor):
    study = study_from_dict(raw_study(factor=factor), None)
    splits = tiny_splits()
    result = verified(study, splits.input_shape, splits.num_classes)
    assert result["controlled"] is True
    variants = [r for r in result["verification"] if r["role"] == "variant"]
    assert len(variants) >= 2 and all(r["differences"] for r in variants)
    # Every difference found is the declared factor's.
    assert all(d["declared"] for d in result["differences"])
    for spec in plan_runs(study):
        if spec.model.kind != "cnn":
            continue
        record, _ = train_run(spec, splits)
        assert len(record["history"]["loss"]) == 1
        assert record["architecture"]["activation_bytes"] > 0


def test_first_layer_scope_touches_only_conv1():
    study = study_from_dict(raw_study(factor="kernel_size", levels=[3, 5], layers="first"), None)
    result = verified(study)
    assert [d["key"] for d in result["differences"]] == ["conv1.kernel_size"]
    row = next(r for r in result["verification"] if r["role"] == "variant")
    assert row["params_delta"] == (25 - 9) * 1 * 8  # 8 filters on 1 channel, 5×5 instead of 3×3
    assert row["receptive_field"] == 12  # 5, +1 pool, +2·2 conv, +1·4 pool: 5+1+4+2


def test_pooling_swap_is_one_retyped_layer():
    study = study_from_dict(raw_study(factor="pooling", levels=["max", "average"]), None)
    keys = [d["key"] for d in verified(study)["differences"]]
    assert keys == ["pool1.type", "pool2.type"]


def test_handwritten_variant_with_undeclared_differences_names_them_all():
    raw = raw_study(factor="kernel_size", levels=[3, 5])
    raw["variants"] = [{"name": "cnn · 5×5, wider, faster", "base": "reference",
                        "cnn": {"blocks": [{"kernel_size": 5, "filters": 6}, {"kernel_size": 5}]},
                        "training": {"learning_rate": 0.01}}]
    study = study_from_dict(raw, None)
    with pytest.raises(UserError) as err:
        verified(study)
    msg = str(err.value)
    assert "cnn · 5×5, wider, faster" in msg
    assert "conv1.filters 8 → 6" in msg and "training.learning_rate 0.001 → 0.01" in msg
    assert "kernel_size 3×3" not in msg  # the declared factor is not a complaint
    assert "\n" not in msg


def test_accepted_difference_passes_and_marks_experiment_uncontrolled():
    raw = raw_study(factor="kernel_size", levels=[3, 5])
    raw["variants"] = [{"name": "cnn · 5×5 + dropout", "cnn": {"dropout": 0.5,
                        "blocks": [{"kernel_size": 5}, {"kernel_size": 5}]}, "accept": ["dropout"]}]
    study = study_from_dict(raw, None)
    result = verified(study)
    assert result["controlled"] is False
    accepted = [d for d in result["differences"] if d["accepted"]]
    assert [d["key"] for d in accepted] == ["dropout"]  # a Dropout layer the reference lacks
    row = next(r for r in result["verification"] if r["model"] == "cnn · 5×5 + dropout")
    assert row["status"] == "accepted differences"


def test_unused_accept_is_an_error():
    raw = raw_study(factor="kernel_size", levels=[3, 5])
    raw["variants"] = [{"name": "v", "cnn": {"blocks": [{"kernel_size": 7}, {"kernel_size": 7}]},
                        "accept": ["training.batch_size"]}]
    with pytest.raises(UserError, match="accept lists"):
        verified(study_from_dict(raw, None))


def test_vanishing_feature_map_names_variant_and_layer():
    study = study_from_dict(raw_study(factor="depth", levels=[2, 6]), None)
    with pytest.raises(UserError, match=r"cnn · 6 conv layers.*conv5"):
        verified(study)


def test_single_seed_study_renders_not_enough_seeds(trained_study, tmp_path):
    """The shared study with seeds = [0]: the same seed-0 runs, reported without a std or a test."""
    from cnnreport.pipeline import context_for, render
    from cnnreport.train.workspace import Workspace

    path = tmp_path / "one-seed.toml"
    path.write_text(shared_study_toml(seeds="[0]"), encoding="utf-8")
    study = load_study(path)
    # The runs are only read; the report is written to a copy whose cache keeps the data figures.
    shutil.copytree(trained_study.reports, tmp_path / "reports")
    ws = Workspace(runs_root=trained_study.runs, reports_root=tmp_path / "reports")
    out = render(context_for(study, ws), echo=lambda _: None, pdf=False)
    html = out.paths["html"].read_text(encoding="utf-8")
    assert "not enough seeds" in html
    report = json.loads(out.paths["json"].read_text(encoding="utf-8"))
    assert report["study"]["seeds"] == [0] and all(m["test_accuracy"]["n"] == 1 for m in report["models"])
    assert report["experiment"]["controlled"] is True
    assert all(c["p"] is None and c["p_holm"] is None and c["welch_p"] is None
               for c in report["comparisons"])
    assert all("p =" not in sentence for sentence in report["generated"]["findings"])
    ids = {i["id"]: i["passed"] for i in report["checklist"]}
    assert ids["repeated_runs"] is False and ids["cnn_beats_baseline"] is False
