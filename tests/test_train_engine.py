"""The training engine's speed path: runs stacked as towers of one program, batches fed from
Python and a reused compiled program all train exactly as a lone run through `fit` would;
inference batches, epoch-time shares, data order and mixed precision."""

from __future__ import annotations

import numpy as np
import pytest

from cnnreport.train import engine as runner
from cnnreport.train import levers
from cnnreport.data.splits import Splits
from cnnreport.train.engine import epoch_order, train_group
from cnnreport.train.plan import plan_runs

from helpers import tiny_study


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
    """The tiny study with two kernel sizes (mlp, cnn 1×1, cnn 3×3; seeds 0 and 1; 2 epochs)."""
    return tiny_study(**{"experiment": {"factor": "kernel_size", "levels": [1, 3]}, **over})


FLOAT32_ALONE = levers.Levers("float32", 1, False, 1, "test: one run at a time")
FLOAT32_STACKED = levers.Levers("float32", 8, False, 2, "test: stacked")


def test_stacked_towers_train_exactly_like_lone_runs():
    """Different models and seeds in one program: same initial weights (seeded per tower), same
    data order (per seed and epoch), separate gradients (summed loss) ⇒ the same results."""
    splits = _synthetic_splits()
    plan = plan_runs(_tiny_study())
    group = [plan[0], plan[3], plan[4]]  # mlp seed 0, cnn 1×1 seed 1, cnn 3×3 seed 0: mixed models and seeds
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


def test_mixed_precision_trains_and_keeps_a_float32_softmax():
    splits = _synthetic_splits()
    spec = plan_runs(_tiny_study())[2]
    (record, model), = train_group([spec], splits, None, levers.Levers("mixed_bfloat16", 1, False, 1, "t"))
    assert record["levers"]["precision"] == "mixed_bfloat16"
    assert model.get_layer("classifier").compute_dtype == "float32"
    assert model.get_layer("conv1").compute_dtype == "bfloat16"
    import keras

    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
