"""The command line: bad input is exit 2 with one line naming what and where, `init` writes an
editable copy, and commands that read runs default to the profile last trained."""

from __future__ import annotations

from pathlib import Path

from cnnreport import cli, pipeline
from cnnreport.study.loading import load_study
from cnnreport.train import store
from cnnreport.train.workspace import Workspace

from helpers import run_cli


def test_cli_bad_study_exits_2_with_one_line_and_no_traceback(write_study, capsys):
    path = write_study()
    path.write_text(path.read_text().replace("learning_rate = 1e-3", "learning_rate = -1"))
    code, out, err = run_cli(["build", "--study", path, "--runs-dir", path.parent / "runs",
                              "--reports-dir", path.parent / "reports"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnnreport: error:")
    assert str(path) in lines[0] and "training.learning_rate" in lines[0]
    assert "Traceback" not in err + out
    assert not (path.parent / "runs").exists()  # nothing written for a bad study


def test_cli_unknown_study_name_and_missing_file_exit_2(capsys, tmp_path):
    code, _, err = run_cli(["render", "--study", "no-such-study"], capsys)
    assert code == 2 and "unknown study 'no-such-study'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["render", "--study", tmp_path / "missing.toml"], capsys)
    assert code == 2 and "missing.toml" in err and "no such study file" in err


def _opened(study: str, profile: str | None, runs: Path):
    return pipeline.open_context(study, profile, Workspace(runs_root=runs), print).study


def test_commands_that_read_runs_default_to_the_last_trained_profile(tmp_path):
    assert _opened("fashion-mnist", None, tmp_path).profile == "full"  # never trained: the real study
    store.remember_profile(store.study_runs_dir(tmp_path, "fashion-mnist"), "quick")
    assert _opened("fashion-mnist", None, tmp_path).profile == "quick"
    assert _opened("fashion-mnist", "full", tmp_path).profile == "full"  # an explicit profile always wins


def test_a_study_trained_without_a_profile_is_read_back_without_one(tmp_path, write_study):
    path = write_study()
    store.remember_profile(store.study_runs_dir(tmp_path, "tiny"), "base")
    assert _opened(str(path), None, tmp_path).profile == "base"


def test_render_without_runs_fails_with_one_clear_line(write_study, idx_dir, tmp_path, capsys):
    folder, _ = idx_dir
    study = write_study(train_subset=50, val_subset=10, test_subset=20)
    code, out, err = run_cli(["render", "--study", study, "--data-dir", folder, "--runs-dir", tmp_path / "runs",
                              "--reports-dir", tmp_path / "reports"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "nothing was built for study tiny" in lines[0]
    assert f"`cnnreport build --study {study}`" in lines[0]
    assert "Traceback" not in out + err
    assert not (tmp_path / "reports" / "tiny" / "report.html").exists()


def test_init_writes_an_editable_copy(tmp_path):
    target = tmp_path / "mine.toml"
    assert cli.main(["init", "--study", "fashion-mnist", "--output", str(target)]) == 0
    assert "[text.rationale]" in target.read_text()
    assert cli.main(["init", "--study", "fashion-mnist", "--output", str(target)]) == 2  # no overwrite
    assert cli.main(["init", "--study", "fashion-mnist", "--output", str(target), "--force"]) == 0
    assert load_study(str(target), "quick").name == "fashion-mnist"
