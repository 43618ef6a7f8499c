"""rubric.toml: the course rubric loads and adds up; a malformed rubric is one UserError naming the item."""

from __future__ import annotations

import copy
from typing import Any, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnreport.errors import UserError
from cnnreport.rubric.schema import DEFAULT_RUBRIC, Rubric, load_rubric, load_rubric_text, parse_rubric

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

RAW = tomllib.loads(DEFAULT_RUBRIC.read_text(encoding="utf-8"))


def test_course_rubric_adds_up_and_binds_every_item() -> None:
    r = load_rubric()
    main = {c.id: c.points for c in r.criteria if not c.bonus}
    assert main == {"eda": 15, "baseline": 15, "cnn": 25, "rigour": 25, "interpretation": 20}
    assert sum(main.values()) == r.total == 100
    assert [c.id for c in r.criteria if c.bonus] == ["bonus"]
    assert all(i.human or i.check for _, i in r.items())
    auto = sum(i.points for c, i in r.items() if not c.bonus and not i.human)
    assert auto == 87  # the quick report must be able to earn >= 85 of these
    lists = {cl.id: [e.text for e in cl.entries] for cl in r.lists}
    assert lists["validation"] == ["Runs without errors", "Losses decrease or plateau", "Baseline above chance",
                                   "CNN above baseline (or explained)", "Mean ± std over repeated runs"]
    assert "Controlled experiment with 4+ variants on the same plot" in lists["deliverables"]


def _edit(raw: dict[str, Any], path: Sequence[Any], value: Any) -> None:
    """Set raw[path] = value in place; value KeyError deletes the key."""
    cur = raw
    for key in path[:-1]:
        cur = cur[key]
    if value is KeyError:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value


def mutated(path: list[Any], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    _edit(raw, path, value)
    return raw


@pytest.mark.parametrize("path, value, message", [
    (["criteria", 1, "items", 2, "points"], 9,
     "criteria[1] (baseline): items add up to 20 points, the criterion says 15"),
    (["criteria", 1, "items", 2, "check"], "psychic",
     "criteria[1] (baseline).items[2] (baseline.above_chance): unknown check 'psychic'"),
    (["criteria", 1, "items", 2, "params"], {"role": "oracle"},
     "criteria[1] (baseline).items[2] (baseline.above_chance): params.role: Input should be 'baseline' or 'reference'"),
    (["criteria", 1, "items", 2, "params"], {"rol": "baseline"},
     "criteria[1] (baseline).items[2] (baseline.above_chance): params.rol: Extra inputs are not permitted"),
    (["criteria", 5, "items", 2, "params"], {"x": 1},
     "criteria[5] (bonus).items[2] (bonus.readable): params given without a check"),
    (["criteria", 1, "items", 2, "points"], "four",
     "criteria[1] (baseline).items[2] (baseline.above_chance).points: Input should be a valid number"),
    (["criteria", 0, "items", 1, "id"], "eda.samples", "id 'eda.samples' used twice"),
    (["total"], 90, "criteria (bonus excluded) add up to 100 points, total says 90"),
    (["lists", 0, "entries", 0, "items"], ["rigour.nothing"], "unknown item(s) ['rigour.nothing']"),
    (["criteria", 2, "items", 0, "colour"], "red",
     "criteria[2] (cnn).items[0] (cnn.model).colour: Extra inputs are not permitted"),
    (["criteria", 0, "items", 5, "id"], "\n",  # an id that is no printable name: shown escaped, on one line
     "criteria[0] (eda).items[5] ('\\n').id: String should match pattern"),
])
def test_malformed_rubric_names_the_item(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(UserError) as err:
        parse_rubric(mutated(path, value), "mine.toml")
    assert str(err.value).startswith("mine.toml: ")
    assert message in str(err.value)


def test_item_without_check_must_be_human() -> None:
    raw = mutated(["criteria", 0, "items", 0, "check"], KeyError)
    del raw["criteria"][0]["items"][0]["params"]
    with pytest.raises(UserError, match=r"items\[0\] \(eda.samples\): needs a `check`"):
        parse_rubric(raw, "mine.toml")


def test_unreadable_and_invalid_toml(tmp_path) -> None:
    with pytest.raises(UserError, match="cannot read the rubric"):
        load_rubric(tmp_path / "missing.toml")
    with pytest.raises(UserError, match="not valid TOML"):
        load_rubric_text("title = ", "bad.toml")
    with pytest.raises(UserError, match="criteria: Field required"):
        load_rubric_text('title = "t"\ntotal = 1', "bad.toml")


# ------------------------------------------------------------------------------------- fuzzing

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=True),
                    st.text(max_size=12), st.lists(st.text(max_size=5), max_size=3))


def _paths(x: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(x, dict):
        for k, v in x.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            out += _paths(v, prefix + (i,))
    return out


PATHS = _paths(RAW)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(SCALARS, st.just(KeyError))), min_size=1, max_size=4))
def test_fuzz_mutated_rubric_loads_or_names_the_problem(edits: list[tuple[tuple, Any]]) -> None:
    raw = copy.deepcopy(RAW)
    for path, value in edits:
        try:
            _edit(raw, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed the path
    try:
        assert isinstance(parse_rubric(raw, "fuzz.toml"), Rubric)
    except UserError as exc:
        assert str(exc).startswith("fuzz.toml: ") and "\n" not in str(exc).strip()


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_fuzz_arbitrary_text(text: str) -> None:
    try:
        load_rubric_text(text, "fuzz.toml")
    except UserError as exc:
        assert str(exc).startswith("fuzz.toml: ")


@settings(max_examples=200, deadline=None)
@given(head=st.text(alphabet='[]="{}.,\n abcdefgilmnoprstu0123456789', max_size=200))
def test_fuzz_toml_like_text(head: str) -> None:
    try:
        load_rubric_text(head + "\n" + DEFAULT_RUBRIC.read_text()[:400], "fuzz.toml")
    except UserError as exc:
        assert str(exc).startswith("fuzz.toml: ")
