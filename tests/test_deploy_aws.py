"""deploy / undeploy against a moto server on 127.0.0.1 (no credentials, no network), and the
AWS fixtures the other deployment tests import."""

from __future__ import annotations

import json
import os

import pytest

from cnnreport.deploy import aws_session, endpoints
from cnnreport.errors import UserError

from helpers import TrainedStudy

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def use_moto(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    """Point every boto3 client (the SDK's included) at the moto server, with an empty account
    holding the SageMaker role."""
    import boto3

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
    requests.post(f"{moto_url}/moto-api/reset")  # each test starts from an empty account
    iam = boto3.client("iam")
    iam.create_role(RoleName="SageMakerRole", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "sagemaker.amazonaws.com"}}]}))
    return moto_url


@pytest.fixture
def aws_env(moto_url, monkeypatch, tmp_path):
    return use_moto(moto_url, monkeypatch, tmp_path)


import requests  # noqa: E402  (moto's own dependency; used above to reset the server)


@pytest.fixture(scope="module")
def trained(trained_study: TrainedStudy, tmp_path_factory):
    """(study, its file, workspace) of a copy of the shared build: deploying packages the model
    and records the deployment under runs/."""
    copy = trained_study.copy_to(tmp_path_factory.mktemp("aws"))
    return copy.study(), copy.study_file, copy.workspace()


def on_describe_endpoint(monkeypatch, statuses):
    """Make describe_endpoint answer the given (status, reason) pairs first, as AWS would while an
    endpoint is Creating or after it Failed; moto reports InService at once."""
    import boto3

    queue = list(statuses)
    real_session = aws_session.session

    def patched(region):
        sess = real_session(region)

        def hook(parsed, **_):
            if queue and "EndpointStatus" in parsed:
                status, reason = queue.pop(0)
                parsed["EndpointStatus"] = status
                if reason:
                    parsed["FailureReason"] = reason

        sess.events.register("after-call.sagemaker.DescribeEndpoint", hook)
        return sess

    monkeypatch.setattr(endpoints, "session", patched)
    return boto3


def test_dry_run_prints_plan_and_creates_nothing(aws_env, trained, capsys):
    import boto3

    from cnnreport.cli import main

    study, path, ws = trained
    rc = main(["deploy", "--study", str(path), "--dry-run", "--runs-dir", str(ws.runs_root),
               "--region", "eu-west-1", "--instance-type", "ml.c5.large"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "ml.c5.large" in out and "eu-west-1" in out and "tensorflow-inference:2.20" in out
    assert "float32 SavedModel" in out and "cnn-kernel-3x3" in out
    assert "no tensorflow-inference image is as new as the exporting TensorFlow" in out
    assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []


def test_deploy_records_unique_names_waits_with_progress_then_undeploy_by_record(aws_env, trained, monkeypatch):
    import boto3

    study, _, ws = trained
    on_describe_endpoint(monkeypatch, [("Creating", None), ("Creating", None)])
    said = []
    first = endpoints.plan_deploy(study, ws, region="us-east-1")
    note = endpoints.deploy(first, ws.runs_root, echo=said.append, poll_s=0.01)
    second = endpoints.plan_deploy(study, ws, region="us-east-1")
    endpoints.deploy(second, ws.runs_root, echo=lambda m: None, poll_s=0.01)
    sm, s3 = boto3.client("sagemaker"), boto3.client("s3")

    assert note["status"] == "InService"
    assert sum("Creating after 0 min" in s for s in said) == 2  # a line per poll while waiting
    assert first.deployment_id != second.deployment_id
    assert {first.model_name, first.endpoint_name} & {second.model_name, second.endpoint_name} == set()
    assert len(first.endpoint_name) <= 63 and endpoints.NAME_RE.match(first.endpoint_name)
    model = sm.describe_model(ModelName=first.model_name)
    assert model["PrimaryContainer"]["ModelDataUrl"] == first.s3_uri
    assert model["ExecutionRoleArn"] == ROLE and "tensorflow-inference:2.20" in model["PrimaryContainer"]["Image"]
    bucket, key = first.s3_uri[5:].split("/", 1)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == open(first.tarball, "rb").read()
    assert first.s3_uri == second.s3_uri  # the same package: one object, named by its content
    assert sm.describe_endpoint_config(EndpointConfigName=first.config_name)["ProductionVariants"][0][
        "InstanceType"] == "ml.m5.large"
    recorded = endpoints.read_deployments(endpoints.deployments_path(ws.runs_root, study.name))
    assert [r["deployment_id"] for r in recorded] == [first.deployment_id, second.deployment_id]
    assert {r["status"] for r in recorded} == {"InService"}

    deleted = endpoints.undeploy(first.endpoint_name, echo=lambda m: None, runs_root=ws.runs_root)
    assert deleted == [f"endpoint {first.endpoint_name}", f"endpoint config {first.config_name}",
                       f"model {first.model_name}"]
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == [second.endpoint_name]
    after = {r["deployment_id"]: r["status"] for r in
             endpoints.read_deployments(endpoints.deployments_path(ws.runs_root, study.name))}
    assert after == {first.deployment_id: "deleted", second.deployment_id: "InService"}
    assert endpoints.undeploy(first.endpoint_name, echo=lambda m: None, runs_root=ws.runs_root) == []  # gone: not an error


def test_a_failed_endpoint_reports_its_failure_reason_and_is_rolled_back(aws_env, trained, monkeypatch):
    import boto3

    study, _, ws = trained
    on_describe_endpoint(monkeypatch, [("Creating", None),
                                       ("Failed", "The primary container for production variant AllTraffic "
                                                  "did not pass the ping health check.")])
    plan = endpoints.plan_deploy(study, ws, region="us-east-1")
    with pytest.raises(UserError) as err:
        endpoints.deploy(plan, ws.runs_root, echo=lambda m: None, poll_s=0.01)
    message = str(err.value)
    assert "is Failed: The primary container for production variant AllTraffic did not pass" in message
    assert f"deleted again: endpoint {plan.endpoint_name}, endpoint config {plan.config_name}, " \
           f"model {plan.model_name}" in message
    sm = boto3.client("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    row = endpoints.read_deployments(endpoints.deployments_path(ws.runs_root, study.name))[-1]
    assert row["status"] == "failed" and "ping health check" in row["failure"] and row["left"] == []


def test_a_failed_create_step_rolls_back_what_came_before_and_a_retry_succeeds(aws_env, trained, monkeypatch):
    """CreateEndpoint refused (moto accepts a taken name, so the refusal AWS gives is injected):
    the model and config this deployment made are deleted, the package it uploaded too; a retry
    under new names goes through (before: "Cannot create already existing model" on every
    retry, nothing deleted)."""
    import boto3
    from botocore.awsrequest import AWSResponse

    study, _, ws = trained
    sm = boto3.client("sagemaker")
    real_session = aws_session.session
    refusals = [1]

    def refusing(region):
        sess = real_session(region)

        def refuse(**_):
            if refusals:
                refusals.pop()
                error = {"Error": {"Code": "ValidationException", "Message": 'Cannot create already existing '
                                   'endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/taken".'},
                         "ResponseMetadata": {"HTTPStatusCode": 400}}
                return AWSResponse("https://sagemaker", 400, {}, None), error
            return None

        sess.events.register("before-call.sagemaker.CreateEndpoint", refuse)
        return sess

    monkeypatch.setattr(endpoints, "session", refusing)
    plan = endpoints.plan_deploy(study, ws, region="us-east-1", endpoint_name="taken")
    with pytest.raises(UserError, match=r"creating endpoint taken: ValidationException: Cannot create already "
                                        r"existing endpoint .*deleted again: endpoint config"):
        endpoints.deploy(plan, ws.runs_root, echo=lambda m: None, poll_s=0.01)
    assert sm.list_models()["Models"] == [] and sm.list_endpoint_configs()["EndpointConfigs"] == []
    bucket, key = plan.s3_uri[5:].split("/", 1)
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=key)
    row = endpoints.read_deployments(endpoints.deployments_path(ws.runs_root, study.name))[-1]
    assert row["status"] == "failed" and row["rolled_back"][-1] == plan.s3_uri
    retry = endpoints.plan_deploy(study, ws, region="us-east-1", endpoint_name="taken")
    assert endpoints.deploy(retry, ws.runs_root, echo=lambda m: None, poll_s=0.01)["status"] == "InService"
    assert retry.model_name != plan.model_name


def test_clear_errors_for_missing_role_region_credentials(aws_env, trained, monkeypatch):
    from cnnreport.cli import main

    study, path, ws = trained
    monkeypatch.delenv(aws_session.ROLE_ENV)
    with pytest.raises(UserError, match="no SageMaker execution role"):
        endpoints.plan_deploy(study, ws)
    with pytest.raises(UserError, match="expected an IAM role ARN"):
        endpoints.plan_deploy(study, ws, role="admin")
    with pytest.raises(UserError, match="--endpoint-name 'bad_name'"):
        endpoints.plan_deploy(study, ws, role=ROLE, endpoint_name="bad_name")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(UserError, match="no AWS region"):
        endpoints.plan_deploy(study, ws, role=ROLE)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(UserError, match="no AWS credentials"):
        endpoints.plan_deploy(study, ws, role=ROLE)
    assert main(["undeploy", "--endpoint", "x", "--runs-dir", str(ws.runs_root)]) == 2  # one line, exit 2
