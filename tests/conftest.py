"""Shared fixtures: tiny study files, data sets written in their exact on-disk formats, and one
real tiny build (session-scoped) that the end-to-end tests share.

Synthetic data is small on purpose: unit tests never train. The end-to-end tests train on a real
Fashion-MNIST subset (Debian's dataset-fashion-mnist) and skip with a reason where it is absent.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnreport import cli  # noqa: E402
from cnnreport.data import sources as data  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


# ----------------------------------------------------------------------------------- study files


def study_toml(*, name: str = "tiny", source: str = "fashion_mnist", seeds: str = "[0, 1]",
               train_subset: int = 600, val_subset: int = 200, test_subset: int = 500,
               epochs: int = 1, hidden: str = "[32]", levels: str = "[1, 3, 5, 7]",
               text_dataset: str = "", extra: str = "") -> str:
    """A tiny study: 1 epoch, MLP 32 units, one 4-filter conv block; kernel 1/3/5/7 experiment."""
    return f'''
name = "{name}"
title = "Tiny <b>study</b>"
seeds = {seeds}

[data]
source = "{source}"
train_subset = {train_subset}
val_subset = {val_subset}
test_subset = {test_subset}

[training]
epochs = {epochs}
batch_size = 64
learning_rate = 1e-3

[baseline]
hidden = {hidden}

[cnn]
dense = []
[[cnn.blocks]]
filters = 4
kernel_size = 3

[experiment]
factor = "kernel_size"
levels = {levels}

[text]
dataset = """{text_dataset}"""
{extra}
'''


@pytest.fixture
def write_study(tmp_path: Path):
    """Write a study file from keyword settings (see study_toml) and return its path."""

    def write(filename: str = "study.toml", **settings: Any) -> Path:
        path = tmp_path / filename
        path.write_text(study_toml(**settings), encoding="utf-8")
        return path

    return write


# -------------------------------------------------------------------------- data in exact formats


def index_images(n: int, shape: tuple[int, ...], offset: int = 0) -> np.ndarray:
    """uint8 images whose first pixel encodes their index (mod 256) and whose other pixels differ."""
    rng = np.random.default_rng(offset + n)
    x = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    x.reshape(n, -1)[:, 0] = (np.arange(n) + offset) % 256
    return x


def write_idx_folder(folder: Path, n_train: int = 120, n_test: int = 40) -> dict[str, np.ndarray]:
    """The four MNIST / Fashion-MNIST IDX .gz files; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": index_images(n_train, (28, 28)),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": index_images(n_test, (28, 28), offset=1000),
        "test_labels": ((np.arange(n_test) * 3) % 10).astype(np.uint8),
    }
    for key, fname in data.IDX_FILES.items():
        data.write_idx(folder / fname, arrays[key])
    return arrays


def cifar_batch_bytes(images: np.ndarray, labels: np.ndarray, batch_label: str = "batch",
                      protocol: int = 2) -> bytes:
    """One CIFAR-10 python batch as published: a protocol-2 pickle of a dict with bytes keys;
    `data` is uint8 (N, 3072): 1024 red, then 1024 green, then 1024 blue values, rows of 32."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    return pickle.dumps({b"batch_label": batch_label.encode(), b"labels": [int(v) for v in labels],
                         b"data": np.ascontiguousarray(rows, dtype=np.uint8),
                         b"filenames": [f"img_{i}.png".encode() for i in range(len(images))]},
                        protocol=protocol)


def write_cifar_archive(folder: Path, per_batch: int = 30, n_test: int = 40,
                        members: dict[str, bytes] | None = None) -> dict[str, np.ndarray]:
    """cifar-10-python.tar.gz holding cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}.

    `members` replaces the named batches' bytes (for corrupt-file tests). Returns the arrays."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(10)
    xs, ys = [], []
    content: dict[str, bytes] = {}
    for i, name in enumerate(CIFAR_BATCHES):
        n = n_test if name == "test_batch" else per_batch
        x = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        x[:, 0, 0, :] = [10, 128, 250]  # a pixel whose channels are told apart
        y = rng.integers(0, 10, size=n)
        xs.append(x)
        ys.append(y)
        content[name] = cifar_batch_bytes(x, y, name)
    content["batches.meta"] = pickle.dumps({b"label_names": [c.encode() for c in data.CIFAR10_CLASSES],
                                            b"num_cases_per_batch": per_batch, b"num_vis": 3072})
    content.update(members or {})
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, raw in content.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return {"x_train": np.concatenate(xs[:5]), "y_train": np.concatenate(ys[:5]),
            "x_test": xs[5], "y_test": ys[5]}


@pytest.fixture
def idx_dir(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    folder = tmp_path / "fashion"
    return folder, write_idx_folder(folder)


@pytest.fixture
def cifar_dir(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    folder = tmp_path / "cifar"
    return folder, write_cifar_archive(folder)


# ------------------------------------------------------------------------------------ the CLI


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """cnnreport.cli.main in process; returns (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for `python -m cnnreport.cli` in a subprocess: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


# TensorFlow's C++ start-up lines reach stderr before Python runs (absl); they are not ours.
TF_NOISE_PREFIXES = ("WARNING: All log messages before absl", "I0000", "W0000", "E0000")


def own_stderr_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith(TF_NOISE_PREFIXES)]


# --------------------------------------------------------------------- the shared real tiny build


@pytest.fixture(scope="session")
def fashion_copy() -> Path:
    found = data.system_copy("fashion_mnist")
    if found is None:
        pytest.skip("Debian's Fashion-MNIST (package dataset-fashion-mnist) is not installed")
    return found


E2E_TEXT = "<script>alert('x')</script> & clothing"


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory, fashion_copy: Path) -> dict[str, Any]:
    """One real `cnnreport build` of the tiny study on a Fashion-MNIST subset (1 epoch, 2 seeds,
    MLP + 4 kernel sizes = 10 runs). Tests that change runs work on a copy of `runs`."""
    root = tmp_path_factory.mktemp("e2e")
    study = root / "tiny.toml"
    study.write_text(study_toml(text_dataset=E2E_TEXT), encoding="utf-8")
    runs, reports = root / "runs", root / "reports"
    out, err = io.StringIO(), io.StringIO()  # capsys is function-scoped: capture by hand
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["build", "--study", str(study), "--runs-dir", str(runs),
                         "--reports-dir", str(reports)])
    assert code == 0, err.getvalue()
    return {"root": root, "study": study, "runs": runs, "reports": reports,
            "report_dir": reports / "tiny", "stdout": out.getvalue()}
