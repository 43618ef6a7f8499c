"""`cnnreport check` grades submissions it must not trust: every path a submission names stays
inside its folder (nothing outside is opened), a hostile report's size cannot stall the check,
a failed integrity check exits 1, and a report whose runs were trained on other data fails it.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import cnnreport
from cnnreport.cli import main
from cnnreport.files import write_json
from cnnreport.report.html import render_html
from cnnreport.rubric import scoring
from cnnreport.rubric.submission import Submission

from helpers import REPO, TrainedStudy, copy_report, numbers_heavy, report_model

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64

_OPENED: list[str] | None = None  # while a block records: every path Python opens


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(str(Path(args[0] if not isinstance(args[0], bytes) else args[0].decode()).resolve()))


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one records only inside `opened`


def opened(run: Callable[[], Any]) -> tuple[Any, list[str]]:
    """run() and the resolved paths of every file it opened."""
    global _OPENED
    _OPENED = []
    try:
        return run(), list(_OPENED)
    finally:
        _OPENED = None


def check_report(folder: Path) -> dict[str, Any]:
    return scoring.check_report(folder).model_dump(mode="json")


def item(result: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for c in result["criteria"] for i in c["items"] if i["id"] == item_id)


@pytest.fixture
def workspace(trained_study: TrainedStudy, tmp_path: Path) -> TrainedStudy:
    """A copy of the shared build without its PDF (these tests re-render only the HTML)."""
    copy = trained_study.copy_to(tmp_path / "ws")
    (copy.report_dir / "report.pdf").unlink()
    return copy


@pytest.fixture
def submission(trained_study: TrainedStudy, tmp_path: Path) -> Path:
    """The shared build's report folder alone, as a student hands it in (without the PDF)."""
    folder = copy_report(trained_study.report_dir, tmp_path / "submissions" / "alice")
    (folder / "report.pdf").unlink()
    return folder


def _edit(folder: Path, edit: Callable[[dict[str, Any]], None], html: bool = True) -> dict[str, Any]:
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    edit(report)
    write_json(folder / "report.json", report)
    if html:
        render_html(report_model(report), folder / "report.html")
    return report


def _figure(report: dict[str, Any], fig_id: str) -> dict[str, Any]:
    return next(f for f in report["figures"] if f["id"] == fig_id)


# ------------------------------------------------------------------------- paths in a submission


@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_a_figure_path_out_of_the_folder_is_not_opened_nor_credited(submission, tmp_path, kind):
    folder = submission
    other = tmp_path / "submissions" / "bob" / "figures"
    other.mkdir(parents=True)
    (other / "samples.png").write_bytes(PNG)  # another student's figure, a real PNG
    target = str(other / "samples.png") if kind == "absolute" else "../bob/figures/samples.png"
    assert (folder / target).resolve() == (other / "samples.png").resolve()

    def point_outside(report: dict[str, Any]) -> None:
        _figure(report, "samples")["file"] = target

    _edit(folder, point_outside)
    assert target in (folder / "report.html").read_text(encoding="utf-8")  # shown as the HTML would
    result, paths = opened(lambda: check_report(folder))
    samples = item(result, "eda.samples")
    assert samples["earned"] == 0 and "leads outside the submission folder" in samples["evidence"]
    assert str((other / "samples.png").resolve()) not in paths
    assert _outside(paths, folder) == []


def _outside(paths: list[str], folder: Path) -> list[str]:
    """Opened paths that are neither the submission's nor cnnreport's own (rubric, templates)
    nor Python's (modules imported on first use)."""
    own = [str(folder.resolve()), str(REPO), sys.prefix, sys.base_prefix]
    return [p for p in paths if not any(p.startswith(root) for root in own)]


def test_a_figure_linked_to_a_file_outside_is_not_read(submission, tmp_path):
    folder = submission
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    link = folder / _figure(report, "samples")["file"]
    link.unlink()
    link.symlink_to(secret)
    result, paths = opened(lambda: check_report(folder))
    assert item(result, "eda.samples")["earned"] == 0
    assert str(secret.resolve()) not in paths


def test_etc_passwd_as_a_figure_is_never_opened(submission):
    folder = submission

    def passwd(report: dict[str, Any]) -> None:
        _figure(report, "class_distribution")["file"] = "../../../../../../../../etc/passwd"

    _edit(folder, passwd)
    _, paths = opened(lambda: check_report(folder))
    assert "/etc/passwd" not in paths and _outside(paths, folder) == []


def test_report_html_linked_outside_reads_as_missing(submission, tmp_path):
    folder = submission
    outside = tmp_path / "elsewhere.html"
    shutil.copy(folder / "report.html", outside)
    (folder / "report.html").unlink()
    (folder / "report.html").symlink_to(outside)
    sub = Submission(folder)
    assert sub.html is None and any("report.html leads outside" in n for n in sub.notes)


def test_study_name_and_run_ids_cannot_steer_reading_runs_outside(submission, trained_study, tmp_path):
    """report.json's study.name chose the runs folder (runs/<name>): '../..' reached anywhere."""
    folder = submission
    report = trained_study.report()
    victim = tmp_path / "victim" / "runs"
    shutil.copytree(trained_study.study_runs, victim)  # run records that would match the report's ids
    name = "../../../victim/runs"
    (folder / "runs").mkdir()  # handed in, empty: a path through it reaches the victim
    assert (folder / "runs" / name).resolve() == victim.resolve() and (folder / "runs" / name).is_dir()

    def steer(r: dict[str, Any]) -> None:
        r["study"]["name"] = name
        r["runs"][0]["run_id"] = "../../../../victim/runs/" + r["runs"][0]["run_id"]

    _edit(folder, steer)
    result, paths = opened(lambda: check_report(folder))
    assert not [p for p in paths if p.startswith(str(victim.resolve()))]
    assert Submission(folder).runs_dir is None
    assert report["runs"][0]["run_id"]  # the unedited report had real ids to steer with
    part = next(p for p in result["integrity"]["parts"] if p["name"] == "runs")
    assert part["ok"] is None  # no run records at hand: nothing compared, nothing read


def test_a_hostile_run_id_names_no_run_folder(workspace):
    folder = workspace.report_dir

    def hostile(r: dict[str, Any]) -> None:
        r["runs"][1]["run_id"] = "../../../../../etc"

    _edit(folder, hostile)
    result, paths = opened(lambda: check_report(folder))
    assert not [p for p in paths if p.startswith("/etc")]
    assert any("names no run folder" in d for d in result["integrity"]["differences"])


# --------------------------------------------------------------------------- size and exit code


def _many_numbers(folder: Path, numbers: str, extra_values: int = 0) -> None:
    def hostile(r: dict[str, Any]) -> None:
        r["text"]["interpretation"] = numbers
        shifted = next(iter(r["probes"]["translation"]["models"].values()))
        shifted["per_seed"].append([random.Random(1).random() for _ in range(extra_values)])

    _edit(folder, hostile)


def test_forty_thousand_numbers_edited_at_both_ends_are_checked_in_seconds(workspace):
    """Aligning the numbers was quadratic: 40,000 one-digit numbers took 36–44 s."""
    folder = workspace.report_dir
    rng = random.Random(0)
    _many_numbers(folder, " ".join(str(rng.randrange(10)) for _ in range(40_000)))
    html = (folder / "report.html").read_text(encoding="utf-8")
    body = json.loads((folder / "report.json").read_text(encoding="utf-8"))["text"]["interpretation"]
    start = html.index(body[:40])
    end = html.index(body[-40:]) + 40
    (folder / "report.html").write_text(html[:start] + "7 7 " + html[start:end] + " 8 8" + html[end:],
                                        encoding="utf-8")
    t0 = time.perf_counter()
    result = check_report(folder)
    assert time.perf_counter() - t0 < 12
    assert result["score"]["integrity"] is False
    assert any("§interpretation" in d and "7, 7" in d for d in result["integrity"]["differences"])


def test_forty_thousand_cited_numbers_and_values_are_checked_in_seconds(workspace):
    """Matching the text's numbers against the results' values was n × m: 70 s here."""
    folder = workspace.report_dir
    rng = random.Random(0)
    _many_numbers(folder, " ".join(f"0.{rng.randrange(10_000):04d}" for _ in range(40_000)), extra_values=40_000)
    t0 = time.perf_counter()
    result = check_report(folder)
    assert time.perf_counter() - t0 < 12
    assert "cites" in item(result, "interpretation.cites_results")["evidence"]


def _string_work(run: Callable[[], Any]) -> int:
    """Characters handed to str methods by cnnreport's own code while run() runs: a count of the
    work that grows with the text, the same on any machine (a quadratic step, such as the old
    `rest.partition(tok)` once per number, makes it grow with the text's square)."""
    package = str(Path(cnnreport.__file__).parent)
    total = 0

    def hook(frame: Any, event: str, arg: Any) -> None:
        nonlocal total
        if event == "c_call" and frame.f_code.co_filename.startswith(package):
            own = getattr(arg, "__self__", None)
            if isinstance(own, str):
                total += len(own)

    sys.setprofile(hook)
    try:
        run()
    finally:
        sys.setprofile(None)
    return total


def test_checking_is_linear_in_a_numbers_heavy_texts_size(trained_study, tmp_path):
    """0.25 and 1 MB of numbers: the string work per byte stays the same (about 15 characters
    per byte; the quadratic alignment this replaced did 36,000 per byte at 0.25 MB and 143,000 at
    1 MB). Speed figures: bench/check_scaling.py, bench/README.md."""
    work = {}
    for mb in (0.25, 1.0):
        folder = numbers_heavy(copy_report(trained_study.report_dir, tmp_path / f"r{mb}"), mb)
        work[mb] = _string_work(lambda: check_report(folder))
    per_byte = {mb: w / (mb * 1e6) for mb, w in work.items()}
    assert per_byte[1.0] < 100 and per_byte[1.0] < 1.5 * per_byte[0.25], per_byte


def test_a_ten_megabyte_numbers_heavy_report_is_graded_within_the_class_budget(trained_study, tmp_path, capsys):
    """10 MB of numbers in the interpretation, graded as a class is (`check --csv`, a worker per
    submission) within a 30 s budget: graded in full, integrity verified, not a row saying it ran
    over (about 4.5 s here; the quadratic alignment this replaced took minutes at 8 MB). The bound
    is the product's own time budget, not a stopwatch: figures are in bench/README.md."""
    folder = numbers_heavy(copy_report(trained_study.report_dir, tmp_path / "ten"), 10)
    assert (folder / "report.json").stat().st_size > 10e6
    grades = tmp_path / "grades.csv"
    code = main(["check", str(folder), "--csv", str(grades), "--time-budget", "30", "--jobs", "1"])
    capsys.readouterr()
    import csv

    (row,) = list(csv.DictReader(grades.open(encoding="utf-8")))
    assert row["status"] == "ok", row["status"]
    assert row["integrity"] == "True" and code == 0, (row["integrity"], code)


def test_a_failed_integrity_check_exits_1(workspace, capsys):
    folder = workspace.report_dir
    assert main(["check", str(folder)]) == 0
    html = (folder / "report.html").read_text(encoding="utf-8")
    acc = f"{workspace.report()['models'][2]['test_accuracy']['mean'] * 100:.1f}"
    assert acc in html
    (folder / "report.html").write_text(html.replace(acc, "99.9"), encoding="utf-8")
    capsys.readouterr()
    assert main(["check", str(folder), "--json"]) == 1  # was 0: the score alone decided
    data = json.loads(capsys.readouterr().out)
    assert data["score"]["integrity"] is False


def test_a_report_describing_other_data_than_its_runs_fails_integrity(workspace, capsys):
    """A report's EDA beside another data set's runs: the fingerprints name the mismatch."""
    folder = workspace.report_dir
    trained_on = workspace.report()["dataset"]["fingerprint"]

    def other_data(r: dict[str, Any]) -> None:
        r["dataset"]["fingerprint"] = "0123456789abcdef"

    _edit(folder, other_data)
    assert main(["check", str(folder)]) == 1
    result = check_report(folder)
    diffs = " ".join(result["integrity"]["differences"])
    assert f"trained on data with fingerprint {trained_on}" in diffs and "0123456789abcdef" in diffs
