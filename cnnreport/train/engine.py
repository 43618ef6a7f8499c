"""The engine: seeded (model, seed) runs trained alone or as towers of one compiled program,
batches fed from Python where that is faster, the test set evaluated once at the end.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Iterable

import numpy as np

from cnnreport.study.specs import TrainingSpec
from cnnreport.train.environment import environment
from cnnreport.train.plan import RunSpec
from cnnreport.train.progress import Progress

# ------------------------------------------------------------------------------------ training


def make_optimizer(training: TrainingSpec) -> Any:
    import keras

    cls = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
           "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}[training.optimizer]
    kwargs = {"momentum": 0.9} if training.optimizer == "sgd" else {}
    return cls(learning_rate=training.learning_rate, **kwargs)


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The training-data order of one seed in one epoch: the same whether the seed trains alone
    or stacked with others, so seed-matched runs of different models share their data order."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def _stack(specs: list[RunSpec], splits: Any) -> tuple[Any, list[Any]]:
    """One program holding one tower per seed; tower k is built right after seeding with seed k,
    so its initial weights are those of the seed's lone run. Towers share no weights and the
    loss is their sum, so each tower's gradients (and Adam's per-weight state) are its own."""
    import keras

    from cnnreport.train.models import make_model

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
    import keras

    from cnnreport.train.models import make_model

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


def tower_keys(specs: list[RunSpec]) -> list[str]:
    return [f"t{i}" for i in range(len(specs))]


def _history_of(history: dict[str, list[float]], key: str, n: int) -> dict[str, list[float]]:
    """One tower's metrics out of a stacked model's history (keys like 's3_accuracy')."""
    out = {}
    for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if n == 1:
            name = metric
        else:
            name = f"val_{key}_{metric[4:]}" if metric.startswith("val_") else f"{key}_{metric}"
        out[metric] = [float(v) for v in history.get(name, [])]
    return out


def train_group(specs: list[RunSpec], splits: Any, progress: "Progress | None" = None,
                levers: Any = None, programs: ProgramCache | None = None) -> list[tuple[dict[str, Any], Any]]:
    """Train runs together, one tower each in one program (models and seeds may differ); evaluate
    each on the test set once, at the end. Returns (record, model) per run, in the order given."""
    import keras

    from cnnreport.train import levers as levers_mod
    from cnnreport.train.models import analyse

    first = specs[0]
    assert all(s.training == first.training and s.data == first.data and s.probe == first.probe
               for s in specs), "towers of one program share training settings and data"
    lv = levers or levers_mod.choose(first.training.precision)
    previous_policy = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(lv.precision)
    try:
        program, towers = _compiled_program(specs, splits, lv, programs)
        keys = tower_keys(specs)

        if lv.data_on_device:  # once per group; each epoch's reordering is then a gather there
            x_train, y_train, x_val, y_val = (keras.ops.convert_to_tensor(a) for a in (
                splits.x_train, splits.y_train, splits.x_val, splits.y_val))
        else:
            x_train, y_train, x_val, y_val = splits.x_train, splits.y_train, splits.x_val, splits.y_val

        def take(x: Any, order: np.ndarray | None) -> Any:
            if order is None:
                return x
            return x[order] if isinstance(x, np.ndarray) else keras.ops.take(x, order, axis=0)

        def feed(x: Any, orders: list[np.ndarray] | None = None) -> Any:
            if len(specs) == 1:
                return take(x, orders[0] if orders else None)
            return {k: take(x, o) for k, o in zip(keys, orders or [None] * len(keys))}

        n = len(splits.x_train)
        history: dict[str, list[float]] = {}
        epoch_times: list[float] = []
        diverged = [False] * len(specs)
        val_feed = (feed(x_val), feed(y_val))
        started = time.perf_counter()
        for epoch in range(first.training.epochs):
            orders = [epoch_order(s.seed, epoch, n) for s in specs]
            t0 = time.perf_counter()
            if lv.feed == "batches":
                logs = fit_epoch_by_batches(program, x_train, y_train, orders, keys,
                                            first.training.batch_size, (x_val, y_val))
            else:
                h = program.fit(feed(x_train, orders), feed(y_train, orders),
                                validation_data=val_feed, batch_size=first.training.batch_size,
                                epochs=1, shuffle=False, verbose=0)
                logs = {k: v[-1] for k, v in h.history.items()}
            epoch_times.append(time.perf_counter() - t0)
            for k, v in logs.items():
                history.setdefault(k, []).append(float(v))
            per_tower = [_history_of(history, key, len(specs)) for key in keys]
            diverged = [any(not math.isfinite(v) for v in t["loss"]) for t in per_tower]
            if progress is not None:
                progress.epoch(specs, epoch + 1, per_tower)
            if all(diverged):
                break
        train_time = time.perf_counter() - started

        results = []
        env = environment()
        analyses = [analyse(t) for t in towers]
        # A stacked program's epoch is shared by its towers: each run is charged its share of the
        # arithmetic (FLOPs per image), which is what a tower costs when the device is busy.
        total_flops = sum(max(1, a["flops"]) for a in analyses)
        shares = [max(1, a["flops"]) / total_flops for a in analyses]
        for spec, tower, key, div, arch, share in zip(specs, towers, keys, diverged, analyses, shares):
            t0 = time.perf_counter()
            probs = predict_in_batches(tower, splits.x_test).astype(np.float64)
            predict_s = time.perf_counter() - t0
            preds = probs.argmax(axis=1)
            picked = np.clip(probs[np.arange(len(preds)), splits.y_test], 1e-7, 1.0)
            hist = _history_of(history, key, len(specs))
            hist["epoch_time_s"] = [t * share for t in epoch_times]
            record = {
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
                "diverged": div,
                "test": {"accuracy": float(np.mean(preds == splits.y_test)),
                         "loss": None if div else float(-np.mean(np.log(picked))),
                         "n": int(len(preds))},
                "train_time_s": train_time * share,
                "group": {"runs": [s.run_id for s in specs], "wall_s": train_time, "share": share},
                "predict_ms_per_image": 1000.0 * predict_s / max(1, len(preds)),
                "architecture": arch,
                "levers": lv.as_dict(),
                "environment": env,
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "_predictions": preds.astype(np.int16),
            }
            results.append((record, tower))
        return results
    finally:
        keras.config.set_dtype_policy(previous_policy)


def fit_epoch_by_batches(program: Any, x: np.ndarray, y: np.ndarray, orders: list[np.ndarray],
                         keys: list[str], batch_size: int, val: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """One epoch as `fit` would log it (batch-size-weighted means of the training metrics, then
    the validation metrics), driven batch by batch from Python.

    Why: with TensorFlow on a CPU, `fit`'s tf.data iterator sometimes leaves oneDNN on one
    thread for a whole epoch (half the cores idle, the epoch twice as long); batches handed to
    `train_on_batch` keep both cores busy (bench/README.md)."""
    def batch(a: np.ndarray, idx: list[Any]) -> Any:  # one index (array or slice) per tower
        return a[idx[0]] if len(keys) == 1 else {k: a[i] for k, i in zip(keys, idx)}

    train = _weighted_means(
        (program.train_on_batch(batch(x, idx), batch(y, idx), return_dict=True), len(idx[0]))
        for idx in ([o[s:s + batch_size] for o in orders] for s in range(0, len(y), batch_size)))
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


def inference_batch(n: int, target: int = 512) -> int:
    """A batch size for inference near `target` that divides n when one does (2,000 → 500,
    10,000 → 500): every batch then has one shape, so the step is traced once, not twice.
    Inference results do not depend on the batch size."""
    divisors = [d for d in range(target // 2, 2 * target + 1) if n % d == 0]
    return min(divisors, key=lambda d: abs(d - target)) if divisors else target


def predict_in_batches(model: Any, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """`model.predict` without Keras's iterator (see fit_epoch_by_batches for why)."""
    batch_size = batch_size or inference_batch(len(x))
    parts = [np.asarray(model.predict_on_batch(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0,))


def train_run(spec: RunSpec, splits: Any, progress: "Progress | None" = None) -> tuple[dict[str, Any], Any]:
    """One seeded run on its own. Returns (record, model)."""
    return train_group([spec], splits, progress)[0]
