"""Test helpers that are not fixtures (the fixtures are in conftest.py): the one tiny-study
builder, data sets written in their exact on-disk formats, the CLI in process and in a
subprocess, and the shared trained study with its copies.

Every study a test writes comes from `study_toml`; its defaults are the design of the shared
trained study (conftest's `trained_study`), so a test that changes one setting of that study
changes exactly that setting.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnreport import cli  # noqa: E402,F401 - the command line the tests call in process
from cnnreport.backend import choose_default_backend  # noqa: E402
from cnnreport.data import sources as data  # noqa: E402

choose_default_backend()  # before a test imports Keras directly

REPO = Path(__file__).resolve().parent.parent

CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


# ----------------------------------------------------------------------------------- study files


def study_toml(*, name: str = "tiny", source: str = "fashion_mnist", seeds: str = "[0, 1]",
               train_subset: int | None = 600, val_subset: int | None = 200,
               test_subset: int | None = 500, data_extra: str = "", epochs: int = 2,
               batch_size: int = 64, learning_rate: str = "1e-3", hidden: str = "[32]",
               levels: str = "[1, 3, 5, 7]", author: str = "", text_dataset: str = "",
               interpretation: str = "", rationale: dict[str, str] | None = None,
               extra: str = "") -> str:
    """A tiny study: MLP 32 units; CNN of two 3×3 blocks (8 and 16 filters, 'same', max pool)
    and a 32-unit head; kernel 1/3/5/7 experiment. A subset of None leaves the key out; `extra`
    (TOML tables) goes last."""
    subsets = "".join(f"{key} = {value}\n" for key, value in (
        ("train_subset", train_subset), ("val_subset", val_subset), ("test_subset", test_subset))
        if value is not None)
    rationale_table = "".join(f'{k} = "{v}"\n' for k, v in (rationale or {}).items())
    return f'''
name = "{name}"
title = "Tiny <b>study</b>"
{f'author = "{author}"' if author else ""}
seeds = {seeds}

[data]
source = "{source}"
{subsets}{data_extra}

[training]
epochs = {epochs}
batch_size = {batch_size}
learning_rate = {learning_rate}

[baseline]
hidden = {hidden}

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
levels = {levels}

[text]
dataset = """{text_dataset}"""
interpretation = """{interpretation}"""
{"[text.rationale]" if rationale else ""}
{rationale_table}
{extra}
'''


def study_dict(**top_level: Any) -> dict[str, Any]:
    """`study_toml()` parsed, with top-level keys replaced (e.g. experiment={...}, seeds=[0])."""
    raw = tomllib.loads(study_toml())
    raw.update(top_level)
    return raw


def tiny_study(**top_level: Any):
    """`study_dict(**top_level)` validated into a Study (no file: `source` is <study>)."""
    from cnnreport.study.loading import study_from_dict

    return study_from_dict(study_dict(**top_level), None)


# ----------------------------------------------------------------- the shared trained study's text

# Study text goes into the HTML escaped and into report.json as written.
E2E_TEXT = "<script>alert('x')</script> & clothing"

# The interpretation cites the design's own numbers (the rubric check looks for cited results):
# CNN 80 + 1,168 + 25,120 + 330 = 26,698 parameters; MLP 784·32 + 32 + 330 = 25,450.
INTERPRETATION = (
    "The convolutional network has 26,698 parameters against 25,450 for the fully connected "
    "baseline, so any advantage it shows is not bought with capacity. Its inductive bias is "
    "locality: each kernel looks at a small neighbourhood of pixels, and the receptive field grows "
    "with depth. Weight sharing applies the same filter at every position, which makes the "
    "convolution translation equivariant and pooling adds some translation invariance. The "
    "baseline sees a flat vector of 784 pixels and must learn every shifted copy of a pattern "
    "separately. With only 600 training images and two epochs the comparison is noisy: the spread "
    "over two seeds is wide and none of the differences should be read as settled."
)

# One sentence per design decision the rubric asks to justify (10 of 10).
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

SHARED_TEXT: dict[str, Any] = {"author": "A. Student", "text_dataset": E2E_TEXT,
                               "interpretation": INTERPRETATION, "rationale": RATIONALE}

SHARED_SHAPE = (28, 28, 1)  # Fashion-MNIST images, as the endpoint receives them
SHARED_MODELS = ["mlp", "cnn · kernel 1×1", "cnn · kernel 3×3", "cnn · kernel 5×5", "cnn · kernel 7×7"]
# 5 models × 2 seeds, plus the locality probe: baseline and reference CNN on permuted pixels × 2 seeds.
SHARED_RUNS = 14


def shared_study_toml(**changes: Any) -> str:
    """The shared trained study's file, with `changes` (keywords of study_toml) applied."""
    return study_toml(**{**SHARED_TEXT, **changes})


@dataclass(frozen=True)
class TrainedStudy:
    """A folder holding tiny.toml, runs/ and reports/ of one real build of the shared study."""

    root: Path
    stdout: str = ""  # what the build printed (the original only; copies print nothing)

    @property
    def study_file(self) -> Path:
        return self.root / "tiny.toml"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def report_dir(self) -> Path:
        return self.reports / "tiny"

    @property
    def study_runs(self) -> Path:
        return self.runs / "tiny"

    def report(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "report.json").read_text(encoding="utf-8"))

    def study(self):
        from cnnreport.study.loading import load_study

        return load_study(self.study_file)

    def workspace(self):
        from cnnreport.train.workspace import Workspace

        return Workspace(runs_root=self.runs, reports_root=self.reports)

    def context(self, reports: Path | None = None):
        """The pipeline's context for this study (reports under `reports` when given)."""
        from cnnreport.pipeline import context_for
        from cnnreport.train.workspace import Workspace

        return context_for(self.study(), Workspace(runs_root=self.runs, reports_root=reports or self.reports))

    def copy_to(self, dest: Path) -> "TrainedStudy":
        """A copy (file times kept) for a test that changes runs or reports."""
        shutil.copytree(self.root, dest, dirs_exist_ok=True)
        return TrainedStudy(dest)


# ------------------------------------------------------------------------------ typed report parts


def model_summary(name: str, role: str = "variant", values: Any = (), *, params: int = 1000,
                  seeds: list[int] | None = None, **changes: Any):
    """A results.summaries.ModelSummary for unit tests: per-seed test accuracies `values`
    (seeds 0, 1, … unless given), every other part empty or neutral; `changes` replace fields."""
    from cnnreport.results.statistics import summarize
    from cnnreport.results.summaries import Curve, Curves, ModelSummary, SeedRun
    from cnnreport.study.specs import CNNSpec, ConvBlock, MLPSpec

    values = list(values)
    seeds = list(range(len(values))) if seeds is None else seeds
    empty = Curve(mean=[], std=[])
    fields = dict(
        name=name, role=role, kind="mlp" if role == "baseline" else "cnn", factor=None, level=None,
        arch=MLPSpec(hidden=(32,)) if role == "baseline" else CNNSpec(blocks=(ConvBlock(filters=8, kernel_size=3),)),
        params=params, flops=None, receptive_field=None, layers=[], seeds=seeds,
        run_ids=[f"{name}-s{s}" for s in seeds], diverged_seeds=[], test_accuracy=summarize(values),
        test_loss=summarize([]), best_val_accuracy=summarize([]), best_val_epoch=summarize([]),
        generalisation_gap=summarize([]), mean_epoch_s=None, train_time_s=summarize([]),
        predict_ms_per_image=None, activation_bytes=None,
        per_seed=[SeedRun(seed=s, diverged=False, test_accuracy=v, test_images=None, test_ci_low=None,
                          test_ci_high=None, test_loss=None, best_val_accuracy=None, best_val_epoch=None, gap=None,
                          train_time_s=0.0) for s, v in zip(seeds, values)],
        curves=Curves(loss=empty, val_loss=empty, accuracy=empty, val_accuracy=empty))
    fields.update(changes)
    return ModelSummary(**fields)


def curves(loss: list[float], val_loss: list[float] | None = None):
    """Curves with these mean training (and validation) losses, for the loss judgements."""
    from cnnreport.results.summaries import Curve, Curves

    def curve(values: list[float]) -> Curve:
        return Curve(mean=values, std=[0.0] * len(values))

    return Curves(loss=curve(loss), val_loss=curve(val_loss or []), accuracy=curve([]), val_accuracy=curve([]))


def report_model(report: dict[str, Any]):
    """A report.json value as the rubric reads it (rubric/report_json.ReportJson)."""
    from cnnreport.rubric.report_json import ReportJson

    return ReportJson.model_validate(report)


# ------------------------------------------------------------------------------------- reports


def copy_report(report: Path, dest: Path) -> Path:
    """A copy of the report folder alone (no runs/ beside it)."""
    shutil.copytree(report, dest)
    return dest


def edit_json(folder: Path, edit: Any, rerender: bool = True) -> dict[str, Any]:
    """Apply edit(report) to report.json and re-render HTML and PDF from it, as cnnreport would."""
    from cnnreport.files import write_json
    from cnnreport.report.html import render_html
    from cnnreport.report.pdf import render_pdf

    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    edit(report)
    write_json(folder / "report.json", report)
    if rerender:
        render_html(report_model(report), folder / "report.html")
        render_pdf(folder / "report.html", folder / "report.pdf")
    return report


def numbers_heavy(folder: Path, megabytes: float, seed: int = 0) -> Path:
    """A report folder whose interpretation is `megabytes` MB of four-decimal numbers (a results
    table pasted as prose), report.html rendered from it as cnnreport would; its PDF, which
    prints the original text, removed."""
    import random

    rng = random.Random(seed)
    text = " ".join(f"0.{rng.randrange(10_000):04d}" for _ in range(int(megabytes * 1e6 / 7)))
    edit_json(folder, lambda r: r["text"].update(interpretation=text), rerender=False)
    from cnnreport.report.html import render_html

    render_html(report_model(json.loads((folder / "report.json").read_text(encoding="utf-8"))), folder / "report.html")
    (folder / "report.pdf").unlink(missing_ok=True)
    return folder


# -------------------------------------------------------------------------- data in exact formats


def random_images(n: int = 6, h: int = 16, w: int = 16, c: int = 1, seed: int = 0) -> np.ndarray:
    """n uint8 images h×w×c of uniform noise."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


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
    for name in CIFAR_BATCHES:
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


def write_image_folder(root: Path, per_class: int = 12) -> Path:
    """A `folder` data set (train/<class>/*.png, test/<class>/*.png) of three classes a CNN can
    tell apart: dark, bright, vertical stripes; 12×12 RGB."""
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


# ------------------------------------------------------------------ a folder as students bring it

# Class names in four scripts: accents, Cyrillic, CJK, Arabic (the figures and the PDF draw them).
STUDENT_CLASSES = ("café", "кошка", "狗", "قطة")
STUDENT_SIZE = 16  # every image the folder test reads pixel by pixel is already this size


def _texture(rng: np.random.Generator, label: int, channels: int = 3, size: int = STUDENT_SIZE) -> np.ndarray:
    """A noisy uint8 image whose brightness depends on the class (never flat: a flat image's
    perceptual hash equals every other flat image's)."""
    level = (50, 110, 170, 220)[label]
    noise = rng.normal(0, 35, (size, size, channels))
    return np.clip(level + noise, 0, 255).astype(np.uint8)


def _save(array: np.ndarray, path: Path, mode: str | None = None, **params: Any) -> np.ndarray:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array)
    (image.convert(mode) if mode else image).save(path, **params)
    return array


@dataclass
class StudentFolder:
    """What `write_student_folder` wrote: the root, the expected pixels of files read exactly
    (relative path -> (16, 16, 3) uint8), and the files that must be skipped or ignored."""

    root: Path
    expected: dict[str, np.ndarray]
    near_expected: dict[str, np.ndarray]  # lossy (JPEG) files: expected within a few levels
    skipped: dict[str, str]  # relative path -> problem kind
    ignored: list[str]
    notes: dict[str, str]  # read with a note: relative path -> kind
    duplicate: tuple[str, str]  # (train file, its exact copy in test)
    near_duplicate: tuple[str, str]  # (train file, its re-encoded copy in test)


def write_student_folder(root: Path, per_class: int = 6, per_class_test: int = 3) -> StudentFolder:
    """A `folder` data set the way a student downloads one: train/ and test/ with a class folder
    per name in STUDENT_CLASSES, mostly 16×16 RGB PNGs, plus a file in every mode students' sets
    bring (8- and 16-bit grey, RGBA, palette with transparency, 1-bit, grey + alpha, CMYK and
    YCbCr JPEG, EXIF-rotated JPEG, animated GIF, a JPEG named .png), bad files (truncated PNG,
    zero-byte, a text file named .jpg, README.txt), junk (.DS_Store, Thumbs.db, __MACOSX/,
    .ipynb_checkpoints/, a stray README beside train/), and a train image copied into test
    (exact) and re-encoded into test (near)."""
    from PIL import Image

    rng = np.random.default_rng(18)
    expected: dict[str, np.ndarray] = {}
    near: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    notes: dict[str, str] = {}
    for part, n in (("train", per_class), ("test", per_class_test)):
        for label, cls in enumerate(STUDENT_CLASSES):
            for i in range(n):
                rel = f"{part}/{cls}/{i:02d}.png"
                expected[rel] = _save(_texture(rng, label), root / rel)
    grey = lambda a: np.repeat(a[..., None], 3, axis=-1)  # noqa: E731 - grey as the RGB the loader gives
    c0, c1, c2, c3 = (f"train/{c}" for c in STUDENT_CLASSES)

    # 8-bit and 16-bit grey: 16-bit scaled by 257, never clipped
    g8 = _texture(rng, 1, 1)[..., 0]
    expected[f"{c0}/grey8.png"] = grey(_save(g8, root / c0 / "grey8.png"))
    g16 = rng.integers(0, 65536, (STUDENT_SIZE, STUDENT_SIZE), dtype=np.uint16)
    g16[0, :4] = [0, 256, 65279, 65535]
    Image.fromarray(g16).save(root / c0 / "grey16.png")  # mode I;16: a 16-bit grey PNG
    expected[f"{c0}/grey16.png"] = grey(((g16.astype(np.int64) + 128) // 257).astype(np.uint8))
    # RGBA with transparent, half and opaque pixels, composited on white
    rgb, alpha = _texture(rng, 0), np.tile(np.array([0, 128, 255], np.uint8), STUDENT_SIZE * 6)[:STUDENT_SIZE ** 2]
    alpha = alpha.reshape(STUDENT_SIZE, STUDENT_SIZE)
    _save(np.dstack([rgb, alpha]), root / c0 / "rgba.png")
    a = alpha[..., None].astype(np.float64) / 255
    expected[f"{c0}/rgba.png"] = np.rint(rgb * a + 255 * (1 - a)).astype(np.uint8)
    # palette with one transparent entry
    index = rng.integers(0, 4, (STUDENT_SIZE, STUDENT_SIZE), dtype=np.uint8)
    palette = [(0, 0, 0), (200, 30, 40), (20, 180, 60), (40, 60, 220)]
    pal = Image.fromarray(index, "P")
    pal.putpalette([v for c in palette for v in c])
    pal.save(root / c0 / "palette.png", transparency=0)
    expected[f"{c0}/palette.png"] = np.where(index[..., None] == 0, 255, np.asarray(palette, np.uint8)[index]).astype(np.uint8)
    # CMYK and YCbCr JPEGs (lossy: expected within a few levels)
    cmyk = np.clip(rng.normal(60, 20, (STUDENT_SIZE, STUDENT_SIZE, 4)), 0, 255).astype(np.uint8)
    Image.fromarray(cmyk, "CMYK").save(root / c1 / "cmyk.jpg", quality=100)
    near[f"{c1}/cmyk.jpg"] = np.asarray(Image.fromarray(cmyk, "CMYK").convert("RGB"))
    ycc = np.clip(rng.normal(120, 25, (STUDENT_SIZE, STUDENT_SIZE, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(ycc).convert("YCbCr").save(root / c1 / "ycbcr.jpg", quality=100, subsampling=0)
    near[f"{c1}/ycbcr.jpg"] = ycc
    # EXIF orientation 6: stored 16 wide × 12 high, shown rotated 90° clockwise (12 × 16)
    stored = np.zeros((12, STUDENT_SIZE, 3), np.uint8)
    stored[:6] = 230  # bright top half: after the turn, the bright half is on the right
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(root / c1 / "rotated.jpg", quality=100, exif=exif.tobytes())
    # animated GIF: the first frame is used
    frames = [Image.fromarray(_texture(rng, 2, 1)[..., 0]) for _ in range(3)]
    frames[0].save(root / c2 / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    expected[f"{c2}/animated.gif"] = grey(np.asarray(frames[0]))
    notes[f"{c2}/animated.gif"] = "animated"
    # a JPEG named .png (read as what it is)
    lying = _texture(rng, 2)
    Image.fromarray(lying).save(root / c2 / "photo.png", format="JPEG", quality=100, subsampling=0)
    near[f"{c2}/photo.png"] = lying
    notes[f"{c2}/photo.png"] = "format_mismatch"
    # 1-bit and grey + alpha
    bits = rng.integers(0, 2, (STUDENT_SIZE, STUDENT_SIZE)).astype(bool)
    Image.fromarray(bits).save(root / c3 / "bw.png")
    expected[f"{c3}/bw.png"] = grey(np.where(bits, 255, 0).astype(np.uint8))
    la_grey, la_alpha = _texture(rng, 3, 1)[..., 0], np.where(rng.random((STUDENT_SIZE, STUDENT_SIZE)) < 0.5, 0, 255)
    Image.fromarray(np.dstack([la_grey, la_alpha]).astype(np.uint8), "LA").save(root / c3 / "grey_alpha.png")
    expected[f"{c3}/grey_alpha.png"] = grey(np.where(la_alpha == 0, 255, la_grey).astype(np.uint8))

    # bad files: skipped and listed
    good = (root / c0 / "00.png").read_bytes()
    (root / c0 / "truncated.png").write_bytes(good[: len(good) // 2])
    skipped[f"{c0}/truncated.png"] = "undecodable"
    (root / c1 / "empty.jpg").write_bytes(b"")
    skipped[f"{c1}/empty.jpg"] = "empty"
    (root / c2 / "notes.jpg").write_text("not a picture at all", encoding="utf-8")
    skipped[f"{c2}/notes.jpg"] = "not_an_image"
    (root / c2 / "README.txt").write_text("where these images came from", encoding="utf-8")
    skipped[f"{c2}/README.txt"] = "not_image_extension"
    # junk: never classes or images, listed as ignored
    (root / c0 / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "train" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    _save(_texture(rng, 0), root / "train" / ".ipynb_checkpoints" / "00-checkpoint.png")
    (root / "__MACOSX" / "train" / STUDENT_CLASSES[0]).mkdir(parents=True)
    (root / "__MACOSX" / "train" / STUDENT_CLASSES[0] / "._00.png").write_bytes(b"\0\5\26\7")
    (root / "README.txt").write_text("downloaded from a data-set site", encoding="utf-8")
    ignored = [f"{c0}/.DS_Store", "train/Thumbs.db", "train/.ipynb_checkpoints/", "__MACOSX/", "README.txt"]

    # a train image copied into test (exact) and re-encoded there (near): leakage
    dup = (f"{c2}/{per_class - 1:02d}.png", f"test/{STUDENT_CLASSES[2]}/copied.png")
    (root / dup[1]).write_bytes((root / dup[0]).read_bytes())
    expected[dup[1]] = expected[dup[0]]
    near_dup = (f"{c3}/{per_class - 1:02d}.png", f"test/{STUDENT_CLASSES[3]}/resaved.jpg")
    Image.fromarray(expected[near_dup[0]]).save(root / near_dup[1], quality=95)
    near[near_dup[1]] = expected[near_dup[0]]
    return StudentFolder(root, expected, near, skipped, ignored, notes, dup, near_dup)


# ------------------------------------------------------------------------------------ the CLI


def run_cli(args: list[Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
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


def pdf_text(path: Path) -> str:
    """A PDF's text as pdftotext lays it out (pypdf where poppler is not installed)."""
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


NO_NODE = ("html-validate is not installed (it needs node and npm: `make test` installs it into "
           ".venv/node where they exist); the html-validate check of report.html is skipped")


def html_validate() -> str | None:
    """The html-validate command: $HTML_VALIDATE, the one `make test` installs, or one on PATH."""
    for candidate in (os.environ.get("HTML_VALIDATE"), str(REPO / ".venv/node/node_modules/.bin/html-validate"),
                      shutil.which("html-validate")):
        if candidate and Path(candidate).is_file() and shutil.which("node"):
            return candidate
    return None


def html_validate_messages(html: Path, tmp_path: Path) -> tuple[list[str], str]:
    """(messages, problem) of html-validate's recommended preset on `html`; skips without node."""
    tool = html_validate()
    if tool is None:
        pytest.skip(NO_NODE)
    out = tmp_path / "result.json"
    # The JSON goes to a file: node may exit before a large result piped to stdout is flushed.
    run = subprocess.run([tool, "--preset", "recommended", "--formatter", f"json={out}", str(html)],
                         capture_output=True, text=True, timeout=120)
    messages = [f"{m['line']}:{m['column']} {m['ruleId']} {m['message']}"
                for f in json.loads(out.read_text() or "[]") for m in f["messages"]]
    return messages, "" if run.returncode == 0 else run.stderr


# TensorFlow's C++ start-up lines reach stderr before Python runs (absl); they are not ours.
TF_NOISE_PREFIXES = ("WARNING: All log messages before absl", "I0000", "W0000", "E0000")


def own_stderr_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith(TF_NOISE_PREFIXES)]


# ----------------------------------------------------------------------- the CLI in a subprocess


@dataclass
class Started:
    """`cnnreport …` running in a subprocess, its stdout and stderr going to `log`."""

    proc: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, ready: Any, deadline_s: float = 300, poll_s: float = 0.001) -> None:
        """Poll until ready(output) holds; fails if the process ends first (a bound, not a timing check)."""
        import time

        deadline = time.monotonic() + deadline_s
        while not ready(self.output()):
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, f"never ready:\n{self.output()}"
            time.sleep(poll_s)

    def finish(self, timeout_s: float = 300) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=timeout_s)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return code, self.output()


def start_cli(args: list[Any], log: Path, cwd: Path, **env: str) -> Started:
    """`python -m cnnreport.cli ARGS` in the background (stdout and stderr to `log`)."""
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cnnreport.cli", *map(str, args)], stdout=out,
                                stderr=subprocess.STDOUT, env=subprocess_env(**env), cwd=cwd)
    return Started(proc, log)


def remove_model_runs(trained: "TrainedStudy", level: int) -> list[str]:
    """Delete a copy's runs of one level of the experiment (to train them again); their ids."""
    removed = [r for m in trained.report()["models"] if m["level"] == level for r in m["run_ids"]]
    for run_id in removed:
        shutil.rmtree(trained.study_runs / run_id)
    return removed
