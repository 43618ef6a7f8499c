"""SageMaker training jobs. One job created through the SDK's ModelTrainer against a moto server
and then run as SageMaker runs it: the SDK's own sm_train.sh and drivers, unedited, against an
/opt/ml sandbox (tests/training_container.py), in a virtual environment holding only TensorFlow
and its dependencies (what the training image holds) into which the SDK's install_requirements.py
pip-installs the job's requirements; its runs pulled back into runs/ like local ones. Then the
jobs sharded, streamed and pulled back, and the requirements' completeness and pins."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cnnreport.deploy import requirements, training_jobs
from cnnreport.study.loading import load_study
from cnnreport.train import store
from cnnreport.train.plan import full_plan
from cnnreport.train.workspace import Workspace

import training_container
from helpers import TrainedStudy, study_toml, write_image_folder
from test_deploy_aws import ROLE, aws_env, moto_url, use_moto  # noqa: F401  (fixtures)


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def fresh_venv(root: Path, packages: set[str]) -> Path:
    """A new virtual environment whose site-packages holds exactly the installed distributions
    `packages` (linked from this one, not copied): nothing else, cnnreport included, imports."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    here = Path(sysconfig.get_paths()["purelib"])
    there = next((root / "lib").glob("python*/site-packages"))
    owned: dict[bool, list[tuple[str, ...]]] = {True: [], False: []}
    for dist in md.distributions():
        if Path(dist.locate_file("")).resolve() != here.resolve():
            continue
        keep = _canonical(dist.metadata["Name"]) in packages
        owned[keep] += [Path(f).parts for f in dist.files or [] if not str(f).startswith("..")]
    # Link the shortest prefix of each wanted file that holds no file of another distribution
    # (so a shared namespace folder such as google/ is entered, not linked whole).
    blocked = {parts[:k] for parts in owned[False] for k in range(1, len(parts) + 1)}
    linked: set[tuple[str, ...]] = set()
    for parts in owned[True]:
        k = next(k for k in range(1, len(parts) + 1) if parts[:k] not in blocked)
        prefix = parts[:k]
        if prefix in linked or any(prefix[:j] in linked for j in range(1, k)):
            continue
        target = there.joinpath(*prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(here.joinpath(*prefix))
        linked.add(prefix)
    return root / "bin" / "python"


def folder_study(tmp_path: Path):
    """The tiny study on a `folder` data set (12×12 RGB PNGs, 3 classes; Pillow reads it), one
    seed: MLP, CNN 1×1 and 3×3 (the reference), and the probe's two runs = 5 runs."""
    folder = write_image_folder(tmp_path / "data")
    path = tmp_path / "tiny.toml"
    path.write_text(study_toml(name="tiny-jobs", source="folder", seeds="[0]", train_subset=None,
                               val_subset=None, test_subset=None, epochs=1, batch_size=16, levels="[1, 3]",
                               data_extra=f'path = "{folder.as_posix()}"\nimage_size = [12, 12]\nval_fraction = 0.2\n'),
                    encoding="utf-8")
    return load_study(path), folder


def run_job(python: Path, source: Path, data: Path, out: Path, shard: int = 0) -> subprocess.CompletedProcess:
    """The staged entry script as the container runs it: `python train.py` in the source folder."""
    out.mkdir(parents=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(out), "TF_CPP_MIN_LOG_LEVEL": "3",
           "SM_MODEL_DIR": str(out / "model"), "SM_OUTPUT_DIR": str(out / "output"),
           "SM_CHANNEL_TRAINING": str(data), "SM_HPS": json.dumps(training_jobs.job_hyperparameters(shard))}
    return subprocess.run([str(python), "-s", training_jobs.ENTRY_SCRIPT], cwd=source, env=env,
                          capture_output=True, text=True, timeout=600)


def image_like_venv(root: Path) -> Path:
    """A venv holding what the training image holds (TensorFlow and its dependencies) and pip,
    with python3 and pip3 on its bin/ as the image has them; its bin/."""
    python = fresh_venv(root, requirements.image_packages() | {"pip"})
    pip3 = python.parent / "pip3"
    pip3.write_text('#!/bin/sh\nexec "$(dirname "$0")/python" -m pip "$@"\n')
    pip3.chmod(0o755)
    return python.parent


@dataclass
class SdkJob:
    study: Any
    data: Path
    ws: Workspace
    plan: list
    desc: dict  # the job's CreateTrainingJob request as DescribeTrainingJob returns it
    proc: subprocess.CompletedProcess  # the container's run
    sandbox: Path  # its /opt/ml
    venv_site: Path
    said: list[str]
    counts: dict[str, int]
    archive: Path  # the job's model.tar.gz, as SageMaker uploaded it


@pytest.fixture(scope="module")
def sdk_job(moto_url, tmp_path_factory):
    """`train --backend sagemaker` of the tiny folder study (5 runs, one job) against moto; the job
    run by the SDK's own scripts in the /opt/ml sandbox while the study's data folder is moved
    away (so only the `training` channel can feed it)."""
    import boto3

    if not training_container.sandbox_available():
        pytest.skip("needs `unshare` with user and mount namespaces to bind /opt/ml for the job")
    tmp = tmp_path_factory.mktemp("sdkjob")
    mp = pytest.MonkeyPatch()
    use_moto(moto_url, mp, tmp)
    study, data = folder_study(tmp)
    ws = Workspace(runs_root=tmp / "runs")
    plan = full_plan(study, ws.splits(study).fingerprint)
    image_bin = image_like_venv(tmp / "venv")
    real_start = training_jobs._start_job
    played: dict[str, Any] = {}

    def start_and_run(sess, study_name, index, *rest):
        job = real_start(sess, study_name, index, *rest)
        desc = boto3.client("sagemaker").describe_training_job(TrainingJobName=job)
        s3 = boto3.client("s3")
        root = training_container.lay_out(desc, s3, tmp / "container" / "ml")
        hidden = data.with_name("data-moved-away")
        data.rename(hidden)
        try:
            proc = training_container.run(desc, root, image_bin,
                                          {"TF_CPP_MIN_LOG_LEVEL": "3", **training_container.pip_cache_env()})
        finally:
            hidden.rename(data)
        lines = (proc.stdout + proc.stderr).splitlines()
        training_container.upload_output(desc, root, s3, boto3.client("logs"), lines, training_jobs.LOG_GROUP)
        played.update(desc=desc, proc=proc, root=root)
        return job

    mp.setattr(training_jobs, "_start_job", start_and_run)
    said: list[str] = []
    try:
        counts = training_jobs.train_sagemaker(study, ws, max_parallel=1, poll_s=0.01, echo=said.append)
        archive = tmp / "job-model.tar.gz"
        boto3.client("s3").download_file(*played["desc"]["ModelArtifacts"]["S3ModelArtifacts"][5:].split("/", 1),
                                         str(archive))
    finally:
        mp.undo()
    site = next((tmp / "venv" / "lib").glob("python*/site-packages"))
    yield SdkJob(study, data, ws, plan, played["desc"], played["proc"], played["root"], site, said, counts, archive)


def test_the_job_runs_through_the_sdks_own_scripts_and_its_runs_come_back(sdk_job: SdkJob):
    job, out = sdk_job, sdk_job.proc.stdout + sdk_job.proc.stderr
    assert job.proc.returncode == 0, out[-3000:]
    # The path the image takes: ModelTrainer sets the container's entry point to the SDK's
    # sm_train.sh, so the image's own entry point and its sagemaker-training toolkit never run.
    spec = job.desc["AlgorithmSpecification"]
    assert spec["ContainerEntrypoint"] == ["/bin/bash"]
    assert spec["ContainerArguments"][-1].endswith("/opt/ml/input/data/sm_drivers/sm_train.sh")
    assert {c["ChannelName"] for c in job.desc["InputDataConfig"]} == {"code", "sm_drivers", "training"}
    assert "Running Basic Script driver" in out and "Training Container Execution Completed" in out
    # Entry point and hyperparameters: the driver ran train.py with them as arguments and SM_HPS.
    env = (job.sandbox / "input" / "sm_training.env").read_text()
    assert "export SM_ENTRY_SCRIPT='train.py'" in env and '"shard": 0' in env
    assert "train.py --shard 0 --plan jobs.json" in out
    assert "job 1 of 1: 5 runs of study tiny-jobs" in out
    # The channel: the data folder was moved away while the job ran; it trained on the channel's copy.
    assert "export SM_CHANNEL_TRAINING='/opt/ml/input/data/training'" in env
    assert (job.sandbox / "input" / "data" / "training" / "train").is_dir()
    # Requirements: installed by the SDK's install_requirements.py into the image's environment.
    assert "Installing requirements" in out and "Successfully installed" in out
    installed = job.venv_site / "pydantic"
    assert installed.is_dir() and not installed.is_symlink()
    # Model output: the job's model.tar.gz pulled back into runs/ as complete runs.
    assert job.counts == {"trained": 5, "skipped": 0, "failed": 0}
    for spec_ in job.plan:
        assert store.run_problem(job.ws.runs_root / job.study.name / spec_.run_id) is None
    assert any("job 1/1: Running Basic Script driver" in s for s in job.said)  # its log lines streamed


def test_the_training_requirements_leave_out_the_report_stack():
    wanted = requirements.image_packages() | requirements.closure(
        [r.split("==")[0] for r in requirements.training_requirements()])
    assert not {"matplotlib", "jinja2", "markupsafe", "weasyprint", "scipy", "pandas"} & wanted


def test_without_the_listed_requirements_the_job_fails(tmp_path, sdk_job):
    """The venv check can fail: the image's packages alone lack pydantic."""
    study, data = sdk_job.study, sdk_job.data
    source = training_jobs.stage_source(tmp_path / "source", study, [[]], None)
    python = fresh_venv(tmp_path / "venv", requirements.image_packages())
    proc = run_job(python, source, data, tmp_path / "job")
    assert proc.returncode != 0 and "No module named 'pydantic'" in proc.stderr


def test_requirements_are_pinned_to_the_versions_local_runs_record(trained_study: TrainedStudy):
    import keras

    lines = requirements.training_requirements()
    pinned = dict(line.split("==") for line in lines)
    assert pinned["keras"] == keras.__version__ == json.loads(
        next(trained_study.study_runs.glob("*/run.json")).read_text())["environment"]["keras"]
    assert {"pydantic", "pillow"} <= set(pinned)
    assert all(pinned[name] == md.version(name) for name in pinned)
    assert not {"numpy", "tensorflow", "tensorflow-cpu"} & set(pinned)  # the image's own


def test_shard_splits_the_plan_in_order_into_at_most_max_parallel_parts():
    assert training_jobs.shard(list(range(21)), 4) == [list(range(0, 6)), list(range(6, 11)),
                                                      list(range(11, 16)), list(range(16, 21))]
    assert training_jobs.shard([1, 2], 8) == [[1], [2]]
    assert training_jobs.shard([], 3) == []


def _play_the_container(monkeypatch, archive: Path):
    """moto completes a job at once without running it: do what the container would, at start
    (upload the job's output, write log lines), and note which thread started each job."""
    import boto3

    real_start = training_jobs._start_job
    threads = []

    def start(sess, study_name, index, *rest):
        threads.append(threading.get_ident())
        job = real_start(sess, study_name, index, *rest)
        uri = boto3.client("sagemaker").describe_training_job(TrainingJobName=job)["ModelArtifacts"]["S3ModelArtifacts"]
        bucket, key = uri[5:].split("/", 1)
        boto3.client("s3").upload_file(str(archive), bucket, key)
        logs = boto3.client("logs")
        try:
            logs.create_log_group(logGroupName=training_jobs.LOG_GROUP)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        stream = f"{job}/algo-1-1700000000"
        logs.create_log_stream(logGroupName=training_jobs.LOG_GROUP, logStreamName=stream)
        logs.put_log_events(logGroupName=training_jobs.LOG_GROUP, logStreamName=stream,
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": f"job {index + 1}: epoch 1/1"}])
        return job

    monkeypatch.setattr(training_jobs, "_start_job", start)
    return threads


def test_jobs_are_sharded_streamed_and_pulled_back(aws_env, sdk_job, tmp_path, monkeypatch):
    import boto3

    study, archive, plan = sdk_job.study, sdk_job.archive, sdk_job.plan
    ws = Workspace(runs_root=tmp_path / "runs")
    threads = _play_the_container(monkeypatch, archive)
    said: list[str] = []
    counts = training_jobs.train_sagemaker(study, ws, max_parallel=2, poll_s=0.01, echo=said.append)
    assert counts == {"trained": 5, "skipped": 0, "failed": 0}
    for spec in plan:
        assert store.run_problem(ws.runs_root / study.name / spec.run_id) is None
    sm = boto3.client("sagemaker")
    jobs = sm.list_training_jobs()["TrainingJobSummaries"]
    assert len(jobs) == 2 and len(set(threads)) == 2  # two jobs, each started from its own thread
    shards = []
    for summary in jobs:
        desc = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        hps = desc["HyperParameters"]
        assert set(hps) == {"shard", "plan"} and max(map(len, hps.values())) < 20
        shards.append(hps["shard"].strip('"'))
        code = next(c for c in desc["InputDataConfig"] if c["ChannelName"] == "code")
        assert code["DataSource"]["S3DataSource"]["S3Uri"].endswith("/sourcedir.tar.gz")
        assert "tensorflow-training:2.21" in desc["AlgorithmSpecification"]["TrainingImage"]
    assert sorted(shards) == ["0", "1"]
    bucket = "sagemaker-us-east-1-123456789012"
    sources = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"cnnreport/{study.name}/source/")
    assert len(sources["Contents"]) == 1  # one upload for both jobs
    assert any("job 1/2: Completed" in s for s in said) and any("job 2/2: job 2: epoch 1/1" in s for s in said)
    assert any("3 runs" in s for s in said) and any("2 runs" in s for s in said)

    # A second call finds everything done and creates nothing.
    assert training_jobs.train_sagemaker(study, ws, max_parallel=2, poll_s=0.01, echo=said.append)["skipped"] == 5
    assert len(sm.list_training_jobs()["TrainingJobSummaries"]) == 2


def test_dry_run_prints_jobs_runs_image_and_cost_and_creates_nothing(aws_env, sdk_job, tmp_path, capsys):
    import boto3

    from cnnreport.cli import main

    data = sdk_job.data
    rc = main(["train", "--study", str(Path(data).parent / "tiny.toml"), "--backend", "sagemaker", "--dry-run",
               "--max-parallel", "2", "--runs-dir", str(tmp_path / "runs"), "--instance-type", "ml.c5.xlarge"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "5 runs to train in 2 SageMaker training jobs" in out
    assert "job 1: 3 runs" in out and "job 2: 2 runs" in out and "mlp · seed 0" in out
    assert "ml.c5.xlarge" in out and "tensorflow-training:2.21" in out and "estimated cost about $" in out
    assert "keras==" in out and "nothing was uploaded or created" in out
    assert boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
    assert main(["train", "--study", str(Path(data).parent / "tiny.toml"), "--dry-run"]) == 2  # local: no plan
