"""`cnnreport check` on the shared trained study's report and on seeded-defect copies of it.

Each defect must cost exactly the items it should — every other item scores as on the intact
copy — and the failing item's evidence must name the defect.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from cnnreport.cli import main
from cnnreport.rubric import scoring
from cnnreport.rubric.schema import load_rubric

from helpers import TrainedStudy, copy_report, edit_json

RUBRIC = load_rubric()


def check_report(folder: Path, rubric: Any = None) -> dict[str, Any]:
    return scoring.check_report(folder, rubric).model_dump(mode="json")


def earned(result: dict[str, Any]) -> dict[str, float]:
    return {i["id"]: i["earned"] for c in result["criteria"] for i in c["items"]}


def item(result: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for c in result["criteria"] for i in c["items"] if i["id"] == item_id)


def losses(good: dict[str, Any], bad: dict[str, Any]) -> dict[str, float]:
    g, b = earned(good), earned(bad)
    return {k: round(g[k] - b[k], 3) for k in g if abs(g[k] - b[k]) > 1e-9}


@pytest.fixture(scope="module")
def good(trained_study: TrainedStudy, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """An intact copy of the report folder alone, and its result."""
    folder = copy_report(trained_study.report_dir, tmp_path_factory.mktemp("good") / "tiny")
    return folder, check_report(folder, RUBRIC)


@pytest.fixture
def copy(trained_study: TrainedStudy, tmp_path: Path) -> Path:
    """A private copy of the report folder alone, to damage."""
    return copy_report(trained_study.report_dir, tmp_path / "tiny")


# ------------------------------------------------------------------------- the intact report


def test_intact_report_scores_what_it_has(good: tuple[Path, dict[str, Any]]) -> None:
    _, result = good
    s = result["score"]
    assert s["automatic"] == 87 and s["human"] == 13 and s["total"] == 100
    assert s["line"].startswith(f"verified {s['earned']:g} of 87 automatic points; 13 points for a human reader")
    assert s["integrity"] is True, result["integrity"]
    for ok_item in ("eda.samples", "eda.class_balance", "baseline.above_chance", "baseline.loss",
                    "cnn.architecture", "cnn.justification", "rigour.variants", "rigour.controlled",
                    "rigour.repeated", "rigour.no_errors", "rigour.integrity", "rigour.rendered",
                    "interpretation.written", "interpretation.cites_results", "bonus.captions"):
        assert item(result, ok_item)["passed"], (ok_item, item(result, ok_item)["evidence"])
    assert "4 levels of kernel size" in item(result, "rigour.variants")["evidence"]
    assert "2 finished seeds each;" in item(result, "rigour.repeated")["evidence"]  # not "2–2"
    assert "10 of 10 design decisions" in item(result, "cnn.justification")["evidence"]
    assert "26,698" in item(result, "interpretation.cites_results")["evidence"]
    # Two seeds: mean ± std, but short of the three the rubric asks for.
    assert item(result, "rigour.seeds")["earned"] == 0
    assert "fewer than 3 seeds" in item(result, "rigour.seeds")["evidence"]
    # Human items are listed apart, with what was found, and never earned.
    human = {h["id"]: h for h in result["human"]}
    assert set(human) == {"eda.discussion", "cnn.justification_quality", "interpretation.inductive_bias",
                          "interpretation.discussion", "bonus.readable"}
    found = human["interpretation.inductive_bias"]["evidence"]
    assert "words" in found and "weight sharing" in found and "locality" in found \
        and "translation equivariance" in found and "cites" in found
    assert all(h["earned"] == 0 for h in human.values())


def test_report_json_carries_run_hashes_and_the_rubric_appendix(trained_study: TrainedStudy) -> None:
    tiny_report = trained_study.report_dir  # only read
    data = json.loads((tiny_report / "report.json").read_text())
    runs_dir = tiny_report.parent.parent / "runs" / "tiny"
    for r in data["runs"]:
        digest = hashlib.sha256((runs_dir / r["run_id"] / "run.json").read_bytes()).hexdigest()
        assert r["sha256"] == digest
    assert data["rubric"]["score"]["line"].startswith("verified ")
    assert {c["id"] for c in data["rubric"]["criteria"]} == {c.id for c in RUBRIC.criteria}
    html = (tiny_report / "report.html").read_text()
    assert 'id="rubric"' in html and data["rubric"]["score"]["line"] in html
    # With runs/ beside the report, report.json is checked against its run records too.
    result = check_report(tiny_report, RUBRIC)
    runs_part = next(p for p in result["integrity"]["parts"] if p["name"] == "runs")
    # 10 study runs + 4 locality-probe runs
    assert runs_part["ok"] is True and "14 sha256 match" in runs_part["detail"]


# ------------------------------------------------------------------------------- the defects


def test_a_missing_pdf_library_never_calls_the_pdf_damaged(good, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pypdf where the check runs, report.pdf is not read, and says so: the student loses
    nothing to the grader's environment (an install without the test extra once scored 86 of 87,
    "report.pdf damaged")."""
    folder, result = good
    assert result["pdf"] == "read"
    monkeypatch.setitem(sys.modules, "pypdf", None)  # `import pypdf` raises ImportError
    without = check_report(folder)
    assert without["pdf"] == "no_reader" and earned(without) == earned(result)
    assert any("pypdf package is missing" in n for n in without["notes"])
    shown = json.dumps(without)
    assert "damaged" not in shown and "unreadable" not in shown


def test_deleted_figure_costs_its_item(good, copy: Path) -> None:
    (copy / "figures" / "samples.png").unlink()
    bad = check_report(copy, RUBRIC)
    assert losses(good[1], bad) == {"eda.samples": 3, "bonus.captions": 1}
    assert "figures/samples.png is missing" in item(bad, "eda.samples")["evidence"]
    assert item(bad, "eda.samples")["fix"]


def test_a_deleted_figure_no_item_requires_still_costs_the_captions_bonus(good, copy: Path) -> None:
    """A caption under a broken image captions nothing (a handed-in folder once scored 87 of 87
    without its accuracy_bars.png)."""
    (copy / "figures" / "accuracy_bars.png").unlink()
    bad = check_report(copy, RUBRIC)
    assert losses(good[1], bad) == {"bonus.captions": 1}
    evidence = item(bad, "bonus.captions")["evidence"]
    assert "not all shown" in evidence and "figures/accuracy_bars.png is missing" in evidence


def test_single_seed_costs_mean_and_std(good, copy: Path) -> None:
    def one_seed(r: dict[str, Any]) -> None:
        for m in r["models"]:
            mean = m["test_accuracy"]["mean"]
            m["test_accuracy"].update(n=1, values=[mean], std=None, ci_low=None, ci_high=None)
            m["test_loss"].update(n=1, std=None, ci_low=None, ci_high=None)
            m["seeds"], m["run_ids"] = m["seeds"][:1], m["run_ids"][:1]
        r["study"]["seeds"] = r["experiment"]["seeds"] = r["environment"]["seeds"] = [0]
        r["runs"] = [x for x in r["runs"] if x["seed"] == 0]
        r["comparisons"] = []  # no test between single values

    edit_json(copy, one_seed)
    bad = check_report(copy, RUBRIC)
    g = earned(good[1])
    # Mean ± std needs two seeds; the significance tests (when present) need them too.
    expected = {k: v for k, v in {"rigour.repeated": 4, "rigour.seeds": g["rigour.seeds"],
                                  "rigour.statistics": g["rigour.statistics"]}.items() if v}
    assert losses(good[1], bad) == expected
    assert "fewer than 2 seeds: mlp has 1" in item(bad, "rigour.repeated")["evidence"]
    assert bad["score"]["integrity"] is True  # re-rendered consistently: not an edit


def test_two_variables_changed_costs_control(good, copy: Path) -> None:
    def also_filters(r: dict[str, Any]) -> None:  # the 5×5 variant as if built with twice the filters
        row = next(v for v in r["experiment"]["verification"] if v["model"] == "cnn · kernel 5×5")
        row["signature"]["conv1"][1]["filters"] *= 2

    edit_json(copy, also_filters)
    bad = check_report(copy, RUBRIC)
    assert losses(good[1], bad) == {"rigour.controlled": 5}
    assert "cnn · kernel 5×5: conv1.filters 8 → 16" in item(bad, "rigour.controlled")["evidence"]


def test_empty_interpretation_costs_the_interpretation(good, copy: Path) -> None:
    edit_json(copy, lambda r: r["text"].update(interpretation=""))
    bad = check_report(copy, RUBRIC)
    assert losses(good[1], bad) == {"interpretation.written": 3, "interpretation.cites_results": 3}
    assert "no interpretation written" in item(bad, "interpretation.written")["evidence"]
    found = next(h for h in bad["human"] if h["id"] == "interpretation.inductive_bias")["evidence"]
    assert found.startswith("nothing written")
    assert bad["score"]["human"] == good[1]["score"]["human"]  # still for a reader, never earned


def test_numbers_edited_in_html_cost_integrity_and_are_named(good, copy: Path) -> None:
    data = json.loads((copy / "report.json").read_text())
    base = next(m for m in data["models"] if m["role"] == "baseline")
    printed = f"{base['test_accuracy']['mean']:.4f} ± {base['test_accuracy']['std']:.4f}"
    html = (copy / "report.html").read_text()
    assert printed in html
    (copy / "report.html").write_text(html.replace(printed, f"0.9990 ± {base['test_accuracy']['std']:.4f}"))
    bad = check_report(copy, RUBRIC)
    assert losses(good[1], bad) == {"rigour.integrity": 2}
    assert bad["score"]["integrity"] is False
    evidence = item(bad, "rigour.integrity")["evidence"]
    assert "prints 0.9990 where report.json gives " + printed.split(" ")[0] in evidence
    assert "report.html §" in evidence  # names the section where the edited number stands
    # The PDF still prints the true number, which the edited HTML no longer does.
    assert "report.pdf has 1 number(s) report.html lacks: " + printed.split(" ")[0] in evidence
    assert "mlp" in evidence.split("prints 0.9990")[0][-60:]  # names where: the baseline's row


def test_report_json_edited_against_its_runs(trained_study: TrainedStudy, tmp_path: Path) -> None:
    trained_study.copy_to(tmp_path / "ws")
    folder = tmp_path / "ws" / "reports" / "tiny"
    edit_json(folder, lambda r: r["models"][0]["test_accuracy"]["values"].__setitem__(0, 0.99))
    run = json.loads((tmp_path / "ws" / "runs" / "tiny").joinpath(
        json.loads((folder / "report.json").read_text())["runs"][-1]["run_id"], "run.json").read_text())
    run_file = tmp_path / "ws" / "runs" / "tiny" / run["run_id"] / "run.json"
    run_file.write_text(run_file.read_text() + "\n")  # a touched run record
    bad = check_report(folder, RUBRIC)
    diffs = " | ".join(bad["integrity"]["differences"])
    assert "models[mlp].test_accuracy: report.json ['0.9900'" in diffs
    assert f"runs/{run['run_id']}/run.json changed since the report was built" in diffs
    assert item(bad, "rigour.integrity")["earned"] == 0


# ------------------------------------------------------------------------------------- the CLI


def test_cli_exit_codes_and_json(good, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, result = good
    assert main(["check", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["score"]["earned"] == result["score"]["earned"]
    assert main(["check", str(folder), "--min-score", str(result["score"]["earned"] + 0.1)]) == 1
    out = capsys.readouterr().out
    assert "verified" in out and "For a human reader" in out and "Lab validation list" in out
    assert main(["check", str(tmp_path)]) == 2
    assert "not a cnnreport report" in capsys.readouterr().err
    bad_rubric = tmp_path / "r.toml"
    bad_rubric.write_text('title = "x"\ntotal = 1\n[[criteria]]\nid = "a"\nname = "A"\npoints = 1\n'
                          '[[criteria.items]]\nid = "a.b"\nname = "B"\npoints = 1\ncheck = "nope"\n')
    assert main(["check", str(folder), "--rubric", str(bad_rubric)]) == 2
    assert "criteria[0] (a).items[0] (a.b): unknown check 'nope'" in capsys.readouterr().err


def test_grading_many_writes_a_row_per_folder(good, trained_study: TrainedStudy, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    tiny_report = trained_study.report_dir
    subs = tmp_path / "submissions"
    copy_report(tiny_report, subs / "alice")  # a good one
    no_fig = copy_report(tiny_report, subs / "bob")
    (no_fig / "figures" / "variant_curves.png").unlink()
    (subs / "carol").mkdir()  # handed in nothing
    (subs / "dave").mkdir()
    (subs / "dave" / "report.json").write_text("{not json")
    eve = copy_report(tiny_report, subs / "eve")  # one number typed in as text
    edit_json(eve, lambda r: r["models"][0]["test_accuracy"].update(mean="0.99"), rerender=False)
    (subs / "frank.txt").write_text("not a folder")
    out_csv = tmp_path / "grades.csv"
    args = ["check", *map(str, sorted(subs.iterdir())), "--csv", str(out_csv)]
    assert main(args) == 1  # some could not be graded
    rows = list(csv.DictReader(out_csv.open()))
    by = {Path(r["submission"]).name: r for r in rows}
    assert list(by) == ["alice", "bob", "carol", "dave", "eve", "frank.txt"]
    assert by["alice"]["status"] == "ok" and float(by["alice"]["earned"]) == good[1]["score"]["earned"]
    assert float(by["bob"]["rigour.variants"]) == 0 and float(by["alice"]["rigour.variants"]) == 4
    assert float(by["bob"]["earned"]) == float(by["alice"]["earned"]) - 4
    assert by["alice"]["interpretation.inductive_bias"] == "human"
    assert "no report.json" in by["carol"]["status"]
    assert "damaged report.json" in by["dave"]["status"]
    # Not as cnnreport writes report.json: not graded, the broken field named.
    assert by["eve"]["status"].endswith("not as cnnreport writes it (format 4): "
                                        "models[0].test_accuracy.mean: expected a number") and by["eve"]["earned"] == ""
    assert "not a folder" in by["frank.txt"]["status"]
    header = next(csv.reader(out_csv.open()))
    assert {"eda", "rigour", "rigour.controlled", "bonus.readable"} <= set(header)
    assert "5 reports" not in capsys.readouterr().err
