"""SageMaker real-time endpoints: plan, deploy and undeploy a run's model.tar.gz.

Plain boto3 (create_model, create_endpoint_config, create_endpoint, the `endpoint_in_service`
waiter), so the same calls run against AWS and against a moto server in the tests (point them
there with AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from cnnreport.deploy.artifact import endpoint_dir, package_for, selection_note
from cnnreport.deploy.aws_session import (
    ROLE_ENV,
    S3_PREFIX,
    _aws_errors,
    _client_error,
    check_credentials,
    default_bucket,
    ensure_bucket,
    image_uri,
    resolve_region,
    resolve_role,
    session,
)
from cnnreport.errors import UserError
from cnnreport.files import write_json

Echo = Callable[[str], None]

DEFAULT_INSTANCE = "ml.m5.large"  # smallest general-purpose CPU instance real-time endpoints offer


# ------------------------------------------------------------------------------------- deploy


@dataclass
class DeployPlan:
    study: str
    model: str
    run_id: str
    seed: int
    selection: str
    tarball: str
    region: str
    instance_type: str
    instance_count: int
    image: str
    endpoint_name: str
    model_name: str
    config_name: str
    role: str | None
    bucket: str | None
    s3_uri: str | None
    tfs_model_name: str


def endpoint_name_for(study: str, run_id: str) -> str:
    """≤ 63 characters of letters, digits and hyphens, as SageMaker requires."""
    base = re.sub(r"[^A-Za-z0-9-]+", "-", f"cnnreport-{study}-{run_id}").strip("-")
    return re.sub(r"-{2,}", "-", base)[:63].rstrip("-")


def plan_deploy(study: Any, ws: Any, model: str | None = None, seed: int | None = None,
                region: str | None = None, instance_type: str | None = None,
                role: str | None = None, endpoint_name: str | None = None,
                bucket: str | None = None, dry_run: bool = False) -> DeployPlan:
    """Everything deploy will do, resolved (and checked, unless it is a dry run)."""
    instance_type = instance_type or DEFAULT_INSTANCE
    region = resolve_region(region)
    record, tarball = package_for(study, ws, model, seed)
    if not dry_run:
        role = resolve_role(role)
        check_credentials(session(region))
    else:
        role = role or os.environ.get(ROLE_ENV)
    name = endpoint_name or endpoint_name_for(study.name, record["run_id"])
    if not re.match(r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,62}$", name):
        raise UserError(f"--endpoint-name {name!r}: 1–63 letters, digits and hyphens, starting with a letter or digit")
    if bucket is None and not dry_run:
        bucket = default_bucket(session(region), region)
    key = f"{S3_PREFIX}/{study.name}/{record['run_id']}/model.tar.gz"
    from cnnreport.deploy.artifact import tfs_name

    return DeployPlan(study=study.name, model=record["model"]["name"], run_id=record["run_id"],
                      seed=record["seed"], selection=selection_note(record, seed is not None),
                      tarball=str(tarball), region=region, instance_type=instance_type, instance_count=1,
                      image=image_uri(region, instance_type), endpoint_name=name,
                      model_name=name, config_name=name, role=role, bucket=bucket,
                      s3_uri=f"s3://{bucket}/{key}" if bucket else None, tfs_model_name=tfs_name(record))


def describe_plan(plan: DeployPlan) -> str:
    size = Path(plan.tarball).stat().st_size
    return "\n".join([
        f"deploy plan for study {plan.study}",
        f"  model          {plan.model} · run {plan.run_id} ({plan.selection})",
        f"  artifact       {plan.tarball} ({size / 1024:.0f} KiB: SavedModel {plan.tfs_model_name}/1/ + code/inference.py)",
        f"  1. upload      → {plan.s3_uri or 's3://sagemaker-<region>-<account>/' + S3_PREFIX + '/...'}",
        f"  2. model       {plan.model_name} · image {plan.image}",
        f"                 role {plan.role or '(not set: pass --role or set ' + ROLE_ENV + ')'}",
        f"  3. config      {plan.config_name} · {plan.instance_count} × {plan.instance_type}",
        f"  4. endpoint    {plan.endpoint_name} · wait until InService",
        f"  region         {plan.region}",
        f"  cost           1 × {plan.instance_type} billed per hour while the endpoint exists; "
        f"`cnnreport undeploy --endpoint {plan.endpoint_name}` stops it",
    ])


def deploy(plan: DeployPlan, runs_root: Path, echo: Echo = print, waiter_delay_s: int = 30,
           waiter_max_attempts: int = 60) -> dict[str, Any]:
    """Upload, create model + endpoint config + endpoint, wait for InService; record it."""
    sess = session(plan.region)
    sm, s3 = sess.client("sagemaker"), sess.client("s3")
    bucket, key = plan.s3_uri[5:].split("/", 1)  # type: ignore[index]
    steps: list[tuple[str, Callable[[], Any]]] = [
        (f"uploading {plan.tarball} to {plan.s3_uri}",
         lambda: (ensure_bucket(s3, bucket, plan.region), s3.upload_file(plan.tarball, bucket, key))),
        (f"creating model {plan.model_name}", lambda: sm.create_model(
            ModelName=plan.model_name, ExecutionRoleArn=plan.role,
            PrimaryContainer={"Image": plan.image, "ModelDataUrl": plan.s3_uri,
                              "Environment": {"SAGEMAKER_TFS_DEFAULT_MODEL_NAME": plan.tfs_model_name}})),
        (f"creating endpoint config {plan.config_name}", lambda: sm.create_endpoint_config(
            EndpointConfigName=plan.config_name,
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": plan.model_name,
                                 "InitialInstanceCount": plan.instance_count,
                                 "InstanceType": plan.instance_type}])),
        (f"creating endpoint {plan.endpoint_name}", lambda: sm.create_endpoint(
            EndpointName=plan.endpoint_name, EndpointConfigName=plan.config_name)),
        (f"waiting for endpoint {plan.endpoint_name} to be InService", lambda: sm.get_waiter(
            "endpoint_in_service").wait(EndpointName=plan.endpoint_name,
                                        WaiterConfig={"Delay": waiter_delay_s, "MaxAttempts": waiter_max_attempts})),
    ]
    for what, call in steps:
        echo(f"  {what}")
        try:
            call()
        except (*_aws_errors(), OSError) as exc:
            raise _client_error(what, exc) from None
    status = sm.describe_endpoint(EndpointName=plan.endpoint_name)["EndpointStatus"]
    note = {**asdict(plan), "status": status, "deployed_at": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    out = endpoint_dir(runs_root, plan.study)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"deployment-{plan.endpoint_name}.json", note)
    echo(f"endpoint {plan.endpoint_name} is {status}; test it with "
         f"`cnnreport endpoint-test --study {plan.study} --endpoint {plan.endpoint_name}`")
    return note


def undeploy(endpoint_name: str, region: str | None = None, echo: Echo = print) -> list[str]:
    """Delete the endpoint, its config and its model(s). Already-gone parts are reported, not errors."""
    region = resolve_region(region)
    sess = session(region)
    check_credentials(sess)
    sm = sess.client("sagemaker")
    from botocore.exceptions import ClientError

    config, models = endpoint_name, [endpoint_name]
    try:
        config = sm.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    except ClientError as exc:
        if "not found" not in str(exc).lower() and "could not find" not in str(exc).lower():
            raise _client_error(f"describing endpoint {endpoint_name}", exc) from None
    try:
        variants = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
        models = [v["ModelName"] for v in variants]
    except ClientError:
        pass
    deleted = []
    for what, call in [(f"endpoint {endpoint_name}", lambda: sm.delete_endpoint(EndpointName=endpoint_name)),
                       (f"endpoint config {config}", lambda: sm.delete_endpoint_config(EndpointConfigName=config)),
                       *[(f"model {m}", lambda m=m: sm.delete_model(ModelName=m)) for m in models]]:
        try:
            call()
            deleted.append(what)
            echo(f"  deleted {what}")
        except ClientError as exc:
            msg = str(exc).lower()
            if "not found" in msg or "could not find" in msg or "does not exist" in msg:
                echo(f"  {what}: already gone")
            else:
                raise _client_error(f"deleting {what}", exc) from None
    return deleted
