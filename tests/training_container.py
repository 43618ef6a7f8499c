"""What SageMaker does around a training container for one job, played on this machine from the
job's CreateTrainingJob request as moto recorded it:

1. lay out /opt/ml in a temporary root: each input channel's S3 objects under
   input/data/<channel>/, input/config/hyperparameters.json (the request's HyperParameters),
   inputdataconfig.json and resourceconfig.json (in the documented formats), model/, output/;
2. run the request's ContainerEntrypoint + ContainerArguments, here the SageMaker SDK's own
   `/bin/bash -c "chmod +x …/sm_train.sh && …/sm_train.sh"`, with /opt/ml bound to that root in
   a private mount namespace (`unshare`), so the SDK's scripts run unedited with the fixed paths
   they name, and with an image-like Python first on PATH;
3. pack model/ as the job's model.tar.gz at its S3ModelArtifacts URI, and the output lines as the
   job's CloudWatch log stream, as SageMaker uploads them.

The channel download follows what the SDK's scripts expect (an S3Prefix naming one object puts
that object in the channel's folder under its own name; a prefix of several keeps their paths
below it), not SageMaker's code, which is not public.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

HOST = "algo-1"

# Inside a private mount namespace: put `root` at /opt/ml without touching the real /opt (when
# /opt/ml does not exist, /opt becomes a tmpfs holding binds of its own entries, plus ml/).
BIND_OPT_ML = r"""
set -e
root="$1"; keep="$2"; shift 2
if [ -d /opt/ml ]; then
    mount --bind "$root" /opt/ml
else
    mount --rbind /opt "$keep"
    mount -t tmpfs tmpfs /opt
    for entry in "$keep"/* "$keep"/.[!.]*; do
        [ -e "$entry" ] || continue
        name=${entry##*/}
        if [ -d "$entry" ]; then mkdir "/opt/$name"; else touch "/opt/$name"; fi
        mount --rbind "$entry" "/opt/$name"
    done
    mkdir /opt/ml
    mount --bind "$root" /opt/ml
fi
exec "$@"
"""


def sandbox_available() -> bool:
    """Whether this machine lets an unprivileged process bind paths in its own mount namespace."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--map-root-user", "true"], capture_output=True)
    return probe.returncode == 0


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def download_channel(s3: Any, uri: str, dest: Path) -> list[str]:
    """The objects under an S3Prefix into dest; returns their names there."""
    bucket, prefix = _split(uri)
    names = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            name = Path(key).name if key == prefix else key[len(prefix):].lstrip("/")
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
            names.append(name)
    return names


def lay_out(desc: dict[str, Any], s3: Any, root: Path) -> Path:
    """/opt/ml for the job `desc` (a DescribeTrainingJob answer) under root."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    for sub in ("model", "output/data"):
        (root / sub).mkdir(parents=True)
    channels = {}
    for channel in desc.get("InputDataConfig", []):
        name = channel["ChannelName"]
        download_channel(s3, channel["DataSource"]["S3DataSource"]["S3Uri"], root / "input" / "data" / name)
        channels[name] = {"TrainingInputMode": channel.get("InputMode", "File"),
                          "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
    instance = desc["ResourceConfig"]["InstanceType"]
    (config / "hyperparameters.json").write_text(json.dumps(desc.get("HyperParameters") or {}))
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    (config / "resourceconfig.json").write_text(json.dumps({
        "current_host": HOST, "current_instance_type": instance, "current_group_name": "homogeneousCluster",
        "hosts": [HOST], "network_interface_name": "eth0",
        "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": instance, "hosts": [HOST]}]}))
    return root


def run(desc: dict[str, Any], root: Path, image_bin: Path, env: dict[str, str] | None = None,
        timeout_s: float = 600) -> subprocess.CompletedProcess:
    """The job's entry point and arguments with /opt/ml = root; `image_bin` (python3, pip3) first
    on PATH, as the image's interpreter would be."""
    spec = desc["AlgorithmSpecification"]
    command = [*spec["ContainerEntrypoint"], *spec.get("ContainerArguments", [])]
    keep = root.parent / (root.name + "-opt")
    keep.mkdir()
    full_env = {"PATH": f"{image_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": str(root.parent),
                "TRAINING_JOB_NAME": desc["TrainingJobName"], "LANG": "C.UTF-8", **(env or {})}
    return subprocess.run(["unshare", "--mount", "--map-root-user", "bash", "-c", BIND_OPT_ML, "bind-opt-ml",
                           str(root), str(keep), *command],
                          env=full_env, cwd=root.parent, capture_output=True, text=True, timeout=timeout_s)


def upload_output(desc: dict[str, Any], root: Path, s3: Any, logs: Any, lines: list[str], log_group: str) -> None:
    """model/ as the job's model.tar.gz, and the output lines as its log stream."""
    archive = root.parent / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted((root / "model").iterdir()):
            tar.add(path, arcname=path.name)
    s3.upload_file(str(archive), *_split(desc["ModelArtifacts"]["S3ModelArtifacts"]))
    try:
        logs.create_log_group(logGroupName=log_group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    stream = f"{desc['TrainingJobName']}/{HOST}-{int(time.time())}"
    logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": line} for line in lines if line.strip()][-5000:]
    if events:
        logs.put_log_events(logGroupName=log_group, logStreamName=stream, logEvents=events)


def pip_cache_env() -> dict[str, str]:
    """The caller's pip settings and cache, so the job's `pip install` reuses downloaded wheels."""
    env = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    return env
