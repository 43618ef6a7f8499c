"""A student's own image folder, loaded: pixels as generated (16-bit and CMYK included), junk
never classes, problems collected (skipped by default, all at once with on_bad_file = "error"),
a class missing from a split, a CSV of labels, the held-out test part, channels, paths, the
decoded-once cache, and duplicates and leakage across the splits."""

from __future__ import annotations

import os
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnreport.data import folder as folder_module
from cnnreport.data import folder_cache
from cnnreport.data.duplicates import find_duplicates
from cnnreport.data.facts import ImageRecords
from cnnreport.data.layout import scan_csv
from cnnreport.data.sources import load_dataset
from cnnreport.data.splits import make_splits
from cnnreport.errors import UserError
from cnnreport.study.specs import FOLDER_KEYS, DataSpec

from helpers import STUDENT_CLASSES, run_cli, study_toml, write_student_folder


def _spec(root: Path, **keys) -> DataSpec:
    return DataSpec(source="folder", path=str(root), image_size=(16, 16), **keys)


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    return write_student_folder(tmp_path_factory.mktemp("student") / "data")


@pytest.fixture(scope="module")
def loaded(student):
    lines: list[str] = []
    ds = load_dataset(_spec(student.root), echo=lines.append)
    return ds, lines


def _image(ds, rel: str) -> np.ndarray:
    for part, x in (("train", ds.x_train), ("test", ds.x_test)):
        files = ds.folder.parts[part].files.tolist()
        if rel in files:
            return x[files.index(rel)]
    raise AssertionError(f"{rel} was not loaded")


# ---------------------------------------------------------------------------------- every mode


def test_loaded_pixels_are_the_generated_ones(student, loaded):
    ds, _ = loaded
    assert ds.x_train.dtype == np.uint8 and ds.x_train.shape[1:] == (16, 16, 3)
    assert "train/café/grey16.png" in student.expected and "train/кошка/cmyk.jpg" in student.near_expected
    for rel, expected in student.expected.items():  # lossless files: exactly
        np.testing.assert_array_equal(_image(ds, rel), expected, err_msg=rel)
    for rel, expected in student.near_expected.items():  # JPEGs: within their compression error
        diff = np.abs(_image(ds, rel).astype(int) - expected.astype(int))
        limit = 25 if rel.endswith("resaved.jpg") else 2  # resaved.jpg: quality 95 with chroma subsampling
        assert diff.mean() < limit, rel


def test_the_exif_rotated_photo_is_upright_and_padded(loaded):
    ds, _ = loaded
    image = _image(ds, "train/кошка/rotated.jpg").astype(int)  # shown 12 wide × 16 high, padded to 16 × 16
    assert (image[:, :2] == 0).all() and (image[:, -2:] == 0).all()  # black letterbox bars left and right
    assert image[:, 9:13].mean() > 200 and image[:, 3:7].mean() < 30  # the bright half is on the right
    sizes = ds.folder.parts["train"].sizes[ds.folder.parts["train"].files.tolist().index("train/кошка/rotated.jpg")]
    assert sizes.tolist() == [16, 12]  # height, width as a person sees it
    assert ds.folder.facts.resize.changed == 1 and ds.folder.facts.resize.aspect_changed == 1


# ------------------------------------------------------------------------------ junk, problems


def test_junk_is_never_a_class_or_an_image(student, loaded):
    ds, _ = loaded
    assert ds.class_names == sorted(STUDENT_CLASSES)
    files = np.concatenate([r.files for r in ds.folder.parts.values()]).tolist()
    assert not [f for f in files if "MACOSX" in f or "checkpoint" in f or f.endswith((".txt", ".db", "Store"))]
    listed = {p.file: p for p in ds.folder.facts.problems.files}
    for name in student.ignored:
        assert listed[name].action == "ignored", name


def test_problems_are_collected_with_their_reason_and_said_in_one_line(student, loaded):
    ds, lines = loaded
    problems = ds.folder.facts.problems
    skipped = {p.file: p.kind for p in problems.files if p.action == "skipped"}
    assert skipped == student.skipped
    assert {p.file: p.kind for p in problems.files if p.action == "read"} == student.notes
    assert (problems.skipped, problems.read, problems.ignored) == (4, 2, 5)
    assert len(lines) == 1 and "\n" not in lines[0]
    line = lines[0]
    assert line.startswith(f"data: {student.root}: {len(ds.y_train) + len(ds.y_test)} images loaded; 4 skipped: ")
    for name in list(student.skipped) + list(student.notes) + student.ignored:
        assert name in line, name
    layout = ds.folder.facts.layout
    assert layout.images_loaded == len(ds.y_train) + len(ds.y_test) == layout.files_considered - 3  # README.txt is no image file


def test_on_bad_file_error_lists_every_bad_file_at_once(student):
    with pytest.raises(UserError) as info:
        load_dataset(_spec(student.root, on_bad_file="error"))
    msg = str(info.value)
    assert "\n" not in msg and "4 bad files (data.on_bad_file = 'error')" in msg
    for name in student.skipped:
        assert name in msg
    assert "__MACOSX" not in msg and ".DS_Store" not in msg  # not data: never a reason to stop


def test_a_class_missing_from_a_split_is_an_error_naming_it(tmp_path, capsys):
    root = write_student_folder(tmp_path / "data", per_class=3, per_class_test=2).root
    shutil.rmtree(root / "test" / "狗")
    study = tmp_path / "s.toml"
    study.write_text(study_toml(source="folder", train_subset=None, val_subset=None, test_subset=None,
                                data_extra='path = "data"\nimage_size = [16, 16]\n'), encoding="utf-8")
    code, out, err = run_cli(["train", "--study", study, "--runs-dir", tmp_path / "runs"], capsys)
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert "'狗' is in train but not in test" in line and str(root / "test") in line
    other = write_student_folder(tmp_path / "other", per_class=3, per_class_test=2).root
    (other / "test" / "extra").mkdir()
    shutil.copy(other / "test" / "狗" / "00.png", other / "test" / "extra" / "00.png")
    with pytest.raises(UserError, match="'extra' is in test but not in train"):
        load_dataset(_spec(other))


def test_a_class_whose_every_file_is_skipped_is_an_error(tmp_path):
    root = write_student_folder(tmp_path / "data", per_class=3, per_class_test=1).root
    target = root / "test" / "кошка" / "00.png"
    target.write_bytes(target.read_bytes()[:30])
    with pytest.raises(UserError) as info:
        load_dataset(_spec(root))
    assert "class 'кошка' has no readable images in test (1 of its files skipped)" in str(info.value)


def test_class_folders_in_decomposed_unicode_are_the_same_class(tmp_path):
    root = write_student_folder(tmp_path / "data", per_class=3, per_class_test=2).root
    nfd = unicodedata.normalize("NFD", "café")
    assert nfd != "café"
    (root / "test" / "café").rename(root / "test" / nfd)  # as a Mac writes the name
    ds = load_dataset(_spec(root))
    assert ds.class_names.count("café") == 1 and len(ds.class_names) == 4


# ------------------------------------------------------------------------------- other layouts


def _plain_images(folder: Path, names: list[str], seed: int = 0, grey: bool = False) -> None:
    rng = np.random.default_rng(seed)
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shape = (8, 8) if grey else (8, 8, 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(folder / name)


def test_a_csv_of_file_names_and_labels(tmp_path):
    root = tmp_path / "kaggle"
    _plain_images(root, [f"train_images/img{i}.png" for i in range(12)])
    rows = ["image_id,diagnosis"] + [f"img{i},{'benign' if i % 2 else 'malignant'}" for i in range(10)]
    rows += ["img10,", "missing_file,benign", "img3,benign"]  # no label, no such file, labelled twice
    (root / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    ds = load_dataset(DataSpec(source="folder", path=str(root), csv="labels.csv", image_size=(8, 8)))
    assert ds.class_names == ["benign", "malignant"]
    facts = ds.folder.facts
    assert facts.layout.labels_from == "csv" and facts.layout.csv_columns == ("image_id", "diagnosis")
    assert facts.layout.split_by == "study" and len(ds.y_train) + len(ds.y_test) == 10
    loaded = dict(zip(np.concatenate([ds.folder.parts["train"].files, ds.folder.parts["test"].files]).tolist(),
                      np.concatenate([ds.y_train, ds.y_test]).tolist()))
    assert all(loaded[f"train_images/img{i}.png"] == (0 if i % 2 else 1) for i in range(10))
    details = [p.detail for p in facts.problems.files if p.kind == "csv_row"]
    assert any("no label" in d for d in details) and any("'missing_file': no such image file" in d for d in details)
    assert any("already labelled on row" in d for d in details)
    unlisted = [p for p in facts.problems.files if p.kind == "not_in_csv"]
    assert [(p.file, p.detail) for p in unlisted] == [("train_images/", "2 image files not named in labels.csv")]


def test_a_csv_with_a_split_column_and_paths(tmp_path):
    root = tmp_path / "set"
    names = [f"imgs/{i}.jpg" for i in range(8)]
    _plain_images(root, names)
    rows = ["path;label;split"] + [f"{n};{'a' if i % 2 else 'b'};{'test' if i >= 6 else 'train'}" for i, n in enumerate(names)]
    (root / "meta.csv").write_text("\n".join(rows), encoding="utf-8")
    ds = load_dataset(DataSpec(source="folder", path=str(root), csv="meta.csv", image_size=(8, 8)))
    assert ds.folder.facts.layout.split_by == "csv"
    assert ds.folder.parts["test"].files.tolist() == ["imgs/7.jpg", "imgs/6.jpg"]  # by class, then name
    rows[-1] = "imgs/7.jpg;a;holdout"
    (root / "meta.csv").write_text("\n".join(rows), encoding="utf-8")
    with pytest.raises(UserError, match="row 9: split 'holdout'"):
        load_dataset(DataSpec(source="folder", path=str(root), csv="meta.csv"))


@pytest.mark.parametrize("header, expected", [("a,b,c", "cannot tell the file and label columns apart"),
                                              ("", "empty CSV")])
def test_a_csv_whose_columns_cannot_be_told_is_one_line(tmp_path, header, expected):
    _plain_images(tmp_path, ["x.png"])
    (tmp_path / "l.csv").write_text(header + ("\nx.png,1,2\n" if header else ""), encoding="utf-8")
    with pytest.raises(UserError, match=expected) as info:
        load_dataset(DataSpec(source="folder", path=str(tmp_path), csv="l.csv"))
    assert "\n" not in str(info.value) and "l.csv" in str(info.value)


@settings(max_examples=120, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab.png,;\t\n\"/ 01é")), max_size=120))
def test_fuzz_csv_layout_raises_only_user_error(tmp_path_factory, text):
    root = tmp_path_factory.mktemp("csv")
    _plain_images(root, ["a.png", "b.png"])
    (root / "l.csv").write_text(text, encoding="utf-8")
    try:
        layout = scan_csv(root, "l.csv", None)
    except UserError as exc:
        assert "\n" not in str(exc)
    else:
        assert len(layout.class_names) >= 2 and len(layout.files) == len(layout.labels)


def test_a_folder_without_test_part_holds_out_every_class(tmp_path):
    counts = {"big": 20, "mid": 6, "tiny": 2}
    for k, (cls, n) in enumerate(counts.items()):
        _plain_images(tmp_path, [f"{cls}/{i}.png" for i in range(n)], seed=k)
    ds = load_dataset(DataSpec(source="folder", path=str(tmp_path), image_size=(8, 8), test_fraction=0.25))
    assert np.bincount(ds.y_test, minlength=3).tolist() == [5, 2, 1]  # round(0.25 n), at least 1, never all
    assert np.bincount(ds.y_train, minlength=3).tolist() == [15, 4, 1]
    again = load_dataset(DataSpec(source="folder", path=str(tmp_path), image_size=(8, 8), test_fraction=0.25))
    assert ds.folder.parts["test"].files.tolist() == again.folder.parts["test"].files.tolist()
    assert not set(ds.folder.parts["test"].files) & set(ds.folder.parts["train"].files)


def test_channels_follow_the_majority_or_the_study(tmp_path):
    _plain_images(tmp_path, [f"a/{i}.png" for i in range(3)] + [f"b/{i}.png" for i in range(3)], grey=True)
    _plain_images(tmp_path, ["a/colour.png", "b/colour.png"], seed=9)
    auto = load_dataset(DataSpec(source="folder", path=str(tmp_path), image_size=(8, 8)))
    assert auto.x_train.shape[-1] == 1
    facts = auto.folder.facts.channel_choice
    assert (facts.chosen, facts.grey_images, facts.colour_images, facts.converted) == (1, 6, 2, 2)
    colour = np.asarray(Image.open(tmp_path / "a" / "colour.png").convert("L"))
    all_x = np.concatenate([auto.x_train, auto.x_test])
    all_files = np.concatenate([auto.folder.parts["train"].files, auto.folder.parts["test"].files]).tolist()
    np.testing.assert_array_equal(all_x[all_files.index("a/colour.png")][..., 0], colour)  # luma, as Pillow
    three = load_dataset(DataSpec(source="folder", path=str(tmp_path), image_size=(8, 8), channels=3))
    assert three.x_train.shape[-1] == 3 and three.folder.facts.channel_choice.converted == 6


# ------------------------------------------------------------------------------------------ paths


def test_a_relative_data_path_is_read_from_the_study_files_folder(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    write_student_folder(project / "images", per_class=3, per_class_test=2)
    (project / "study.toml").write_text(study_toml(source="folder", seeds="[0]", train_subset=None, val_subset=None,
                                                   test_subset=None, data_extra='path = "images"\nimage_size = [16, 16]\n'),
                                        encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working folder has no images/
    from cnnreport.study.loading import load_study
    from cnnreport.train.workspace import Workspace

    splits = Workspace(runs_root=tmp_path / "runs", echo=lambda line: None).splits(load_study(project / "study.toml"))
    assert splits.origin == str(project / "images") and splits.num_classes == 4


@pytest.mark.parametrize("source", ["folder", "fashion_mnist"])
def test_a_data_dir_that_does_not_exist_is_an_error(tmp_path, capsys, source):
    study = tmp_path / "s.toml"
    extra = 'path = "anywhere"\n' if source == "folder" else ""
    study.write_text(study_toml(source=source, data_extra=extra), encoding="utf-8")
    code, out, err = run_cli(["train", "--study", study, "--data-dir", tmp_path / "nonexistent",
                              "--runs-dir", tmp_path / "runs"], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"cnnreport: error: --data-dir {tmp_path / 'nonexistent'}: no such file or folder"


def test_folder_keys_belong_to_the_folder_source_and_leave_built_in_dumps_as_they_were():
    with pytest.raises(ValueError, match="data.resize applies to source = 'folder' only"):
        DataSpec(source="cifar10", resize="crop")
    # The dump is part of every run id: a built-in source's is what it was before folder keys came.
    assert DataSpec(source="fashion_mnist", train_subset=600).model_dump(mode="json") == {
        "source": "fashion_mnist", "path": None, "image_size": None, "val_fraction": 0.1, "split_seed": 1234,
        "train_subset": 600, "val_subset": None, "test_subset": None}
    folder = DataSpec(source="folder", path="x").model_dump(mode="json")
    assert set(FOLDER_KEYS) <= set(folder) and folder["resize"] == "pad"


# ------------------------------------------------------------------------------------------ cache


def test_a_second_load_reads_the_cache_and_a_changed_file_is_decoded_again(tmp_path, monkeypatch):
    root = write_student_folder(tmp_path / "data", per_class=3, per_class_test=2).root
    cache = tmp_path / "runs" / "s" / folder_cache.FOLDER
    first = load_dataset(_spec(root), cache_dir=cache)
    assert len(list(cache.glob("folder-*.npz"))) == 1
    fingerprint = make_splits(first, _spec(root)).fingerprint

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(folder_module, "decode", no_decoding)
    lines: list[str] = []
    cached = load_dataset(_spec(root), cache_dir=cache, echo=lines.append)
    np.testing.assert_array_equal(cached.x_train, first.x_train)
    assert make_splits(cached, _spec(root)).fingerprint == fingerprint  # content, however loaded
    assert cached.folder.facts == first.folder.facts and len(lines) == 1  # problems said again
    monkeypatch.undo()

    changed = root / "train" / "狗" / "01.png"
    new_pixels = np.full((16, 16, 3), 7, np.uint8)
    Image.fromarray(new_pixels).save(changed)
    os.utime(changed, ns=(1, 1))  # even with an old time: the size changed
    again = load_dataset(_spec(root), cache_dir=cache)
    np.testing.assert_array_equal(_image(again, "train/狗/01.png"), new_pixels)
    assert make_splits(again, _spec(root)).fingerprint != fingerprint
    assert load_dataset(_spec(root, resize="crop"), cache_dir=cache) is not None  # the policy is part of the key
    assert len(list(cache.glob("folder-*.npz"))) == 3


def test_a_damaged_cache_entry_is_a_miss(tmp_path):
    root = write_student_folder(tmp_path / "data", per_class=3, per_class_test=2).root
    cache = tmp_path / "cache"
    first = load_dataset(_spec(root), cache_dir=cache)
    (entry,) = cache.glob("folder-*.npz")
    entry.write_bytes(entry.read_bytes()[:100])
    np.testing.assert_array_equal(load_dataset(_spec(root), cache_dir=cache).x_train, first.x_train)
    assert entry.stat().st_size > 1000  # written anew


def test_the_cache_keeps_a_few_entries(tmp_path):
    root = write_student_folder(tmp_path / "data", per_class=2, per_class_test=1).root
    for size in (8, 9, 10, 11, 12):
        load_dataset(DataSpec(source="folder", path=str(root), image_size=(size, size)), cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("folder-*.npz"))) == folder_cache.KEEP


def test_records_are_arrays_not_per_image_objects(loaded):
    ds, _ = loaded
    for records in ds.folder.parts.values():
        assert isinstance(records, ImageRecords)
        assert records.files.dtype.kind == "U" and records.sha256.shape[1:] == (32,) and records.sizes.dtype == np.int32


# ------------------------------------------------------------------------------------- duplicates


def test_the_train_test_copy_is_found_and_flagged_as_leakage(student, loaded):
    ds, _ = loaded
    splits = make_splits(ds, _spec(student.root, val_fraction=0.2))
    found = find_duplicates({"train": splits.x_train, "val": splits.x_val, "test": splits.x_test}, splits.folder.parts)
    pairs = {(p.kind, p.a_file, p.b_split, p.b_file) for p in found.pairs}
    assert pairs == {("exact", *student.duplicate[:1], "test", student.duplicate[1]),
                     ("near", *student.near_duplicate[:1], "test", student.near_duplicate[1])}
    assert {p.a_split for p in found.pairs} <= {"train", "val"}  # the copied training image, wherever it went
    assert found.total_pairs == 2 and all(p.leakage for p in found.pairs)  # nothing else is a duplicate
    assert (found.leakage_exact, found.leakage_near, found.leaked_test_images) == (1, 1, 2)
    assert len(splits.y_test) == len(ds.y_test)  # flagged, never dropped


def test_duplicate_counts_follow_the_splits():
    rng = np.random.default_rng(0)
    same = rng.integers(0, 256, (16, 16, 1), dtype=np.uint8)
    others = rng.integers(0, 256, (6, 16, 16, 1), dtype=np.uint8)
    images = {"train": np.stack([same, others[0], others[1]]), "val": np.stack([same, others[2]]),
              "test": np.stack([same, others[3]])}

    def records(n: int, first: bytes, offset: int) -> ImageRecords:
        sha = np.zeros((n, 32), np.uint8)
        sha[:, 0] = offset + np.arange(n)  # every file's content differs ...
        if first:
            sha[0] = np.frombuffer(first, np.uint8)  # ... but the first, a copy of one file
        return ImageRecords(np.array([f"f{offset + k}" for k in range(n)]), sha, np.zeros((n, 2), np.int32))

    copy = bytes([9] * 32)
    found = find_duplicates(images, {"train": records(3, copy, 0), "val": records(2, copy, 10),
                                     "test": records(2, copy, 20)})
    assert found.exact == {"train–train": 0, "train–val": 1, "train–test": 1, "val–val": 0, "val–test": 1, "test–test": 0}
    assert sum(found.near.values()) == 0 and found.leakage_exact == 2 and found.leaked_test_images == 1
    same_pixels = find_duplicates(images, {"train": records(3, b"", 0), "val": records(2, b"", 10),
                                           "test": records(2, b"", 20)})  # re-encoded: other bytes, same pixels
    assert sum(same_pixels.exact.values()) == 0 and same_pixels.near["train–test"] == 1 and same_pixels.leakage_near == 2


def test_a_long_first_load_shows_progress(tmp_path, monkeypatch):
    root = write_student_folder(tmp_path / "data", per_class=3, per_class_test=2).root
    monkeypatch.setattr(folder_module, "SAY_DECODING_FROM", 10)
    monkeypatch.setattr(folder_module, "PROGRESS_EVERY", 10)
    lines: list[str] = []
    load_dataset(_spec(root), cache_dir=tmp_path / "cache", echo=lines.append)
    n = len(list((root / "train").rglob("*.*"))) + len(list((root / "test").rglob("*.*")))  # upper bound
    assert lines[0].startswith("data: decoding ") and "later commands read the cache" in lines[0]
    steps = [ln for ln in lines if ln.endswith("images decoded")]
    assert steps[0].startswith("data: 10 / ") and 2 <= len(steps) <= n // 10
    assert lines[len(steps) + 1].startswith("data: decoded in ") and lines[-1].startswith(f"data: {root}: ")
    lines.clear()
    load_dataset(_spec(root), cache_dir=tmp_path / "cache", echo=lines.append)
    assert len(lines) == 1  # from the cache: only the problems
