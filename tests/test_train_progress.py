"""Progress: the engine tells a listening display every training batch (both feeds) without
changing what trains; lines when nobody watches a terminal, a live display when someone does."""

from __future__ import annotations

import io
import math
import sys

import numpy as np
import pytest

from cnnreport.console import say
from cnnreport.data.splits import Splits
from cnnreport.train import levers
from cnnreport.train.engine import train_group
from cnnreport.train.plan import plan_runs
from cnnreport.train.progress import LiveProgress, Progress, progress_for

from helpers import random_images, tiny_study

N_TRAIN, BATCH = 100, 32  # 4 batches per epoch, the last one partial
BATCHES = math.ceil(N_TRAIN / BATCH)


def _splits() -> Splits:
    rng = np.random.default_rng(1)
    labels = [rng.integers(0, 3, size=n) for n in (N_TRAIN, 30, 30)]
    images = [random_images(n, 10, 10, 1, seed=i) for i, n in enumerate((N_TRAIN, 30, 30))]
    return Splits("synthetic", ["a", "b", "c"], images[0], labels[0], images[1], labels[1],
                  images[2], labels[2], origin="test")


def _mlp_runs():
    """The tiny study's MLP, seeds 0 and 1, two epochs of 4 batches."""
    plan = plan_runs(tiny_study(training={"epochs": 2, "batch_size": BATCH, "learning_rate": 1e-3}))
    return [s for s in plan if s.model.name == "mlp"]


class Listener(Progress):
    """A display that asks for batches and keeps what it heard, per epoch."""

    def __init__(self, todo):
        super().__init__(todo, echo=lambda line: None)
        self.heard: list[tuple[int, int, list[int]]] = []  # (epoch, batches announced, counts heard)

    def epoch_started(self, specs, epoch, batches):
        self.heard.append((epoch, batches, []))
        return self.heard[-1][2].append


@pytest.mark.parametrize("feed, steps_per_execution, expected", [
    ("batches", 1, list(range(1, BATCHES + 1))),
    ("fit", 2, [2, BATCHES]),  # fit calls back once per execution of 2 steps
])
def test_batch_callback_hears_every_batch_and_changes_no_result(feed, steps_per_execution, expected):
    splits, runs = _splits(), _mlp_runs()
    lv = levers.Levers("float32", 2, False, steps_per_execution, "test", feed=feed)
    listener = Listener(runs)
    heard = train_group(runs, splits, listener, lv)
    silent = train_group(runs, splits, None, lv)
    assert [(e, b) for e, b, _ in listener.heard] == [(1, BATCHES), (2, BATCHES)]
    for _, _, counts in listener.heard:
        assert sorted(counts) == expected  # fit's callbacks may run on Keras's dispatch thread
    for (a, _), (b, _) in zip(heard, silent):
        assert a["test"]["accuracy"] == b["test"]["accuracy"]
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert a["history"][key] == pytest.approx(b["history"][key], rel=1e-6, abs=1e-7), key
    assert listener.done == 2 * len(runs)  # run-epochs: both towers, both epochs


def test_lines_when_stdout_is_not_a_terminal(capsys):
    runs = _mlp_runs()
    progress = progress_for(runs, say)  # stdout is captured here: not a terminal
    assert type(progress) is Progress
    assert progress.epoch_started(runs[:1], 1, BATCHES) is None  # no per-batch work for lines
    progress.epoch(runs[:1], 1, [{"val_accuracy": [0.5]}])
    progress.run_finished()
    progress.epoch(runs[1:], 1, [{"val_accuracy": [0.25]}])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("[run 1/2] mlp · seed 0 · epoch 1/2 · mean val_acc 0.5000 · ETA ")
    assert out[1].startswith("[run 2/2] mlp · seed 1 · epoch 1/2 · mean val_acc 0.2500 · ETA ")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_live_display_and_a_collector_always_gets_lines(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Terminal())
    lines: list[str] = []
    collected = progress_for(_mlp_runs(), lines.append)
    assert type(collected) is Progress  # tests and other callers keep their lines
    with progress_for(_mlp_runs(), say) as live:
        assert isinstance(live, LiveProgress)


def test_live_display_shows_runs_batches_and_eta():
    from rich.console import Console

    screen = io.StringIO()
    runs = _mlp_runs()
    progress = LiveProgress(runs, console=Console(file=screen, force_terminal=True, width=160))
    progress.REDRAW_S = 0.0
    on_batch = progress.epoch_started(runs[:1], 1, BATCHES)
    for done in range(1, BATCHES + 1):
        on_batch(done)
    plan = progress.display.tasks[progress.plan_task]
    assert plan.completed == pytest.approx(1.0)  # one run-epoch of four (two runs × two epochs)
    assert "ETA" in plan.fields["detail"] and "0/2 runs done" in plan.fields["detail"]
    progress.epoch(runs[:1], 1, [{"val_accuracy": [0.5]}])
    progress.run_finished()
    epoch = progress.display.tasks[progress.epoch_task]
    assert epoch.description.startswith("[run 1/2] mlp · seed 0 · epoch 1/2")
    assert epoch.fields["detail"] == f"{BATCHES}/{BATCHES} batches · mean val_acc 0.5000"
    assert "1/2 runs done" in progress.display.tasks[progress.plan_task].fields["detail"]
    progress.close()
    assert "[run 1/2] mlp · seed 0 · epoch 1/2" in screen.getvalue()  # drawn as text, not as markup
