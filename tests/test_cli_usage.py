"""Using the command: --version, each command's --help (what it does, with an example), the
study last built as the default of the commands that read finished work, and the estimate a
full-profile build prints on a machine without a GPU before it trains."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from cnnreport import __version__, cli, pipeline
from cnnreport.data.splits import Splits
from cnnreport.errors import UserError
from cnnreport.study.loading import load_study
from cnnreport.train import estimate, levers, store
from cnnreport.train.engine import StepTiming
from cnnreport.train.plan import plan_runs
from cnnreport.train.workspace import Workspace

from helpers import random_images, run_cli, study_toml, tiny_study


def _subcommands() -> list[str]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(action.choices)


def test_version_prints_the_package_version(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.strip() == f"cnnreport {__version__}"


@pytest.mark.parametrize("command", _subcommands())
def test_each_command_help_describes_it_with_an_example(command, capsys):
    code, out, _ = run_cli([command, "--help"], capsys)
    assert code == 0
    _, description, _ = cli.HELP[command]
    assert " ".join(description.split()[:8]) in " ".join(out.split())  # the paragraph, as written
    examples = out[out.index("example"):].splitlines()[1:]
    assert any(line.strip().startswith(f"cnnreport {command}") for line in examples), out


# ------------------------------------------------------------------- the study last built here


def test_train_and_build_record_the_study_they_built(trained_study):
    note = json.loads((trained_study.runs / store.LAST_STUDY_FILE).read_text(encoding="utf-8"))
    assert note == {"name": "tiny", "study": str(trained_study.study_file.resolve()), "data_dir": None}


def test_render_and_check_default_to_the_study_last_built_here(trained_copy, monkeypatch, capsys):
    monkeypatch.chdir(trained_copy.root)  # runs/ and reports/ here, as after `cnnreport build`
    (trained_copy.report_dir / "report.html").unlink()
    code, out, err = run_cli(["render", "--no-pdf"], capsys)
    assert code == 0, err
    assert out.startswith("study: tiny (the last built in runs/; --study picks another)")
    assert (trained_copy.report_dir / "report.html").is_file()  # reports/tiny, not reports/cifar10
    code, out, err = run_cli(["check", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["report_dir"].endswith("tiny")  # stdout stays JSON: the note is on stderr
    assert "study: tiny (the last built in runs/" in err


def test_without_a_build_here_nothing_is_guessed_and_the_build_command_is_named(tmp_path):
    notes: list[str] = []
    ws = Workspace(runs_root=tmp_path / "runs")
    with pytest.raises(UserError, match=r"nothing was built in .*runs/: .*`cnnreport build --study"):
        pipeline.open_context(None, None, ws, notes.append)
    store.remember_study(tmp_path / "runs", "tiny", "/elsewhere/tiny.toml")
    # An explicit study always wins, silently.
    assert pipeline.open_context("fashion-mnist", None, ws, notes.append).study.name == "fashion-mnist"
    assert notes == []


def test_a_last_built_study_file_that_is_gone_is_one_clear_line(tmp_path, capsys):
    store.remember_study(tmp_path / "runs", "tiny", str(tmp_path / "moved.toml"))
    code, out, err = run_cli(["render", "--runs-dir", tmp_path / "runs"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and ".last-study" in lines[0] and "moved.toml" in lines[0] and "--study" in lines[0]


# ----------------------------------------------------------------- the full profile on a CPU


def _splits(n_train: int = 96) -> Splits:
    rng = np.random.default_rng(0)
    parts = [(random_images(n, 28, 28, 1, seed=i), rng.integers(0, 10, size=n))
             for i, n in enumerate((n_train, 32, 40))]
    return Splits("synthetic", [str(k) for k in range(10)], *parts[0], *parts[1], *parts[2], origin="test")


def test_estimate_is_runs_times_epochs_times_batches_of_the_timed_step():
    """One model: each run costs epochs × (training batches + validation at a third of a step)
    plus the test set at a third of a step; one trace for the model's first program."""
    mlp = [s for s in plan_runs(tiny_study(training={"epochs": 3, "batch_size": 32, "learning_rate": 1e-3}))
           if s.model.name == "mlp"]
    got = estimate.estimate_plan(mlp, _splits(), levers.Levers("float32", 1, False, 1, "t"),
                                 timer=lambda spec, splits, lv: StepTiming(first_s=1.1, step_s=0.1, steps=3))
    per_run = 3 * (3 * 0.1 + 32 / 32 * 0.1 / 3) + 40 / 32 * 0.1 / 3
    assert got.runs == 2 and got.seconds == pytest.approx(2 * per_run + 1.0)
    assert got.timed == ("mlp: 100 ms per batch of 32",) and "float32" in got.device


def test_estimate_interpolates_by_flops_between_the_cheapest_and_costliest_model():
    step = estimate._step_model({1000: 0.05, 5000: 0.25})
    assert step(3000) == pytest.approx(0.15) and step(1000) == pytest.approx(0.05)
    assert estimate._step_model({2000: 0.2})(4000) == pytest.approx(0.4)  # one model: per FLOP


def test_estimate_times_real_steps_of_two_models_on_this_device():
    plan = plan_runs(tiny_study(seeds=[0]))
    got = estimate.estimate_plan(plan, _splits(), levers.Levers("float32", 1, False, 1, "t", feed="batches"))
    assert [t.split(":")[0] for t in got.timed] == ["mlp", "cnn · kernel 7×7"]  # cheapest, costliest
    assert got.seconds > 0 and got.runs == len(plan)


def test_full_profile_without_a_gpu_prints_the_estimate_then_trains(tmp_path, idx_dir, monkeypatch, capsys):
    import cnnreport.pipeline

    folder, _ = idx_dir
    study = tmp_path / "tiny.toml"
    study.write_text(study_toml(train_subset=60, val_subset=20, test_subset=20,
                                extra="[profiles.quick]\nseeds = [0]\n"), encoding="utf-8")
    trained: list[str] = []

    def run_plan(plan, splits_for, runs_root, echo, profile):
        trained.append(profile)
        return {"trained": 0, "skipped": 0, "diverged": 0}

    monkeypatch.setattr(cnnreport.pipeline, "run_plan", run_plan)  # the estimate is the subject, not training
    monkeypatch.setattr(levers, "accelerator", lambda: "cpu")
    args = ["train", "--study", study, "--data-dir", folder, "--runs-dir", tmp_path / "runs"]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    assert out.startswith("no GPU visible: the full profile of tiny has 14 runs to train, about ")
    assert "timed on the CPU (" in out and "cores; " in out and "ms per batch of 64" in out
    assert f"`cnnreport train --study {study} --profile quick`" in out and "--study fashion-mnist" in out
    assert trained == ["full"]  # it says so, then goes on: no question asked
    code, out, _ = run_cli([*args, "--profile", "quick"], capsys)
    assert code == 0 and "no GPU visible" not in out and trained == ["full", "quick"]
    monkeypatch.setattr(levers, "accelerator", lambda: "gpu")
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and "no GPU visible" not in out
    assert json.loads((tmp_path / "runs" / store.LAST_STUDY_FILE).read_text())["study"] == str(study.resolve())


def test_a_study_without_a_quick_profile_gets_no_estimate(write_study, tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(estimate, "estimate_study", lambda *a: calls.append("timed"))
    ctx = pipeline.context_for(load_study(write_study(), "full"), Workspace(runs_root=tmp_path / "runs"))
    pipeline.estimate_full_profile_on_cpu(ctx, print)
    assert calls == []
