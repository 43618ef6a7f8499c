"""Re-rendering reuses what depends only on runs, data and code (cnnreport/memo.py): no figure redrawn, no
model loaded, no Keras imported, the same report.json; a changed input or a damaged file is
computed anew, and entries nobody uses any more are pruned."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np

from cnnreport import memo

from helpers import E2E_TEXT, REPO, shared_study_toml, subprocess_env


def _render_in_fresh_python(study, runs, reports) -> tuple[subprocess.CompletedProcess, list[str]]:
    code = ("import sys; from cnnreport.cli import main; rc = main(sys.argv[1:]); "
            "print('IMPORTED', 'keras' in sys.modules, 'tensorflow' in sys.modules); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "render", "--study", str(study), "--runs-dir", str(runs),
                           "--reports-dir", str(reports), "--no-pdf"],
                          cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    imported = [ln for ln in proc.stdout.splitlines() if ln.startswith("IMPORTED")]
    return proc, imported


def _pngs(report_dir) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (report_dir / "figures").glob("*.png")}


def _without_time(path) -> dict:
    ctx = json.loads(path.read_text(encoding="utf-8"))
    ctx.pop("generated_at")
    return ctx


def test_a_rerender_redraws_nothing_loads_no_model_and_writes_the_same_report(trained_study, tmp_path):
    reports = tmp_path / "reports"  # the runs are only read; the reports are a copy
    shutil.copytree(trained_study.reports, reports)
    report_dir = reports / "tiny"
    drawn = _pngs(report_dir)
    proc, imported = _render_in_fresh_python(trained_study.study_file, trained_study.runs, reports)
    assert proc.returncode == 0, proc.stderr
    assert imported == ["IMPORTED False False"]  # neither Keras nor TensorFlow
    assert _pngs(report_dir) == drawn and len(drawn) >= 15
    assert _without_time(report_dir / "report.json") == _without_time(trained_study.report_dir / "report.json")


def test_edited_text_is_rendered_without_redrawing(trained_study, tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(trained_study.reports, reports)
    study = tmp_path / "tiny.toml"  # the same design, other prose
    study.write_text(shared_study_toml(text_dataset="Freshly edited words about clothing."), encoding="utf-8")
    drawn = _pngs(reports / "tiny")
    proc, imported = _render_in_fresh_python(study, trained_study.runs, reports)
    assert proc.returncode == 0, proc.stderr
    assert imported == ["IMPORTED False False"]
    assert "Freshly edited words" in (reports / "tiny" / "report.html").read_text(encoding="utf-8")
    assert E2E_TEXT not in json.loads((reports / "tiny" / "report.json").read_text())["text"]["dataset"]
    assert _pngs(reports / "tiny") == drawn


def test_a_deleted_or_edited_figure_is_drawn_again_and_unused_entries_are_pruned(trained_study, tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(trained_study.reports, reports)
    figures = reports / "tiny" / "figures"
    deleted, edited = figures / "samples.png", figures / "accuracy_bars.png"
    original = edited.read_bytes()
    deleted.unlink()
    edited.write_bytes(b"not the figure that was drawn")
    stale = reports / "tiny" / "cache" / "figure-old-code-0000.json"
    stale.write_text('{"entry": {}, "sha256": null}')
    old = 1_000_000_000
    os.utime(stale, (old, old))
    proc, _ = _render_in_fresh_python(trained_study.study_file, trained_study.runs, reports)
    assert proc.returncode == 0, proc.stderr
    assert deleted.exists() and edited.read_bytes() == original  # the same drawing, redrawn
    assert not stale.exists()
    assert len(list((reports / "tiny" / "cache").glob("figure-*.json"))) == len(list(figures.glob("*.png")))


def test_digest_follows_content_not_identity():
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert memo.digest(a, {"k": [1, 2.5]}) == memo.digest(a.copy(), {"k": [1, 2.5]})
    assert memo.digest(a) != memo.digest(a.reshape(4, 3))  # same bytes, other shape
    assert memo.digest(a) != memo.digest(a.astype(np.int16))
    b = a.copy()
    b[2, 3] = 0
    assert memo.digest(a) != memo.digest(b)
    assert memo.digest({"x": 1, "y": 2}) == memo.digest({"y": 2, "x": 1})
    assert memo.digest("1") != memo.digest(1)


def test_arrays_memo_computes_once_and_survives_a_damaged_file(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"kernel": np.ones((3, 3, 1, 4), np.float32), "names": np.asarray(["conv1", "conv2"])}

    first = memo.arrays(tmp_path, "maps", ["run-a"], compute)
    again = memo.arrays(tmp_path, "maps", ["run-a"], compute)
    assert len(calls) == 1 and list(again["names"]) == ["conv1", "conv2"]
    assert np.array_equal(first["kernel"], again["kernel"])
    (entry,) = tmp_path.glob("maps-*.npz")
    entry.write_bytes(b"PK damaged")
    memo.arrays(tmp_path, "maps", ["run-a"], compute)
    assert len(calls) == 2
    memo.arrays(tmp_path, "maps", ["run-b"], compute)
    assert len(calls) == 3



def test_a_value_is_computed_once_per_key_and_a_damaged_entry_recomputed(tmp_path):
    """The probes' numbers are kept by the run ids they come from (results/evidence.py): the same
    runs read the entry back, other runs compute anew, a damaged file is recomputed, not trusted."""
    calls = []

    def compute():
        calls.append(1)
        return {"accuracy": [0.5, float("nan")], "n": 3}

    first = memo.json_value(tmp_path, "translation", ["a", "b"], compute)
    again = memo.json_value(tmp_path, "translation", ["a", "b"], compute)
    assert len(calls) == 1 and first == again == {"accuracy": [0.5, None], "n": 3}  # NaN as null
    memo.json_value(tmp_path, "translation", ["a", "c"], compute)  # other runs: computed anew
    memo.json_value(tmp_path, "equivariance", ["a", "b"], compute)  # another probe: its own entry
    assert len(calls) == 3

    damaged = tmp_path / "damaged"
    memo.json_value(damaged, "translation", ["a"], lambda: {"v": 1})
    (entry,) = damaged.glob("translation-*.json")
    entry.write_text("{ not json")
    assert memo.lookup(damaged, "translation", ["a"]) is None
    assert memo.json_value(damaged, "translation", ["a"], lambda: {"v": 2}) == {"v": 2}
