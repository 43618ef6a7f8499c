"""The SageMaker SDK floor: the installed SDK's image table lists the images the plans need,
pyproject declares the release that first lists them, and deploy and train --backend sagemaker
refuse an SDK without them in one line instead of choosing another image."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from cnnreport.deploy import aws_session, sdk_images, tf_compat

from helpers import study_toml, write_image_folder

ROOT = Path(__file__).resolve().parents[1]


def _without(table: dict, scope: str, minor: str) -> dict:
    """The table with every `minor` release of the `scope` images taken out, as an older
    sagemaker-core's table is."""
    out = copy.deepcopy(table)
    versions = out[scope]["versions"]
    for v in [v for v in versions if sdk_images.minor(v) == minor]:
        del versions[v]
    aliases = out[scope].get("version_aliases", {})
    for alias in [a for a, v in aliases.items() if sdk_images.minor(v) == minor]:
        del aliases[alias]
    return out


@pytest.fixture
def older_sdk(monkeypatch):
    """An installed SDK like sagemaker-core 2.21.0: no tensorflow-inference 2.20 and no
    tensorflow-training 2.21 in its table."""
    table = _without(_without(sdk_images.installed_table(), "inference", "2.20"), "training", "2.21")
    monkeypatch.setattr(sdk_images, "installed_table", lambda: table)
    monkeypatch.setattr(sdk_images, "installed_release", lambda: "2.21.0")


def test_the_installed_sdk_lists_the_images_the_plans_need_and_pyproject_declares_its_floor():
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    import tensorflow as tf

    assert "2.20" in sdk_images.sdk_versions("inference") and "2.21" in sdk_images.sdk_versions("training")
    assert aws_session.tf_version("inference") == "2.20"  # exports from the TensorFlow here
    assert aws_session.tf_version("training") == sdk_images.minor(tf.__version__) == "2.21"
    assert Version(sdk_images.installed_release()) >= Version(sdk_images.SDK_FLOOR)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra in ("aws", "test"):
        assert f"sagemaker-core>={sdk_images.minor(sdk_images.SDK_FLOOR)}" in extras[extra]
        assert "sagemaker>=3.22" in extras[extra]
    assert set(sdk_images.FIRST_LISTED.values()) == {sdk_images.SDK_FLOOR}


def test_an_older_sdk_does_not_change_which_image_serves_an_export(older_sdk):
    """Before: the newest image an older table knew (2.19) served a 2.21 export, unchecked."""
    assert tf_compat.serving_version("2.21.0")[0] == "2.20"
    assert aws_session.tf_version("training") == "2.21"


@pytest.mark.parametrize("scope,version,first", [("inference", "2.20", "2.22.0"), ("training", "2.21", "2.22.0")])
def test_require_refuses_an_sdk_without_the_image_in_one_line(older_sdk, scope, version, first):
    with pytest.raises(Exception) as err:
        aws_session.image_uri("us-east-1", "ml.m5.large", scope, version)
    message = str(err.value)
    assert "\n" not in message and f"tensorflow-{scope} {version}" in message
    assert "sagemaker-core 2.21.0" in message and f"'sagemaker-core>={first}'" in message


def test_deploy_and_train_on_sagemaker_exit_2_with_one_line_on_an_older_sdk(older_sdk, tmp_path, monkeypatch, capsys):
    from cnnreport.cli import main

    monkeypatch.setenv("AWS_REGION", "us-east-1")
    folder = write_image_folder(tmp_path / "data")
    study = tmp_path / "tiny.toml"
    study.write_text(study_toml(name="tiny-sdk", source="folder", seeds="[0]", train_subset=None, val_subset=None,
                                test_subset=None, epochs=1, levels="[1, 3]",
                                data_extra=f'path = "{folder.as_posix()}"\nimage_size = [12, 12]\nval_fraction = 0.2\n'))
    runs = str(tmp_path / "runs")
    # deploy reads finished work: with a run record present, the SDK floor is what stops it (before
    # any run is read); in a folder where nothing was built, that is said first.
    (tmp_path / "runs" / "tiny-sdk" / "a-run").mkdir(parents=True)
    (tmp_path / "runs" / "tiny-sdk" / "a-run" / "run.json").write_text("{}", encoding="utf-8")
    for argv, image in ((["deploy", "--dry-run"], "tensorflow-inference 2.20"),
                        (["train", "--backend", "sagemaker", "--dry-run"], "tensorflow-training 2.21")):
        assert main([*argv, "--study", str(study), "--runs-dir", runs]) == 2
        out, errors = capsys.readouterr()
        lines = errors.strip().splitlines()
        assert len(lines) == 1 and image in lines[0] and "sagemaker-core>=2.22.0" in lines[0], errors
        assert "dkr.ecr" not in out + errors  # no image URI was chosen instead
