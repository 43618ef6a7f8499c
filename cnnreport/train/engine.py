"""The engine: seeded (model, seed) runs trained alone or as towers of one compiled program,
batches fed from Python where that is faster, the test set evaluated once at the end.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np

from cnnreport.backend import import_keras
from cnnreport.train import levers as levers_mod
from cnnreport.train.batched import train_batched
from cnnreport.train.environment import environment
from cnnreport.train.loop import (
    Trained,
    epoch_order,
    history_of,
    inference_batch,
    make_optimizer,
    tower_keys,
)
from cnnreport.train.models import analyse, make_model
from cnnreport.train.plan import RunSpec
from cnnreport.train.progress import BatchCallback, Progress

# ------------------------------------------------------------------------------------ training


def _stack(specs: list[RunSpec], splits: Any) -> tuple[Any, list[Any]]:
    """One program holding one tower per seed; tower k is built right after seeding with seed k,
    so its initial weights are those of the seed's lone run. Towers share no weights and the
    loss is their sum, so each tower's gradients (and Adam's per-weight state) are its own."""
    keras = import_keras()

    towers = []
    for spec in specs:
        keras.utils.set_random_seed(spec.seed)
        towers.append(make_model(spec.model, splits.input_shape, splits.num_classes,
                                 suffix=f" t{len(towers)}" if len(specs) > 1 else ""))
    if len(towers) == 1:
        return towers[0], towers
    keys = tower_keys(specs)
    inputs = {k: keras.Input(shape=splits.input_shape, name=k) for k in keys}
    outputs = {k: tower(inputs[k]) for k, tower in zip(keys, towers)}
    return keras.Model(inputs, outputs, name="stacked_seeds"), towers


class ProgramCache:
    """The last compiled program, kept for the next group of the same models (other seeds).

    Building and compiling is cheap, but the first step of a new program traces and optimises
    its graph: about 1 s per run on a 2-core CPU, 8 % of the quick plan. A reused program gets,
    per tower, the variables of a fresh build seeded with its seed (weights and dropout seed
    state) and the optimizer's initial state: exactly what a new program would start from.
    A model returned by train_group is only valid until the next call that reuses its program,
    so callers that keep models (tests) pass no cache."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.entry: tuple[Any, list[Any], list[np.ndarray]] | None = None


def _program_key(specs: list[RunSpec], splits: Any, lv: Any) -> str:
    return json.dumps([[s.model.model_dump(mode="json") for s in specs], list(splits.input_shape),
                       splits.num_classes, specs[0].training.model_dump(mode="json"), lv.as_dict()],
                      sort_keys=True)


def _compiled_program(specs: list[RunSpec], splits: Any, lv: Any,
                      cache: ProgramCache | None) -> tuple[Any, list[Any]]:
    """A compiled program for these runs, each tower at its seed's initial state."""
    keras = import_keras()

    key = _program_key(specs, splits, lv)
    if cache is not None and cache.key == key and cache.entry is not None:
        program, towers, optimizer_start = cache.entry
        for spec, tower in zip(specs, towers):
            keras.utils.set_random_seed(spec.seed)
            fresh = make_model(spec.model, splits.input_shape, splits.num_classes)
            for mine, new in zip(tower.variables, fresh.variables, strict=True):
                mine.assign(new.value)
        for variable, start in zip(program.optimizer.variables, optimizer_start, strict=True):
            variable.assign(start)
        return program, towers
    program, towers = _stack(specs, splits)
    keys = tower_keys(specs)
    first = specs[0]
    losses = "sparse_categorical_crossentropy" if len(specs) == 1 else {k: "sparse_categorical_crossentropy" for k in keys}
    metrics = ["accuracy"] if len(specs) == 1 else {k: ["accuracy"] for k in keys}
    program.compile(optimizer=make_optimizer(first.training), loss=losses, metrics=metrics,
                    jit_compile=lv.jit_compile, steps_per_execution=lv.steps_per_execution)
    if cache is not None:
        program.optimizer.build(program.trainable_variables)  # as the first step would
        cache.key, cache.entry = key, (program, towers, [np.array(v.value) for v in program.optimizer.variables])
    return program, towers


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Keras's global dtype policy set to `name` for the block, then restored: models built
    inside get the levers' precision, models built elsewhere keep the caller's."""
    keras = import_keras()

    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def train_group(specs: list[RunSpec], splits: Any, progress: "Progress | None" = None,
                levers: Any = None, programs: ProgramCache | None = None) -> list[tuple[dict[str, Any], Any]]:
    """Train runs together, one tower each in one program (models and seeds may differ); evaluate
    each on the test set once, at the end. Returns (record, model) per run, in the order given."""
    first = specs[0]
    assert all(s.training == first.training and s.data == first.data and s.probe == first.probe
               for s in specs), "towers of one program share training settings and data"
    lv = levers or levers_mod.choose(first.training.precision)
    if lv.batch_seeds:
        return _train_architectures_batched(specs, splits, progress, lv)
    with dtype_policy(lv.precision):
        program, towers = _compiled_program(specs, splits, lv, programs)
        trained = train_epochs(program, specs, splits, lv, progress)
        return evaluate_and_record(specs, towers, splits, trained, lv)


def _train_architectures_batched(specs: list[RunSpec], splits: Any, progress: "Progress | None",
                                 lv: Any) -> list[tuple[dict[str, Any], Any]]:
    """The group's runs, the seeds of each architecture as one vmapped program (train/batched.py);
    results in the order given."""
    by_arch: dict[str, list[int]] = {}
    for i, spec in enumerate(specs):
        by_arch.setdefault(spec.model.model_dump_json(), []).append(i)
    results: dict[int, tuple[dict[str, Any], Any]] = {}
    with dtype_policy(lv.precision):
        for indices in by_arch.values():
            group = [specs[i] for i in indices]
            trained, models = train_batched(group, splits, progress)
            for i, result in zip(indices, evaluate_and_record(group, models, splits, trained, lv)):
                results[i] = result
    return [results[i] for i in range(len(specs))]


def train_epochs(program: Any, specs: list[RunSpec], splits: Any, lv: Any,
                 progress: "Progress | None" = None) -> Trained:
    """Every epoch of the group, each seed in its own data order, until the last epoch or until
    every tower has diverged. `progress` hears of each epoch (and, if it asks, each batch)."""
    keys = tower_keys(specs)
    arrays = _training_arrays(splits, lv)
    training = specs[0].training
    n = len(splits.x_train)
    batches = math.ceil(n / training.batch_size)  # what both feeds step through per epoch
    history: dict[str, list[float]] = {}
    epoch_times: list[float] = []
    diverged = [False] * len(specs)
    started = time.perf_counter()
    for epoch in range(training.epochs):
        orders = [epoch_order(s.seed, epoch, n) for s in specs]
        on_batch = progress.epoch_started(specs, epoch + 1, batches) if progress is not None else None
        t0 = time.perf_counter()
        logs = fit_epoch(program, arrays, orders, keys, training.batch_size, lv.feed, on_batch)
        epoch_times.append(time.perf_counter() - t0)
        for k, v in logs.items():
            history.setdefault(k, []).append(float(v))
        per_tower = [history_of(history, key, len(specs)) for key in keys]
        diverged = [any(not math.isfinite(v) for v in t["loss"]) for t in per_tower]
        if progress is not None:
            progress.epoch(specs, epoch + 1, per_tower)
        if all(diverged):
            break
    return Trained(history, epoch_times, diverged, time.perf_counter() - started)


def _training_arrays(splits: Any, lv: Any) -> tuple[Any, Any, Any, Any]:
    """x_train, y_train, x_val, y_val: NumPy, or copied to the device once per group when the
    levers say so (each epoch's reordering is then a gather there)."""
    arrays = (splits.x_train, splits.y_train, splits.x_val, splits.y_val)
    if not lv.data_on_device:
        return arrays
    keras = import_keras()

    return tuple(keras.ops.convert_to_tensor(a) for a in arrays)  # type: ignore[return-value]


def _take(x: Any, order: np.ndarray | None) -> Any:
    if order is None:
        return x
    if isinstance(x, np.ndarray):
        return x[order]
    keras = import_keras()

    return keras.ops.take(x, order, axis=0)


def _feed(x: Any, keys: list[str], orders: list[np.ndarray] | None = None) -> Any:
    """`x` as the program takes it: the array for one tower, {tower key: array} for several."""
    if len(keys) == 1:
        return _take(x, orders[0] if orders else None)
    return {k: _take(x, o) for k, o in zip(keys, orders or [None] * len(keys))}


def fit_epoch(program: Any, arrays: tuple[Any, Any, Any, Any], orders: list[np.ndarray],
              keys: list[str], batch_size: int, feed: str,
              on_batch: BatchCallback | None = None) -> dict[str, float]:
    """One epoch by the levers' feed ("batches": train_on_batch from Python; "fit": Keras's
    iterator), logged as `fit` logs it. `on_batch`, if given, hears the batches done so far."""
    x_train, y_train, x_val, y_val = arrays
    if feed == "batches":
        return fit_epoch_by_batches(program, x_train, y_train, orders, keys, batch_size,
                                    (x_val, y_val), on_batch)
    h = program.fit(_feed(x_train, keys, orders), _feed(y_train, keys, orders),
                    validation_data=(_feed(x_val, keys), _feed(y_val, keys)), batch_size=batch_size,
                    epochs=1, shuffle=False, verbose=0,
                    callbacks=[_batch_listener(on_batch)] if on_batch is not None else None)
    return {k: v[-1] for k, v in h.history.items()}


def _batch_listener(on_batch: BatchCallback) -> Any:
    """A Keras callback passing `fit`'s training batch count to `on_batch`. With several steps
    per execution Keras calls it once per execution, with the last step's index."""
    keras = import_keras()

    class BatchCount(keras.callbacks.Callback):
        # Safe on Keras's dispatch thread: it only counts. Without this flag Keras would turn
        # each execution's logs into Python numbers on the training thread (a device sync).
        async_safe = True

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            on_batch(batch + 1)

    return BatchCount()


def evaluate_and_record(specs: list[RunSpec], towers: list[Any], splits: Any, trained: Trained,
                        lv: Any) -> list[tuple[dict[str, Any], Any]]:
    """Each tower on the test set, once, and its run record. (record, model) per run."""
    env = environment()
    analyses = [analyse(t) for t in towers]
    # A stacked program's epoch is shared by its towers: each run is charged its share of the
    # arithmetic (FLOPs per image), which is what a tower costs when the device is busy.
    total_flops = sum(max(1, a["flops"]) for a in analyses)
    shares = [max(1, a["flops"]) / total_flops for a in analyses]
    keys = tower_keys(specs)
    group = {"runs": [s.run_id for s in specs], "wall_s": trained.wall_s}
    return [(_run_record(spec, tower, splits, trained, key, div, arch, share, group, lv, env), tower)
            for spec, tower, key, div, arch, share
            in zip(specs, towers, keys, trained.diverged, analyses, shares)]


def _run_record(spec: RunSpec, tower: Any, splits: Any, trained: Trained, key: str, diverged: bool,
                arch: dict[str, Any], share: float, group: dict[str, Any], lv: Any,
                env: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    probs = predict_in_batches(tower, splits.x_test).astype(np.float64)
    predict_s = time.perf_counter() - t0
    preds = probs.argmax(axis=1)
    picked = np.clip(probs[np.arange(len(preds)), splits.y_test], 1e-7, 1.0)
    hist = history_of(trained.history, key, len(group["runs"]))
    hist["epoch_time_s"] = [t * share for t in trained.epoch_times]
    return {
        "run_id": spec.run_id,
        "study": spec.study,
        "model": {"name": spec.model.name, "role": spec.model.role, "kind": spec.model.kind,
                  "factor": spec.model.factor, "level": spec.model.level,
                  "arch": spec.model.arch.model_dump(mode="json")},
        "seed": spec.seed,
        "probe": spec.probe,
        "training": spec.training.model_dump(mode="json"),
        "data": spec.data.model_dump(mode="json"),
        "history": hist,
        "diverged": diverged,
        "test": {"accuracy": float(np.mean(preds == splits.y_test)),
                 "loss": None if diverged else float(-np.mean(np.log(picked))),
                 "n": int(len(preds))},
        "train_time_s": trained.wall_s * share,
        "group": {**group, "share": share},
        "predict_ms_per_image": 1000.0 * predict_s / max(1, len(preds)),
        "architecture": arch,
        "levers": lv.as_dict(),
        "environment": env,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "_predictions": preds.astype(np.int16),
    }


def fit_epoch_by_batches(program: Any, x: np.ndarray, y: np.ndarray, orders: list[np.ndarray],
                         keys: list[str], batch_size: int, val: tuple[np.ndarray, np.ndarray],
                         on_batch: BatchCallback | None = None) -> dict[str, float]:
    """One epoch as `fit` would log it (batch-size-weighted means of the training metrics, then
    the validation metrics), driven batch by batch from Python; `on_batch`, if given, hears the
    training batches done so far.

    Why: with TensorFlow on a CPU, `fit`'s tf.data iterator sometimes leaves oneDNN on one
    thread for a whole epoch (half the cores idle, the epoch twice as long); batches handed to
    `train_on_batch` keep both cores busy (bench/README.md)."""
    def batch(a: np.ndarray, idx: list[Any]) -> Any:  # one index (array or slice) per tower
        return a[idx[0]] if len(keys) == 1 else {k: a[i] for k, i in zip(keys, idx)}

    def training_steps() -> Iterator[tuple[dict[str, Any], int]]:
        for done, start in enumerate(range(0, len(y), batch_size), start=1):
            idx = [o[start:start + batch_size] for o in orders]
            logs = program.train_on_batch(batch(x, idx), batch(y, idx), return_dict=True)
            if on_batch is not None:
                on_batch(done)
            yield logs, len(idx[0])

    train = _weighted_means(training_steps())
    x_val, y_val = val
    step = inference_batch(len(y_val))
    validation = _weighted_means(
        (program.test_on_batch(batch(x_val, idx), batch(y_val, idx), return_dict=True), len(y_val[idx[0]]))
        for idx in ([slice(s, s + step)] * len(keys) for s in range(0, len(y_val), step)))
    return {**train, **{f"val_{k}": v for k, v in validation.items()}}


def _weighted_means(steps: Iterable[tuple[dict[str, Any], int]]) -> dict[str, float]:
    """Each metric's mean over (logs, batch size) pairs, weighted by batch size."""
    sums: dict[str, float] = {}
    total = 0
    for logs, weight in steps:
        total += weight
        for k, v in logs.items():
            sums[k] = sums.get(k, 0.0) + float(v) * weight
    return {k: v / total for k, v in sums.items()}


def predict_in_batches(model: Any, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """`model.predict` without Keras's iterator (see fit_epoch_by_batches for why)."""
    batch_size = batch_size or inference_batch(len(x))
    parts = [np.asarray(model.predict_on_batch(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0,))


@dataclass(frozen=True)
class StepTiming:
    """Seconds per training step of one model on this device, as train_group steps it."""

    first_s: float  # the first step, tracing and compiling included
    step_s: float  # a later step (median of those timed)
    steps: int  # later steps timed


def time_training_steps(spec: RunSpec, splits: Any, lv: Any, budget_s: float = 1.0,
                        max_steps: int = 6) -> StepTiming:
    """Time a few training steps of one run's model (its batch size, the levers' precision) on
    repeated training images. Changes no run: the program is a throwaway, and every run is
    seeded afresh when it is built."""
    batch = np.arange(spec.training.batch_size) % len(splits.x_train)  # whole batches, even from a tiny set
    x, y = splits.x_train[batch], splits.y_train[batch]
    with dtype_policy(lv.precision):
        program, _ = _compiled_program([spec], splits, lv, None)
        t0 = time.perf_counter()
        program.train_on_batch(x, y)
        first = time.perf_counter() - t0
        times: list[float] = []
        began = time.perf_counter()
        # At least two steps (the second may still set up kernels), then until the budget is spent.
        while len(times) < max_steps and (len(times) < 2 or time.perf_counter() - began < budget_s):
            t0 = time.perf_counter()
            program.train_on_batch(x, y)
            times.append(time.perf_counter() - t0)
    return StepTiming(first, float(np.median(times)), len(times))


def train_run(spec: RunSpec, splits: Any, progress: "Progress | None" = None) -> tuple[dict[str, Any], Any]:
    """One seeded run on its own. Returns (record, model)."""
    return train_group([spec], splits, progress)[0]
