"""SageMaker training jobs: the study's unfinished runs split into at most --max-parallel jobs,
each training its share with the same runner as a local build, each job's run folders pulled
back into runs/ like local runs.

What travels where (CreateTrainingJob allows 2,500 characters per hyperparameter value; the
study alone is about 7,000):
  source  s3://<bucket>/cnnreport/<study>/source/<hash>/sourcedir.tar.gz, uploaded once for all
          jobs: cnnreport/, train.py, requirements.txt (pinned), study.json (the validated
          study) and jobs.json (the run ids of each job and the data fingerprint they need)
  data    the data set's local files as the `training` channel (none when Keras downloads it)
  hyperparameters  {"shard": "<k>", "plan": "jobs.json"}: a few characters each

The SageMaker SDK 3.x's ModelTrainer creates each job from that S3 source (no upload per job);
each worker thread has its own boto3 Session (Sessions are not thread-safe) and streams its
job's status changes and CloudWatch log lines as progress.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cnnreport
from cnnreport import resources
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
from cnnreport.deploy.requirements import training_requirements
from cnnreport.deploy.sdk_images import require as require_sdk_image
from cnnreport.errors import UserError
from cnnreport.formatting import fmt_duration
from cnnreport.train import levers, store
from cnnreport.train.engine import time_training_steps
from cnnreport.train.estimate import estimate_plan
from cnnreport.train.plan import full_plan

Echo = Callable[[str], None]
DEFAULT_TRAIN_INSTANCE = "ml.m5.xlarge"
ENTRY_SCRIPT = "train.py"  # staged at the source folder's top (see stage_source)
STUDY_FILE = "study.json"
PLAN_FILE = "jobs.json"
SOURCE_ARCHIVE = "sourcedir.tar.gz"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# Billed time per job besides training: downloading the image and the data, installing the
# requirements, uploading the output (a few minutes; provisioning itself is not billed).
STARTUP_BILLED_S = 180
# On-demand SageMaker training prices, USD per instance-hour, us-east-1 (list prices; other
# regions differ by a few per cent; see aws.amazon.com/sagemaker/pricing).
PRICE_PER_HOUR = {"ml.m5.large": 0.115, "ml.m5.xlarge": 0.23, "ml.m5.2xlarge": 0.461,
                  "ml.m5.4xlarge": 0.922, "ml.c5.xlarge": 0.204, "ml.c5.2xlarge": 0.408,
                  "ml.c5.4xlarge": 0.816, "ml.g4dn.xlarge": 0.736, "ml.g5.xlarge": 1.408,
                  "ml.p3.2xlarge": 3.825}


# ---------------------------------------------------------------------------------- the plan


def shard(todo: list[Any], max_parallel: int) -> list[list[Any]]:
    """`todo` in at most `max_parallel` contiguous, nearly equal parts, in plan order (the seeds
    of one model stay together, so a job reuses its compiled program from seed to seed)."""
    if max_parallel < 1:
        raise UserError(f"--max-parallel {max_parallel}: expected at least 1")
    n = min(max_parallel, len(todo))
    if n == 0:
        return []
    size, extra = divmod(len(todo), n)
    parts, start = [], 0
    for k in range(n):
        end = start + size + (1 if k < extra else 0)
        parts.append(todo[start:end])
        start = end
    return parts


@dataclass
class TrainingPlan:
    study: str
    region: str
    instance_type: str
    image: str
    jobs: list[list[Any]]  # RunSpecs of each job
    skipped: int
    fingerprint: str | None
    seconds: list[float | None] = field(default_factory=list)  # estimated training time per job
    notes: list[str] = field(default_factory=list)

    def cost_usd(self) -> float | None:
        price = PRICE_PER_HOUR.get(self.instance_type)
        if price is None or any(s is None for s in self.seconds):
            return None
        return sum(price * (STARTUP_BILLED_S + s) / 3600 for s in self.seconds)  # type: ignore[operator]


def plan_training(study: Any, ws: Any, region: str | None, instance_type: str | None, max_parallel: int,
                  estimate: bool = False) -> TrainingPlan:
    """The jobs that would train the study's unfinished runs; with `estimate`, their training
    time timed on this machine (a few seconds)."""
    require_sdk_image("training", tf_version("training"))  # before loading the data
    instance_type = instance_type or DEFAULT_TRAIN_INSTANCE
    splits = ws.splits(study)
    plan = full_plan(study, splits.fingerprint)
    study_dir = store.study_runs_dir(ws.runs_root, study.name)
    todo = [r for r in plan if not store.is_complete(study_dir / r.run_id)]
    jobs = shard(todo, max_parallel)
    out = TrainingPlan(study.name, region, instance_type, image_uri(region, instance_type, "training"),
                       jobs, len(plan) - len(todo), splits.fingerprint)
    if estimate and jobs:
        out.seconds = _estimate(jobs, splits)
        out.notes.append("training time timed on this machine's CPU, taken as the instance's")
    else:
        out.seconds = [None] * len(jobs)
    return out


def _estimate(jobs: list[list[Any]], splits: Any) -> list[float | None]:
    timed: dict[str, Any] = {}

    def timer(spec: Any, s: Any, lv: Any) -> Any:  # each model timed once for all jobs
        if spec.model.name not in timed:
            timed[spec.model.name] = time_training_steps(spec, s, lv)
        return timed[spec.model.name]

    lv = levers.choose(jobs[0][0].training.precision)
    return [estimate_plan(job, splits, lv, timer).seconds for job in jobs]


def describe_training_plan(plan: TrainingPlan, role: str | None = None) -> str:
    lines = [f"training plan for study {plan.study}: {sum(map(len, plan.jobs))} runs to train in "
             f"{len(plan.jobs)} SageMaker training jobs ({plan.skipped} runs already done)",
             f"  instance       {plan.instance_type} × 1 per job, region {plan.region}",
             f"  image          {plan.image}",
             f"  requirements   {', '.join(training_requirements())}",
             f"  role           {role or '(not set: pass --role or set SAGEMAKER_ROLE_ARN)'}"]
    for k, (job, secs) in enumerate(zip(plan.jobs, plan.seconds)):
        time_note = f", about {fmt_duration(secs)} of training" if secs is not None else ""
        lines.append(f"  job {k + 1}: {len(job)} runs{time_note}: " + "; ".join(s.describe() for s in job))
    cost = plan.cost_usd()
    price = PRICE_PER_HOUR.get(plan.instance_type)
    if cost is not None:
        lines.append(f"  estimated cost about ${cost:.2f}: {len(plan.jobs)} jobs × ({STARTUP_BILLED_S // 60} min of "
                     f"start-up + their training) at ${price:.3f}/h ({plan.instance_type}, us-east-1 on-demand)")
    elif price is None:
        lines.append(f"  estimated cost: no price known for {plan.instance_type}")
    lines.extend(f"  note: {n}" for n in plan.notes)
    return "\n".join(lines)


# ------------------------------------------------------------------------------ the source


def stage_source(dest: Path, study: Any, jobs: list[list[Any]], fingerprint: str | None) -> Path:
    """What the training container runs: cnnreport/, train.py, requirements.txt, the study and
    each job's run ids."""
    # The package as installed (links under resources/ are copied as files), and the entry
    # script at the folder's top, so `python train.py` finds cnnreport/ beside it.
    shutil.copytree(Path(cnnreport.__file__).parent, dest / "cnnreport",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copyfile(str(resources.sagemaker_script("train.py")), dest / ENTRY_SCRIPT)
    (dest / "requirements.txt").write_text("\n".join(training_requirements()) + "\n")
    (dest / STUDY_FILE).write_text(study.model_dump_json(indent=1))
    (dest / PLAN_FILE).write_text(json.dumps({
        "study": STUDY_FILE, "study_name": study.name, "data_fingerprint": fingerprint,
        "jobs": [[s.run_id for s in job] for job in jobs]}, indent=1))
    return dest


def source_archive(source: Path) -> bytes:
    """The staged folder as one tar.gz, its bytes the same for the same files (so its hash names
    it): sorted members, no times or owners."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                info = tar.gettarinfo(str(path), arcname=path.relative_to(source).as_posix())
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with open(path, "rb") as f:
                    tar.addfile(info, f)
    return buf.getvalue()


def job_hyperparameters(index: int) -> dict[str, str]:
    """SM_HPS of one job: which share of jobs.json it trains. The study travels as a file."""
    return {"shard": str(index), "plan": PLAN_FILE}


# ------------------------------------------------------------------------------- the jobs


def train_sagemaker(study: Any, ws: Any, region: str | None = None, role: str | None = None,
                    instance_type: str | None = None, max_parallel: int = 4,
                    bucket: str | None = None, poll_s: float = 30.0, echo: Echo = print,
                    dry_run: bool = False) -> dict[str, int]:
    """Train the unfinished runs as ≤ max_parallel jobs; pull each job's runs back into runs/."""
    if dry_run:
        region = region or _region_or_none() or "us-east-1"
        plan = plan_training(study, ws, region, instance_type, max_parallel, estimate=True)
        echo(describe_training_plan(plan, role or _role_or_none()))
        echo("dry run: nothing was uploaded or created")
        return {"trained": 0, "skipped": plan.skipped, "failed": 0}
    region = resolve_region(region)
    role = resolve_role(role)
    check_credentials(session(region))
    plan = plan_training(study, ws, region, instance_type, max_parallel)
    echo(describe_training_plan(plan, role))
    if not plan.jobs:
        return {"trained": 0, "skipped": plan.skipped, "failed": 0}
    sess = session(region)
    bucket = bucket or default_bucket(sess, region)
    s3 = sess.client("s3")
    ensure_bucket(s3, bucket, region)
    data_uri = _upload_data(study, ws, s3, bucket)
    with tempfile.TemporaryDirectory(prefix="cnnreport-src-") as tmp:
        source_uri = _upload_source(stage_source(Path(tmp) / "source", study, plan.jobs, plan.fingerprint),
                                    s3, bucket, study.name, echo)
    study_dir = store.study_runs_dir(ws.runs_root, study.name)

    def one(index: int) -> tuple[int, int]:
        specs = plan.jobs[index]
        own = session(region)  # one boto3 Session per thread: Sessions are not thread-safe
        label = f"job {index + 1}/{len(plan.jobs)}"
        try:
            job = _start_job(own, study.name, index, role, plan.image, plan.instance_type, bucket,
                             source_uri, data_uri)
            echo(f"  {label}: started {job} ({len(specs)} runs)")
            artifact = _follow_job(own, job, poll_s, lambda line: echo(f"  {label}: {line}"))
            pulled = _pull_runs(own.client("s3"), artifact, specs, study_dir)
            missing = len(specs) - pulled
            echo(f"  {label}: {job} done; {pulled} runs → {study_dir}/" + (
                f"; {missing} runs missing from its output (see its log lines): they stay to train"
                if missing else ""))
            return pulled, missing
        except UserError as exc:
            echo(f"  {label} failed: {exc}")
            return 0, len(specs)

    with ThreadPoolExecutor(max_workers=len(plan.jobs)) as pool:
        results = list(pool.map(one, range(len(plan.jobs))))
    return {"trained": sum(r[0] for r in results), "skipped": plan.skipped, "failed": sum(r[1] for r in results)}


def _region_or_none() -> str | None:
    try:
        return resolve_region(None)
    except UserError:
        return None


def _role_or_none() -> str | None:
    return os.environ.get(ROLE_ENV)


def _upload_data(study: Any, ws: Any, s3: Any, bucket: str) -> str | None:
    """The data set's local files (IDX / CIFAR archives / image folder) as the `training`
    channel; None when it came from Keras's download, which the container can repeat itself."""
    origin = Path(ws.splits(study).origin)
    if not origin.exists():
        return None
    root = origin if origin.is_dir() else origin.parent
    files = [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
    prefix = f"{S3_PREFIX}/{study.name}/data"
    for f in files:
        try:
            s3.upload_file(str(f), bucket, f"{prefix}/{f.relative_to(root).as_posix()}")
        except _aws_errors() as exc:
            raise _client_error(f"uploading {f}", exc) from None
    return f"s3://{bucket}/{prefix}/"


def _upload_source(source: Path, s3: Any, bucket: str, study_name: str, echo: Echo) -> str:
    """sourcedir.tar.gz under a key named by its content: uploaded once, reused by every job
    (and by a later call with the same code, study and plan)."""
    data = source_archive(source)
    key = f"{S3_PREFIX}/{study_name}/source/{hashlib.sha256(data).hexdigest()[:16]}/{SOURCE_ARCHIVE}"
    try:
        s3.head_object(Bucket=bucket, Key=key)
        echo(f"  source s3://{bucket}/{key} already uploaded")
    except _aws_errors():
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=data)
        except _aws_errors() as exc:
            raise _client_error(f"uploading the training source to s3://{bucket}/{key}", exc) from None
        echo(f"  source uploaded once for all jobs: s3://{bucket}/{key} ({len(data) / 1024:.0f} KiB)")
    return f"s3://{bucket}/{key}"


def job_base_name(study_name: str, index: int) -> str:
    """≤ 38 characters: the SDK appends a 24-character timestamp, and job names stop at 63."""
    base = re.sub(r"[^A-Za-z0-9-]+", "-", f"cnnreport-{study_name}").strip("-")
    return f"{re.sub(r'-{2,}', '-', base)[:32].rstrip('-')}-j{index + 1}"


def _start_job(sess: Any, study_name: str, index: int, role: str, image: str, instance_type: str,
               bucket: str, source_uri: str, data_uri: str | None) -> str:
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.train.configs import Compute, InputData, OutputDataConfig, SourceCode

    from sagemaker.train import ModelTrainer

    trainer = ModelTrainer(
        sagemaker_session=Session(boto_session=sess, default_bucket=bucket),
        role=role, training_image=image, base_job_name=job_base_name(study_name, index),
        source_code=SourceCode(source_dir=source_uri, entry_script=ENTRY_SCRIPT,
                               requirements="requirements.txt"),
        compute=Compute(instance_type=instance_type, instance_count=1),
        hyperparameters=job_hyperparameters(index),
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/{S3_PREFIX}/{study_name}/jobs"),
        input_data_config=[InputData(channel_name="training", data_source=data_uri)] if data_uri else None,
    )
    try:
        trainer.train(wait=False, logs=False)
        return trainer._latest_training_job.training_job_name
    except Exception as exc:  # noqa: BLE001 - the SDK raises many types; the user needs one line
        raise _client_error(f"creating training job {index + 1}", exc) from None


def _follow_job(sess: Any, job: str, poll_s: float, say: Echo) -> str:
    """Wait for the job, saying each status change and each new log line; its artifact URI."""
    sm, logs = sess.client("sagemaker"), sess.client("logs")
    last_status, tokens = None, {}
    while True:
        try:
            desc = sm.describe_training_job(TrainingJobName=job)
        except _aws_errors() as exc:
            raise _client_error(f"describing training job {job}", exc) from None
        status = (desc["TrainingJobStatus"], desc.get("SecondaryStatus"))
        if status != last_status:
            transitions = desc.get("SecondaryStatusTransitions") or [{}]
            message = transitions[-1].get("StatusMessage", "")
            say(f"{status[0]}" + (f" · {status[1]}" if status[1] else "") + (f": {message}" if message else ""))
            last_status = status
        for line in _new_log_lines(logs, job, tokens):
            say(line)
        if status[0] == "Completed":
            return desc["ModelArtifacts"]["S3ModelArtifacts"]
        if status[0] in ("Failed", "Stopped"):
            raise UserError(f"training job {job} {status[0].lower()}: {desc.get('FailureReason', 'no reason given')}")
        time.sleep(poll_s)


def _new_log_lines(logs: Any, job: str, tokens: dict[str, str]) -> list[str]:
    """CloudWatch log lines of the job's streams since the last call (none while the log group
    or streams do not exist yet)."""
    out: list[str] = []
    try:
        streams = logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{job}/")["logStreams"]
        for stream in streams:
            name = stream["logStreamName"]
            kwargs = {"nextToken": tokens[name]} if name in tokens else {"startFromHead": True}
            resp = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=name, **kwargs)
            tokens[name] = resp["nextForwardToken"]
            out.extend(e["message"].rstrip() for e in resp["events"])
    except _aws_errors():
        pass
    return out


def _pull_runs(s3: Any, artifact_uri: str, specs: list[Any], study_dir: Path) -> int:
    """The job's model.tar.gz → runs/<study>/<run-id>/ for each of its runs (atomically, like
    local runs). Returns how many were complete."""
    bucket, key = artifact_uri[5:].split("/", 1)
    with tempfile.TemporaryDirectory(prefix="cnnreport-pull-") as tmp:
        archive = Path(tmp) / "model.tar.gz"
        try:
            s3.download_file(bucket, key, str(archive))
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(Path(tmp) / "x", filter="data")
        except (*_aws_errors(), tarfile.TarError, OSError) as exc:
            raise _client_error(f"fetching {artifact_uri}", exc) from None
        pulled = 0
        for spec in specs:
            run_src = Path(tmp) / "x" / "runs" / spec.study / spec.run_id
            if store.run_problem(run_src) is not None:
                continue

            def fill(dest: Path, src: Path = run_src) -> None:
                for f in src.iterdir():
                    shutil.copy2(f, dest / f.name) if f.is_file() else shutil.copytree(f, dest / f.name)

            store.write_run(study_dir, spec.run_id, fill)
            pulled += 1
    return pulled
