"""The study schema is strict: a wrong type is an error (never converted), numbers are finite,
activations are ones Keras builds, names are bounded; and whatever it accepts can be planned."""

from __future__ import annotations

import math
import re
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnreport.errors import UserError
from cnnreport.study.loading import load_study, study_from_dict
from cnnreport.study.models import study_models
from cnnreport.study.specs import MODEL_NAME, MODEL_NAME_MAX, Activation
from cnnreport.train.plan import full_plan

from helpers import study_dict


def _load_error(write_study, old: str, new: str) -> str:
    path = write_study()
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_study(path)
    msg = str(info.value)
    assert msg.startswith(str(path)) and "\n" not in msg
    return msg


# The README's promise: a wrong type is an error naming the file and the key. Each of these was
# silently converted before (batch_size "32" → 32, epochs 2.0 → 2, seeds ["1", "2"] → (1, 2)).
@pytest.mark.parametrize("old, new, key", [
    ("batch_size = 64", 'batch_size = "32"', "training.batch_size"),
    ("learning_rate = 1e-3", 'learning_rate = "0.001"', "training.learning_rate"),
    ("seeds = [0, 1]", 'seeds = ["1", "2"]', "seeds.0"),
    ("epochs = 2", "epochs = 2.0", "training.epochs"),
    ("epochs = 2", "epochs = true", "training.epochs"),
    ("hidden = [32]", 'hidden = ["32"]', "baseline.hidden.0"),
    ("filters = 8", "filters = 8.0", "cnn.blocks.0.filters"),
    ("levels = [1, 3, 5, 7]", "levels = [1.0, 3, 5, 7]", "experiment.levels"),
    ("train_subset = 600", 'train_subset = "600"', "data.train_subset"),
])
def test_a_wrong_type_is_an_error_not_a_conversion(write_study, old, new, key):
    msg = _load_error(write_study, old, new)
    assert key in msg and "valid" in msg, msg


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "+inf"])
def test_numbers_must_be_finite(write_study, value):
    msg = _load_error(write_study, "learning_rate = 1e-3", f"learning_rate = {value}")
    assert "training.learning_rate" in msg and "finite" in msg


def test_an_integer_learning_rate_is_still_a_number(write_study):
    path = write_study(learning_rate="1")  # TOML's 1 is an int; a float field takes it exactly
    assert load_study(path).training.learning_rate == 1.0


@pytest.mark.parametrize("old, new, key", [
    ('[baseline]\nhidden = [32]', '[baseline]\nhidden = [32]\nactivation = "bogus"', "baseline.activation"),
    ("filters = 8\n", 'filters = 8\nactivation = "relu "\n', "cnn.blocks.0.activation"),
    ("dense = [32]", 'dense = [32]\ndense_activation = "glu"', "cnn.dense_activation"),
    ("filters = 8\n", 'filters = 8\npadding = "causal"\n', "cnn.blocks.0.padding"),
    ("learning_rate = 1e-3", 'learning_rate = 1e-3\noptimizer = "adagrad"', "training.optimizer"),
])
def test_activation_padding_and_optimizer_are_what_keras_takes(write_study, old, new, key):
    assert key in _load_error(write_study, old, new)


def test_the_activation_list_is_keras_own(tmp_path):
    """Every name the schema accepts builds a layer in the installed Keras, keeping its shape;
    every Keras activation left out is left out for a stated reason."""
    keras = pytest.importorskip("keras")
    from keras.src.activations import ALL_OBJECTS_DICT

    accepted = set(get_args(Activation))
    assert accepted - set(ALL_OBJECTS_DICT) == set()
    assert set(ALL_OBJECTS_DICT) - accepted == {"glu", "threshold"}  # halves the units; needs arguments
    x = keras.ops.ones((2, 6))
    for name in sorted(accepted):
        assert tuple(keras.activations.get(name)(x).shape) == (2, 6), name


@pytest.mark.parametrize("old, new, key", [
    ("hidden = [32]", "hidden = [1000000000]", "baseline.hidden.0"),
    ("filters = 8", "filters = 300000", "cnn.blocks.0.filters"),
    ("seeds = [0, 1]", "seeds = [-1, 1]", "seeds.0"),
    ("seeds = [0, 1]", "seeds = [4294967296]", "seeds.0"),
])
def test_sizes_and_seeds_are_bounded(write_study, old, new, key):
    """A typo (a billion units) is a line naming the key, not an out-of-memory crash in Keras; a
    seed outside NumPy's unsigned 32 bits is refused before training, not by NumPy during it."""
    assert key in _load_error(write_study, old, new)


@pytest.mark.parametrize("name", ["x" * 300, "a/b", "../up", "-dash", "with space", "ok" * 33])
def test_study_names_are_short_plain_file_names(write_study, name):
    msg = _load_error(write_study, 'name = "tiny"', f'name = "{name}"')
    assert "name:" in msg and len(msg) < 400  # the offending value is shown shortened


@pytest.mark.parametrize("name", [r"cnn $\bogus$", "a" * (MODEL_NAME_MAX + 1), "cnn\\nnew line",
                                  "tab\there", " leading space", "<b>bold</b>", "x{y}"])
def test_variant_names_are_bounded_and_never_mathtext(name):
    raw = study_dict(experiment={"factor": "kernel_size", "levels": [3, 5]})
    raw["variants"] = [{"name": name, "cnn": {"dropout": 0.5}, "accept": ["dropout.rate"]}]
    with pytest.raises(UserError, match=r"variants\.0\.name"):
        study_from_dict(raw, None)


def test_names_like_the_generated_ones_are_accepted():
    raw = study_dict(experiment={"factor": "kernel_size", "levels": [3, 5]})
    raw["variants"] = [{"name": "cnn · kernel 5×5, dropout 0.5 (Ünïcode #2)", "cnn": {"dropout": 0.5},
                        "accept": ["dropout.rate"]}]
    study = study_from_dict(raw, None)
    assert study.variants[0].name == "cnn · kernel 5×5, dropout 0.5 (Ünïcode #2)"
    generated = [m.name for m in study_models(study)]
    assert all(re.match(MODEL_NAME, n) for n in generated), generated


def test_variant_overrides_are_strict_too():
    raw = study_dict(experiment={"factor": "kernel_size", "levels": [3, 5]})
    raw["variants"] = [{"name": "v", "cnn": {"blocks": [{"kernel_size": "5"}]}}]
    with pytest.raises(UserError, match=r"variants\.v\.cnn\.blocks\.0\.kernel_size"):
        study_from_dict(raw, None)
    raw["variants"] = [{"name": "v", "training": {"learning_rate": math.inf}}]
    with pytest.raises(UserError, match=r"variants\.v\.training\.learning_rate.*finite"):
        study_from_dict(raw, None)


def test_the_sagemaker_round_trip_still_validates():
    """A training job gets the study as JSON (lists, not tuples): the strict schema takes it."""
    import json

    from cnnreport.study.schema import Study

    study = load_study("fashion-mnist", "quick")
    assert Study.model_validate(json.loads(json.dumps(study.model_dump(mode="json")))) == study


# ------------------------------------------------------------------------------------- fuzzing

_VALID = study_dict()
_WORDS = ["", "32", "0.001", "relu", "gelu", "bogus", "max", "none", "same", "valid", "adam", "sgd",
          "first", "all", "kernel_size", "fashion_mnist", "folder", "$x$", "a" * 90]
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**40), st.floats(allow_nan=True),
                    st.sampled_from(_WORDS))


def _near(original: Any) -> st.SearchStrategy:
    """Values of the kind a careless or hostile author writes where `original` was: the same
    number as another type, neighbours, extremes, other words."""
    if isinstance(original, bool):
        return st.one_of(st.booleans(), _scalar)
    if isinstance(original, int):
        return st.one_of(st.integers(-2, 2**33), st.integers(0, 20), st.just(float(original)),
                         st.just(str(original)), st.booleans())
    if isinstance(original, float):
        return st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1),
                         st.just(str(original)), st.integers(0, 3))
    if isinstance(original, str):
        return st.one_of(st.sampled_from(_WORDS), st.text(max_size=70))
    if isinstance(original, list):
        return st.one_of(st.lists(st.integers(-1, 9), max_size=5), st.just([str(v) for v in original]),
                         st.just(original + original), st.lists(_scalar, max_size=3))
    return _scalar


def _paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    """Every (nested) key of a study dict, to put a fuzzed value at."""
    out = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.append(prefix + (k,))
            out += _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, prefix + (i,))
    return out


def _at(tree: Any, path: tuple) -> Any:
    for k in path:
        tree = tree[k]
    return tree


_EDIT = st.sampled_from(_paths(_VALID)).flatmap(lambda p: st.tuples(st.just(p), _near(_at(_VALID, p))))


def _put(tree: Any, path: tuple, value: Any) -> Any:
    import copy

    tree = copy.deepcopy(tree)
    node = tree
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return tree


def _numbers(x: Any) -> list[Any]:
    if isinstance(x, dict):
        return [n for v in x.values() for n in _numbers(v)]
    if isinstance(x, (list, tuple)):
        return [n for v in x for n in _numbers(v)]
    return [x] if isinstance(x, (int, float)) and not isinstance(x, bool) else []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(_EDIT, min_size=1, max_size=3))
def test_fuzz_whatever_the_loader_accepts_is_sound(edits):
    """Random values at random keys of a valid study: either one clear line naming the key, or a
    study whose numbers are finite, whose types are exact, and whose plan and run ids compute."""
    raw = _VALID
    for path, value in edits:
        try:
            raw = _put(raw, path, value)
        except (TypeError, KeyError, IndexError):
            continue  # an earlier edit replaced the table this path went through
    try:
        study = study_from_dict(raw, None, origin="fuzz.toml")
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.toml: ")
        return
    dumped = study.model_dump(mode="python")
    assert all(math.isfinite(n) for n in _numbers(dumped))
    assert isinstance(study.training.epochs, int) and not isinstance(study.training.epochs, bool)
    assert isinstance(study.training.learning_rate, float) and study.training.learning_rate > 0
    assert all(type(s) is int for s in study.seeds)
    assert re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", study.name) and len(study.name) <= 64
    for model in study_models(study):
        assert len(model.name) <= 200 and "$" not in model.name
    ids = [r.run_id for r in full_plan(study, "0" * 16)]
    assert len(ids) == len(set(ids)) and all(len(i) < 200 for i in ids)

