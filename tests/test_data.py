"""Data sources in their exact on-disk formats, corrupt files, splits and EDA statistics."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import socket
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnreport.data import sources as data
from cnnreport.data.sources import Dataset, load_dataset, read_idx, write_idx
from cnnreport.data.eda import balance_verdict, describe, locality_correlation
from cnnreport.data.splits import Splits, make_splits, permute_pixels, pixel_permutation
from cnnreport.errors import UserError
from cnnreport.study.specs import DataSpec

from helpers import cifar_batch_bytes, random_images, write_cifar_archive


# ---------------------------------------------------------------------------------- IDX (MNIST)


def test_idx_folder_round_trips_pixels_and_labels(idx_dir):
    folder, arrays = idx_dir
    ds = load_dataset(DataSpec(source="fashion_mnist"), data_dir=folder)
    assert ds.name == "fashion_mnist" and ds.class_names == data.FASHION_CLASSES
    assert ds.x_train.shape == (120, 28, 28, 1) and ds.x_train.dtype == np.uint8
    np.testing.assert_array_equal(ds.x_train[..., 0], arrays["train_images"])
    np.testing.assert_array_equal(ds.y_train, arrays["train_labels"])
    np.testing.assert_array_equal(ds.x_test[..., 0], arrays["test_images"])
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])
    assert ds.origin == str(folder)


def test_idx_plain_file_round_trip(tmp_path):
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "plain-idx3-ubyte", x)
    raw = (tmp_path / "plain-idx3-ubyte").read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3]) and struct.unpack(">3I", raw[4:16]) == (2, 3, 4)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-idx3-ubyte"), x)


@pytest.fixture
def good_idx(tmp_path) -> Path:
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    write_idx(path, np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8))
    return path


def _expect_user_error(path: Path, *fragments: str) -> str:
    with pytest.raises(UserError) as info:
        read_idx(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg
    for f in fragments:
        assert f in msg
    return msg


def test_truncated_gzip(good_idx):
    good_idx.write_bytes(good_idx.read_bytes()[:-30])
    _expect_user_error(good_idx, "not a readable IDX file")


def test_damaged_deflate_stream(good_idx):
    raw = bytearray(good_idx.read_bytes())
    mid = len(raw) // 2  # inside the deflate stream, past the header and file name
    raw[mid] ^= 0xFF
    raw[mid + 1] ^= 0x55
    good_idx.write_bytes(bytes(raw))
    _expect_user_error(good_idx)


def test_not_gzip_at_all(good_idx):
    good_idx.write_bytes(b"this is not gzip data")
    _expect_user_error(good_idx, "not a readable IDX file")


def test_bad_magic(good_idx):
    with gzip.open(good_idx, "wb") as f:
        f.write(bytes([0, 0, 0x0D, 3]) + struct.pack(">3I", 1, 2, 2) + b"\0" * 16)  # float IDX
    _expect_user_error(good_idx, "bad magic")


def test_wrong_length(good_idx):
    with gzip.open(good_idx, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 5, 28, 28) + b"\0" * (5 * 28 * 28 - 1))
    _expect_user_error(good_idx, "3920 bytes", "3919")


def test_header_whose_size_overflows_int64(tmp_path):
    path = tmp_path / "crafted-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**31, 2**31, 4))  # 2**64 bytes
    _expect_user_error(path)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=64), header=st.sampled_from([b"", bytes([0, 0, 8, 1]), bytes([0, 0, 8, 3])]),
       gz=st.booleans())
def test_fuzz_read_idx_raises_only_user_error(tmp_path_factory, body, header, gz):
    path = tmp_path_factory.mktemp("idx") / ("f-idx.gz" if gz else "f-idx")
    raw = header + body
    path.write_bytes(gzip.compress(raw) if gz and len(body) % 2 else raw)  # valid gzip half the time
    try:
        out = read_idx(path)
    except UserError as exc:
        assert "\n" not in str(exc)
    else:
        assert out.dtype == np.uint8 and out.ndim in (1, 3)


def test_incomplete_idx_folder_is_not_taken_for_a_data_set(tmp_path, idx_dir, monkeypatch):
    folder, _ = idx_dir
    (folder / data.IDX_FILES["test_labels"]).unlink()
    monkeypatch.setattr(data, "system_copy", lambda source: None)
    monkeypatch.setattr(data, "_keras_loader", _offline_loader)
    with pytest.raises(UserError) as info:
        load_dataset(DataSpec(source="fashion_mnist"), data_dir=folder)
    # named as a half-copied folder, rather than silently replaced by another copy
    assert str(folder) in str(info.value) and "but not t10k-labels-idx1-ubyte.gz" in str(info.value)


# ------------------------------------------------------------------------------- CIFAR-10 pickles


def test_cifar_archive_round_trips_pixels_labels_and_channel_order(cifar_dir):
    folder, arrays = cifar_dir
    ds = load_dataset(DataSpec(source="cifar10"), data_dir=folder)
    assert ds.name == "cifar10" and ds.class_names == data.CIFAR10_CLASSES
    assert ds.x_train.shape == (150, 32, 32, 3) and ds.x_test.shape == (40, 32, 32, 3)
    np.testing.assert_array_equal(ds.x_train, arrays["x_train"])  # batches 1..5 in order
    np.testing.assert_array_equal(ds.y_train, arrays["y_train"])
    np.testing.assert_array_equal(ds.x_test, arrays["x_test"])
    np.testing.assert_array_equal(ds.y_test, arrays["y_test"])
    # channel order: the first 1024 bytes of a row are red, the next green, the last blue
    assert ds.x_train[0, 0, 0].tolist() == [10, 128, 250]


def test_cifar_layout_against_raw_bytes(tmp_path):
    """Independent of the writer above: build one row by hand from the published layout."""
    row = np.zeros(3072, dtype=np.uint8)
    row[0] = 200           # red, pixel (0, 0)
    row[1024 + 33] = 100   # green, pixel (1, 1): row 1 * 32 + column 1
    row[2048 + 1023] = 50  # blue, pixel (31, 31)
    batch = pickle.dumps({b"data": row[None], b"labels": [7]})
    images, labels = data._cifar_images(data._unpickle(batch, "b"), "b", b"labels")
    assert images.shape == (1, 32, 32, 3) and labels.tolist() == [7]
    assert images[0, 0, 0].tolist() == [200, 0, 0]
    assert images[0, 1, 1].tolist() == [0, 100, 0]
    assert images[0, 31, 31].tolist() == [0, 0, 50]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_batch_pickled_with_any_protocol(protocol):
    images = np.random.default_rng(protocol).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    raw = cifar_batch_bytes(images, np.array([1, 2, 3]), protocol=protocol)
    out, labels = data._cifar_images(data._unpickle(raw, "b"), "b", b"labels")
    np.testing.assert_array_equal(out, images)
    assert labels.tolist() == [1, 2, 3]


def test_cifar_extracted_folder_reads_the_same(cifar_dir, tmp_path):
    folder, arrays = cifar_dir
    with tarfile.open(folder / "cifar-10-python.tar.gz") as tar:
        tar.extractall(tmp_path / "extracted", filter="data")
    ds = load_dataset(DataSpec(source="cifar10"), data_dir=tmp_path / "extracted")
    np.testing.assert_array_equal(ds.x_train, arrays["x_train"])
    ds2 = load_dataset(DataSpec(source="cifar10"), data_dir=tmp_path / "extracted" / "cifar-10-batches-py")
    np.testing.assert_array_equal(ds2.y_test, arrays["y_test"])


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("case", ["garbage", "forbidden_global", "not_a_dict", "missing_key",
                                  "wrong_width", "string_pixels", "label_count", "bad_label"])
def test_corrupt_cifar_batches_are_user_errors(tmp_path, case):
    images = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    bad = {
        "garbage": b"\x80\x04garbage that is no pickle",
        "forbidden_global": pickle.dumps({b"data": _Evil(), b"labels": [0]}),
        "not_a_dict": pickle.dumps([1, 2, 3]),
        "missing_key": pickle.dumps({b"data": np.zeros((4, 3072), np.uint8)}),
        "wrong_width": pickle.dumps({b"data": np.zeros((4, 3000), np.uint8), b"labels": [0] * 4}),
        "string_pixels": pickle.dumps({b"data": "pixels", b"labels": [0]}),
        "label_count": pickle.dumps({b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * 3}),
        "bad_label": cifar_batch_bytes(images, np.array([0, 1, 2, 10])),
    }[case]
    write_cifar_archive(tmp_path, members={"data_batch_3": bad})
    with pytest.raises(UserError) as info:
        load_dataset(DataSpec(source="cifar10"), data_dir=tmp_path)
    msg = str(info.value)
    assert "cifar-10-python.tar.gz" in msg and "\n" not in msg
    if case != "bad_label":
        assert "data_batch_3" in msg
    if case == "forbidden_global":
        assert "posix.system" in msg or "os.system" in msg or "nt.system" in msg


@pytest.mark.parametrize("damage", ["truncated", "flipped", "not_tar", "missing_member"])
def test_damaged_cifar_archive_is_a_user_error(cifar_dir, damage):
    folder, _ = cifar_dir
    archive = folder / "cifar-10-python.tar.gz"
    raw = archive.read_bytes()
    if damage == "truncated":
        archive.write_bytes(raw[: len(raw) // 2])
    elif damage == "flipped":
        b = bytearray(raw)
        for i in range(len(b) // 3, len(b) // 3 + 40):
            b[i] ^= 0xA5
        archive.write_bytes(bytes(b))
    elif damage == "not_tar":
        archive.write_bytes(gzip.compress(b"plain text, not a tar"))
    else:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
        archive.write_bytes(buf.getvalue())
    with pytest.raises(UserError) as info:
        load_dataset(DataSpec(source="cifar10"), data_dir=folder)
    assert str(archive) in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------------------------- no data


def _offline_loader(source):
    raise OSError("URL fetch failure: [Errno -2] Name or service not known")


def test_no_data_anywhere_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "_keras_loader", _offline_loader)
    with pytest.raises(UserError) as info:
        load_dataset(DataSpec(source="cifar10"), data_dir=tmp_path)
    msg = str(info.value)
    assert "\n" not in msg and "CIFAR-10 not found" in msg
    assert f"--data-dir {tmp_path}" in msg and "cifar-10-python.tar.gz" in msg


def test_keras_download_runs_under_a_socket_timeout(monkeypatch):
    """An offline machine must fail, not hang: the download happens with a default socket timeout."""
    import keras

    seen = {}

    def fake_load_data():
        seen["timeout"] = socket.getdefaulttimeout()
        raise Exception("URL fetch failure on https://example.invalid: timed out")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", fake_load_data)
    monkeypatch.setattr(data, "system_copy", lambda source: None)
    before = socket.getdefaulttimeout()
    with pytest.raises(UserError) as info:
        load_dataset(DataSpec(source="cifar10"))
    assert seen["timeout"] == data.DOWNLOAD_TIMEOUT_S and 0 < data.DOWNLOAD_TIMEOUT_S <= 120
    assert socket.getdefaulttimeout() == before  # restored
    assert "timed out" in str(info.value) and "--data-dir" in str(info.value)


# -------------------------------------------------------------------------------------- splits


def _indexed_dataset(n_train: int = 200, n_test: int = 60) -> Dataset:
    """Labels are the image's index (train 0.., test 10000..), so membership can be checked."""
    x_train = np.arange(n_train, dtype=np.uint8).reshape(-1, 1, 1, 1).repeat(2, axis=1)
    x_test = np.zeros((n_test, 2, 1, 1), dtype=np.uint8)
    return Dataset("synthetic", [str(i) for i in range(3)], x_train, np.arange(n_train),
                   x_test, np.arange(10000, 10000 + n_test), origin="memory")


def test_validation_is_carved_from_train_with_a_fixed_seed():
    ds = _indexed_dataset()
    spec = DataSpec(source="mnist", val_fraction=0.2)
    s = make_splits(ds, spec)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (160, 40, 60)
    train, val, test = set(s.y_train), set(s.y_val), set(s.y_test)
    assert not train & val and train | val == set(range(200))  # a partition of the training part
    assert test == set(range(10000, 10060))  # the test part untouched, never mixed in
    np.testing.assert_array_equal(s.x_val[:, 0, 0, 0], s.y_val.astype(np.uint8))  # images follow labels
    again = make_splits(ds, spec)
    np.testing.assert_array_equal(s.y_val, again.y_val)  # deterministic
    np.testing.assert_array_equal(s.y_train, again.y_train)
    other = make_splits(ds, DataSpec(source="mnist", val_fraction=0.2, split_seed=99))
    assert set(other.y_val) != val  # the seed decides


def test_subsets_keep_the_split_disjoint_and_sized():
    ds = _indexed_dataset()
    s = make_splits(ds, DataSpec(source="mnist", val_fraction=0.2, train_subset=50, val_subset=10,
                                 test_subset=25))
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (50, 10, 25)
    assert not set(s.y_train) & set(s.y_val)
    assert set(s.y_test) <= set(range(10000, 10060)) and len(set(s.y_test)) == 25
    full = make_splits(ds, DataSpec(source="mnist", val_fraction=0.2))
    # a subset of the validation set is drawn from the same held-out images, never from training
    assert set(s.y_val) <= set(full.y_val)


def test_describe_matches_numpy():
    rng = np.random.default_rng(3)
    x = rng.integers(5, 250, size=(90, 4, 5, 3), dtype=np.uint8)
    y = np.repeat(np.arange(3), [50, 30, 10])
    ds = Dataset("synthetic", ["a", "b", "c"], x, y, x[:12], y[:12], origin="memory")
    s = make_splits(ds, DataSpec(source="mnist", val_fraction=0.2))
    d = describe(s).model_dump()
    assert d["image_shape"] == [4, 5, 3] and d["channels"] == 3 and d["num_classes"] == 3
    assert d["sizes"] == {"train": 72, "val": 18, "test": 12}
    assert d["class_counts"]["train"] == np.bincount(s.y_train, minlength=3).tolist()
    assert d["class_counts"]["val"] == np.bincount(s.y_val, minlength=3).tolist()
    assert d["class_counts"]["test"] == [12, 0, 0]
    assert sum(d["class_counts"]["train"]) + sum(d["class_counts"]["val"]) == 90
    scaled = s.x_train / 255.0
    np.testing.assert_allclose(d["channel_mean"], scaled.mean(axis=(0, 1, 2)), atol=5e-5)
    np.testing.assert_allclose(d["channel_std"], scaled.std(axis=(0, 1, 2)), atol=5e-5)
    assert d["pixel_min"] == int(s.x_train.min()) and d["pixel_max"] == int(s.x_train.max())
    counts = d["class_counts"]["train"]
    assert d["imbalance_ratio"] == pytest.approx(max(counts) / min(counts))


def test_permutation_is_one_fixed_bijection_applied_to_every_split():
    h, w = 6, 5
    perm = pixel_permutation(h, w, 7)
    assert sorted(perm.tolist()) == list(range(h * w))
    assert (perm == pixel_permutation(h, w, 7)).all()
    assert not (perm == np.arange(h * w)).all()
    x = random_images(n=3, h=h, w=w)
    y = np.arange(3)
    splits = Splits("t", ["a", "b", "c"], x, y, x[:2], y[:2], x[:1], y[:1], origin="synthetic")
    permuted = permute_pixels(splits, 7)
    for orig, new in ((splits.x_train, permuted.x_train), (splits.x_test, permuted.x_test)):
        flat, pflat = orig.reshape(len(orig), -1), new.reshape(len(new), -1)
        assert (pflat == flat[:, perm]).all()           # the same permutation everywhere
        assert (np.sort(pflat, axis=1) == np.sort(flat, axis=1)).all()  # nothing lost


def test_balance_verdict_and_locality_correlation():
    assert balance_verdict([100, 100, 105]).verdict == "balanced"
    assert balance_verdict([100, 300]).verdict == "imbalanced"
    smooth = np.repeat(np.repeat(random_images(n=50, h=4, w=4), 4, axis=1), 4, axis=2)  # 16×16 blocks
    corr = locality_correlation(smooth, (1, 8))
    assert corr["1"] > 0.6 > corr["8"]
