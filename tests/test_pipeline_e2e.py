"""End to end on real data: the shared `cnnreport build` of the tiny Fashion-MNIST study, a second
build that trains nothing, a changed setting, a killed build that resumes, CIFAR-10 offline and
from a generated archive, and the JAX backend.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cnnreport import files
from cnnreport.train import lock, store
from cnnreport.formatting import fmt_pm

from helpers import (E2E_TEXT, REPO, SHARED_MODELS, SHARED_RUNS, own_stderr_lines, pdf_text, run_cli,
                     shared_study_toml, study_toml, subprocess_env, write_cifar_archive)

N_RUNS = SHARED_RUNS
SECTIONS = ["Data set and exploratory analysis", "Fully connected baseline", "CNN design",
            "Controlled experiment: kernel size", "Interpretation", "Deployment",
            "Appendix: reproducibility"]


def _run_dirs(runs: Path) -> dict[str, int]:
    """Complete run folders and their run records' mtimes (ns)."""
    return {d.name: (d / store.RUN_FILE).stat().st_mtime_ns for d in runs.iterdir()
            if d.is_dir() and store.is_complete(d)}


def test_build_writes_report_json_with_consistent_numbers(trained_study):
    ctx = trained_study.report()
    assert trained_study.stdout.count("done ") == N_RUNS and f"/{N_RUNS}]" in trained_study.stdout
    assert ctx["dataset"]["name"] == "fashion_mnist" and ctx["dataset"]["image_shape"] == [28, 28, 1]
    assert ctx["dataset"]["sizes"] == {"train": 600, "val": 200, "test": 500}
    assert [m["name"] for m in ctx["models"]] == SHARED_MODELS
    assert [m["role"] for m in ctx["models"]] == ["baseline", "variant", "reference", "variant", "variant"]
    for m in ctx["models"]:
        acc = m["test_accuracy"]
        assert m["seeds"] == [0, 1] and len(m["run_ids"]) == 2 and acc["n"] == 2
        assert acc["mean"] == pytest.approx(np.mean(acc["values"]))
        assert acc["std"] == pytest.approx(np.std(acc["values"], ddof=1))
        assert acc["ci_low"] <= acc["mean"] <= acc["ci_high"]
        assert all(0.0 <= v <= 1.0 for v in acc["values"])
        assert m["params"] > 0 and m["flops"] > 0
        # per-seed values are the stored runs' test accuracies
        stored = [json.loads((trained_study.study_runs / r / "run.json").read_text())["test"]["accuracy"]
                  for r in m["run_ids"]]
        assert stored == acc["values"]
    cnns = {m["level"]: m for m in ctx["models"] if m["kind"] == "cnn"}
    # conv k (k), pool 2 (k + 1, jump 2), conv k (+ 2(k - 1)), pool 2 (+ 2): 3k + 1
    assert [cnns[k]["receptive_field"] for k in (1, 3, 5, 7)] == [4, 10, 16, 22]
    assert ctx["experiment"]["factor"] == "kernel_size" and ctx["experiment"]["n_variants"] == 3
    assert ctx["study"]["seeds"] == [0, 1] and ctx["environment"]["backend"]
    assert len(ctx["runs"]) == N_RUNS
    for fig in ctx["figures"]:
        path = trained_study.report_dir / fig["file"]
        assert path.is_file() and path.stat().st_size > 1000 and fig["caption"] and fig["alt"]
    assert {f["id"] for f in ctx["figures"]} >= {"samples", "class_distribution", "preprocessing",
                                                  "curves_baseline", "curves_reference"}


def test_pdf_states_sections_and_the_numbers_of_report_json(trained_study):
    pdf = trained_study.report_dir / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = " ".join(pdf_text(pdf).split())
    for title in SECTIONS:
        assert title in text, title
    ctx = trained_study.report()
    reference = next(m for m in ctx["models"] if m["role"] == "reference")
    baseline = next(m for m in ctx["models"] if m["role"] == "baseline")
    assert f"reference CNN {fmt_pm(reference['test_accuracy'])} vs MLP baseline " \
           f"{fmt_pm(baseline['test_accuracy'])}" in text
    assert "cnn · kernel 5×5" in text


def test_study_text_is_escaped_in_the_html(trained_study):
    html = (trained_study.report_dir / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(" in html
    assert "&lt;b&gt;study&lt;/b&gt;" in html  # the title too
    assert trained_study.report()["text"]["dataset"] == E2E_TEXT  # report.json keeps the raw text


def test_second_build_trains_nothing(trained_copy, capsys):
    runs = trained_copy.study_runs
    before = _run_dirs(runs)
    folder_mtimes = {d.name: d.stat().st_mtime_ns for d in runs.iterdir()}  # copied with their times
    code, out, err = run_cli(["build", "--study", trained_copy.study_file, "--runs-dir", trained_copy.runs,
                              "--reports-dir", trained_copy.reports, "--no-pdf"], capsys)
    assert code == 0, err
    assert f"{N_RUNS} of {N_RUNS} runs already done" in out and "0 to train" in out
    assert "done " not in out.replace("already done", "") and "[run " not in out
    assert _run_dirs(runs) == before and len(before) == N_RUNS
    assert {d.name: d.stat().st_mtime_ns for d in runs.iterdir()} == folder_mtimes


def test_changed_setting_trains_only_what_it_changes(trained_copy, capsys):
    study = trained_copy.root / "mlp16.toml"
    study.write_text(shared_study_toml(hidden="[16]"), encoding="utf-8")  # only the MLP changes
    code, out, err = run_cli(["train", "--study", study, "--runs-dir", trained_copy.runs], capsys)
    assert code == 0, err
    # the MLP's 2 runs and its 2 permuted-pixel probe runs
    assert f"{N_RUNS - 4} of {N_RUNS} runs already done" in out and f"trained 4 runs, {N_RUNS - 4} already done" in out
    assert len(_run_dirs(trained_copy.study_runs)) == N_RUNS + 4


def test_killed_build_resumes_without_redoing_finished_runs(trained_copy, tmp_path, capsys):
    study_dir = trained_copy.study_runs
    removed = [r for m in trained_copy.report()["models"] if m["level"] in (5, 7) for r in m["run_ids"]]
    for r in removed:
        shutil.rmtree(study_dir / r)
    kept = _run_dirs(study_dir)
    assert len(kept) == N_RUNS - 4

    report_json = trained_copy.report_dir / "report.json"
    built_before = report_json.stat().st_mtime_ns
    log = (tmp_path / "build.log").open("w")
    # The same folders as the build that made them, as a user resumes (its render cache included).
    args = ["build", "--study", str(trained_copy.study_file), "--runs-dir", str(trained_copy.runs),
            "--reports-dir", str(trained_copy.reports), "--no-pdf"]
    proc = subprocess.Popen([sys.executable, "-m", "cnnreport.cli", *args], stdout=log,
                            stderr=subprocess.STDOUT, env=subprocess_env(), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 300  # a bound against a broken build, not a timing check
        while len(_run_dirs(study_dir)) == len(kept):
            assert proc.poll() is None, (tmp_path / "build.log").read_text()
            assert time.monotonic() < deadline, "no run finished"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert proc.returncode == -signal.SIGKILL

    # Whatever the kill interrupted: every folder that looks like a run is a complete one.
    for d in study_dir.iterdir():
        if d.is_dir() and not files.is_temporary(d.name):
            assert store.is_complete(d) and (d / "model.keras").is_file(), d
            json.loads((d / store.RUN_FILE).read_text())
    after_kill = _run_dirs(study_dir)
    assert {k: v for k, v in after_kill.items() if k in kept} == kept
    assert len(after_kill) >= 7
    missing = N_RUNS - len(after_kill)

    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    assert f"{N_RUNS - missing} of {N_RUNS} runs already done" in out and f"; {missing} to train" in out
    assert out.count("  done ") == missing
    final = _run_dirs(study_dir)
    assert len(final) == N_RUNS and {k: final[k] for k in after_kill} == after_kill
    assert not [d for d in study_dir.iterdir() if files.is_temporary(d.name)]
    assert report_json.stat().st_mtime_ns > built_before  # rendered again once every run is there


# ---------------------------------------------------------------------------------- CIFAR-10


def test_cifar10_without_network_or_data_exits_2_with_one_line(tmp_path):
    """No local copy (HOME is empty, so no Keras cache) and no network (the proxy refuses)."""
    home = tmp_path / "home"
    home.mkdir()
    env = subprocess_env(HOME=str(home), https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9",
                         HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    for var in ("KERAS_HOME", "no_proxy", "NO_PROXY"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-m", "cnnreport.cli", "build", "--study", "cifar10",
                           "--runs-dir", str(tmp_path / "runs"), "--reports-dir", str(tmp_path / "reports")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = own_stderr_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("cnnreport: error: CIFAR-10 not found")
    assert "cifar-10-python.tar.gz" in lines[0] and "--data-dir" in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    study_dir = tmp_path / "runs" / "cifar10"  # at most the lock file the build took
    assert not study_dir.exists() or {p.name for p in study_dir.iterdir()} <= {lock.BUILD_LOCK}


def test_generated_cifar10_archive_builds_with_data_dir(tmp_path, capsys):
    arrays = write_cifar_archive(tmp_path / "data", per_batch=30, n_test=40)
    study = tmp_path / "cifar.toml"
    study.write_text(study_toml(name="tiny-cifar", source="cifar10", seeds="[0]", train_subset=100,
                                val_subset=10, test_subset=40, epochs=1, levels="[1, 3]"), encoding="utf-8")
    code, out, err = run_cli(["build", "--study", study, "--data-dir", tmp_path / "data",
                              "--runs-dir", tmp_path / "runs", "--reports-dir", tmp_path / "reports"], capsys)
    assert code == 0, err
    out_dir = tmp_path / "reports" / "tiny-cifar"
    ctx = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    assert ctx["dataset"]["name"] == "cifar10" and ctx["dataset"]["image_shape"] == [32, 32, 3]
    assert ctx["dataset"]["sizes"] == {"train": 100, "val": 10, "test": 40}
    assert ctx["dataset"]["origin"].endswith("cifar-10-python.tar.gz")
    assert ctx["dataset"]["class_counts"]["test"] == np.bincount(arrays["y_test"], minlength=10).tolist()
    assert [m["name"] for m in ctx["models"]] == ["mlp", "cnn · kernel 1×1", "cnn · kernel 3×3"]
    assert all(m["test_accuracy"]["n"] == 1 and m["test_accuracy"]["std"] is None for m in ctx["models"])
    assert (out_dir / "report.pdf").read_bytes()[:5] == b"%PDF-"
    text = " ".join(pdf_text(out_dir / "report.pdf").split())
    assert "CIFAR-10" in text and "(1 seed)" in text  # no std is invented from one seed


# ------------------------------------------------------------------------------------------ JAX


def test_jax_backend_builds_end_to_end(tmp_path, fashion_copy, follows_schema):
    """A GPU machine may have JAX and no TensorFlow: the whole build runs on the JAX backend."""
    pytest.importorskip("jax")
    study = tmp_path / "jax.toml"
    study.write_text(study_toml(name="jaxe2e", seeds="[0, 1]", train_subset=200, val_subset=50,
                                test_subset=100, epochs=1, levels="[1, 3]"), encoding="utf-8")
    env = subprocess_env(KERAS_BACKEND="jax")
    proc = subprocess.run([sys.executable, "-m", "cnnreport.cli", "build", "--study", str(study),
                           "--data-dir", str(fashion_copy), "--runs-dir", str(tmp_path / "runs"),
                           "--reports-dir", str(tmp_path / "reports"), "--no-pdf"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ctx = json.loads((tmp_path / "reports" / "jaxe2e" / "report.json").read_text())
    follows_schema(ctx)  # built in another process: validated here
    assert ctx["environment"]["backend"] == "jax"
    assert all(m["test_accuracy"]["n"] == 2 for m in ctx["models"])
    runs = list((tmp_path / "runs" / "jaxe2e").glob("*/model.keras"))
    assert len(runs) == 3 * 2 + 2 * 2  # 3 models × 2 seeds + the permutation probe's 2 × 2
