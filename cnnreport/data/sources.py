"""Data set sources: the original archives (CIFAR-10/100 python tarballs, MNIST / Fashion-MNIST
IDX files), a system copy (Debian's dataset-fashion-mnist), a folder of images, and Keras's
own loaders (downloaded and cached on a user's machine). Each returns a `Dataset`; a corrupt or
missing file is a UserError that names it.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import shutil
import socket
import struct
import subprocess
import tarfile
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cnnreport.backend import import_keras
from cnnreport.data.dataset import Dataset
from cnnreport.data.folder import load_image_folder
from cnnreport.errors import UserError
from cnnreport.study.specs import DataSpec

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MNIST_CLASSES = [str(d) for d in range(10)]
CIFAR100_CLASSES = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus "
    "butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch "
    "crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo "
    "keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse "
    "mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy "
    "porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper "
    "snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television "
    "tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm"
).split()

DISPLAY_NAMES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "mnist": "MNIST",
                 "fashion_mnist": "Fashion-MNIST", "folder": "image folder"}

IDX_FILES = {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
             "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}
SYSTEM_PACKAGES = {"fashion_mnist": ("dataset-fashion-mnist", "fashion-mnist"),
                   "mnist": ("dataset-mnist", "mnist")}
DOWNLOAD_TIMEOUT_S = 60


# ----------------------------------------------------------------------------------- file formats


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or plain) as a uint8 array; a corrupt file is a UserError naming it."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: damaged deflate data mid-stream
        raise UserError(f"{path}: not a readable IDX file ({_reason(exc)})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise UserError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    if ndim not in (1, 3) or len(raw) < 4 + 4 * ndim:
        raise UserError(f"{path}: IDX header names {ndim} dimensions; expected 1 (labels) or 3 (images)")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    expected = math.prod(dims)  # Python ints: np.prod wraps around in int64 for crafted headers
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise UserError(f"{path}: IDX header says {dims} ({expected} bytes) but the file holds {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write uint8 data in IDX format (gzip when the name ends in .gz): for tests and fixtures."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def load_idx_folder(folder: Path, name: str, class_names: list[str]) -> Dataset:
    parts = {key: read_idx(folder / fname) for key, fname in IDX_FILES.items()}
    for split in ("train", "test"):
        n_img, n_lab = len(parts[f"{split}_images"]), len(parts[f"{split}_labels"])
        if n_img != n_lab:
            raise UserError(f"{folder}: {n_img} {split} images but {n_lab} labels")
    train_shape, test_shape = parts["train_images"].shape[1:], parts["test_images"].shape[1:]
    if train_shape != test_shape or 0 in train_shape:
        raise UserError(f"{folder}: training images are {'×'.join(map(str, train_shape))} pixels and test "
                        f"images {'×'.join(map(str, test_shape))}; expected one size, at least 1×1")
    labels = np.concatenate([parts["train_labels"], parts["test_labels"]])
    if len(labels) and labels.max() >= len(class_names):
        raise UserError(f"{folder}: label {int(labels.max())} out of range for {len(class_names)} classes")
    return Dataset(name, class_names,
                   parts["train_images"][..., None], parts["train_labels"].astype(np.int64),
                   parts["test_images"][..., None], parts["test_labels"].astype(np.int64),
                   origin=str(folder))


class _ArrayUnpickler(pickle.Unpickler):
    """CIFAR batches are pickles: allow only what they hold (dicts, lists, numpy arrays)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"),
               # Batches re-pickled by Python 3: bytes at protocol 2, arrays at protocol 5.
               ("_codecs", "encode"),
               ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected object {module}.{name}")


def _reason(exc: BaseException) -> str:
    """An exception's message on one line (tarfile lists one line per method it tried)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _unpickle(raw: bytes, where: str) -> dict[bytes, Any]:
    try:
        obj = _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # any damage in a pickle surfaces as one of many exception types
        raise UserError(f"{where}: not a CIFAR python batch ({type(exc).__name__}: {_reason(exc)})") from None
    if not isinstance(obj, dict):
        raise UserError(f"{where}: not a CIFAR python batch (expected a dict)")
    return obj


def _cifar_images(batch: dict[bytes, Any], where: str, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except KeyError as exc:
        raise UserError(f"{where}: CIFAR batch lacks the key {exc.args[0]!r}") from None
    except (TypeError, ValueError, OverflowError) as exc:  # values that are not uint8 pixels / int labels
        raise UserError(f"{where}: CIFAR batch holds values that are not pixels and labels ({_reason(exc)})") from None
    if labels.ndim != 1 or data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise UserError(f"{where}: expected data of shape (N, 3072) and N labels, "
                        f"got data {data.shape} and labels {labels.shape}")
    # Stored as N × (1024 red, 1024 green, 1024 blue), rows of 32 pixels.
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def _read_cifar_members(source: Path, names: list[str]) -> dict[str, bytes]:
    """Batch files from an extracted folder or straight out of the .tar.gz archive."""
    if source.is_dir():
        out = {}
        for n in names:
            if not (source / n).is_file():
                raise UserError(f"{source}: missing {n}")
            out[n] = (source / n).read_bytes()
        return out
    try:
        with tarfile.open(source, "r:*") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            out = {}
            for n in names:
                if n not in members:
                    raise UserError(f"{source}: archive has no {n}")
                out[n] = tar.extractfile(members[n]).read()  # type: ignore[union-attr]
            return out
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise UserError(f"{source}: not a readable .tar.gz archive ({_reason(exc)})") from None


def load_cifar10_python(source: Path) -> Dataset:
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    raw = _read_cifar_members(source, names)
    parts = [_cifar_images(_unpickle(raw[n], f"{source}:{n}"), f"{source}:{n}", b"labels") for n in names]
    x_train = np.concatenate([p[0] for p in parts[:5]])
    y_train = np.concatenate([p[1] for p in parts[:5]])
    _check_labels(source, np.concatenate([y_train, parts[5][1]]), 10)
    return Dataset("cifar10", CIFAR10_CLASSES, x_train, y_train, parts[5][0], parts[5][1], origin=str(source))


def load_cifar100_python(source: Path) -> Dataset:
    raw = _read_cifar_members(source, ["train", "test"])
    x_train, y_train = _cifar_images(_unpickle(raw["train"], f"{source}:train"), f"{source}:train", b"fine_labels")
    x_test, y_test = _cifar_images(_unpickle(raw["test"], f"{source}:test"), f"{source}:test", b"fine_labels")
    _check_labels(source, np.concatenate([y_train, y_test]), 100)
    return Dataset("cifar100", CIFAR100_CLASSES, x_train, y_train, x_test, y_test, origin=str(source))


def _check_labels(where: Path, labels: np.ndarray, n: int) -> None:
    if len(labels) and (labels.min() < 0 or labels.max() >= n):
        raise UserError(f"{where}: labels outside 0..{n - 1}")


# ----------------------------------------------------------------------------------- finding data


def system_copy(source: str) -> Path | None:
    """A packaged copy of the data set (Debian's dataset-fashion-mnist), found, not assumed."""
    if source not in SYSTEM_PACKAGES:
        return None
    package, folder_name = SYSTEM_PACKAGES[source]
    wanted = IDX_FILES["train_images"]
    if shutil.which("dpkg"):
        try:
            listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True,
                                     timeout=20).stdout.splitlines()
        except (OSError, subprocess.SubprocessError):
            listing = []
        for line in listing:
            if line.endswith("/" + wanted) and Path(line).is_file():
                return Path(line).parent
    for data_dir in os.environ.get("XDG_DATA_DIRS", "/usr/local/share:/usr/share").split(":"):
        candidate = Path(data_dir) / "datasets" / folder_name
        if (candidate / wanted).is_file():
            return candidate
    return None


def _from_data_dir(source: str, data_dir: Path) -> Dataset | None:
    if source in ("mnist", "fashion_mnist"):
        present = [f for f in IDX_FILES.values() if (data_dir / f).is_file()]
        if len(present) == len(IDX_FILES):
            classes = FASHION_CLASSES if source == "fashion_mnist" else MNIST_CLASSES
            return load_idx_folder(data_dir, source, classes)
        if present:  # a half-copied folder is a mistake to report, not a reason to look elsewhere
            missing = [f for f in IDX_FILES.values() if f not in present]
            raise UserError(f"{data_dir}: has {', '.join(present)} but not {', '.join(missing)}")
    elif source == "cifar10":
        for candidate in (data_dir / "cifar-10-python.tar.gz", data_dir / "cifar-10-batches-py", data_dir):
            if candidate.is_file() or (candidate.is_dir() and (candidate / "data_batch_1").is_file()):
                return load_cifar10_python(candidate)
    elif source == "cifar100":
        for candidate in (data_dir / "cifar-100-python.tar.gz", data_dir / "cifar-100-python", data_dir):
            if candidate.is_file() or (candidate.is_dir() and (candidate / "train").is_file()):
                return load_cifar100_python(candidate)
    return None


EXPECTED_FILES = {
    "cifar10": "cifar-10-python.tar.gz (or its extracted cifar-10-batches-py/)",
    "cifar100": "cifar-100-python.tar.gz (or its extracted cifar-100-python/)",
    "mnist": ", ".join(IDX_FILES.values()),
    "fashion_mnist": ", ".join(IDX_FILES.values()),
}


def _keras_loader(source: str) -> Dataset:
    """Keras's own loader: reads its cache in ~/.keras/datasets, downloads when missing."""
    datasets = import_keras().datasets
    loader = {"cifar10": datasets.cifar10, "cifar100": datasets.cifar100,
              "mnist": datasets.mnist, "fashion_mnist": datasets.fashion_mnist}[source]
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # an offline machine should fail, not hang
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    finally:
        socket.setdefaulttimeout(previous)
    if x_train.ndim == 3:
        x_train, x_test = x_train[..., None], x_test[..., None]
    classes = {"cifar10": CIFAR10_CLASSES, "cifar100": CIFAR100_CLASSES, "mnist": MNIST_CLASSES,
               "fashion_mnist": FASHION_CLASSES}[source]
    return Dataset(source, classes, x_train.astype(np.uint8), y_train.reshape(-1).astype(np.int64),
                   x_test.astype(np.uint8), y_test.reshape(-1).astype(np.int64),
                   origin=f"keras.datasets.{source} (~/.keras/datasets)")


def load_dataset(spec: DataSpec, data_dir: str | Path | None = None, *, base_dir: Path | None = None,
                 cache_dir: Path | None = None, echo: Callable[[str], None] | None = None) -> Dataset:
    """The whole data set, from the first source that has it; a clear UserError when none does.

    `data_dir` (--data-dir) must exist: a mistyped one is an error, never a reason to read
    another copy. A folder source's relative `data.path` is resolved from `base_dir` (the study
    file's folder); its decoded arrays are cached in `cache_dir` and what was skipped is said
    through `echo`."""
    if data_dir is not None and not Path(data_dir).exists():
        raise UserError(f"--data-dir {data_dir}: no such file or folder")
    if spec.source == "folder":
        folder = Path(data_dir) if data_dir is not None else Path(str(spec.path))
        if data_dir is None and not folder.is_absolute() and base_dir is not None:
            folder = base_dir / folder
        return load_image_folder(folder, spec, cache_dir, echo)
    looked = []
    if data_dir is not None:
        found = _from_data_dir(spec.source, Path(data_dir))
        if found is not None:
            return found
        looked.append(f"--data-dir {data_dir}")
    system = system_copy(spec.source)
    if system is not None:
        return load_idx_folder(system, spec.source,
                               FASHION_CLASSES if spec.source == "fashion_mnist" else MNIST_CLASSES)
    if spec.source in SYSTEM_PACKAGES:
        looked.append(f"the {SYSTEM_PACKAGES[spec.source][0]} package")
    try:
        return _keras_loader(spec.source)
    except UserError:
        raise
    except Exception as exc:  # network errors come in many types (URLError, socket, HTTP, ...)
        looked.append("~/.keras/datasets and the download")
        reason = str(exc).splitlines()[0][:240] if str(exc) else type(exc).__name__
        raise UserError(
            f"{DISPLAY_NAMES[spec.source]} not found (looked in {', '.join(looked)}; download failed: "
            f"{reason}). Put {EXPECTED_FILES[spec.source]} in a folder and pass --data-dir FOLDER"
        ) from None
