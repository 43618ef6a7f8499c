"""Which Keras backend, and Keras imported quietly.

TensorFlow is the default backend where it is installed (faster on a CPU, and needed for the
SavedModel export); JAX where it is absent (a GPU machine may have JAX with CUDA and no
TensorFlow). Keras is imported only by the commands that need it: `render` imports it only when
its cache misses (report/cache.py).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes are not the user's concern


def choose_default_backend() -> None:
    """Set KERAS_BACKEND=jax when TensorFlow is missing and JAX is there; an explicit
    KERAS_BACKEND always wins. Must run before the first `import keras`."""
    import importlib.util

    if "KERAS_BACKEND" in os.environ:
        return
    if importlib.util.find_spec("tensorflow") is None and importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = "jax"


def import_keras() -> Any:
    """Import Keras (and its backend) with the C++ runtime's start-up lines (absl, oneDNN) kept
    off stderr: they are not the user's concern, and an error must stay one line. Should the
    import fail, what it printed is shown after all."""
    import tempfile

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
