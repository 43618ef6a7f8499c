"""Seeds as a batch dimension (JAX): the vmapped program trains each seed exactly as its lone
run does — the same validation curves and test accuracy — on the JAX backend, float32, a small
CNN with dropout (so each seed's dropout stream matters) and a partial last batch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import subprocess_env

pytest.importorskip("jax")

# Runs in its own process: this one has Keras on TensorFlow, and a backend is chosen once.
SCRIPT = r'''
import json, dataclasses
import numpy as np
from cnnreport.data.splits import Splits
from cnnreport.study.loading import study_from_dict
from cnnreport.train.engine import train_group
from cnnreport.train.levers import choose_for_device
from cnnreport.train.plan import plan_runs

rng = np.random.default_rng(0)
n_train, n_val, n_test = 136, 64, 96   # 136 = 4 batches of 32 and a partial batch of 8
y = rng.integers(0, 3, size=n_train + n_val + n_test)
x = rng.integers(0, 120, size=(len(y), 12, 12, 1)).astype(np.uint8)
for k in range(3):  # a learnable signal: a bright square whose place depends on the class
    x[y == k, 2 + 3 * k:5 + 3 * k, 2:6, 0] += 70
splits = Splits("synthetic", ["a", "b", "c"], x[:n_train], y[:n_train], x[n_train:n_train + n_val],
                y[n_train:n_train + n_val], x[n_train + n_val:], y[n_train + n_val:], origin="synthetic")
study = study_from_dict({
    "name": "batched", "title": "t", "seeds": [0, 1, 2],
    "data": {"source": "mnist"},
    "training": {"epochs": 2, "batch_size": 32, "learning_rate": 0.003, "precision": "float32"},
    "baseline": {"hidden": [16]},
    "cnn": {"blocks": [{"filters": 4, "kernel_size": 3}], "dense": [8], "dropout": 0.3},
    "experiment": {"factor": "kernel_size", "levels": [1, 3, 5, 7]},
}, None)
specs = [s for s in plan_runs(study) if s.model.role == "reference"]
lone_levers = choose_for_device("cpu", "jax", "float32")
batched_levers = dataclasses.replace(lone_levers, batch_seeds=True, max_towers=32)
lone = [train_group([s], splits, levers=lone_levers)[0][0] for s in specs]
batched = [r for r, _ in train_group(specs, splits, levers=batched_levers)]
mlp = next(s for s in plan_runs(study) if s.model.role == "baseline")
mixed = [r for r, _ in train_group([mlp, specs[0]], splits, levers=batched_levers)]
print(json.dumps({"lone": [(r["history"], r["test"]) for r in lone],
                  "batched": [(r["history"], r["test"]) for r in batched],
                  "mixed_models": [r["model"]["name"] for r in mixed],
                  "mixed_reference": (mixed[1]["history"], mixed[1]["test"]),
                  "levers": batched[0]["levers"]}))
'''


def test_vmapped_seeds_train_like_lone_runs() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300,
                          env=subprocess_env(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["levers"]["batch_seeds"] is True
    for (lone_h, lone_t), (b_h, b_t) in zip(out["lone"], out["batched"]):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert len(b_h[key]) == len(lone_h[key]) == 2
            # float32 arithmetic in another order (batched convolutions): equal to rounding.
            assert b_h[key] == pytest.approx(lone_h[key], abs=1e-5), key
        assert b_t["accuracy"] == pytest.approx(lone_t["accuracy"], abs=1 / 96 + 1e-9)  # at most one image
        assert b_t["n"] == lone_t["n"] == 96
    # The seeds really differ (each has its own initial weights, data order and dropout stream).
    assert len({json.dumps(h["val_loss"]) for h, _ in out["batched"]}) == 3
    # A group of several architectures is split by architecture; each run keeps its place.
    assert out["mixed_models"] == ["mlp", "cnn · kernel 3×3"]
    assert out["mixed_reference"][0]["val_loss"] == pytest.approx(out["lone"][0][0]["val_loss"], abs=1e-5)
