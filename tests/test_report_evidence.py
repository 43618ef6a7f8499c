"""Probe numbers are cached by the run ids they come from: a re-render does not recompute them,
other runs do, and a damaged cache file is recomputed rather than trusted."""

from __future__ import annotations

from cnnreport.report.evidence import cached


def test_cached_computes_once_per_set_of_runs(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"accuracy": [0.5, float("nan")], "n": 3}

    first = cached(tmp_path, "translation", ["b", "a"], compute)
    again = cached(tmp_path, "translation", ["a", "b"], compute)  # same runs, any order
    assert len(calls) == 1 and first == again == {"accuracy": [0.5, None], "n": 3}
    cached(tmp_path, "translation", ["a", "c"], compute)  # other runs: computed anew
    cached(tmp_path, "equivariance", ["a", "b"], compute)  # another probe: its own entry
    assert len(calls) == 3


def test_a_damaged_cache_entry_is_recomputed(tmp_path):
    cached(tmp_path, "translation", ["a"], lambda: {"v": 1})
    (entry,) = tmp_path.glob("translation-*.json")
    entry.write_text("{ not json")
    assert cached(tmp_path, "translation", ["a"], lambda: {"v": 2}) == {"v": 2}
