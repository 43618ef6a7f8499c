"""The data a run saw is part of its identity: a content fingerprint of the loaded splits is in
every run id, run.json and report.json; other data under the same study file trains anew, and a
report is never built from runs trained on other data than it describes. Empty data is refused
when it is loaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cnnreport.data import sources as data
from cnnreport.data.sources import Dataset
from cnnreport.data.splits import make_splits
from cnnreport.errors import UserError
from cnnreport.study.specs import DataSpec
from cnnreport.train import lock, store
from cnnreport.train.plan import full_plan

from helpers import random_images, run_cli, study_toml, tiny_study, write_idx_folder, write_image_folder

SPEC = DataSpec(source="mnist", val_fraction=0.2)


def _dataset(seed: int = 0) -> Dataset:
    x = random_images(n=50, h=6, w=6, seed=seed)
    return Dataset("synthetic", ["a", "b"], x, np.arange(50) % 2, x[:10], np.arange(10) % 2, origin="memory")


# ------------------------------------------------------------------------------ the fingerprint


def test_the_fingerprint_follows_content_not_location():
    a = make_splits(_dataset(), SPEC)
    assert a.fingerprint == make_splits(_dataset(), SPEC).fingerprint
    moved = _dataset()
    moved.origin = "/somewhere/else"  # the same files copied elsewhere: the same runs
    assert make_splits(moved, SPEC).fingerprint == a.fingerprint
    one_pixel = _dataset()
    one_pixel.x_test[3, 2, 2, 0] ^= 1
    one_label = _dataset()
    one_label.y_train[7] = 1 - one_label.y_train[7]
    renamed = _dataset()
    renamed.class_names = ["a", "c"]
    other_split = make_splits(_dataset(), DataSpec(source="mnist", val_fraction=0.2, split_seed=5))
    prints = {a.fingerprint, make_splits(one_pixel, SPEC).fingerprint, make_splits(one_label, SPEC).fingerprint,
              make_splits(renamed, SPEC).fingerprint, other_split.fingerprint}
    assert len(prints) == 5 and all(len(p) == 16 for p in prints)


def test_the_fingerprint_is_part_of_every_run_id():
    study = tiny_study()
    a, b = full_plan(study, "a" * 16), full_plan(study, "b" * 16)
    assert len(a) == len(b) and not {r.run_id for r in a} & {r.run_id for r in b}
    assert [r.run_id for r in a] == [r.run_id for r in full_plan(study, "a" * 16)]
    assert all(r.data_fingerprint == "a" * 16 for r in a)  # the probe runs carry it too


# ------------------------------------------------------------------------ other data, same study


@pytest.fixture(scope="module")
def two_data_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny study trained on IDX folder A; folder B holds other images under the same names."""
    root = tmp_path_factory.mktemp("identity")
    write_idx_folder(root / "A", n_train=120, n_test=40)
    write_idx_folder(root / "B", n_train=120, n_test=40)
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):  # B: other pixels
        images = data.read_idx(root / "B" / name)
        data.write_idx(root / "B" / name, 255 - images)
    study = root / "ident.toml"
    study.write_text(study_toml(name="ident", seeds="[0]", train_subset=None, val_subset=None,
                                test_subset=None, epochs=1, levels="[1, 3]"), encoding="utf-8")
    from cnnreport import cli

    assert cli.main(["train", "--study", str(study), "--data-dir", str(root / "A"),
                     "--runs-dir", str(root / "runs")]) == 0
    return {"root": root, "study": study, "A": root / "A", "B": root / "B", "runs": root / "runs"}


def _args(d: dict[str, Path], command: str, data_dir: str, *more: object) -> list[object]:
    return [command, "--study", d["study"], "--data-dir", d[data_dir], "--runs-dir", d["runs"], *more]


def test_render_refuses_runs_trained_on_other_data_naming_both_fingerprints(two_data_sets, capsys):
    d = two_data_sets
    records = [json.loads(p.read_text()) for p in (d["runs"] / "ident").glob("*/run.json")]
    trained_on = {r["data_fingerprint"] for r in records}
    assert len(records) == 5 and len(trained_on) == 1
    code, out, err = run_cli(_args(d, "render", "B", "--reports-dir", d["root"] / "reports-b", "--no-pdf"), capsys)
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("cnnreport: error: ") and next(iter(trained_on)) in line
    assert "fingerprint" in line and str(d["B"]) in line and "cnnreport build" in line
    assert f"its runs were trained on other data: {d['A']} (fingerprint" in line  # where A's data was read
    other = line.split(f"the data loaded now is {d['B']} (fingerprint ")[1].split(")")[0]
    assert len(other) == 16 and other not in trained_on  # B's own fingerprint, named too


def test_readers_default_to_the_data_dir_the_study_was_built_from(two_data_sets, capsys):
    d = two_data_sets
    assert store.last_study(d["runs"])["data_dir"] == str(d["A"].resolve())
    code, out, err = run_cli(["render", "--runs-dir", d["runs"], "--reports-dir", d["root"] / "reports-a",
                              "--no-pdf"], capsys)
    assert code == 0, err
    assert f"data: {d['A'].resolve()} (the --data-dir of the last build here" in out


def test_other_data_trains_anew_and_the_report_pairs_each_with_its_runs(two_data_sets, capsys):
    """Was: "5 of 5 runs already done", B's EDA beside A's accuracies, integrity ✓."""
    d = two_data_sets
    code, out, err = run_cli(_args(d, "train", "B"), capsys)
    assert code == 0, err
    assert "runs already done" not in out and "trained 5 runs, 0 already done" in out
    code, out, err = run_cli(_args(d, "render", "B", "--reports-dir", d["root"] / "reports", "--no-pdf"), capsys)
    assert code == 0, err
    report = json.loads((d["root"] / "reports" / "ident" / "report.json").read_text(encoding="utf-8"))
    fingerprint = report["dataset"]["fingerprint"]
    runs = {r["run_id"] for r in report["runs"]}
    for run_id in runs:
        record = json.loads((d["runs"] / "ident" / run_id / "run.json").read_text(encoding="utf-8"))
        assert record["data_fingerprint"] == fingerprint
    assert len({json.loads(p.read_text())["data_fingerprint"] for p in (d["runs"] / "ident").glob("*/run.json")}) == 2
    # The report's confusion matrix counts B's test labels
    b_labels = data.read_idx(d["B"] / "t10k-labels-idx1-ubyte.gz")
    assert np.asarray(report["visuals"]["confusion"]).sum(axis=1).tolist() == \
        np.bincount(b_labels, minlength=10).tolist()
    # ... and the same data copied elsewhere is the same data: nothing retrains
    shutil.copytree(d["B"], d["root"] / "B-copy")
    code, out, err = run_cli(["train", "--study", d["study"], "--data-dir", d["root"] / "B-copy",
                              "--runs-dir", d["runs"]], capsys)
    assert code == 0 and "5 of 5 runs already done" in out
    code, out, err = run_cli(["check", d["root"] / "reports" / "ident", "--runs-dir", d["runs"] / "ident"], capsys)
    assert code == 0, out + err


# -------------------------------------------------------------------------------- empty data


def _idx_folder(folder: Path, n_train: int, n_test: int) -> None:
    """The four IDX files with n_train and n_test images (zero allowed: a valid, empty file)."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train_images": np.zeros((n_train, 28, 28)), "train_labels": np.arange(n_train) % 10,
              "test_images": np.zeros((n_test, 28, 28)), "test_labels": np.arange(n_test) % 10}
    for key, name in data.IDX_FILES.items():
        data.write_idx(folder / name, arrays[key])


@pytest.mark.parametrize("n_train, n_test, part", [(0, 40, "training"), (120, 0, "test"), (1, 10, "training")])
def test_an_empty_split_is_refused_when_loaded(tmp_path, n_train, n_test, part):
    _idx_folder(tmp_path, n_train, n_test)
    spec = DataSpec(source="fashion_mnist")
    with pytest.raises(UserError) as info:
        make_splits(data.load_dataset(spec, tmp_path), spec)
    msg = str(info.value)
    assert msg.startswith(str(tmp_path)) and f"the {part} split holds no images" in msg and "\n" not in msg


def test_an_empty_idx_data_set_is_one_line_and_exit_2(tmp_path, capsys):
    _idx_folder(tmp_path / "empty", 0, 0)
    study = tmp_path / "s.toml"
    study.write_text(study_toml(train_subset=None, val_subset=None, test_subset=None), encoding="utf-8")
    code, out, err = run_cli(["train", "--study", study, "--data-dir", tmp_path / "empty",
                              "--runs-dir", tmp_path / "runs"], capsys)
    assert code == 2 and "Traceback" not in err and "holds no images" in err
    study_dir = tmp_path / "runs" / "tiny"  # at most the lock file the train took
    assert not study_dir.exists() or {p.name for p in study_dir.iterdir()} <= {lock.BUILD_LOCK}


def test_idx_train_and_test_images_of_different_sizes_are_refused(tmp_path):
    write_idx_folder(tmp_path)
    data.write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", random_images(n=40, h=20, w=20)[..., 0])
    with pytest.raises(UserError, match="training images are 28×28 pixels and test images 20×20"):
        data.load_dataset(DataSpec(source="fashion_mnist"), tmp_path)


def test_a_class_folder_named_as_mathtext_is_refused(tmp_path):
    root = write_image_folder(tmp_path / "imgs", per_class=3)
    for part in ("train", "test"):
        (root / part / "stripes").rename(root / part / r"$\bogus$")
    with pytest.raises(UserError, match=r"may not contain '\$'"):
        data.load_image_folder(root, DataSpec(source="folder", path=str(root), image_size=(12, 12)))

