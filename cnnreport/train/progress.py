"""Progress of a plan: runs done / total, model, epoch, batches within the epoch, and ETA.

Two displays of the same numbers: `Progress` prints one line per epoch (logs, CI, tests that
collect lines); `LiveProgress` redraws a rich display when a person watches a terminal, with the
batches of the running epoch. `progress_for` picks one from where the messages go.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from cnnreport.console import Echo, draws_live
from cnnreport.formatting import fmt_duration, fmt_num
from cnnreport.train.plan import RunSpec

BatchCallback = Callable[[int], None]  # called with the training batches done in this epoch

# ------------------------------------------------------------------------------------- progress


class Progress:
    """Runs done / total, model, epoch and ETA, one line per epoch (readable in CI logs too).

    The engine calls `epoch_started` before each epoch; a display that shows batches returns a
    callback for them, this one returns None, so the batch loop does no work for it."""

    def __init__(self, todo: list[RunSpec], echo: Echo = print):
        self.total_runs = len(todo)
        self.runs_done = 0
        # Work left, in run-epochs: a group of k seeds advances k run-epochs per epoch.
        self.total = sum(r.training.epochs for r in todo)
        self.done = 0
        self.started = time.perf_counter()
        self.echo = echo

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def epoch_started(self, specs: list[RunSpec], epoch: int, batches: int) -> BatchCallback | None:
        """Epoch `epoch` (from 1) of these runs is about to train `batches` batches."""
        return None

    def epoch(self, specs: list[RunSpec], epoch: int, per_tower: list[dict[str, list[float]]]) -> None:
        self.done += len(specs)
        self.echo(f"{epoch_label(specs, epoch, self.runs_done, self.total_runs)}"
                  + mean_val_accuracy(per_tower) + f" · ETA {fmt_duration(self.eta(self.done))}")

    def run_finished(self) -> None:
        self.runs_done += 1

    def eta(self, done: float) -> float:
        """Seconds left, from the time per run-epoch so far (`done` may count a partial epoch)."""
        if done <= 0:
            return 0.0
        return (time.perf_counter() - self.started) / done * max(0.0, self.total - done)

    def close(self) -> None:
        """Nothing to tear down for lines."""


class LiveProgress(Progress):
    """A rich display on a terminal: the plan's bar (run-epochs, runs done, ETA) and the running
    epoch's bar (batches). Lines echoed meanwhile (`done …`) print above it, because the display
    redirects stdout while it runs."""

    REDRAW_S = 0.1  # batch updates closer together than this are skipped: an update costs more
    #                 than a training step of a small model on a GPU
    REFRESHES_PER_S = 4  # rich redraws from a thread: 0.5 % of a core (1.3 % at its default 10)

    def __init__(self, todo: list[RunSpec], echo: Echo = print, console: Any = None):
        super().__init__(todo, echo)
        # markup=False: "[run 3/10]" and "[permuted pixels]" are text, not rich style tags.
        self.display = RichProgress(TextColumn("{task.description}", markup=False), BarColumn(),
                                    TextColumn("{task.fields[detail]}", markup=False), TimeElapsedColumn(),
                                    console=console, transient=True,
                                    refresh_per_second=self.REFRESHES_PER_S)
        self.plan_task = self.display.add_task(f"{self.total_runs} runs", total=max(1, self.total),
                                               detail=self._plan_detail(0.0))
        self.epoch_task = self.display.add_task("starting …", total=1, detail="")
        self.specs: list[RunSpec] = []
        self.batches = 1
        self.last_draw = 0.0
        self.display.start()

    def epoch_started(self, specs: list[RunSpec], epoch: int, batches: int) -> BatchCallback:
        self.specs, self.batches, self.last_draw = specs, max(1, batches), 0.0
        self.display.update(self.epoch_task, description=epoch_label(specs, epoch, self.runs_done, self.total_runs),
                            total=self.batches, completed=0, detail=f"0/{self.batches} batches")
        return self.batch

    def batch(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last_draw < self.REDRAW_S and done < self.batches:
            return
        self.last_draw = now
        self.display.update(self.epoch_task, completed=done, detail=f"{done}/{self.batches} batches")
        partial = self.done + len(self.specs) * done / self.batches
        self.display.update(self.plan_task, completed=partial, detail=self._plan_detail(partial))

    def epoch(self, specs: list[RunSpec], epoch: int, per_tower: list[dict[str, list[float]]]) -> None:
        self.done += len(specs)
        self.display.update(self.epoch_task, completed=self.batches,
                            detail=f"{self.batches}/{self.batches} batches" + mean_val_accuracy(per_tower))
        self.display.update(self.plan_task, completed=self.done, detail=self._plan_detail(self.done))

    def run_finished(self) -> None:
        super().run_finished()
        self.display.update(self.plan_task, detail=self._plan_detail(self.done))

    def close(self) -> None:
        self.display.stop()

    def _plan_detail(self, done: float) -> str:
        eta = f" · ETA {fmt_duration(self.eta(done))}" if done > 0 else ""
        return f"{self.runs_done}/{self.total_runs} runs done{eta}"


def progress_for(todo: list[RunSpec], echo: Echo = print) -> Progress:
    """A live display when a person watches the terminal, lines otherwise (logs, CI, tests)."""
    return LiveProgress(todo, echo) if draws_live(echo) else Progress(todo, echo)


# ------------------------------------------------------------------------------------ wording


def epoch_label(specs: list[RunSpec], epoch: int, runs_done: int, total_runs: int) -> str:
    """`[run 3/10] cnn · kernel 3×3 · seed 0 · epoch 2/5`: which runs, which epoch."""
    first = specs[0]
    runs = f"{runs_done + 1}" if len(specs) == 1 else f"{runs_done + 1}-{runs_done + len(specs)}"
    probe = f" [{first.probe} pixels]" if first.probe != "none" else ""
    names = sorted({s.model.name for s in specs})
    seeds = sorted({s.seed for s in specs})
    what = (f"{names[0]}{probe} · seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
            if len(names) == 1 else f"{len(names)} models{probe} × {len(seeds)} seeds, one program")
    return f"[run {runs}/{total_runs}] {what} · epoch {epoch}/{first.training.epochs}"


def mean_val_accuracy(per_tower: list[dict[str, list[float]]]) -> str:
    vals = [t["val_accuracy"][-1] for t in per_tower if t["val_accuracy"]]
    return f" · mean val_acc {fmt_num(float(np.mean(vals)), 4)}" if vals else ""

