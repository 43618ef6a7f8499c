"""Runs: one seeded (model, seed) training, a plan of them, and the local backend.

A run's id is a hash of everything that decides its result (architecture, training settings,
data settings, seed, probe transform, run format), so a second build skips finished runs and a
changed setting trains anew.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .study import DataSpec, ModelSpec, Study, TrainingSpec, study_models
from . import store

RUN_FORMAT = 1  # bump when a change to training code should invalidate stored runs
Probe = str  # "none" | "permuted"
PERMUTATION_SEED = 7  # the one fixed pixel permutation of the locality probe


@dataclass(frozen=True)
class RunSpec:
    study: str
    model: ModelSpec
    seed: int
    training: TrainingSpec
    data: DataSpec
    probe: Probe = "none"

    @property
    def run_id(self) -> str:
        payload = {
            "format": RUN_FORMAT,
            "kind": self.model.kind,
            "arch": self.model.arch.model_dump(mode="json"),
            "training": self.training.model_dump(mode="json"),
            "data": self.data.model_dump(mode="json"),
            "seed": self.seed,
            "probe": self.probe,
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
        return f"{_slug(self.model.name)}-s{self.seed}{'-' + self.probe if self.probe != 'none' else ''}-{digest}"

    def describe(self) -> str:
        probe = f" [{self.probe} pixels]" if self.probe != "none" else ""
        return f"{self.model.name} · seed {self.seed}{probe}"


def _slug(name: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in name.replace("×", "x"))
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-").lower()


def plan_runs(study: Study) -> list[RunSpec]:
    """Every (model, seed) of the study, seeds inner so that partial results cover all models."""
    return [RunSpec(study.name, model, seed, model.training or study.training, study.data)
            for model in study_models(study) for seed in (model.seeds or study.seeds)]


# ------------------------------------------------------------------------------------- progress


class Progress:
    """Runs done / total, model, epoch and ETA, one line per epoch (readable in CI logs too)."""

    def __init__(self, plan: list[RunSpec], done: int, echo: Callable[[str], None] = print):
        self.total_runs = len(plan)
        self.runs_done = done
        self.remaining_epochs = sum(r.training.epochs for r in plan[done:]) if done else sum(
            r.training.epochs for r in plan)
        self.epochs_done = 0
        self.started = time.perf_counter()
        self.echo = echo

    def set_remaining(self, epochs: int) -> None:
        self.remaining_epochs = epochs

    def epoch(self, spec: RunSpec, epoch: int, logs: dict[str, float]) -> None:
        self.epochs_done += 1
        self.remaining_epochs -= 1
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.epochs_done * max(0, self.remaining_epochs)
        val = logs.get("val_accuracy")
        self.echo(f"[run {self.runs_done + 1}/{self.total_runs}] {spec.describe()} · "
                  f"epoch {epoch}/{spec.training.epochs} · loss {logs.get('loss', float('nan')):.4f}"
                  + (f" · val_acc {val:.4f}" if val is not None else "")
                  + f" · ETA {_duration(eta)}")

    def run_finished(self) -> None:
        self.runs_done += 1


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


# ---------------------------------------------------------------------------------- environment


def environment() -> dict[str, Any]:
    """Versions, device and backend, recorded with every run."""
    import keras

    backend = keras.backend.backend()
    env = {"python": platform.python_version(), "keras": keras.__version__, "backend": backend,
           "numpy": np.__version__, "platform": platform.platform(), "processor": _cpu_name(),
           "device": "cpu"}
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            env["backend_version"] = tf.__version__
            gpus = tf.config.list_physical_devices("GPU")
            env["device"] = f"gpu ({len(gpus)})" if gpus else "cpu"
        elif backend == "jax":
            import jax

            env["backend_version"] = jax.__version__
            dev = jax.devices()[0]
            env["device"] = f"{dev.platform} ({getattr(dev, 'device_kind', '')})".strip()
    except Exception:  # device discovery is informative only
        pass
    env["determinism"] = ("seeded with keras.utils.set_random_seed; fixed validation split; "
                          "kernel-level determinism not enforced (parallel reductions may differ "
                          "in the last bits)")
    return env


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# -------------------------------------------------------------------------------------- one run


def make_optimizer(training: TrainingSpec) -> Any:
    import keras

    cls = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
           "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}[training.optimizer]
    kwargs = {"momentum": 0.9} if training.optimizer == "sgd" else {}
    return cls(learning_rate=training.learning_rate, **kwargs)


def train_run(spec: RunSpec, splits: Any, progress: Progress | None = None) -> tuple[dict[str, Any], Any]:
    """Train one seeded run; evaluate on the test set once, at the end. Returns (record, model)."""
    import keras

    from .models import analyse, make_model

    keras.utils.set_random_seed(spec.seed)
    model = make_model(spec.model, splits.input_shape, splits.num_classes)
    model.compile(optimizer=make_optimizer(spec.training), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    epoch_times: list[float] = []

    class _Epochs(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_times.append(time.perf_counter() - self._t0)
            if progress is not None:
                progress.epoch(spec, epoch + 1, logs or {})

    started = time.perf_counter()
    history = model.fit(splits.x_train, splits.y_train, validation_data=(splits.x_val, splits.y_val),
                        epochs=spec.training.epochs, batch_size=spec.training.batch_size,
                        shuffle=True, verbose=0,
                        callbacks=[_Epochs(), keras.callbacks.TerminateOnNaN()])
    train_time = time.perf_counter() - started
    hist = {k: [float(v) for v in history.history.get(k, [])]
            for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    hist["epoch_time_s"] = epoch_times
    diverged = any(not math.isfinite(v) for v in hist["loss"])

    t0 = time.perf_counter()
    probs = model.predict(splits.x_test, batch_size=512, verbose=0)
    predict_s = time.perf_counter() - t0
    preds = probs.argmax(axis=1)
    eps = 1e-7
    loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(preds)), splits.y_test], eps, 1.0))))
    accuracy = float(np.mean(preds == splits.y_test))
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
        "diverged": diverged,
        "test": {"accuracy": accuracy, "loss": loss if not diverged else None,
                 "n": int(len(preds))},
        "train_time_s": train_time,
        "predict_ms_per_image": 1000.0 * predict_s / max(1, len(preds)),
        "architecture": analyse(model),
        "environment": environment(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    record["_predictions"] = preds.astype(np.int16)
    return record, model


def save_run(study_dir: Path, record: dict[str, Any], model: Any) -> Path:
    def fill(tmp: Path) -> None:
        np.save(tmp / "test_predictions.npy", record.pop("_predictions"))
        model.save(tmp / "model.keras")
        store.write_json(tmp / store.RUN_FILE, record)  # last: its presence marks completeness

    return store.write_run(study_dir, record["run_id"], fill)


def run_plan(plan: list[RunSpec], splits_for: Callable[[RunSpec], Any], runs_root: Path,
             echo: Callable[[str], None] = print) -> dict[str, int]:
    """Train every run of the plan that is not already stored. Returns counts trained/skipped."""
    if not plan:
        return {"trained": 0, "skipped": 0, "diverged": 0}
    study_dir = store.study_runs_dir(runs_root, plan[0].study)
    store.clean_stale(study_dir)
    todo = [r for r in plan if not store.is_complete(study_dir / r.run_id)]
    skipped = len(plan) - len(todo)
    if skipped:
        echo(f"{skipped} of {len(plan)} runs already done (runs/{plan[0].study}/); {len(todo)} to train")
    progress = Progress(todo, 0, echo)
    diverged = 0
    for spec in todo:
        record, model = train_run(spec, splits_for(spec), progress)
        save_run(study_dir, record, model)
        progress.run_finished()
        if record["diverged"]:
            diverged += 1
            echo(f"  {spec.describe()}: loss became NaN — recorded as diverged")
        else:
            echo(f"  done {spec.describe()}: test accuracy {record['test']['accuracy']:.4f} "
                 f"({record['train_time_s']:.0f} s)")
    return {"trained": len(todo), "skipped": skipped, "diverged": diverged}
