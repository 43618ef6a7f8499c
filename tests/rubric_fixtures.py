"""A real (tiny) report, built once per test session, and helpers to make defective copies of it.

Fashion-MNIST from the system's packaged copy: 300 training images, 2 epochs, 2 seeds, the
kernel-size experiment with 4 levels — about a minute on a 2-core CPU.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

INTERPRETATION = (
    "The convolutional network has 26,698 parameters against 25,450 for the fully connected "
    "baseline, so any advantage it shows is not bought with capacity. Its inductive bias is "
    "locality: each kernel looks at a small neighbourhood of pixels, and the receptive field grows "
    "with depth. Weight sharing applies the same filter at every position, which makes the "
    "convolution translation equivariant and pooling adds some translation invariance. The "
    "baseline sees a flat vector of 784 pixels and must learn every shifted copy of a pattern "
    "separately. With only 300 training images and two epochs the comparison is noisy: the spread "
    "over two seeds is wide and none of the differences should be read as settled."
)

RATIONALE = {
    "conv_layers": "Two blocks take the 28 pixel image to 7 pixels.",
    "kernel_size": "3x3 is the smallest kernel with a centre.",
    "filters": "8 then 16 filters: double as the resolution halves.",
    "stride": "Stride 1: pooling does the downsampling.",
    "padding": "Same padding keeps the border pixels.",
    "activation": "ReLU trains fast and does not saturate.",
    "pooling": "Max pooling keeps the strongest response.",
    "dense_head": "One small dense layer before the classifier.",
    "regularisation": "None: two epochs do not overfit.",
    "optimizer": "Adam at 1e-3 needs no tuning here.",
}


def tiny_study_text(name: str = "tiny", seeds: tuple[int, ...] = (0, 1)) -> str:
    rationale = "\n".join(f'{k} = "{v}"' for k, v in RATIONALE.items())
    return f'''
name = "{name}"
title = "Tiny rubric study"
author = "A. Student"
seeds = {list(seeds)}
[data]
source = "fashion_mnist"
train_subset = 300
val_subset = 100
test_subset = 200
[training]
epochs = 2
batch_size = 64
learning_rate = 2e-3
[baseline]
hidden = [32]
[cnn]
dense = [32]
[[cnn.blocks]]
filters = 8
kernel_size = 3
[[cnn.blocks]]
filters = 16
kernel_size = 3
[experiment]
factor = "kernel_size"
levels = [1, 3, 5, 7]
[text]
dataset = "Fashion-MNIST: ten balanced classes of 28x28 grey clothing images; shirts and T-shirts look alike."
interpretation = """{INTERPRETATION}"""
[text.rationale]
{rationale}
'''


def build_tiny(root: Path) -> Path:
    """Train and render the tiny study under root/ (runs/ and reports/); returns the report folder."""
    from cnnreport.data.sources import system_copy
    from cnnreport.pipeline import Workspace, render, train
    from cnnreport.study.loading import load_study

    if system_copy("fashion_mnist") is None:
        pytest.skip("needs the packaged Fashion-MNIST (Debian dataset-fashion-mnist)")
    path = root / "tiny.toml"
    path.write_text(tiny_study_text(), encoding="utf-8")
    study = load_study(path)
    ws = Workspace(runs_root=root / "runs", reports_root=root / "reports")
    train(study, ws, echo=lambda _m: None)
    render(study, ws, echo=lambda _m: None)
    return ws.report_dir(study)


def copy_report(report: Path, dest: Path) -> Path:
    """A copy of the report folder alone (no runs/ beside it)."""
    shutil.copytree(report, dest)
    return dest


def edit_json(folder: Path, edit: Any, rerender: bool = True) -> dict[str, Any]:
    """Apply edit(report) to report.json and re-render HTML and PDF from it, as cnnreport would."""
    from cnnreport.report.html import render_html
    from cnnreport.report.pdf import render_pdf
    from cnnreport.files import write_json

    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    edit(data)
    write_json(folder / "report.json", data)
    if rerender:
        render_html(data, folder / "report.html")
        render_pdf(folder / "report.html", folder / "report.pdf")
    return data


@pytest.fixture(scope="session")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tiny report (reports/tiny beside runs/tiny), built once per session."""
    return build_tiny(tmp_path_factory.mktemp("tiny"))
