"""Import Keras without the C++ runtime's start-up chatter: for the CLI and for render, which
imports Keras only when a memo misses (memo.py)."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes are not the user's concern


def import_keras() -> Any:
    """Import Keras (and its backend) with the C++ runtime's start-up lines (absl, oneDNN) kept
    off stderr: they are not the user's concern, and an error must stay one line. Should the
    import fail, what it printed is shown after all."""
    import tempfile

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
