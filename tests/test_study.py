"""Study files: built-ins, profiles, validation errors that name file and key, variant expansion."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnreport.errors import UserError
from cnnreport import resources
from cnnreport.study.variants import apply_factor
from cnnreport.study.loading import load_study, study_from_dict
from cnnreport.study.models import study_models

from helpers import study_dict


def test_builtin_studies_load_and_quick_profile_merges_over_base():
    full = load_study("cifar10", "full")
    quick = load_study("cifar10", "quick")
    assert full.data.source == "cifar10" and quick.data.source == "cifar10"
    assert full.experiment.factor == "kernel_size" and list(full.experiment.levels) == [1, 3, 5, 7]
    assert full.seeds == (0, 1, 2, 3, 4)
    # quick lists only what differs: those keys change, everything else is the base's
    assert quick.seeds == (0, 1, 2) and quick.training.epochs == 4
    assert quick.data.train_subset == 10000 and full.data.train_subset is None
    assert quick.training.batch_size == full.training.batch_size == 128
    assert quick.cnn == full.cnn and quick.baseline == full.baseline
    assert quick.profile == "quick" and full.profile == "full"
    fm = load_study("fashion-mnist", "quick")
    assert fm.data.source == "fashion_mnist" and fm.name == "fashion-mnist"
    # a different profile is a different study for the run store
    assert full.digest() != quick.digest()


def test_every_builtin_study_file_validates_with_every_profile():
    files = [Path(str(p)) for p in resources.study_files()]
    assert {p.stem for p in files} >= {"cifar10", "fashion-mnist"}
    for path in files:
        for profile in (None, "quick", "full"):
            load_study(path, profile)


def test_prose_does_not_change_the_digest(write_study):
    a = load_study(write_study("a.toml", text_dataset="one wording"))
    b = load_study(write_study("b.toml", text_dataset="another wording"))
    c = load_study(write_study("c.toml", epochs=3))  # the default is 2
    assert a.digest() == b.digest() != c.digest()


def _error(path: Path, profile: str | None = None) -> str:
    with pytest.raises(UserError) as info:
        load_study(path, profile)
    return str(info.value)


def test_unknown_key_names_file_and_key(write_study):
    path = write_study()
    path.write_text(path.read_text().replace("batch_size = 64", "batch_size = 64\nbatchsize = 32"))
    msg = _error(path)
    assert str(path) in msg and "training.batchsize" in msg and "unknown key" in msg


def test_unknown_key_in_a_profile_is_caught_like_any_other(write_study):
    path = write_study(extra="[profiles.quick.training]\nepoch = 2\n")
    assert "training.epoch" in _error(path, "quick")
    path = write_study("p.toml", extra="[profiles.fast]\nseeds = [0]\n")
    assert "profiles.fast" in _error(path)


def test_wrong_type_names_file_key_and_value(write_study):
    path = write_study()
    path.write_text(path.read_text().replace("batch_size = 64", 'batch_size = "big"'))
    msg = _error(path)
    assert str(path) in msg and "training.batch_size" in msg and "'big'" in msg


def test_invalid_toml_is_a_user_error(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = \n")
    msg = _error(path)
    assert str(path) in msg and "not valid TOML" in msg


def test_duplicate_levels_rejected(write_study):
    msg = _error(write_study(levels="[1, 3, 3, 5]"))
    assert "experiment.levels" in msg and "duplicates" in msg


def test_duplicate_seeds_rejected(write_study):
    assert "seeds has duplicates" in _error(write_study(seeds="[0, 0]"))


def test_reference_level_must_be_among_levels(write_study):
    msg = _error(write_study(levels="[1, 5, 7]"))  # the reference CNN uses kernel 3
    assert "must include the reference CNN's own kernel_size (3)" in msg


def test_levels_must_fit_the_factor(write_study):
    msg = _error(write_study(levels='[3, "big"]'))
    assert "kernel_size level 'big'" in msg


def test_variant_expansion_names_roles_and_one_changed_factor(write_study):
    study = load_study(write_study())
    models = study_models(study)
    assert [m.name for m in models] == ["mlp", "cnn · kernel 1×1", "cnn · kernel 3×3",
                                        "cnn · kernel 5×5", "cnn · kernel 7×7"]
    assert [m.role for m in models] == ["baseline", "variant", "reference", "variant", "variant"]
    ref = models[2].arch
    assert ref == study.cnn
    for m in models[1:]:
        assert m.arch.blocks[0].kernel_size == m.level
        # the only difference to the reference is the factor
        assert m.arch.model_copy(update={"blocks": tuple(b.model_copy(update={"kernel_size": 3})
                                                          for b in m.arch.blocks)}) == ref


def test_apply_factor_filters_keeps_width_ratio_and_depth_repeats_last_block():
    study = load_study("cifar10")
    wider = apply_factor(study.cnn, "filters", 64, "all")
    assert [b.filters for b in wider.blocks] == [64, 128, 256]
    first_only = apply_factor(study.cnn, "kernel_size", 5, "first")
    assert [b.kernel_size for b in first_only.blocks] == [5, 3, 3]
    deeper = apply_factor(study.cnn, "depth", 4, "all")
    assert [b.filters for b in deeper.blocks] == [32, 64, 128, 256]
    shallower = apply_factor(study.cnn, "depth", 1, "all")
    assert len(shallower.blocks) == 1


def test_other_factor_names():
    base = load_study("cifar10").model_dump(mode="json", exclude={"profile", "source"})
    pooling = study_from_dict({**base, "experiment": {"factor": "pooling",
                                                      "levels": ["max", "average", "none"]}}, None)
    assert [m.name for m in study_models(pooling)][1:] == ["cnn · max pooling", "cnn · average pooling",
                                                           "cnn · no pooling"]
    depth = study_from_dict({**base, "experiment": {"factor": "depth", "levels": [1, 3]}}, None)
    assert [m.name for m in study_models(depth)][1:] == ["cnn · 1 conv layer", "cnn · 3 conv layers"]


@pytest.mark.parametrize("factor,layers,expected", [
    ("kernel_size", "all", [1, 3, 5, 7]),
    ("filters", "all", [4, 8, 16, 32]),  # ½×, 1×, 2×, 4× the reference's 8
    ("depth", "all", [1, 2, 3, 4]),
    ("pooling", "all", ["max", "average", "none"]),
    ("stride", "all", [1, 2, 3]),
    ("stride", "first", [1, 2, 3, 4]),
])
def test_default_levels_include_reference_and_give_four_models(factor, layers, expected):
    study = study_from_dict(study_dict(experiment={"factor": factor, "layers": layers}), None)
    assert list(study.experiment.levels) == expected
    models = study_models(study)
    assert len(models) >= 4  # baseline included
    assert sum(m.role == "reference" for m in models) == 1


def test_bad_variant_key_is_a_load_error():
    raw = study_dict(experiment={"factor": "kernel_size", "levels": [3, 5]})
    raw["variants"] = [{"name": "v", "cnn": {"kernel": 5}}]
    with pytest.raises(UserError, match="variants.v.cnn.kernel: unknown key"):
        study_from_dict(raw, None)


# ------------------------------------------------------------------------------------- fuzzing

_keys = st.sampled_from(["name", "title", "seeds", "data", "training", "baseline", "cnn",
                         "experiment", "text", "profiles", "source", "epochs", "blocks", "levels",
                         "factor", "quick", "full", "hidden", "x"])
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**12), st.floats(allow_nan=True),
                     st.text(max_size=8))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(_keys, inner, max_size=5)),
                       max_leaves=20)
_VALID = load_study("fashion-mnist").model_dump(mode="json", exclude={"profile", "source"})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.dictionaries(_keys, _values, max_size=8), profile=st.sampled_from([None, "quick", "full", "x"]))
def test_fuzz_study_from_random_dicts_raises_only_user_error(raw, profile):
    try:
        study_from_dict(raw, profile, origin="fuzz.toml")
    except UserError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(sorted(_VALID)), value=_values)
def test_fuzz_one_bad_value_in_a_valid_study(key, value):
    try:
        study_from_dict({**_VALID, key: value}, None, origin="fuzz.toml")
    except UserError as exc:
        assert "\n" not in str(exc) and "fuzz.toml" in str(exc)


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(st.text(alphabet=string.printable + "[]=\"'.{}ä", max_size=200), st.binary(max_size=200)))
def test_fuzz_toml_loader_raises_only_user_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "study.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    try:
        load_study(path)
    except UserError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
