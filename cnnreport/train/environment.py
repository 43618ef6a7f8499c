"""What a run records about where it ran: versions, backend, device, processor, determinism."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import numpy as np

from cnnreport.backend import import_keras
from cnnreport.contract import Part

DETERMINISM = ("seeded with keras.utils.set_random_seed; fixed validation split; kernel-level "
               "determinism not enforced (parallel reductions may differ in the last bits)")


class Environment(Part):
    """report.json `environment`: where the runs were trained (the first run's record) and the
    study's seeds."""

    python: str
    keras: str
    backend: str
    backend_version: str | None  # None when the backend could not be asked
    numpy: str
    platform: str
    processor: str
    device: str
    determinism: str
    seeds: list[int]

    @classmethod
    def of_run(cls, recorded: dict[str, Any], seeds: list[int]) -> "Environment":
        """From a run record's `environment` (older records may lack backend_version)."""
        return cls.model_validate({**recorded, "backend_version": recorded.get("backend_version"),
                                   "seeds": seeds})


# ---------------------------------------------------------------------------------- environment


def environment() -> dict[str, Any]:
    """Versions, device and backend, recorded with every run."""
    keras = import_keras()
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
    env["determinism"] = DETERMINISM
    return env


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
