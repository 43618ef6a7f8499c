"""Work two submissions share (rubric/copies.py): the same run records, the same test
predictions under other run ids, the same or nearly the same paragraphs of the author's text,
each flagged both ways and named; the course's common material and the built-in studies' text
are not copies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cnnreport.files import write_json
from cnnreport.rubric import copies
from cnnreport.rubric.copies import Fingerprint, Paragraph, fingerprint, shared_work, starter_shingles
from cnnreport.rubric.submission import Submission

from helpers import INTERPRETATION, TrainedStudy


def _submission(trained: TrainedStudy, dest: Path, with_runs: bool = True) -> Path:
    """The report folder as a student hands it in, its runs inside it (runs/<study>/)."""
    shutil.copytree(trained.report_dir, dest)
    if with_runs:
        shutil.copytree(trained.study_runs, dest / "runs" / "tiny")
    return dest


def _edit(folder: Path, edit: Any) -> None:
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    edit(report)
    write_json(folder / "report.json", report)


def _other_runs(report: dict[str, Any], tag: str) -> None:
    """Runs of its own: other ids, other hashes (as if trained from another study)."""
    for r in report["runs"]:
        r["run_id"] = f"{tag}-{r['run_id']}"
        r["sha256"] = None
    for m in report["models"]:
        m["run_ids"] = [f"{tag}-{i}" for i in m["run_ids"]]


def _kinds(shares: list[Any], other: str) -> set[str]:
    return {i.kind for s in shares if s.submission == other for i in s.items}


@pytest.fixture(scope="module")
def class_of_five(trained_study: TrainedStudy, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Fingerprint]:
    root = tmp_path_factory.mktemp("class")
    _submission(trained_study, root / "alice")
    _submission(trained_study, root / "bob")  # alice's folder, handed in again
    carol = _submission(trained_study, root / "carol", with_runs=False)  # her text, reworded a little
    _edit(carol, lambda r: (_other_runs(r, "c"), r["text"].update(
        interpretation=INTERPRETATION.replace("is not bought with capacity", "is not bought with size"))))
    dave = _submission(trained_study, root / "dave", with_runs=False)  # his own work
    _edit(dave, lambda r: (_other_runs(r, "d"), r["text"].update(
        interpretation="Convolutions share weights across the image, so one edge detector serves every "
                       "position; the dense baseline must learn each position anew, which its lower test "
                       "accuracy over both seeds reflects in this small experiment on clothing images."),
        [row.update(justification=f"My own reason number {i} for this choice, written for this lab.")
         for i, row in enumerate(r["rationale"])]))
    erin = _submission(trained_study, root / "erin")  # other run ids, alice's predictions
    _edit(erin, lambda r: (_other_runs(r, "e"), r["text"].update(interpretation=""),
                           [row.update(justification="") for row in r["rationale"]]))
    for run in (erin / "runs" / "tiny").iterdir():
        if run.is_dir():  # retrained: another run.json (its time), the same predictions
            record = json.loads((run / "run.json").read_text(encoding="utf-8"))
            write_json(run / "run.json", {**record, "finished_at": "2030-01-01T00:00:00"})
            run.rename(run.with_name(f"e-{run.name}"))
    return {name: fingerprint(Submission(root / name), name) for name in ("alice", "bob", "carol", "dave", "erin")}


def test_shared_runs_predictions_and_text_are_flagged_both_ways(class_of_five) -> None:
    shares = shared_work(list(class_of_five.values()))
    # bob handed in alice's folder: the same run.json files, run ids and paragraphs, named on both rows.
    assert _kinds(shares["alice"], "bob") == _kinds(shares["bob"], "alice") == {"run_json", "run_ids", "text"}
    # carol reworded alice's interpretation by one word: near-identical, not identical.
    text = [i for s in shares["carol"] if s.submission == "alice" for i in s.items if i.kind == "text"]
    interp = next(i for i in text if i.mine == "text.interpretation")
    assert copies.NEAR <= interp.similarity < 1 and interp.excerpt.startswith("The convolutional network")
    assert _kinds(shares["alice"], "carol") == {"text"}
    # erin's runs have other ids but alice's test predictions, file for file.
    preds = [i for s in shares["erin"] if s.submission == "alice" for i in s.items if i.kind == "predictions"]
    assert len(preds) == 14 and all(i.mine.startswith("e-") and i.theirs == i.mine[2:] for i in preds)
    assert _kinds(shares["alice"], "erin") == {"predictions"}
    # dave shares nothing with anyone; nobody names him.
    assert shares["dave"] == [] and all(s.submission != "dave" for v in shares.values() for s in v)
    assert "identical run.json" in copies.describe(shares["bob"])


def _fp(name: str, **paragraphs: str) -> Fingerprint:
    return Fingerprint(name, paragraphs=[Paragraph(where, text[:20], copies._shingles(text))
                                         for where, text in paragraphs.items()])


GIVEN = "Every submission must state that the test set is touched once at the end and never used to choose a model"
SHARED = "Pooling after each block halves the resolution so the second block sees a receptive field twice as wide"


def test_the_courses_common_material_is_not_a_copy() -> None:
    """A paragraph in half the class (a given sentence) is the course's; two sharing one is not."""
    others = [_fp(f"s{k}", given=GIVEN, own=f"Student {k} wrote this paragraph alone about kernels number {k} "
                  f"and strides number {k} and depth number {k} in the lab") for k in range(copies.COMMON_MIN)]
    shares = shared_work([_fp("a", given=GIVEN, own=SHARED), _fp("b", given=GIVEN, own=SHARED)] + others)
    assert [(s.submission, [i.mine for i in s.items]) for s in shares["a"]] == [("b", ["own"])]
    assert all(shares[fp.submission] == [] for fp in others)
    # Below COMMON_MIN submissions nothing is common: the given paragraph is then flagged too.
    few = shared_work([_fp("a", given=GIVEN), _fp("b", given=GIVEN), _fp("c", given=GIVEN)])
    assert {s.submission for s in few["a"]} == {"b", "c"}


def test_the_built_in_studies_text_is_no_copy() -> None:
    """Text `cnnreport init` hands every student (the built-in studies' [text]) is taken out first."""
    from cnnreport import resources

    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    text = tomllib.loads(resources.study("fashion-mnist").read_text(encoding="utf-8"))["text"]
    starter = next(v for v in text.get("rationale", {}).values() if len(v.split()) >= copies.SHINGLE)
    assert copies._shingles(starter) and not copies._shingles(starter) - starter_shingles()


def test_a_hostile_paragraph_is_indexed_only_in_part() -> None:
    huge = " ".join(f"word{i}" for i in range(200_000))
    assert len(copies._shingles(huge)) <= copies.MAX_WORDS


def test_predictions_file_hashes_are_of_the_files_handed_in(trained_study: TrainedStudy, tmp_path: Path) -> None:
    """A predictions file changed by one image is another file: no longer shared."""
    a = _submission(trained_study, tmp_path / "a")
    b = _submission(trained_study, tmp_path / "b", with_runs=True)
    run = next(p for p in (b / "runs" / "tiny").iterdir() if p.is_dir())
    preds = np.load(run / "test_predictions.npy")
    preds[0] = (preds[0] + 1) % 10
    np.save(run / "test_predictions.npy", preds)
    fa, fb = fingerprint(Submission(a), "a"), fingerprint(Submission(b), "b")
    assert len(set(fa.predictions) & set(fb.predictions)) == 13
