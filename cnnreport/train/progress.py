"""Progress of a plan: runs done / total, model, epoch and ETA."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from cnnreport.train.plan import RunSpec

# ------------------------------------------------------------------------------------- progress


class Progress:
    """Runs done / total, model, epoch and ETA, one line per epoch (readable in CI logs too)."""

    def __init__(self, todo: list[RunSpec], echo: Callable[[str], None] = print):
        self.total_runs = len(todo)
        self.runs_done = 0
        # Work left, in run-epochs: a group of k seeds advances k run-epochs per epoch.
        self.remaining = sum(r.training.epochs for r in todo)
        self.done = 0
        self.started = time.perf_counter()
        self.echo = echo

    def epoch(self, specs: list[RunSpec], epoch: int, per_tower: list[dict[str, list[float]]]) -> None:
        self.done += len(specs)
        self.remaining -= len(specs)
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * max(0, self.remaining)
        first = specs[0]
        runs = (f"{self.runs_done + 1}" if len(specs) == 1
                else f"{self.runs_done + 1}-{self.runs_done + len(specs)}")
        vals = [t["val_accuracy"][-1] for t in per_tower if t["val_accuracy"]]
        probe = f" [{first.probe} pixels]" if first.probe != "none" else ""
        names = sorted({s.model.name for s in specs})
        seeds = sorted({s.seed for s in specs})
        what = (f"{names[0]}{probe} · seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
                if len(names) == 1 else f"{len(names)} models{probe} × {len(seeds)} seeds, one program")
        self.echo(f"[run {runs}/{self.total_runs}] {what} · epoch {epoch}/{first.training.epochs}"
                  + (f" · mean val_acc {np.mean(vals):.4f}" if vals else "")
                  + f" · ETA {_duration(eta)}")

    def run_finished(self) -> None:
        self.runs_done += 1


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"
