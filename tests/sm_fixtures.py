"""A tiny study on a synthetic image folder, trained for real (1 epoch), for the endpoint tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TOML = """
name = "tiny-endpoint"
title = "tiny"
seeds = [0, 1]
[data]
source = "folder"
path = "{data}"
image_size = [12, 12]
val_fraction = 0.2
[training]
epochs = 1
batch_size = 16
learning_rate = 0.01
[baseline]
hidden = [8]
[cnn]
dense = []
[[cnn.blocks]]
filters = 4
kernel_size = 3
[experiment]
factor = "kernel_size"
levels = [1, 3]
"""


def write_folder(root: Path, per_class: int = 12) -> Path:
    """Three classes a CNN can tell apart: dark, bright, vertical stripes (grey PNGs)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for part, n in (("train", per_class), ("test", max(4, per_class // 3))):
        for cls in ("bright", "dark", "stripes"):
            (root / part / cls).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                noise = rng.integers(0, 40, (12, 12))
                img = {"dark": noise, "bright": 215 + noise,
                       "stripes": np.where(np.arange(12) % 2, 230, 20)[None, :].repeat(12, 0) + noise // 4}[cls]
                Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).convert("RGB").save(
                    root / part / cls / f"{i}.png")
    return root


def make_study(tmp: Path):
    from cnnreport.study.loading import load_study

    data = write_folder(tmp / "data")
    path = tmp / "tiny.toml"
    path.write_text(TOML.format(data=data.as_posix()))
    return load_study(path), path


def trained_study(tmp: Path):
    """The tiny study, trained into tmp/runs: (study, its file, the workspace)."""
    from cnnreport.pipeline import Workspace, train

    study, path = make_study(tmp)
    ws = Workspace(runs_root=tmp / "runs", reports_root=tmp / "reports")
    train(study, ws, echo=lambda m: None)
    return study, path, ws
