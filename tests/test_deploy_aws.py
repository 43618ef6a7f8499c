"""deploy / undeploy / training jobs against a moto server on 127.0.0.1 (no credentials, no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import pytest

from cnnreport.deploy import aws_session, endpoints, training_jobs
from cnnreport.errors import UserError
from cnnreport.pipeline import Workspace, full_plan
from cnnreport.study.loading import load_study

from helpers import TrainedStudy, study_toml, write_image_folder

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_url, monkeypatch, tmp_path):
    for k in list(os.environ):
        if k.startswith("AWS_") and k != "AWS_CA_BUNDLE":
            monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)  # every boto3 client, the SDK's included
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv(aws_session.ROLE_ENV, ROLE)
    # The SDK checks the role with iam:SimulatePrincipalPolicy, which moto does not implement;
    # SAGEMAKER_VALIDATE_ROLE is the SDK's own switch for that check.
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    import boto3

    iam = boto3.client("iam")
    if not any(r["Arn"] == ROLE for r in iam.list_roles()["Roles"]):
        iam.create_role(RoleName="SageMakerRole", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "sagemaker.amazonaws.com"}}]}))
    return moto_url


@pytest.fixture(scope="module")
def trained(trained_study: TrainedStudy, tmp_path_factory):
    """(study, its file, workspace) of a copy of the shared build: deploying packages the model
    and records the deployment under runs/."""
    copy = trained_study.copy_to(tmp_path_factory.mktemp("aws"))
    return copy.study(), copy.study_file, copy.workspace()


def _folder_study(tmp_path):
    """The tiny study on a `folder` data set (12×12 RGB PNGs, 3 classes): the container's
    training channel is that folder."""
    folder = write_image_folder(tmp_path / "data")
    path = tmp_path / "tiny.toml"
    path.write_text(study_toml(name="tiny-endpoint", source="folder", train_subset=None, val_subset=None,
                               test_subset=None, epochs=1, batch_size=16, levels="[1, 3]",
                               data_extra=f'path = "{folder.as_posix()}"\nimage_size = [12, 12]\nval_fraction = 0.2\n'),
                    encoding="utf-8")
    return load_study(path), path


def test_dry_run_prints_plan_and_creates_nothing(aws_env, trained, capsys):
    import boto3

    from cnnreport.cli import main

    study, path, ws = trained
    rc = main(["deploy", "--study", str(path), "--dry-run", "--runs-dir", str(ws.runs_root),
               "--region", "eu-west-1", "--instance-type", "ml.c5.large"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "ml.c5.large" in out and "eu-west-1" in out and "tensorflow-inference:2." in out
    assert "saved" in out.lower() and "cnn-kernel-3x3" in out
    assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []


def test_deploy_then_undeploy(aws_env, trained):
    import boto3

    study, _, ws = trained
    plan = endpoints.plan_deploy(study, ws, region="us-east-1")
    note = endpoints.deploy(plan, ws.runs_root, echo=lambda m: None, waiter_delay_s=1, waiter_max_attempts=5)
    sm, s3 = boto3.client("sagemaker"), boto3.client("s3")
    ep = sm.describe_endpoint(EndpointName=plan.endpoint_name)
    assert ep["EndpointStatus"] == "InService" == note["status"]
    model = sm.describe_model(ModelName=plan.model_name)
    assert model["PrimaryContainer"]["ModelDataUrl"] == plan.s3_uri
    assert model["ExecutionRoleArn"] == ROLE and "tensorflow-inference" in model["PrimaryContainer"]["Image"]
    bucket, key = plan.s3_uri[5:].split("/", 1)
    uploaded = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert uploaded == open(plan.tarball, "rb").read()  # the very artifact serve and the tests use
    cfg = sm.describe_endpoint_config(EndpointConfigName=plan.config_name)
    assert cfg["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert (ws.runs_root / study.name / "endpoint" / f"deployment-{plan.endpoint_name}.json").is_file()

    deleted = endpoints.undeploy(plan.endpoint_name, echo=lambda m: None)
    assert len(deleted) == 3
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert endpoints.undeploy(plan.endpoint_name, echo=lambda m: None) == []  # already gone: not an error


def test_clear_errors_for_missing_role_region_credentials(aws_env, trained, monkeypatch):
    from cnnreport.cli import main

    study, path, ws = trained
    monkeypatch.delenv(aws_session.ROLE_ENV)
    with pytest.raises(UserError, match="no SageMaker execution role"):
        endpoints.plan_deploy(study, ws)
    with pytest.raises(UserError, match="expected an IAM role ARN"):
        endpoints.plan_deploy(study, ws, role="admin")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(UserError, match="no AWS region"):
        endpoints.plan_deploy(study, ws, role=ROLE)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(UserError, match="no AWS credentials"):
        endpoints.plan_deploy(study, ws, role=ROLE)
    assert main(["undeploy", "--endpoint", "x"]) == 2  # one line, exit 2, no traceback


def _fake_container(study, spec, tmp_path):
    """Run the staged entry script (sagemaker/train.py) as the container would; tar SM_MODEL_DIR."""
    source = training_jobs.stage_source(tmp_path / "source")
    model_dir = tmp_path / "opt-ml-model"
    model_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({"SM_MODEL_DIR": str(model_dir), "SM_CHANNEL_TRAINING": str(study.data.path),
                "SM_HPS": json.dumps(training_jobs.hyperparameters(study, spec)), "TF_CPP_MIN_LOG_LEVEL": "3"})
    proc = subprocess.run([sys.executable, training_jobs.ENTRY_SCRIPT], cwd=source, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for p in model_dir.iterdir():
            tar.add(p, arcname=p.name)
    return model_dir, archive


def test_train_script_in_a_faked_container_then_jobs_pulled_back(aws_env, tmp_path, monkeypatch):
    """sagemaker/train.py writes the run record and a SavedModel; train --backend sagemaker creates
    the jobs with ModelTrainer and pulls each job's artifact back into runs/ like a local run."""
    import boto3

    study, _ = _folder_study(tmp_path)
    ws = Workspace(runs_root=tmp_path / "runs")
    plan = full_plan(study)
    spec = next(s for s in plan if s.model.role == "reference" and s.seed == 0)
    model_dir, archive = _fake_container(study, spec, tmp_path / "job")
    assert (model_dir / "runs" / spec.run_id / "run.json").is_file()
    assert (model_dir / "cnn-kernel-3x3" / "1" / "saved_model.pb").is_file()

    # Every other run counts as done (a run.json marks a run complete), so exactly one job is created.
    for other in plan:
        if other.run_id != spec.run_id:
            (ws.runs_root / study.name / other.run_id).mkdir(parents=True)
            (ws.runs_root / study.name / other.run_id / "run.json").write_text("{}")
    real_wait = training_jobs._wait_job

    def wait_and_play_container(sm, job, poll_s):
        uri = real_wait(sm, job, poll_s)  # moto reports the job Completed at once
        bucket, key = uri[5:].split("/", 1)
        boto3.client("s3").upload_file(str(archive), bucket, key)  # what the container would upload
        return uri

    monkeypatch.setattr(training_jobs, "_wait_job", wait_and_play_container)
    counts = training_jobs.train_sagemaker(study, ws, poll_s=0.1, echo=lambda m: None)
    assert counts == {"trained": 1, "skipped": len(plan) - 1, "failed": 0}
    jobs = boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    assert len(jobs) == 1
    desc = boto3.client("sagemaker").describe_training_job(TrainingJobName=jobs[0]["TrainingJobName"])
    assert desc["HyperParameters"]["run_id"].strip('"') == spec.run_id
    assert desc["RoleArn"] == ROLE and "tensorflow-training" in desc["AlgorithmSpecification"]["TrainingImage"]
    pulled = json.loads((ws.runs_root / study.name / spec.run_id / "run.json").read_text())
    assert pulled["run_id"] == spec.run_id
    assert (ws.runs_root / study.name / spec.run_id / "model.keras").is_file()
