"""Speed levers, chosen per device: each is kept only where it was measured to help (bench/README.md).

- Mixed precision (bf16 compute, float32 weights): on a GPU, and on a CPU with native bf16
  instructions (AVX512_BF16 or AMX), where oneDNN runs convolutions about 2× faster; elsewhere
  bf16 is emulated and slower, so float32.
- Runs stacked as towers of one program (all seeds, and all models that share training settings
  and data): amortises per-step overhead, which dominates small models on a GPU; on a CPU the
  arithmetic dominates and one tower at a time is as fast.
- Several steps per execution: fewer host round trips (callbacks, metrics) on a GPU.
- Data on the device (copied once, batches sliced there): measured slower than feeding NumPy
  batches with JAX on an H100 (the per-epoch reorder becomes a device gather), so off.
- XLA (jit_compile): always on for JAX (its only mode); off for TensorFlow on a CPU, where it
  made a small CNN about 2× slower.
- Seeds as a batch dimension (JAX on a GPU): the seeds of one architecture vmapped into one
  program, each epoch one compiled loop (train/batched.py); CNNREPORT_BATCH_SEEDS=1 forces it
  on a CPU (tests, benchmarks), =0 turns it off.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

# By module, so that a test can stand in for the GPU probe (tests/test_backend_gpu.py)
from cnnreport import backend as backend_setup
from cnnreport.backend import import_keras

PRECISIONS = ("auto", "float32", "mixed_bfloat16")


@dataclass(frozen=True)
class Levers:
    precision: str  # "float32" | "mixed_bfloat16"
    max_towers: int  # seeds trained at once in one program
    jit_compile: bool | str
    steps_per_execution: int
    reason: str
    data_on_device: bool = False  # copy the splits to the accelerator once; batches are slices there
    feed: str = "fit"  # "fit" (Keras's iterator) | "batches" (train_on_batch from Python)
    batch_seeds: bool = False  # JAX: seeds of one architecture vmapped, whole epochs compiled

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def accelerator() -> str:
    """'gpu' or 'cpu', for the active Keras backend."""
    keras = import_keras()

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            return "gpu" if jax.devices()[0].platform in ("gpu", "cuda", "rocm") else "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
        if backend == "torch":
            import torch

            return "gpu" if torch.cuda.is_available() else "cpu"
    except Exception:
        pass
    return "cpu"


def unused_gpu_warning() -> str | None:
    """A warning when the machine has a GPU the active backend cannot use: training would run
    on the CPU, hours where minutes were possible. None when there is no GPU or it is used."""
    keras = import_keras()

    if not backend_setup.gpu_visible() or accelerator() == "gpu":
        return None
    return (f"a GPU is visible but Keras's {keras.backend.backend()} backend cannot use it, so training "
            f"would run on the CPU. Install the GPU build: {backend_setup.GPU_INSTALL} (then this command picks JAX "
            "with CUDA), or press Ctrl-C and use --profile quick.")


def choose(precision: str = "auto") -> Levers:
    """The levers for this machine. `precision` comes from the study (auto, or forced)."""
    keras = import_keras()

    backend = keras.backend.backend()
    device = accelerator()
    forced = os.environ.get("CNNREPORT_PRECISION")  # for benchmarks and debugging
    if forced:
        precision = forced
    if precision == "auto":
        native = device == "gpu" or cpu_has_native_bf16()
        precision = "mixed_bfloat16" if native else "float32"
    lv = choose_for_device(device, backend, precision)
    towers = os.environ.get("CNNREPORT_TOWERS")  # force seeds per program (tests, benchmarks)
    if towers:
        lv = replace(lv, max_towers=int(towers), reason=lv.reason + f" (towers forced to {towers})")
    batched = os.environ.get("CNNREPORT_BATCH_SEEDS")  # force the vmapped seeds on or off
    if batched in ("0", "1") and backend == "jax":
        lv = replace(lv, batch_seeds=batched == "1", max_towers=max(lv.max_towers, 32) if batched == "1" else lv.max_towers,
                     reason=lv.reason + f" (seeds batched {'on' if batched == '1' else 'off'}, forced)")
    return lv


def choose_for_device(device: str, backend: str, precision: str) -> Levers:
    if device == "gpu" and backend == "jax":
        return Levers(precision, max_towers=32, jit_compile=True, steps_per_execution=32,
                      reason="jax on GPU: bf16, the seeds of each architecture as one vmapped program, "
                             "each epoch one compiled loop", batch_seeds=True)
    if device == "gpu":
        return Levers(precision, max_towers=32, jit_compile=True, steps_per_execution=32,
                      reason=f"{backend} on GPU: bf16, up to 32 runs as towers of one program, "
                             "32 steps per execution")
    feed = "batches" if backend == "tensorflow" else "fit"
    return Levers(precision, max_towers=1, jit_compile=backend == "jax", steps_per_execution=1,
                  reason=f"{backend} on CPU: "
                         + ("native bf16" if precision == "mixed_bfloat16" else "float32")
                         + ", one seed at a time"
                         + (", batches fed from Python" if feed == "batches" else ""),
                  feed=feed)
