"""A student's own folder, built end to end as a student runs it: `cnnreport build` in a process of
its own (so stderr is what a terminal shows), the study file naming its data folder relatively
and run from another folder. The report states where the images came from, what was skipped, the
sizes, channels, resize policy, duplicates and leakage; the PDF's text holds every class name;
no missing-glyph warning; a second command reads the decoded-once cache."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cnnreport.data import folder as folder_module
from cnnreport.rubric.report_json import parse_report

from helpers import (STUDENT_CLASSES, html_validate_messages, own_stderr_lines, pdf_text, run_cli, study_toml,
                     subprocess_env, write_student_folder)


@pytest.fixture(scope="module")
def student_build(tmp_path_factory):
    """One build (1 seed, 1 epoch: MLP, CNN 1×1 and 3×3, the probe's two runs) of the student
    folder; the study file in project/, its data in project/data, run from elsewhere/."""
    root = tmp_path_factory.mktemp("student-build")
    student = write_student_folder(root / "project" / "data")
    study = root / "project" / "study.toml"
    study.write_text(study_toml(name="mine", source="folder", seeds="[0]", train_subset=None, val_subset=None,
                                test_subset=None, epochs=1, batch_size=16, levels="[1, 3]",
                                data_extra='path = "data"\nimage_size = [16, 16]\nval_fraction = 0.2\n'),
                     encoding="utf-8")
    (root / "elsewhere").mkdir()
    proc = subprocess.run([sys.executable, "-m", "cnnreport.cli", "build", "--study", str(study),
                           "--runs-dir", str(root / "runs"), "--reports-dir", str(root / "reports")],
                          capture_output=True, text=True, env=subprocess_env(), cwd=root / "elsewhere", timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    report = json.loads((root / "reports" / "mine" / "report.json").read_text(encoding="utf-8"))
    return {"root": root, "student": student, "study": study, "proc": proc, "report": report,
            "report_dir": root / "reports" / "mine"}


def test_the_build_says_what_it_skipped_in_one_line_and_draws_every_name(student_build):
    proc, student = student_build["proc"], student_build["student"]
    data_lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("data: ")]
    assert len(data_lines) == 1
    for name in list(student.skipped) + student.ignored:
        assert name in data_lines[0]
    own = own_stderr_lines(proc.stderr)
    assert not [ln for ln in own if "Glyph" in ln or "missing from font" in ln or "findfont" in ln], own
    assert not [ln for ln in own if "WARNING" in ln], own  # every class name can be drawn


def test_the_folder_report_follows_the_schema(student_build, follows_schema):
    follows_schema(student_build["report"])  # built in another process: validated here
    ds = student_build["report"]["dataset"]
    assert ds["layout"] and ds["problems"] and ds["duplicates"]  # the folder's typed parts are filled
    # ... and `check` reads them back through the same models (an image size is a JSON array)
    parsed = parse_report((student_build["report_dir"] / "report.json").read_text(encoding="utf-8"))
    assert parsed.dataset.resize is not None and parsed.dataset.resize.size == (16, 16)


def test_report_json_states_the_folder_facts(student_build):
    ds, student = student_build["report"]["dataset"], student_build["student"]
    assert ds["origin"] == str(student.root) and ds["classes"] == sorted(STUDENT_CLASSES)
    assert ds["layout"]["labels_from"] == "class folders" and ds["layout"]["split_by"] == "folders"
    assert {p["file"]: p["kind"] for p in ds["problems"]["files"] if p["action"] == "skipped"} == student.skipped
    assert ds["resize"]["policy"] == "pad" and ds["resize"]["size"] == [16, 16]
    assert ds["channel_choice"]["chosen"] == 3 and ds["image_shape"] == [16, 16, 3]
    assert ds["image_sizes"]["n"] == ds["layout"]["images_loaded"]
    dup = ds["duplicates"]
    assert (dup["leakage_exact"], dup["leakage_near"]) == (1, 1) and dup["near_bits"] >= 1
    assert {(p["kind"], p["b_file"]) for p in dup["pairs"]} == {("exact", student.duplicate[1]),
                                                                 ("near", student.near_duplicate[1])}


def test_the_pdf_holds_the_class_names_the_problems_and_the_duplicates(student_build):
    html = (student_build["report_dir"] / "report.html").read_text(encoding="utf-8")
    text = pdf_text(student_build["report_dir"] / "report.pdf")
    for name in STUDENT_CLASSES:
        assert name in text, name
    assert "train/café/truncated.png" in text and "empty file (0 bytes)" in text
    assert "Duplicates and leakage" in text and "copied.png" in text
    assert 'id="tab-problems"' in html and 'id="fig-duplicate_pairs"' in html
    figures = {f["id"] for f in student_build["report"]["figures"]}
    assert {"image_dimensions", "duplicate_pairs", "samples"} <= figures


def test_the_folder_sections_pass_html_validate(student_build, tmp_path):
    messages, problem = html_validate_messages(student_build["report_dir"] / "report.html", tmp_path)
    assert not messages and not problem, messages[:20] or problem


def test_the_rubric_checks_the_folder_facts(student_build):
    items = {i["id"]: i for c in student_build["report"]["rubric"]["criteria"] for i in c["items"]}
    assert "4 skipped, 5 ignored, 2 read with a note, listed in the data section" in items["eda.class_balance"]["evidence"]
    assert "resize policy 'pad' to 16×16" in items["eda.dimensions"]["evidence"] and items["eda.dimensions"]["passed"]
    splits = items["eda.splits"]
    assert not splits["passed"] and splits["earned"] == 2.0 and "leakage into test: 1 exact, 1 near" in splits["evidence"]
    assert "remove from the test part" in splits["fix"]


def test_a_second_command_reads_the_cache(student_build, monkeypatch, capsys):
    root = student_build["root"]
    assert len(list((root / "runs" / "mine" / "data-cache").glob("folder-*.npz"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(folder_module, "decode", no_decoding)
    monkeypatch.chdir(root / "elsewhere")
    code, out, err = run_cli(["train", "--study", student_build["study"], "--runs-dir", root / "runs"], capsys)
    # The same content (the fingerprint in every run id), read from the cache: nothing to train.
    assert code == 0 and "trained 0 runs, 5 already done" in out, out + err
    assert sum(ln.startswith("data: ") for ln in out.splitlines()) == 1  # the problems said again


def test_a_name_no_font_can_draw_is_a_warning_naming_it(tmp_path, capsys):
    import warnings

    from cnnreport.report.figures import data as data_figures
    from cnnreport.report.figures import style

    names = ["cat", "\U000130e0 hieroglyph"]  # no installed font of the figures has U+130E0
    x = np.random.default_rng(0).integers(0, 255, (4, 6, 6, 1), dtype=np.uint8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        said = style.warn_undrawable(names, "class name")
        data_figures.sample_grid.__wrapped__(x, np.array([0, 1, 0, 1]), names, tmp_path, per_class=2)
    err = capsys.readouterr().err
    assert len(said) == 1 and "U+130E0" in said[0] and "'\U000130e0 hieroglyph'" in said[0]
    assert err.count("cnnreport: WARNING: class name") == 1
    assert not [w for w in caught if "Glyph" in str(w.message)]  # matplotlib's own is replaced by ours
    assert style.warn_undrawable(names, "class name") == []  # once per name
