"""A GPU the backend cannot use is said before training, with the command that fixes it; with
JAX's CUDA plugin and a GPU, JAX is the default backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomllib

from cnnreport import backend
from cnnreport.train import levers

REPO = Path(__file__).resolve().parent.parent


def test_the_gpu_extra_installs_jax_with_cuda_and_the_warning_names_it() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(req.startswith("jax[cuda") for req in extras["gpu"])
    assert "cnnreport[gpu]" in backend.GPU_INSTALL


def test_a_visible_gpu_the_backend_cannot_use_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "gpu_visible", lambda: True)
    monkeypatch.setattr(levers, "accelerator", lambda: "cpu")
    warning = levers.unused_gpu_warning()
    assert warning and "cannot use it" in warning and backend.GPU_INSTALL in warning
    monkeypatch.setattr(levers, "accelerator", lambda: "gpu")
    assert levers.unused_gpu_warning() is None
    monkeypatch.setattr(backend, "gpu_visible", lambda: False)
    monkeypatch.setattr(levers, "accelerator", lambda: "cpu")
    assert levers.unused_gpu_warning() is None  # no GPU: nothing to say


def test_build_says_it_before_training(monkeypatch: pytest.MonkeyPatch, write_study, tmp_path, capsys) -> None:
    from cnnreport import cli

    monkeypatch.setattr(levers, "unused_gpu_warning", lambda: "a GPU is visible but …")
    seen = []

    def first_step_of_training(*args, **kwargs):  # what comes first after the warning; then stop
        seen.append(capsys.readouterr().err)
        raise KeyboardInterrupt

    monkeypatch.setattr("cnnreport.pipeline.estimate_full_profile_on_cpu", first_step_of_training)
    study = write_study()
    code = cli.main(["train", "--study", str(study), "--runs-dir", str(tmp_path / "runs")])
    assert code == 130 and seen and "cnnreport: WARNING: a GPU is visible" in seen[0]


@pytest.mark.parametrize("gpu, plugin, tensorflow, expected", [
    (True, True, True, "jax"),       # a GPU and JAX with CUDA: JAX
    (False, True, True, None),       # no GPU: TensorFlow stays the default
    (True, False, True, None),       # a GPU, but JAX without CUDA: nothing gained by switching
    (False, False, False, "jax"),    # no TensorFlow at all: JAX
])
def test_default_backend(monkeypatch: pytest.MonkeyPatch, gpu: bool, plugin: bool, tensorflow: bool,
                         expected: str | None) -> None:
    # setenv first records the variable's original state, so teardown restores it exactly.
    monkeypatch.setenv("KERAS_BACKEND", "unset-by-this-test")
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setattr(backend, "gpu_visible", lambda: gpu)
    installed = {"jax": True, "tensorflow": tensorflow, backend.JAX_CUDA_PLUGINS[0]: plugin}
    monkeypatch.setattr(backend, "_installed", lambda m: installed.get(m, False))
    backend.choose_default_backend()
    assert os.environ.get("KERAS_BACKEND") == expected
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    backend.choose_default_backend()
    assert os.environ["KERAS_BACKEND"] == "tensorflow"  # the user's choice wins
