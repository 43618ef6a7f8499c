"""Which Keras backend, and Keras imported quietly.

TensorFlow is the default backend where it is installed (faster on a CPU, and needed for the
SavedModel export); JAX where TensorFlow is absent, and JAX where a GPU is visible and JAX has
its CUDA plugin (`pip install 'cnnreport[gpu]'`): there the seeds of each architecture train as
one vmapped program (train/batched.py). Keras is imported only by the commands that need it:
`render` imports it only when its cache misses (cnnreport/memo.py).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes are not the user's concern


GPU_INSTALL = "pip install 'cnnreport[gpu]'"  # JAX with CUDA; TensorFlow stays for the export
# The module each CUDA build of JAX installs (jax-cuda12-plugin, jax-cuda13-plugin).
JAX_CUDA_PLUGINS = ("jax_cuda12_plugin", "jax_cuda13_plugin")


def gpu_visible() -> bool:
    """Whether the machine has an NVIDIA GPU, whatever the installed backends can do with it
    (the driver lists each GPU under /proc/driver/nvidia/gpus; /dev/nvidia0 in containers)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    try:
        if gpus.is_dir() and any(gpus.iterdir()):
            return True
    except OSError:
        pass
    return Path("/dev/nvidia0").exists()


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def choose_default_backend() -> None:
    """KERAS_BACKEND, unless the user set it: JAX where a GPU is visible and JAX has its CUDA
    plugin, or where TensorFlow is missing; else TensorFlow. Must run before `import keras`."""
    if "KERAS_BACKEND" in os.environ:
        return
    jax_cuda = _installed("jax") and any(_installed(m) for m in JAX_CUDA_PLUGINS)
    if (jax_cuda and gpu_visible()) or (not _installed("tensorflow") and _installed("jax")):
        os.environ["KERAS_BACKEND"] = "jax"


def import_keras() -> Any:
    """Import Keras (and its backend) with the C++ runtime's start-up lines (absl, oneDNN) kept
    off stderr: they are not the user's concern, and an error must stay one line. Should the
    import fail, what it printed is shown after all."""
    choose_default_backend()
    if "keras" in sys.modules:
        return sys.modules["keras"]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return sys.modules["keras"]
