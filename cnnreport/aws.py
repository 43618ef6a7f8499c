"""SageMaker: deploy / undeploy a run's model.tar.gz, and train a study's runs as training jobs.

Endpoints go through plain boto3 (create_model, create_endpoint_config, create_endpoint, the
`endpoint_in_service` waiter), so the same calls run against AWS and against a moto server in
the tests (point them there with AWS_ENDPOINT_URL). Training jobs use the SageMaker Python SDK
3.x's ModelTrainer. boto3 and the SDK live in the `aws` extra and are imported here, lazily.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from . import store
from .endpoint import endpoint_dir, package_for, selection_note
from .errors import UserError

Echo = Callable[[str], None]

DEFAULT_INSTANCE = "ml.m5.large"  # smallest general-purpose CPU instance real-time endpoints offer
DEFAULT_TRAIN_INSTANCE = "ml.m5.xlarge"
ROLE_ENV = "SAGEMAKER_ROLE_ARN"
ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
S3_PREFIX = "cnnreport"
REPO = Path(__file__).resolve().parent.parent
TRAIN_REQUIREMENTS = "keras>=3.15\npydantic>=2.6\npandas>=2.1\nscipy>=1.11\npillow>=10\n"
# TensorFlow Serving must be able to read what the local TensorFlow wrote; newest image ≤ local.
FALLBACK_TF = "2.20"


# ------------------------------------------------------------------------- session and checks


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise UserError("AWS commands need the aws extra: pip install 'cnnreport[aws]'") from None
    return boto3


def resolve_region(region: str | None) -> str:
    """--region, else AWS_REGION / AWS_DEFAULT_REGION, else the AWS config's region."""
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        region = _boto3().Session().region_name
    if not region:
        raise UserError("no AWS region: pass --region (e.g. eu-west-1) or set AWS_REGION")
    return region


def session(region: str) -> Any:
    return _boto3().Session(region_name=region)


def check_credentials(sess: Any) -> None:
    if sess.get_credentials() is None:
        raise UserError("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                        "or AWS_PROFILE, or run `aws configure`")


def resolve_role(role: str | None) -> str:
    role = role or os.environ.get(ROLE_ENV)
    if not role:
        raise UserError(f"no SageMaker execution role: pass --role ARN or set {ROLE_ENV} "
                        "(an IAM role SageMaker may assume, with S3 and ECR read access)")
    if not ROLE_RE.match(role):
        raise UserError(f"--role {role!r}: expected an IAM role ARN like arn:aws:iam::123456789012:role/NAME")
    return role


def _client_error(step: str, exc: Exception) -> UserError:
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    if isinstance(exc, NoCredentialsError):
        return UserError("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                         "or AWS_PROFILE, or run `aws configure`")
    if isinstance(exc, NoRegionError):
        return UserError("no AWS region: pass --region or set AWS_REGION")
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return UserError(f"{step}: {err.get('Code', 'error')}: {' '.join(str(err.get('Message', exc)).split())}")
    return UserError(f"{step}: {' '.join(str(exc).split())}")


def _aws_errors() -> tuple[type, ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def tf_version(scope: str = "inference") -> str:
    """Newest TensorFlow container version the SDK knows that is not newer than ours."""
    try:
        import tensorflow as tf

        local = tuple(int(p) for p in tf.__version__.split(".")[:2])
    except ImportError:
        return FALLBACK_TF
    import sagemaker.core.image_uris as iu  # noqa: F401  (the config ships with the SDK)

    config = json.loads((Path(iu.__file__).parent / "image_uri_config" / "tensorflow.json").read_text())
    versions = [tuple(int(p) for p in v.split(".")[:2]) for v in config[scope]["versions"]]
    fitting = [v for v in versions if v <= local]
    best = max(fitting) if fitting else min(versions)
    return f"{best[0]}.{best[1]}"


def image_uri(region: str, instance_type: str, scope: str = "inference") -> str:
    try:
        from sagemaker.core import image_uris
    except ImportError:
        raise UserError("AWS commands need the aws extra: pip install 'cnnreport[aws]'") from None
    version = tf_version(scope)
    try:
        return image_uris.retrieve("tensorflow", region, version=version, instance_type=instance_type,
                                   image_scope=scope, py_version="py312" if scope == "training" else None)
    except ValueError as exc:
        raise UserError(f"no TensorFlow {version} {scope} image for {region} / {instance_type}: "
                        f"{' '.join(str(exc).split())[:200]}") from None


def default_bucket(sess: Any, region: str) -> str:
    """The SDK's convention: sagemaker-<region>-<account id>."""
    try:
        account = sess.client("sts").get_caller_identity()["Account"]
    except Exception as exc:  # noqa: BLE001 - every failure here means: credentials not usable
        raise _client_error("looking up the AWS account (sts get-caller-identity)", exc) from None
    return f"sagemaker-{region}-{account}"


def ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except _aws_errors():
        pass
    try:
        kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **kwargs)
    except _aws_errors() as exc:
        raise _client_error(f"creating bucket s3://{bucket}", exc) from None


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
    from .endpoint import tfs_name

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
    store.write_json(out / f"deployment-{plan.endpoint_name}.json", note)
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


# ----------------------------------------------------------------------- training jobs (SDK 3.x)


def stage_source(dest: Path) -> Path:
    """What the training container needs: cnnreport/, sagemaker/train.py, requirements.txt."""
    shutil.copytree(REPO / "cnnreport", dest / "cnnreport",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (dest / "sagemaker").mkdir(parents=True)
    shutil.copyfile(REPO / "sagemaker" / "train.py", dest / "sagemaker" / "train.py")
    (dest / "requirements.txt").write_text(TRAIN_REQUIREMENTS)
    return dest


def hyperparameters(study: Any, spec: Any) -> dict[str, str]:
    """SM_HPS for one run: the whole validated study, the model's name and the seed."""
    return {"study": json.dumps(study.model_dump(mode="json")), "model": spec.model.name,
            "seed": str(spec.seed), "run_id": spec.run_id}


def train_sagemaker(study: Any, ws: Any, region: str | None = None, role: str | None = None,
                    instance_type: str | None = None, max_parallel: int = 4,
                    bucket: str | None = None, poll_s: float = 30.0, echo: Echo = print,
                    ) -> dict[str, int]:
    """Each unfinished (model, seed) as a training job, ≤ max_parallel at once; runs pulled back."""
    from .pipeline import full_plan

    instance_type = instance_type or DEFAULT_TRAIN_INSTANCE
    region = resolve_region(region)
    role = resolve_role(role)
    sess = session(region)
    check_credentials(sess)
    if max_parallel < 1:
        raise UserError(f"--max-parallel {max_parallel}: expected at least 1")
    plan = full_plan(study)
    study_dir = store.study_runs_dir(ws.runs_root, study.name)
    todo = [r for r in plan if not store.is_complete(study_dir / r.run_id)]
    echo(f"{len(plan) - len(todo)} of {len(plan)} runs already done; {len(todo)} SageMaker training "
         f"jobs on {instance_type} in {region}, at most {max_parallel} at once")
    if not todo:
        return {"trained": 0, "skipped": len(plan), "failed": 0}
    bucket = bucket or default_bucket(sess, region)
    s3 = sess.client("s3")
    ensure_bucket(s3, bucket, region)
    data_uri = _upload_data(study, ws, s3, bucket)
    image = image_uri(region, instance_type, "training")

    with tempfile.TemporaryDirectory(prefix="cnnreport-src-") as tmp:
        source = stage_source(Path(tmp) / "source")

        def one(spec: Any) -> bool:
            try:
                job = _start_job(study, spec, sess, region, role, image, instance_type, bucket, data_uri, source)
                echo(f"  started {job} for {spec.describe()}")
                artifact = _wait_job(sess.client("sagemaker"), job, poll_s)
                _pull_run(s3, artifact, spec, study_dir)
                echo(f"  done {spec.describe()} ({job}) → {study_dir / spec.run_id}")
                return True
            except UserError as exc:
                echo(f"  failed {spec.describe()}: {exc}")
                return False

        with ThreadPoolExecutor(max_workers=max_parallel) as pool:
            results = list(pool.map(one, todo))
    return {"trained": sum(results), "skipped": len(plan) - len(todo), "failed": len(results) - sum(results)}


def _upload_data(study: Any, ws: Any, s3: Any, bucket: str) -> str | None:
    """The data set's local files (IDX / CIFAR archives) as the `training` channel; None when
    it came from Keras's download, which the container can repeat itself."""
    origin = Path(ws.splits(study).origin)
    if not origin.exists():
        return None
    files = [origin] if origin.is_file() else sorted(p for p in origin.iterdir() if p.is_file())
    prefix = f"{S3_PREFIX}/{study.name}/data"
    for f in files:
        try:
            s3.upload_file(str(f), bucket, f"{prefix}/{f.name}")
        except _aws_errors() as exc:
            raise _client_error(f"uploading {f}", exc) from None
    return f"s3://{bucket}/{prefix}/"


def _start_job(study: Any, spec: Any, sess: Any, region: str, role: str, image: str,
               instance_type: str, bucket: str, data_uri: str | None, source: Path) -> str:
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, OutputDataConfig, SourceCode

    base = re.sub(r"[^A-Za-z0-9-]+", "-", f"cnnreport-{spec.run_id}")[:50].strip("-")
    trainer = ModelTrainer(
        sagemaker_session=Session(boto_session=sess, default_bucket=bucket),
        role=role, training_image=image, base_job_name=base,
        source_code=SourceCode(source_dir=str(source), entry_script="sagemaker/train.py",
                               requirements="requirements.txt"),
        compute=Compute(instance_type=instance_type, instance_count=1),
        hyperparameters=hyperparameters(study, spec),
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/{S3_PREFIX}/{study.name}/jobs"),
        input_data_config=[InputData(channel_name="training", data_source=data_uri)] if data_uri else None,
    )
    try:
        trainer.train(wait=False, logs=False)
        return trainer._latest_training_job.training_job_name
    except Exception as exc:  # noqa: BLE001 - the SDK raises many types; the user needs one line
        raise _client_error(f"creating the training job for {spec.describe()}", exc) from None


def _wait_job(sm: Any, job: str, poll_s: float) -> str:
    while True:
        try:
            desc = sm.describe_training_job(TrainingJobName=job)
        except _aws_errors() as exc:
            raise _client_error(f"describing training job {job}", exc) from None
        status = desc["TrainingJobStatus"]
        if status == "Completed":
            return desc["ModelArtifacts"]["S3ModelArtifacts"]
        if status in ("Failed", "Stopped"):
            raise UserError(f"training job {job} {status.lower()}: {desc.get('FailureReason', 'no reason given')}")
        time.sleep(poll_s)


def _pull_run(s3: Any, artifact_uri: str, spec: Any, study_dir: Path) -> Path:
    """The job's model.tar.gz → runs/<study>/<run-id>/ (atomically, like a local run)."""
    bucket, key = artifact_uri[5:].split("/", 1)
    with tempfile.TemporaryDirectory(prefix="cnnreport-pull-") as tmp:
        archive = Path(tmp) / "model.tar.gz"
        try:
            s3.download_file(bucket, key, str(archive))
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(Path(tmp) / "x", filter="data")
        except (*_aws_errors(), tarfile.TarError, OSError) as exc:
            raise _client_error(f"fetching {artifact_uri}", exc) from None
        run_src = Path(tmp) / "x" / "runs" / spec.run_id
        if not store.is_complete(run_src):
            raise UserError(f"{artifact_uri}: holds no run record runs/{spec.run_id}/ "
                            "(was the job's code different from this checkout?)")

        def fill(dest: Path) -> None:
            for f in run_src.iterdir():
                shutil.copy2(f, dest / f.name) if f.is_file() else shutil.copytree(f, dest / f.name)

        return store.write_run(study_dir, spec.run_id, fill)
