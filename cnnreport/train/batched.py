"""Seeds as a batch dimension (JAX backend): the runs of one architecture trained as one program
whose every convolution and matmul carries the seeds as a leading axis, an epoch at a time.

Towers (train/engine.py) put separate models' ops side by side in one graph: each seed's small
convolution is its own kernel launch, a few per cent of a GPU. Here the training step of one
architecture is written once over Keras's stateless calls (`stateless_call`,
`optimizer.stateless_apply`) and `jax.vmap`ped over the seeds' stacked variables, so XLA sees
one batched convolution and one batched matmul per layer. An epoch's full batches run as one
`lax.scan` on data kept on the device, so Python runs once per epoch, not once per step; a
partial last batch is one more call of the same step.

Nothing changes what a run learns: seed k starts from the weights (and dropout seed state) of a
fresh build seeded with k, sees the data in `epoch_order(k, epoch)`, and takes the step a lone
`fit` takes (the same loss, gradients and optimizer update). tests/test_train_batched.py
compares the validation curves and test accuracy with lone runs.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from cnnreport.backend import import_keras
from cnnreport.train.loop import (
    Trained,
    epoch_order,
    history_of,
    inference_batch,
    make_optimizer,
    tower_keys,
)
from cnnreport.train.models import make_model
from cnnreport.train.plan import RunSpec
from cnnreport.train.progress import Progress


def can_batch(specs: list[RunSpec]) -> bool:
    """Seeds of one architecture with one set of training settings and data: one program."""
    first = specs[0]
    return all(s.model.arch == first.model.arch and s.training == first.training
               and s.data == first.data and s.probe == first.probe for s in specs)


def _stack(values: list[list[Any]]) -> list[Any]:
    """Per-seed lists of variable values → one array per variable, seeds on axis 0."""
    import jax.numpy as jnp

    return [jnp.stack(per_seed) for per_seed in zip(*values)]


class SeedBatch:
    """The compiled per-epoch programs of one architecture over S seeds, and its state."""

    def __init__(self, specs: list[RunSpec], splits: Any):
        keras = import_keras()

        self.specs = specs
        self.models = []
        for spec in specs:  # each seed's initial state is exactly its lone run's
            keras.utils.set_random_seed(spec.seed)
            self.models.append(make_model(spec.model, splits.input_shape, splits.num_classes))
        template = self.models[0]
        self.optimizer = make_optimizer(specs[0].training)
        self.optimizer.build(template.trainable_variables)
        self.trainable = _stack([[v.value for v in m.trainable_variables] for m in self.models])
        self.non_trainable = _stack([[v.value for v in m.non_trainable_variables] for m in self.models])
        self.opt_state = _stack([[v.value for v in self.optimizer.variables]] * len(specs))
        self._compile(template)

    def _compile(self, template: Any) -> None:
        import jax
        import jax.numpy as jnp
        keras = import_keras()

        optimizer = self.optimizer

        def loss_of(tv: Any, ntv: Any, x: Any, y: Any) -> Any:
            probs, ntv = template.stateless_call(tv, ntv, x, training=True)
            probs = jnp.asarray(probs, jnp.float32)
            # What `compile(loss="sparse_categorical_crossentropy")` computes: the batch mean.
            loss = jnp.mean(keras.losses.sparse_categorical_crossentropy(y, probs))
            return loss, (probs, ntv)

        def step(tv: Any, ntv: Any, ov: Any, x: Any, y: Any) -> tuple[Any, ...]:
            (loss, (probs, ntv)), grads = jax.value_and_grad(loss_of, has_aux=True)(tv, ntv, x, y)
            tv, ov = optimizer.stateless_apply(ov, grads, tv)
            correct = jnp.sum(jnp.argmax(probs, axis=-1) == y)
            return tv, ntv, ov, loss, correct

        seeds_step = jax.vmap(step)  # every argument carries the seeds on axis 0

        def one_batch(state: tuple[Any, Any, Any], x_all: Any, y_all: Any, idx: Any) -> tuple[Any, ...]:
            tv, ntv, ov, loss, correct = seeds_step(*state, x_all[idx], y_all[idx])  # idx: (S, B)
            return (tv, ntv, ov), loss, correct

        def full_batches(state: tuple[Any, Any, Any], x_all: Any, y_all: Any, idx: Any) -> tuple[Any, ...]:
            def body(carry: tuple[Any, Any, Any], batch_idx: Any) -> tuple[Any, Any]:
                carry, loss, correct = one_batch(carry, x_all, y_all, batch_idx)
                return carry, (loss, correct)

            return jax.lax.scan(body, state, idx)  # idx: (steps, S, B)

        def predict(tv: Any, ntv: Any, x: Any) -> Any:
            probs, _ = template.stateless_call(tv, ntv, x, training=False)
            return jnp.asarray(probs, jnp.float32)

        def evaluate(tv: Any, ntv: Any, x: Any, y: Any) -> tuple[Any, Any]:
            probs = jax.vmap(predict, in_axes=(0, 0, None))(tv, ntv, x)  # (S, n, classes)
            loss = jax.vmap(lambda p: jnp.sum(keras.losses.sparse_categorical_crossentropy(y, p)))(probs)
            return loss, jnp.sum(jnp.argmax(probs, axis=-1) == y[None], axis=-1)

        self._full = jax.jit(full_batches, donate_argnums=0)
        self._tail = jax.jit(one_batch, donate_argnums=0)
        self._evaluate = jax.jit(evaluate)

    def epoch(self, x_train: Any, y_train: Any, epoch: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """One epoch for every seed; returns per-seed (mean training loss, accuracy), each the
        batch-size-weighted mean over the epoch's batches, as `fit` logs them."""
        import jax.numpy as jnp

        n = int(y_train.shape[0])
        orders = np.stack([epoch_order(s.seed, epoch, n) for s in self.specs]).astype(np.int32)  # (S, n)
        steps, tail = divmod(n, batch_size)
        state = (self.trainable, self.non_trainable, self.opt_state)
        loss_sum = np.zeros(len(self.specs))
        correct = np.zeros(len(self.specs))
        if steps:
            idx = orders[:, : steps * batch_size].reshape(len(self.specs), steps, batch_size).transpose(1, 0, 2)
            state, (losses, corrects) = self._full(state, x_train, y_train, jnp.asarray(idx))
            loss_sum += batch_size * np.asarray(losses, dtype=np.float64).sum(axis=0)
            correct += np.asarray(corrects, dtype=np.float64).sum(axis=0)
        if tail:
            state, loss, right = self._tail(state, x_train, y_train, jnp.asarray(orders[:, steps * batch_size:]))
            loss_sum += tail * np.asarray(loss, dtype=np.float64)
            correct += np.asarray(right, dtype=np.float64)
        self.trainable, self.non_trainable, self.opt_state = state
        return loss_sum / n, correct / n

    def evaluate(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per-seed mean loss and accuracy on (x, y), in batches that divide it when one does."""
        import jax.numpy as jnp

        n = int(y.shape[0])
        step = inference_batch(n)
        loss_sum = np.zeros(len(self.specs))
        correct = np.zeros(len(self.specs))
        for start in range(0, n, step):
            loss, right = self._evaluate(self.trainable, self.non_trainable, x[start:start + step],
                                         jnp.asarray(y[start:start + step]))
            loss_sum += np.asarray(loss, dtype=np.float64)
            correct += np.asarray(right, dtype=np.float64)
        return loss_sum / n, correct / n

    def write_back(self) -> list[Any]:
        """Each seed's trained variables into its own Keras model (for saving and testing)."""
        for k, model in enumerate(self.models):
            for var, value in zip(model.trainable_variables, self.trainable):
                var.assign(value[k])
            for var, value in zip(model.non_trainable_variables, self.non_trainable):
                var.assign(value[k])
        return self.models


def train_batched(specs: list[RunSpec], splits: Any, progress: Progress | None = None) -> tuple[Trained, list[Any]]:
    """Train the seeds of one architecture as one vmapped program. Returns what the epochs
    produced (history keyed per seed as stacked towers are: 't0_loss', 'val_t0_accuracy', …)
    and each seed's trained Keras model, in the order given."""
    import jax.numpy as jnp

    assert can_batch(specs), "one architecture, one set of training settings and data"
    batch = SeedBatch(specs, splits)
    training = specs[0].training
    x_train, y_train = jnp.asarray(splits.x_train), jnp.asarray(splits.y_train.astype(np.int32))
    x_val, y_val = jnp.asarray(splits.x_val), splits.y_val.astype(np.int32)
    keys = tower_keys(specs)
    history: dict[str, list[float]] = {}
    epoch_times: list[float] = []
    diverged = [False] * len(specs)
    batches = math.ceil(len(splits.y_train) / training.batch_size)
    started = time.perf_counter()
    for epoch in range(training.epochs):
        on_batch = progress.epoch_started(specs, epoch + 1, batches) if progress is not None else None
        t0 = time.perf_counter()
        loss, acc = batch.epoch(x_train, y_train, epoch, training.batch_size)
        val_loss, val_acc = batch.evaluate(x_val, y_val)
        epoch_times.append(time.perf_counter() - t0)
        if on_batch is not None:
            on_batch(batches)  # the epoch ran as one program: no batch-by-batch news
        for i, key in enumerate(keys):
            prefix = "" if len(specs) == 1 else f"{key}_"
            for name, values in (("loss", loss), ("accuracy", acc)):
                history.setdefault(f"{prefix}{name}", []).append(float(values[i]))
            for name, values in (("loss", val_loss), ("accuracy", val_acc)):
                history.setdefault(f"val_{prefix}{name}", []).append(float(values[i]))
        diverged = [d or not math.isfinite(float(v)) for d, v in zip(diverged, loss)]
        if progress is not None:
            progress.epoch(specs, epoch + 1, [history_of(history, k, len(specs)) for k in keys])
        if all(diverged):
            break
    return Trained(history, epoch_times, diverged, time.perf_counter() - started), batch.write_back()
