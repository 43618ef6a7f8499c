"""Training levers follow the device: towers, steps per execution, XLA, feed and precision."""

from __future__ import annotations

from cnnreport.train import levers


def test_levers_follow_the_device(monkeypatch):
    monkeypatch.delenv("CNNREPORT_PRECISION", raising=False)
    monkeypatch.delenv("CNNREPORT_TOWERS", raising=False)
    gpu = levers.choose_for_device("gpu", "jax", "mixed_bfloat16")
    assert gpu.max_towers > 1 and gpu.steps_per_execution > 1 and gpu.jit_compile is True
    cpu = levers.choose_for_device("cpu", "tensorflow", "float32")
    assert cpu.max_towers == 1 and cpu.jit_compile is False  # XLA made a small CNN 2× slower here
    assert cpu.feed == "batches" and gpu.feed == "fit"  # fit's iterator idles a CPU core; spe needs fit
    assert levers.choose_for_device("cpu", "jax", "float32").feed == "fit"
    monkeypatch.setattr(levers, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(levers, "accelerator", lambda: "cpu")
    assert levers.choose("auto").precision == "float32"
    monkeypatch.setattr(levers, "cpu_has_native_bf16", lambda: True)
    assert levers.choose("auto").precision == "mixed_bfloat16"
    assert levers.choose("float32").precision == "float32"  # a study can refuse bf16
    monkeypatch.setenv("CNNREPORT_TOWERS", "3")
    assert levers.choose("auto").max_towers == 3
