"""AWS plumbing shared by endpoints and training jobs: region, role and credentials, one-line
errors from botocore's, the TensorFlow image URI, and the default S3 bucket. boto3 and the
SageMaker SDK live in the `aws` extra and are imported lazily.
"""

from __future__ import annotations

import os
import re
from typing import Any

from cnnreport.deploy import sdk_images, tf_compat
from cnnreport.errors import UserError

ROLE_ENV = "SAGEMAKER_ROLE_ARN"
ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
S3_PREFIX = "cnnreport"
FALLBACK_TF = "2.20"  # without TensorFlow here (nothing exported here either): the newest image


# ------------------------------------------------------------------------- session and checks


def import_boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise UserError("this command needs the aws extra (boto3, the SageMaker SDK): "
                        "pip install 'cnnreport[aws]'") from None
    return boto3


def resolve_region(region: str | None) -> str:
    """--region, else AWS_REGION / AWS_DEFAULT_REGION, else the AWS config's region."""
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        region = import_boto3().Session().region_name
    if not region:
        raise UserError("no AWS region: pass --region (e.g. eu-west-1) or set AWS_REGION")
    return region


def session(region: str) -> Any:
    return import_boto3().Session(region_name=region)


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
    """The TensorFlow version of the image a plan needs. Inference: the serving rule (tf_compat:
    the oldest image at least as new as the exporting TensorFlow, else the newest). Training:
    the newest training image not newer than the TensorFlow here, so runs train as they would
    here. Chosen among the images known here and any newer the SDK lists, never narrowed by an
    older SDK: image_uri refuses an SDK that lacks the choice."""
    try:
        import tensorflow as tf

        local = tf.__version__
    except ImportError:
        return FALLBACK_TF
    if scope == "inference":
        return tf_compat.serving_version(local)[0]
    versions = sdk_images.versions(scope)
    fitting = [v for v in versions if sdk_images.version_key(v) <= sdk_images.version_key(local)]
    return fitting[-1] if fitting else versions[0]


def image_uri(region: str, instance_type: str, scope: str = "inference", version: str | None = None) -> str:
    """The image's URI from the SDK's table; one line (exit 2) when the SDK does not know it."""
    try:
        from sagemaker.core import image_uris
    except ImportError:
        raise UserError("this command needs the aws extra (boto3, the SageMaker SDK): "
                        "pip install 'cnnreport[aws]'") from None
    version = version or tf_version(scope)
    sdk_images.require(scope, version)
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
