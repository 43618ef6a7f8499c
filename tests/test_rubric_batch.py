"""Grading a class (rubric/batch.py, gradebook.py, feedback.py): every submission in a worker
within a time and memory budget, a row per submission written as it finishes, a batch killed
half-way that keeps its rows and resumes, the Canvas and Moodle layouts, and the feedback files.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnreport.cli import main
from cnnreport.errors import UserError
from cnnreport.rubric import batch, gradebook
from cnnreport.rubric.batch import Budget, Pool, Task, grade_here
from cnnreport.rubric.feedback import feedback_markdown, md_fix, md_text
from cnnreport.rubric.result import NotGraded
from cnnreport.rubric.schema import load_rubric
from cnnreport.rubric.scoring import check_report

from helpers import TrainedStudy, copy_report, edit_json, numbers_heavy, subprocess_env

RUBRIC = load_rubric()
HOSTILE_NAME = "figures/<b>x</b>[a](http://e).png"


@pytest.fixture(scope="module")
def classroom(trained_study: TrainedStudy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """alice (intact), bob (alice's folder without a figure: he shares her work), carol (nothing
    handed in), dave (his samples figure named with markup)."""
    subs = tmp_path_factory.mktemp("classroom")
    copy_report(trained_study.report_dir, subs / "alice")
    bob = copy_report(trained_study.report_dir, subs / "bob")
    (bob / "figures" / "variant_curves.png").unlink()
    (subs / "carol").mkdir()
    dave = copy_report(trained_study.report_dir, subs / "dave")

    def rename(r: dict[str, Any]) -> None:
        next(f for f in r["figures"] if f["id"] == "samples")["file"] = HOSTILE_NAME
    edit_json(dave, rename, rerender=False)
    return subs


@pytest.fixture(scope="module")
def hostile(trained_study: TrainedStudy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20 MB numbers-heavy report: about 9 s and 450 MB to check on a 2-core CPU."""
    return numbers_heavy(copy_report(trained_study.report_dir, tmp_path_factory.mktemp("hostile") / "zed"), 20)


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_a_class_graded_into_csv_json_and_feedback(classroom: Path, tmp_path: Path, capsys) -> None:
    folders = [str(classroom / n) for n in ("alice", "bob", "carol", "dave")]
    grades, feedback = tmp_path / "grades.csv", tmp_path / "feedback"
    code = main(["check", *folders, "--csv", str(grades), "--feedback", str(feedback), "--json", "--jobs", "2"])
    out, err = capsys.readouterr()
    assert code == 1  # carol handed in nothing
    subs = {Path(s["report_dir"]).name: s for s in json.loads(out)["submissions"]}
    assert set(subs) == {"alice", "bob", "carol", "dave"}
    # What alice and bob share, said on both (the JSON names the kinds and the runs).
    named = {s["submission"]: {i["kind"] for i in s["items"]} for s in subs["alice"]["shared_with"]}
    assert named["bob"] == {"run_json", "run_ids", "text"}
    assert "alice" in {s["submission"] for s in subs["bob"]["shared_with"]}
    assert "graded 4/4" in err and "no report.json" in subs["carol"]["error"]
    rows = {r["student"]: r for r in _rows(grades)}
    assert list(rows) == ["alice", "bob", "carol", "dave"]  # the given order, once all are in
    assert rows["bob"]["shared_with"].startswith("alice (") and "bob (" in rows["alice"]["shared_with"]
    assert float(rows["alice"]["earned"]) - float(rows["bob"]["earned"]) == 4  # the missing figure
    # One feedback file per submission, addressed to the student.
    assert sorted(p.name for p in feedback.iterdir()) == ["alice.md", "bob.md", "carol.md", "dave.md"]
    bob = (feedback / "bob.md").read_text(encoding="utf-8")
    first = bob.split("## What to fix first")[1].split("## Every item")[0]
    assert "figures/variant_curves.png" in first and "*How to fix:*" in first
    assert "could not be graded" in (feedback / "carol.md").read_text(encoding="utf-8")
    dave = (feedback / "dave.md").read_text(encoding="utf-8")
    assert md_text(HOSTILE_NAME) in dave and HOSTILE_NAME not in dave  # markup shown as text
    assert "alice" not in bob  # whom a submission shares with is for the instructor, not the student


def test_a_batch_killed_half_way_keeps_its_rows_and_resume_grades_the_rest(classroom: Path, tmp_path: Path,
                                                                          capsys) -> None:
    folders = [str(classroom / n) for n in ("alice", "bob", "carol", "dave")]
    grades = tmp_path / "grades.csv"
    proc = subprocess.Popen([sys.executable, "-m", "cnnreport", "check", *folders, "--csv", str(grades), "--jobs", "1"],
                            cwd=tmp_path, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)  # its workers in its process group
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if grades.is_file() and len(_rows(grades)) >= 1:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()[-2000:]
    kept = _rows(grades)
    width = len(gradebook.header("full", RUBRIC))
    assert 0 < len(kept) < 4 and all(len(r) == width and r["status"] for r in kept)  # finished rows, whole

    assert main(["check", *folders, "--csv", str(grades), "--resume"]) == 1
    out = capsys.readouterr().out
    assert f"resume: {len(kept)} of 4 submissions already graded" in out
    assert f"graded {4 - len(kept)}/{4 - len(kept)}" in out
    after = {r["student"]: r for r in _rows(grades)}
    assert list(after) == ["alice", "bob", "carol", "dave"]
    for r in kept:  # kept as they were; only the shared work is brought up to date
        assert {k: v for k, v in after[r["student"]].items() if k != "shared_with"} == \
               {k: v for k, v in r.items() if k != "shared_with"}
    assert after["alice"]["shared_with"].startswith("bob (")


def test_over_the_memory_budget_a_row_says_so_and_grading_goes_on(hostile: Path, classroom: Path,
                                                                    tmp_path: Path, capsys) -> None:
    grades = tmp_path / "grades.csv"
    code = main(["check", str(hostile), str(classroom / "alice"), "--csv", str(grades), "--memory-budget", "100",
                 "--jobs", "1"])
    capsys.readouterr()
    rows = {r["student"]: r for r in _rows(grades)}
    assert code == 1
    assert rows["zed"]["status"].startswith(("over the memory budget", "grading stopped"))
    assert gradebook.RETRY_MARK in rows["zed"]["status"]  # --resume grades it again
    assert rows["alice"]["status"] == "ok"


def test_a_worker_past_its_time_budget_is_stopped_and_the_next_is_graded(hostile: Path, tmp_path: Path) -> None:
    seen: list[batch.Outcome] = []
    t0 = time.monotonic()
    Pool(1, Budget(seconds=2.0)).run([Task(str(hostile), RUBRIC), Task(str(tmp_path), RUBRIC)], seen.append)
    assert time.monotonic() - t0 < 20  # the 20 MB check alone takes about 9 s
    by = {Path(o.folder).name: o.result for o in seen}
    assert isinstance(by["zed"], NotGraded) and by["zed"].retry
    assert by["zed"].error.startswith("over the time budget of 2 s per submission")
    assert "no report.json" in by[tmp_path.name].error


def test_one_folder_is_graded_here_within_the_time_budget(hostile: Path) -> None:
    out = grade_here(Task(str(hostile), RUBRIC, many=False), Budget(seconds=1.0))
    assert isinstance(out.result, NotGraded) and "over the time budget of 1 s" in out.result.error


def test_a_budget_running_out_inside_the_pdf_reader_is_no_damaged_pdf(classroom: Path, monkeypatch) -> None:
    """The reader's `except Exception` (a parser failure means a damaged PDF) once caught the
    timer: the submission was graded on, 'report.pdf unreadable', points lost for the grader's
    budget. A slow read now ends as over the time budget, whatever code the timer interrupts."""
    import pypdf

    class SlowReader:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            time.sleep(5)  # the 0.5 s timer fires in here

    monkeypatch.setattr(pypdf, "PdfReader", SlowReader)
    out = grade_here(Task(str(classroom / "alice"), RUBRIC, many=False), Budget(seconds=0.5))
    assert isinstance(out.result, NotGraded), out.result.notes
    assert "over the time budget" in out.result.error


# ------------------------------------------------------------------------- gradebook layouts


@pytest.fixture(scope="module")
def two_results(classroom: Path) -> list[tuple[str, Any]]:
    return [("alice", check_report(classroom / "alice")),
            ("carol", NotGraded(report_dir=str(classroom / "carol"), error="not a cnnreport report (no report.json)"))]


@pytest.mark.parametrize("layout", ["canvas", "moodle"])
def test_gradebook_layouts_import_into_canvas_and_moodle(layout: str, two_results, tmp_path: Path) -> None:
    path = tmp_path / f"{layout}.csv"
    sheet = gradebook.Sheet.open(path, layout, RUBRIC, resume=False)
    for student, result in two_results:
        sheet.add(gradebook.row(layout, RUBRIC, student, result))
    sheet.close()
    rows = list(csv.reader(path.open(encoding="utf-8")))
    alice = two_results[0][1]
    total = alice.score.earned + alice.score.bonus_earned
    if layout == "canvas":
        # Canvas's export: the identity columns, one assignment column, the Points Possible row.
        assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", RUBRIC.title]
        assert rows[1] == ["    Points Possible", "", "", "", "", "100"]
        assert rows[2][0] == rows[2][3] == "alice" and float(rows[2][5]) == total
        assert rows[3][0] == "carol" and rows[3][5] == ""  # a blank cell changes nothing in Canvas
    else:
        assert rows[0] == ["username", RUBRIC.title, "feedback"]
        assert rows[1][:2] == ["alice", f"{total:g}"] and rows[1][2].startswith("verified")
        assert rows[2][:2] == ["carol", ""] and rows[2][2].startswith("not graded")
    # --resume keeps the graded row and grades the blank one again.
    kept = gradebook.Sheet.open(path, layout, RUBRIC, resume=True)
    kept.close()
    assert list(kept.kept) == ["alice"]


def test_resume_refuses_a_file_of_another_layout_and_drops_a_row_cut_off(two_results, tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    sheet = gradebook.Sheet.open(path, "full", RUBRIC, resume=False)
    sheet.add(gradebook.row("full", RUBRIC, "alice", two_results[0][1]))
    sheet.close()
    with open(path, "a", encoding="utf-8") as f:
        f.write("bob,submissions/bob,ok,80")  # killed while writing: no end of line
    again = gradebook.Sheet.open(path, "full", RUBRIC, resume=True)
    again.close()
    assert list(again.kept) == [two_results[0][1].report_dir]  # bob's row, cut off, is dropped
    assert path.read_text(encoding="utf-8").endswith("\n")
    with pytest.raises(UserError, match="its header differs"):
        gradebook.Sheet.open(path, "canvas", RUBRIC, resume=True)


def test_feedback_puts_the_costliest_items_first_and_quotes_markup_as_text(two_results) -> None:
    student, result = two_results[0]
    text = feedback_markdown(student, result)
    assert text.startswith("# Feedback for alice")
    lost = [i for c in result.criteria for i in c.items if i.kind == "auto" and not i.passed]
    if lost:
        order = sorted(lost, key=lambda i: i.earned - i.points)
        first = text.split("## What to fix first")[1]
        positions = [first.index(md_text(i.name)) for i in order]
        assert positions == sorted(positions)
    assert "## Read by your instructor" in text
    assert md_text("<img src=x onerror=alert(1)>") == "\\<img src=x onerror=alert(1)\\>"
    assert md_text("[a](http://e) _x_ *y* file_name") == "\\[a\\](http://e) \\_x\\_ \\*y\\* file_name"
    # A fix keeps its commands as code and the words around them apart ("rebuild with`cnnreport
    # render`" once ran them together).
    assert md_fix("rebuild with `cnnreport render`; never edit <the> numbers") == \
        "rebuild with `cnnreport render`; never edit \\<the\\> numbers"


# ------------------------------------------------------------------------------------ fuzzed


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_feedback_quotes_any_text_as_text(text: str) -> None:
    """Whatever a submission wrote, the feedback shows it as written (one line), with every
    character Markdown could read as markup escaped."""
    shown = md_text(text)
    assert re.sub(r"\\(.)", r"\1", shown) == " ".join(text.split())
    bare = re.sub(r"\\.", "", shown)  # what is left once every escaped character is taken out
    assert not re.search(r"[<>\[\]`*|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", bare)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_resume_reads_back_any_file_or_refuses_it_in_one_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "g.csv"
    head = ",".join(gradebook.header("moodle", RUBRIC)).encode() + b"\n"
    path.write_bytes(head + data)
    try:
        sheet = gradebook.Sheet.open(path, "moodle", RUBRIC, resume=True)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    except UnicodeDecodeError:
        pytest.fail("an undecodable file must be refused in one line")
    sheet.close()
    assert all(len(r) == 3 and r[1] for r in sheet.kept.values())
