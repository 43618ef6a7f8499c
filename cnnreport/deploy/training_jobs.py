"""SageMaker training jobs: a study's unfinished runs trained by the SDK 3.x's ModelTrainer from
the staged package, and each job's run folder pulled back into runs/ like a local run.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import cnnreport
from cnnreport import resources
from cnnreport.deploy.aws_session import (
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
from cnnreport.train import store

Echo = Callable[[str], None]
DEFAULT_TRAIN_INSTANCE = "ml.m5.xlarge"
ENTRY_SCRIPT = "train.py"  # staged at the source folder's top (see stage_source)
TRAIN_REQUIREMENTS = "keras>=3.15\npydantic>=2.6\npandas>=2.1\nscipy>=1.11\npillow>=10\n"


# ----------------------------------------------------------------------- training jobs (SDK 3.x)


def stage_source(dest: Path) -> Path:
    """What the training container needs: cnnreport/, sagemaker/train.py, requirements.txt."""
    # The package as installed (links under resources/ are copied as files), and the entry
    # script at the folder's top, so `python train.py` finds cnnreport/ beside it.
    shutil.copytree(Path(cnnreport.__file__).parent, dest / "cnnreport",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copyfile(str(resources.sagemaker_script("train.py")), dest / ENTRY_SCRIPT)
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
    from cnnreport.train.plan import full_plan

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
    from sagemaker.train.configs import Compute, InputData, OutputDataConfig, SourceCode

    from sagemaker.train import ModelTrainer

    base = re.sub(r"[^A-Za-z0-9-]+", "-", f"cnnreport-{spec.run_id}")[:50].strip("-")
    trainer = ModelTrainer(
        sagemaker_session=Session(boto_session=sess, default_bucket=bucket),
        role=role, training_image=image, base_job_name=base,
        source_code=SourceCode(source_dir=str(source), entry_script=ENTRY_SCRIPT,
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
