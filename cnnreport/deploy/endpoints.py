"""SageMaker real-time endpoints: plan, deploy and undeploy a run's model.tar.gz.

Plain boto3 (create_model, create_endpoint_config, create_endpoint, describe_endpoint), so the
same calls run against AWS and against a moto server in the tests (AWS_ENDPOINT_URL).

Each deployment has its own names (model, endpoint config and endpoint: `…-<UTC time>-<random>`),
so a retry never meets "Cannot create already existing model"; what one deployment created is
deleted again when a later step fails; the wait prints a line per poll and, on failure, the
endpoint's FailureReason; every deployment (and its outcome) is recorded in
runs/<study>/endpoint/deployments.json, which `undeploy` reads.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from cnnreport.deploy.artifact import endpoint_dir, file_sha256, package_for, read_model_info, selection_note, tfs_name
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
    tf_version,
)
from cnnreport.deploy.sdk_images import require as require_sdk_image
from cnnreport.errors import UserError
from cnnreport.files import write_json

Echo = Callable[[str], None]

DEFAULT_INSTANCE = "ml.m5.large"  # smallest general-purpose CPU instance real-time endpoints offer
DEPLOYMENTS_FILE = "deployments.json"
NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # botocore's EndpointName pattern, ≤ 63
POLL_S = 30.0
WAIT_LIMIT_S = 45 * 60  # endpoints usually take 5–10 minutes; SageMaker's own limit is longer


@dataclass
class DeployPlan:
    study: str
    model: str
    run_id: str
    seed: int
    selection: str
    tarball: str
    package_sha256: str
    region: str
    instance_type: str
    instance_count: int
    image: str
    image_note: str
    deployment_id: str
    endpoint_name: str
    model_name: str
    config_name: str
    role: str | None
    bucket: str | None
    s3_uri: str | None
    tfs_model_name: str


def deployment_id() -> str:
    """UTC time to the second and 4 random hex digits: unique per deployment, sortable."""
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:4]}"


def names_for(study: str, model: str, dep_id: str) -> str:
    """`cnnreport-<study>-<model>-<deployment id>`, ≤ 63 letters, digits and hyphens."""
    base = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9-]+", "-", f"cnnreport-{study}-{model}")).strip("-")
    return f"{base[:63 - len(dep_id) - 1].rstrip('-')}-{dep_id}"


def plan_deploy(study: Any, ws: Any, model: str | None = None, seed: int | None = None,
                region: str | None = None, instance_type: str | None = None,
                role: str | None = None, endpoint_name: str | None = None,
                bucket: str | None = None, dry_run: bool = False, echo: Echo | None = None) -> DeployPlan:
    """Everything deploy will do, resolved (and checked, unless it is a dry run)."""
    instance_type = instance_type or DEFAULT_INSTANCE
    region = resolve_region(region)
    if not dry_run:
        role = resolve_role(role)
        check_credentials(session(region))
    else:
        role = role or os.environ.get(ROLE_ENV)
    if endpoint_name is not None and not NAME_RE.match(endpoint_name):
        raise UserError(f"--endpoint-name {endpoint_name!r}: 1–63 letters, digits and hyphens, "
                        "starting and ending with a letter or digit")
    require_sdk_image("inference", tf_version("inference"))  # before the export, which takes a while
    record, tarball = package_for(study, ws, model, seed, echo)
    info = read_model_info(tarball) or {}
    serving = info.get("serving_image", {})
    sha = file_sha256(tarball)
    dep_id = deployment_id()
    own = names_for(study.name, tfs_name(record), dep_id)
    if bucket is None and not dry_run:
        bucket = default_bucket(session(region), region)
    # Named by content: a rebuilt package goes to a new key; the same one is not sent twice.
    key = f"{S3_PREFIX}/{study.name}/{record['run_id']}/{sha[:16]}/model.tar.gz"
    return DeployPlan(study=study.name, model=record["model"]["name"], run_id=record["run_id"],
                      seed=record["seed"], selection=selection_note(record, seed is not None),
                      tarball=str(tarball), package_sha256=sha, region=region, instance_type=instance_type,
                      instance_count=1, image=image_uri(region, instance_type, version=serving.get("tensorflow")),
                      image_note=serving.get("why", ""), deployment_id=dep_id,
                      endpoint_name=endpoint_name or own, model_name=own, config_name=own, role=role,
                      bucket=bucket, s3_uri=f"s3://{bucket}/{key}" if bucket else None,
                      tfs_model_name=tfs_name(record))


def describe_plan(plan: DeployPlan) -> str:
    size = Path(plan.tarball).stat().st_size
    return "\n".join([
        f"deploy plan for study {plan.study} (deployment {plan.deployment_id})",
        f"  model          {plan.model} · run {plan.run_id} ({plan.selection})",
        f"  artifact       {plan.tarball} ({size / 1024:.0f} KiB: float32 SavedModel {plan.tfs_model_name}/1/ "
        f"+ code/inference.py; sha256 {plan.package_sha256[:16]}…)",
        f"  1. upload      → {plan.s3_uri or 's3://sagemaker-<region>-<account>/' + S3_PREFIX + '/...'}",
        f"  2. model       {plan.model_name} · image {plan.image}",
        *([f"                 ({plan.image_note})"] if plan.image_note else []),
        f"                 role {plan.role or '(not set: pass --role or set ' + ROLE_ENV + ')'}",
        f"  3. config      {plan.config_name} · {plan.instance_count} × {plan.instance_type}",
        f"  4. endpoint    {plan.endpoint_name} · wait until InService (a line per poll); "
        "a failed step deletes what this deployment created",
        f"  region         {plan.region}",
        f"  cost           1 × {plan.instance_type} billed per hour while the endpoint exists; "
        f"`cnnreport undeploy --endpoint {plan.endpoint_name}` stops it",
    ])


# -------------------------------------------------------------------------------- deploying


def deploy(plan: DeployPlan, runs_root: Path, echo: Echo = print, poll_s: float = POLL_S,
           wait_limit_s: float = WAIT_LIMIT_S) -> dict[str, Any]:
    """Upload, create model + endpoint config + endpoint, wait for InService; record it. On a
    failure, delete what this deployment created (in reverse order) and say why."""
    sess = session(plan.region)
    sm, s3 = sess.client("sagemaker"), sess.client("s3")
    bucket, key = plan.s3_uri[5:].split("/", 1)  # type: ignore[index]
    created: list[tuple[str, Callable[[], Any]]] = []  # (what, how to delete it), in creation order
    note = {**asdict(plan), "status": "creating", "started_at": _now()}
    record_deployment(runs_root, note)

    def upload() -> None:
        ensure_bucket(s3, bucket, plan.region)
        try:
            s3.head_object(Bucket=bucket, Key=key)  # the same package, uploaded by an earlier try
            return
        except _aws_errors():
            pass
        s3.upload_file(plan.tarball, bucket, key)
        created.append((f"s3://{bucket}/{key}", lambda: s3.delete_object(Bucket=bucket, Key=key)))

    def create_model() -> None:
        sm.create_model(ModelName=plan.model_name, ExecutionRoleArn=plan.role,
                        PrimaryContainer={"Image": plan.image, "ModelDataUrl": plan.s3_uri,
                                          "Environment": {"SAGEMAKER_TFS_DEFAULT_MODEL_NAME": plan.tfs_model_name}})
        created.append((f"model {plan.model_name}", lambda: sm.delete_model(ModelName=plan.model_name)))

    def create_config() -> None:
        sm.create_endpoint_config(
            EndpointConfigName=plan.config_name,
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": plan.model_name,
                                 "InitialInstanceCount": plan.instance_count, "InstanceType": plan.instance_type}])
        created.append((f"endpoint config {plan.config_name}",
                        lambda: sm.delete_endpoint_config(EndpointConfigName=plan.config_name)))

    def create_endpoint() -> None:
        sm.create_endpoint(EndpointName=plan.endpoint_name, EndpointConfigName=plan.config_name)
        created.append((f"endpoint {plan.endpoint_name}", lambda: sm.delete_endpoint(EndpointName=plan.endpoint_name)))

    steps = [(f"uploading {plan.tarball} to {plan.s3_uri}", upload),
             (f"creating model {plan.model_name}", create_model),
             (f"creating endpoint config {plan.config_name}", create_config),
             (f"creating endpoint {plan.endpoint_name}", create_endpoint),
             (f"waiting for endpoint {plan.endpoint_name} to be InService",
              lambda: wait_in_service(sm, plan.endpoint_name, echo, poll_s, wait_limit_s))]
    for what, call in steps:
        echo(f"  {what}")
        try:
            call()
        except KeyboardInterrupt:
            record_deployment(runs_root, {**note, "status": "interrupted", "left": [w for w, _ in created]})
            echo(f"  interrupted: left as it was ({', '.join(w for w, _ in created) or 'nothing created'}); "
                 f"`cnnreport undeploy --endpoint {plan.endpoint_name}` deletes it")
            raise
        except (*_aws_errors(), OSError, UserError) as exc:
            error = exc if isinstance(exc, UserError) else _client_error(what, exc)
            removed, left = rollback(created, echo)
            record_deployment(runs_root, {**note, "status": "failed", "failure": str(error),
                                          "rolled_back": removed, "left": left, "ended_at": _now()})
            tail = (f"; deleted again: {', '.join(removed)}" if removed else "") + (
                f"; could NOT delete: {', '.join(left)} (delete them by hand)" if left else "")
            raise UserError(f"{error}{tail}") from None
    status = sm.describe_endpoint(EndpointName=plan.endpoint_name)["EndpointStatus"]
    note = {**note, "status": status, "deployed_at": _now()}
    record_deployment(runs_root, note)
    echo(f"endpoint {plan.endpoint_name} is {status}; test it with "
         f"`cnnreport endpoint-test --study {plan.study} --endpoint {plan.endpoint_name}`")
    return note


def wait_in_service(sm: Any, name: str, echo: Echo, poll_s: float, limit_s: float) -> None:
    """Poll describe_endpoint, a progress line each time; FailureReason when it fails."""
    t0 = time.monotonic()
    while True:
        desc = sm.describe_endpoint(EndpointName=name)
        status = desc["EndpointStatus"]
        waited = time.monotonic() - t0
        echo(f"    endpoint {name}: {status} after {int(waited // 60)} min {int(waited % 60)} s")
        if status == "InService":
            return
        if status in ("Failed", "OutOfService", "Deleting"):
            raise UserError(f"endpoint {name} is {status}: {desc.get('FailureReason') or 'no FailureReason given'}")
        if waited > limit_s:
            raise UserError(f"endpoint {name} still {status} after {limit_s / 60:.0f} minutes")
        time.sleep(poll_s)


def rollback(created: list[tuple[str, Callable[[], Any]]], echo: Echo) -> tuple[list[str], list[str]]:
    """Delete what was created, newest first. Returns (deleted, could not delete)."""
    removed, left = [], []
    for what, delete in reversed(created):
        try:
            delete()
            removed.append(what)
            echo(f"  rolled back: deleted {what}")
        except (*_aws_errors(), OSError) as exc:
            left.append(what)
            echo(f"  rollback could not delete {what}: {' '.join(str(exc).split())[:200]}")
    return removed, left


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


# ------------------------------------------------------------------------------------ records


def deployments_path(runs_root: Path, study: str) -> Path:
    return endpoint_dir(runs_root, study) / DEPLOYMENTS_FILE


def read_deployments(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{path}: unreadable deployment record ({exc}); move it aside") from None
    if not isinstance(data, dict) or not isinstance(data.get("deployments"), list):
        raise UserError(f"{path}: expected {{\"deployments\": [...]}}; move it aside")
    return data["deployments"]


def record_deployment(runs_root: Path, note: dict[str, Any]) -> None:
    """Add or update (by deployment id) one deployment in runs/<study>/endpoint/deployments.json."""
    path = deployments_path(runs_root, note["study"])
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [r for r in read_deployments(path) if r.get("deployment_id") != note["deployment_id"]]
    write_json(path, {"deployments": [*rows, note]})


def find_deployment(runs_root: Path, endpoint_name: str) -> tuple[Path, dict[str, Any]] | None:
    """The latest recorded deployment of `endpoint_name` under any study of runs_root."""
    found = []
    for path in sorted(Path(runs_root).glob(f"*/endpoint/{DEPLOYMENTS_FILE}")):
        found += [(path, r) for r in read_deployments(path) if r.get("endpoint_name") == endpoint_name]
    return max(found, key=lambda pr: pr[1].get("started_at", "")) if found else None


# ---------------------------------------------------------------------------------- undeploy


def _gone(exc: Exception) -> bool:
    msg = str(exc).lower()
    return "not found" in msg or "could not find" in msg or "does not exist" in msg


def undeploy(endpoint_name: str, region: str | None = None, echo: Echo = print,
             runs_root: Path | None = None) -> list[str]:
    """Delete the endpoint, its config and its model: by the names recorded when it was deployed
    (runs/*/endpoint/deployments.json), else as describe_endpoint names them. Already-gone parts
    are reported, not errors."""
    from botocore.exceptions import ClientError

    found = find_deployment(runs_root, endpoint_name) if runs_root is not None else None
    note = found[1] if found else None
    region = resolve_region(region or (note or {}).get("region"))
    sess = session(region)
    check_credentials(sess)
    sm = sess.client("sagemaker")
    if note:
        config, models = note["config_name"], [note["model_name"]]
        echo(f"  deployment {note['deployment_id']} of study {note['study']} (recorded in {found[0]})")  # type: ignore[index]
    else:
        config, models = endpoint_name, [endpoint_name]
        try:
            config = sm.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
        except ClientError as exc:
            if not _gone(exc):
                raise _client_error(f"describing endpoint {endpoint_name}", exc) from None
        try:
            models = [v["ModelName"] for v in sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]]
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
            if not _gone(exc):
                raise _client_error(f"deleting {what}", exc) from None
            echo(f"  {what}: already gone")
    if note and runs_root is not None:
        record_deployment(runs_root, {**note, "status": "deleted", "deleted_at": _now()})
    return deleted
