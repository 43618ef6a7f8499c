"""The bench: its report's arithmetic, its synthetic data, and `cnnreport bench` timing the naive
way and the cnnreport way each in its own process."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from cnnreport import bench

from helpers import REPO, study_toml, subprocess_env


def test_bench_report_extrapolates_a_partial_naive_run_and_prints_the_speedup_line():
    results = {
        "naive": {"runs": 5, "wall_s": 100.0, "images_per_s": 10.0, "mean_test_accuracy": 0.9,
                  "backend": "jax", "settings": {}},
        "cnnreport": {"runs": 25, "wall_s": 50.0, "images_per_s": 100.0, "mean_test_accuracy": 0.901,
                      "backend": "jax", "settings": {}},
    }
    lines = bench.format_report(results)
    assert "extrapolated from 5 of 25 runs" in lines[-2] and ": 500 s" in lines[-2]
    assert lines[-1] == ("speedup: 10.00× (naive 500 s, cnnreport 50 s; accuracy naive 0.9000, "
                         "cnnreport 0.9010)")


def test_synthetic_cifar10_has_the_real_shapes():
    s = bench.synthetic_cifar10(n_train=20, n_val=5, n_test=7)
    assert s.x_train.shape == (20, 32, 32, 3) and s.x_train.dtype == np.uint8
    assert s.num_classes == 10 and len(s.y_test) == 7 and s.y_train.max() < 10


def test_cnnreport_bench_runs_both_ways_in_their_own_processes(tmp_path, fashion_copy):
    study = tmp_path / "bench.toml"
    study.write_text(study_toml(name="bench", seeds="[0]", train_subset=200, val_subset=50,
                                test_subset=100, epochs=1, levels="[1, 3]"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "cnnreport.cli", "bench", "--study", str(study),
                           "--data-dir", str(fashion_copy)], capture_output=True, text=True,
                          env=subprocess_env(), cwd=REPO, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: accuracies differ (tiny data, 1 epoch)
    out = proc.stdout.splitlines()
    assert out[-1].startswith("speedup: ") if proc.returncode == 0 else out[-2].startswith("speedup: ")
    rows = [line for line in out if line.startswith(("naive ", "cnnreport "))]
    assert len(rows) == 2 and all(" 3 " in r for r in rows)  # 3 runs each: mlp + two CNNs
