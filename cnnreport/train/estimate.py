"""How long the runs left in a plan would take on this machine, from a few timed training steps.

Method (a few seconds): build and time the plan's cheapest and costliest model (by FLOPs per
image) for a few training steps each, on this device with the levers the build will use. A step
is taken to cost `overhead + slope × FLOPs per image`, fitted through those two points (or
proportional to FLOPs when only one model is timed), so every model in between is
interpolated. Per run: epochs × (training steps + validation) + the test set, where inference
costs a third of a training step per image (forward only; backward is about twice the forward);
plus one trace per change of model in plan order (the next seed reuses the compiled program).

Measured on a 2-core CPU (TensorFlow, bf16, CIFAR-10 shapes, batch 128, other jobs running): the
estimate took 3–4 s; a later epoch of the 7×7 CNN, which dominates the plan, came out at 0.93–1.4×
its real time, the 3×3 reference at 0.8–1.1×; the MLP, cheaper than the cheapest CNN timed, is
overestimated (1.6×) but small. The whole CIFAR-10 full plan: 4.3–6 h. Good for "minutes or
hours", not for a timetable: another job on the machine moves it by tens of per cent.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

from cnnreport.formatting import fmt_num
from cnnreport.train import levers, store
from cnnreport.train.engine import StepTiming, time_training_steps
from cnnreport.train.environment import environment
from cnnreport.train.models import analyse, make_model
from cnnreport.train.plan import RunSpec

INFERENCE_SHARE = 1 / 3  # inference per image vs a training step per image (forward vs forward + backward)

Timer = Callable[[RunSpec, Any, Any], StepTiming]


@dataclass(frozen=True)
class Estimate:
    seconds: float  # the runs left, wall time on this machine
    runs: int  # runs left to train
    timed: tuple[str, ...]  # what was timed, e.g. "mlp: 21 ms per batch of 128"
    device: str  # what was timed on, in words


def estimate_plan(todo: list[RunSpec], splits: Any, lv: Any, timer: Timer = time_training_steps) -> Estimate:
    """The wall time of training `todo` here (see the module's method)."""
    flops = _flops_per_image(todo, splits)
    by_cost = sorted(flops, key=flops.get)  # type: ignore[arg-type]
    timed_names = [by_cost[0]] + ([by_cost[-1]] if len(by_cost) > 1 else [])
    first = {s.model.name: s for s in todo}
    timings = {name: timer(first[name], splits, lv) for name in timed_names}
    step = _step_model({flops[n]: t.step_s for n, t in timings.items()})
    trace_s = max(0.0, sum(t.first_s - t.step_s for t in timings.values()) / len(timings))
    n_train, n_val, n_test = len(splits.x_train), len(splits.x_val), len(splits.x_test)
    seconds = 0.0
    for spec in todo:
        batch = spec.training.batch_size
        step_s = step(flops[spec.model.name])
        epoch_s = math.ceil(n_train / batch) * step_s + n_val / batch * step_s * INFERENCE_SHARE
        seconds += spec.training.epochs * epoch_s + n_test / batch * step_s * INFERENCE_SHARE
    switches = sum(1 for i, s in enumerate(todo) if i == 0 or todo[i - 1].model.name != s.model.name)
    seconds += switches * trace_s
    timed = tuple(f"{n}: {fmt_num(1000 * t.step_s, 0)} ms per batch of {first[n].training.batch_size}"
                  for n, t in timings.items())
    return Estimate(seconds, len(todo), timed, device_words(lv))


def _flops_per_image(todo: list[RunSpec], splits: Any) -> dict[str, int]:
    """FLOPs per image of each model in the plan (built, not compiled: milliseconds each)."""
    out: dict[str, int] = {}
    for spec in todo:
        if spec.model.name not in out:
            model = make_model(spec.model, splits.input_shape, splits.num_classes)
            out[spec.model.name] = max(1, analyse(model)["flops"])
    return out


def _step_model(points: dict[int, float]) -> Callable[[int], float]:
    """Seconds per step as a function of FLOPs per image, through the timed (FLOPs, s) points."""
    (f_lo, t_lo), (f_hi, t_hi) = min(points.items()), max(points.items())
    if f_hi == f_lo:
        return lambda f: t_hi * f / f_hi
    slope = max(0.0, (t_hi - t_lo) / (f_hi - f_lo))
    overhead = max(0.0, t_lo - slope * f_lo)  # per step, whatever the model: dispatch, optimizer
    return lambda f: overhead + slope * f


def device_words(lv: Any) -> str:
    """`the CPU (Intel Xeon …, 2 cores; tensorflow, mixed_bfloat16)`: what the steps ran on."""
    env = environment()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    settings = f"{env['backend']}, {lv.precision}"
    if env["device"] == "cpu":
        return f"the CPU ({env['processor']}, {cores} cores; {settings})"
    return f"the {env['device']} ({settings})"


def estimate_study(study: Any, splits: Any, runs_root: Any, plan: list[RunSpec]) -> Estimate | None:
    """The estimate for the plan's runs not yet stored under `runs_root`; None when none are left."""
    study_dir = store.study_runs_dir(runs_root, study.name)
    todo = [r for r in plan if not store.is_complete(study_dir / r.run_id)]
    if not todo:
        return None
    return estimate_plan(todo, splits, levers.choose(todo[0].training.precision))
