"""The speed path: runs stacked as towers of one program train exactly as they would alone, the
levers follow the device, the bench's arithmetic, and the JAX backend end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cnnreport import bench
from cnnreport.train import engine as runner
from cnnreport.train import levers
from cnnreport.data.splits import Splits
from cnnreport.train.engine import epoch_order, train_group
from cnnreport.train.runner import groups_of
from cnnreport.train.plan import plan_runs
from cnnreport.study.loading import study_from_dict

from conftest import REPO, study_toml, subprocess_env

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]


def _synthetic_splits(n_train: int = 96, n_val: int = 32, n_test: int = 40) -> Splits:
    """Images whose class is the brightness of one quadrant: learnable in one epoch."""
    rng = np.random.default_rng(0)

    def part(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 4, size=n)
        x = rng.integers(0, 60, size=(n, 12, 12, 1)).astype(np.uint8)
        for i, label in enumerate(y):
            r, c = divmod(int(label), 2)
            x[i, r * 6:(r + 1) * 6, c * 6:(c + 1) * 6, 0] += 150
        return x, y

    (xt, yt), (xv, yv), (xs, ys) = part(n_train), part(n_val), part(n_test)
    return Splits("synthetic", ["a", "b", "c", "d"], xt, yt, xv, yv, xs, ys, origin="test")


def _tiny_study(**over):
    raw = tomllib.loads(study_toml(seeds="[0, 1]", epochs=2, levels="[1, 3]"))
    raw.update(over)
    return study_from_dict(raw, None)


FLOAT32_ALONE = levers.Levers("float32", 1, False, 1, "test: one run at a time")
FLOAT32_STACKED = levers.Levers("float32", 8, False, 2, "test: stacked")


def test_stacked_towers_train_exactly_like_lone_runs():
    """Different models and seeds in one program: same initial weights (seeded per tower), same
    data order (per seed and epoch), separate gradients (summed loss) ⇒ the same results."""
    splits = _synthetic_splits()
    plan = plan_runs(_tiny_study())
    group = [plan[0], plan[3], plan[4]]  # mlp seed 0, cnn 3×3 seed 1, cnn 1×1 ... mixed models
    stacked = train_group(group, splits, None, FLOAT32_STACKED)
    alone = [train_group([spec], splits, None, FLOAT32_ALONE)[0] for spec in group]
    for (a, _), (b, _) in zip(stacked, alone):
        assert a["run_id"] == b["run_id"]
        assert a["test"]["accuracy"] == pytest.approx(b["test"]["accuracy"], abs=1e-9)
        assert a["history"]["val_accuracy"] == pytest.approx(b["history"]["val_accuracy"], abs=1e-6)
        assert a["history"]["val_loss"] == pytest.approx(b["history"]["val_loss"], rel=1e-4)


def test_batches_fed_from_python_train_exactly_like_fit():
    """The CPU feed (train_on_batch per batch, validation and test in batches) trains what `fit`
    trains: the same data order and steps, so the same validation curves and test accuracy; and
    it logs every tower's training loss as the sample-weighted epoch mean that a lone run logs
    (fit's per-output loss trackers weigh a partial last batch like a full one)."""
    splits = _synthetic_splits(n_train=100)  # a last, partial batch
    plan = plan_runs(_tiny_study(training={"epochs": 2, "batch_size": 32, "learning_rate": 1e-3}))

    def train(group, feed):
        return [r for r, _ in train_group(group, splits, None,
                                           levers.Levers("float32", len(group), False, 1, "t", feed=feed))]

    def same(a, b, keys):
        assert b["test"]["accuracy"] == pytest.approx(a["test"]["accuracy"], abs=1e-9)
        for key in keys:
            assert len(b["history"][key]) == 2
            assert b["history"][key] == pytest.approx(a["history"][key], rel=1e-4, abs=1e-6), key

    every = ("loss", "accuracy", "val_loss", "val_accuracy")
    (fit_alone,), (batches_alone,) = train([plan[2]], "fit"), train([plan[2]], "batches")
    same(fit_alone, batches_alone, every)
    group = [plan[0], plan[3]]  # an MLP and a CNN stacked
    for by_fit, by_batches, alone in zip(train(group, "fit"), train(group, "batches"),
                                         [train([spec], "batches")[0] for spec in group]):
        same(by_fit, by_batches, ("accuracy", "val_loss", "val_accuracy"))
        same(alone, by_batches, every)


def test_a_reused_program_trains_exactly_like_a_new_one():
    """ProgramCache: the next seed of the same models reuses the compiled program, reset to what
    a fresh build with that seed starts from (weights, dropout seed state, optimizer state)."""
    splits = _synthetic_splits(n_train=100)
    plan = plan_runs(_tiny_study(  # mlp ×3, cnn 1×1 ×3, cnn 3×3 ×3, with dropout: its seed state too
        seeds=[0, 1, 2], baseline={"hidden": [32], "dropout": 0.5},
        cnn={"dense": [16], "dropout": 0.5, "blocks": [{"filters": 4, "kernel_size": 3}]}))
    by_model = {}
    for spec in plan:
        by_model.setdefault(spec.model.name, []).append(spec)
    mlp, cnn = by_model["mlp"], next(v for k, v in by_model.items() if k != "mlp")
    for groups, towers in (([[s] for s in mlp + cnn], 1), ([[a, b] for a, b in zip(mlp, cnn)], 2)):
        lv = levers.Levers("float32", towers, False, 1, "t", feed="batches")
        programs = runner.ProgramCache()
        reused = [r for g in groups for r, _ in train_group(g, splits, None, lv, programs)]
        fresh = [r for g in groups for r, _ in train_group(g, splits, None, lv)]
        for a, b in zip(fresh, reused):
            assert a["run_id"] == b["run_id"]
            assert b["test"]["accuracy"] == a["test"]["accuracy"]
            for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                assert b["history"][key] == pytest.approx(a["history"][key], rel=1e-6, abs=1e-7), key
        assert len({r["history"]["loss"][0] for r in reused}) == len(reused)  # seeds really differ


def test_inference_batch_divides_the_split_when_it_can():
    assert runner.inference_batch(2000) == 500 and runner.inference_batch(10000) == 500
    assert runner.inference_batch(5000) == 500 and runner.inference_batch(512) == 512
    assert runner.inference_batch(1031) == 512  # a prime: no divisor near 512, the target
    for n in (40, 600, 6000, 45000, 9999):
        b = runner.inference_batch(n)
        assert 256 <= b <= 1024


def test_stacked_epoch_time_is_shared_by_flops():
    splits = _synthetic_splits()
    plan = plan_runs(_tiny_study())
    results = train_group(plan[:3], splits, None, FLOAT32_STACKED)
    shares = [r["group"]["share"] for r, _ in results]
    assert sum(shares) == pytest.approx(1.0)
    flops = [r["architecture"]["flops"] for r, _ in results]
    assert shares == pytest.approx([f / sum(flops) for f in flops])
    wall = results[0][0]["group"]["wall_s"]
    assert sum(r["train_time_s"] for r, _ in results) == pytest.approx(wall)


def test_data_order_depends_on_seed_and_epoch_only():
    a, b = epoch_order(3, 0, 50), epoch_order(3, 0, 50)
    assert np.array_equal(a, b) and sorted(a.tolist()) == list(range(50))
    assert not np.array_equal(a, epoch_order(3, 1, 50))
    assert not np.array_equal(a, epoch_order(4, 0, 50))


def test_groups_share_training_data_and_probe_and_respect_the_cap():
    study = _tiny_study()
    plan = plan_runs(study)
    assert [len(g) for g in groups_of(plan, 1)] == [1] * len(plan)
    assert [len(g) for g in groups_of(plan, 32)] == [len(plan)]
    assert [len(g) for g in groups_of(plan, 4)] == [4, 2]
    permuted = [type(r)(r.study, r.model, r.seed, r.training, r.data, "permuted") for r in plan[:2]]
    assert [len(g) for g in groups_of(plan[:2] + permuted, 32)] == [2, 2]


def test_levers_follow_the_device(monkeypatch):
    monkeypatch.delenv("CNNREPORT_PRECISION", raising=False)
    monkeypatch.delenv("CNNREPORT_TOWERS", raising=False)
    gpu = levers.choose_for_device("gpu", "jax", "mixed_bfloat16")
    assert gpu.max_towers > 1 and gpu.steps_per_execution > 1 and gpu.jit_compile is True
    cpu = levers.choose_for_device("cpu", "tensorflow", "float32")
    assert cpu.max_towers == 1 and cpu.jit_compile is False  # XLA made a small CNN 2× slower here
    assert cpu.feed == "batches" and gpu.feed == "fit"  # fit's iterator idles a CPU core; spe needs fit
    assert levers.choose_for_device("cpu", "jax", "float32").feed == "fit"
    monkeypatch.setattr(levers, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(levers, "accelerator", lambda: "cpu")
    assert levers.choose("auto").precision == "float32"
    monkeypatch.setattr(levers, "cpu_has_native_bf16", lambda: True)
    assert levers.choose("auto").precision == "mixed_bfloat16"
    assert levers.choose("float32").precision == "float32"  # a study can refuse bf16
    monkeypatch.setenv("CNNREPORT_TOWERS", "3")
    assert levers.choose("auto").max_towers == 3


def test_mixed_precision_trains_and_keeps_a_float32_softmax():
    splits = _synthetic_splits()
    spec = plan_runs(_tiny_study())[2]
    (record, model), = train_group([spec], splits, None, levers.Levers("mixed_bfloat16", 1, False, 1, "t"))
    assert record["levers"]["precision"] == "mixed_bfloat16"
    assert model.get_layer("classifier").compute_dtype == "float32"
    assert model.get_layer("conv1").compute_dtype == "bfloat16"
    import keras

    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


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
                                test_subset=100, levels="[1, 3]"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "cnnreport.cli", "bench", "--study", str(study),
                           "--data-dir", str(fashion_copy)], capture_output=True, text=True,
                          env=subprocess_env(), cwd=REPO, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: accuracies differ (tiny data, 1 epoch)
    out = proc.stdout.splitlines()
    assert out[-1].startswith("speedup: ") if proc.returncode == 0 else out[-2].startswith("speedup: ")
    rows = [line for line in out if line.startswith(("naive ", "cnnreport "))]
    assert len(rows) == 2 and all(" 3 " in r for r in rows)  # 3 runs each: mlp + two CNNs


def test_jax_backend_builds_end_to_end(tmp_path, fashion_copy):
    pytest.importorskip("jax")
    study = tmp_path / "jax.toml"
    study.write_text(study_toml(name="jaxe2e", seeds="[0, 1]", train_subset=200, val_subset=50,
                                test_subset=100, levels="[1, 3]"), encoding="utf-8")
    env = subprocess_env(KERAS_BACKEND="jax")
    proc = subprocess.run([sys.executable, "-m", "cnnreport.cli", "build", "--study", str(study),
                           "--data-dir", str(fashion_copy), "--runs-dir", str(tmp_path / "runs"),
                           "--reports-dir", str(tmp_path / "reports"), "--no-pdf"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ctx = json.loads((tmp_path / "reports" / "jaxe2e" / "report.json").read_text())
    assert ctx["environment"]["backend"] == "jax"
    assert all(m["test_accuracy"]["n"] == 2 for m in ctx["models"])
    runs = list((tmp_path / "runs" / "jaxe2e").glob("*/model.keras"))
    assert len(runs) == 3 * 2 + 2 * 2  # 3 models × 2 seeds + the permutation probe's 2 × 2
