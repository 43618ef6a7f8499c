"""Every request we send to AWS (CreateTrainingJob, CreateModel, CreateEndpointConfig,
CreateEndpoint, InvokeEndpoint), captured as boto3 sends it, checked against the limits of
botocore's own service models (the installed botocore/data/sagemaker*/…/service-2.json.gz):
string lengths and patterns, list and map counts, number ranges, enums, required members.

botocore itself checks only types, required members and minimums; AWS checks the rest and
refuses the request (a 7,042-character hyperparameter: every job refused). moto checks none.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cnnreport.deploy import endpoints, training_jobs
from cnnreport.study.loading import load_study
from cnnreport.train.workspace import Workspace

from helpers import write_cifar_archive
from test_deploy_aws import aws_env, moto_url, trained  # noqa: F401  (fixtures)

CHECKED = {("sagemaker", "CreateTrainingJob"), ("sagemaker", "CreateModel"),
           ("sagemaker", "CreateEndpointConfig"), ("sagemaker", "CreateEndpoint"),
           ("sagemaker-runtime", "InvokeEndpoint")}
# The Java character classes the models' patterns use, in Python's re (the letter, separator and
# number classes of tag patterns approximately: we send no tags).
JAVA_CLASSES = {r"\p{ASCII}": r"\x00-\x7F", r"\p{Print}": r"\x20-\x7E", r"\p{Alnum}": r"A-Za-z0-9",
                r"\p{L}": r"^\W\d_", r"\p{Z}": r"\s", r"\p{N}": r"\d"}


def service_model(service: str) -> Any:
    import botocore
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    data = Path(botocore.__file__).parent / "data" / service / model.api_version
    assert (data / "service-2.json.gz").is_file() or (data / "service-2.json").is_file()  # read from there
    return model


def _pattern(java: str) -> re.Pattern:
    out = java.replace(r"\z", r"\Z")
    for cls, py in JAVA_CLASSES.items():
        out = out.replace(f"[{cls}]", f"[{py}]").replace(cls, f"[{py}]")
    return re.compile(out)


def violations(shape: Any, value: Any, path: str) -> list[str]:
    """Each way `value` breaks the limits of `shape` (a botocore Shape), as 'path: why'."""
    meta, kind, out = shape.metadata, shape.type_name, []
    if kind == "structure":
        out += [f"{path}.{m}: required, missing" for m in shape.required_members if m not in value]
        for key, item in value.items():
            if key not in shape.members:
                out.append(f"{path}.{key}: not in the model")
            else:
                out += violations(shape.members[key], item, f"{path}.{key}")
    elif kind in ("list", "map"):
        n = len(value)
        if n < meta.get("min", 0) or n > meta.get("max", n):
            out.append(f"{path}: {n} entries, allowed {meta.get('min', 0)}..{meta.get('max')}")
        if kind == "list":
            for i, item in enumerate(value):
                out += violations(shape.member, item, f"{path}[{i}]")
        else:
            for key, item in value.items():
                out += violations(shape.key, key, f"{path} key {key[:30]!r}")
                out += violations(shape.value, item, f"{path}[{key[:30]!r}]")
    elif kind == "string":
        n = len(value)
        if n < meta.get("min", 0) or n > meta.get("max", n):
            out.append(f"{path}: {n:,} characters, allowed {meta.get('min', 0)}..{meta.get('max'):,}")
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            out.append(f"{path}: {value[:60]!r} does not match {meta['pattern']!r}")
        if shape.enum and value not in shape.enum:
            out.append(f"{path}: {value!r} is not one of the {len(shape.enum)} allowed values")
    elif kind in ("integer", "long"):
        if value < meta.get("min", value) or value > meta.get("max", value):
            out.append(f"{path}: {value} outside {meta.get('min')}..{meta.get('max')}")
    elif kind == "blob":
        size = len(value.encode() if isinstance(value, str) else value)
        if size > meta.get("max", size):
            out.append(f"{path}: {size:,} bytes, allowed {meta['max']:,}")
    return out


def sizes(shape: Any, value: Any, path: str = "") -> list[tuple[str, int, Any]]:
    """(field, size, limit) of every string, list and map in a request: the closing note's table."""
    kind, rows = shape.type_name, []
    if kind == "structure":
        for key, item in value.items():
            rows += sizes(shape.members[key], item, f"{path}.{key}".lstrip("."))
    elif kind in ("list", "map"):
        rows.append((path, len(value), shape.metadata.get("max")))
        items = enumerate(value) if kind == "list" else value.items()
        member = shape.member if kind == "list" else shape.value
        rows += [r for k, item in items for r in sizes(member, item, f"{path}[{k}]")]
    elif kind == "string":
        rows.append((path, len(value), shape.metadata.get("max")))
    return rows


def check(requests: list[tuple[str, str, dict]]) -> list[str]:
    models = {s: service_model(s) for s in ("sagemaker", "sagemaker-runtime")}
    problems = []
    for service, operation, params in requests:
        shape = models[service].operation_model(operation).input_shape
        problems += [f"{operation} {p}" for p in violations(shape, params, operation)]
    return problems


@pytest.fixture
def sent(monkeypatch):
    """The (service, operation, params) of every API call made through botocore, the SDK's too."""
    from botocore.client import BaseClient

    calls: list[tuple[str, str, dict]] = []
    real = BaseClient._make_api_call

    def record(self, operation, params):
        calls.append((self.meta.service_model.service_name, operation, params))
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", record)
    return calls


def test_the_checker_refuses_what_aws_refuses():
    """Before: the whole study as one hyperparameter (over 7,000 characters for cifar10)."""
    study = load_study("cifar10", "full")
    request = {"TrainingJobName": "cnnreport-" + "x" * 60, "RoleArn": "arn:aws:iam::123456789012:role/r",
               "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "img"},
               "HyperParameters": {"study": json.dumps(study.model_dump(mode="json")), "seed": "0"},
               "OutputDataConfig": {"S3OutputPath": "s3://b/p"},
               "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
               "StoppingCondition": {"MaxRuntimeInSeconds": 86400}}
    problems = check([("sagemaker", "CreateTrainingJob", request)])
    assert any(re.search(r"HyperParameters\['study'\]: 7,\d{3} characters, allowed 0..2,500", p) for p in problems)
    assert any("TrainingJobName: 70 characters" in p for p in problems)
    assert check([("sagemaker-runtime", "InvokeEndpoint", {"EndpointName": "bad_name", "Body": b"x" * 6_291_457})]) == [
        "InvokeEndpoint InvokeEndpoint.EndpointName: 'bad_name' does not match '^[a-zA-Z0-9](-*[a-zA-Z0-9])*'",
        "InvokeEndpoint InvokeEndpoint.Body: 6,291,457 bytes, allowed 6,291,456"]


def test_the_cifar10_training_jobs_fit_the_limits(aws_env, sent, tmp_path):
    """The lab's own study (full profile) as 4 jobs; data: a small archive of CIFAR-10's format
    (the data's content changes only the hash inside run ids, not any size)."""
    write_cifar_archive(tmp_path / "data")
    study = load_study("cifar10", "full")
    ws = Workspace(runs_root=tmp_path / "runs", data_dir=tmp_path / "data")
    training_jobs.train_sagemaker(study, ws, max_parallel=4, poll_s=0.01, echo=lambda m: None)
    jobs = [(s, o, p) for s, o, p in sent if o == "CreateTrainingJob"]
    assert len(jobs) == 4
    assert check(jobs) == []
    shape = service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
    hyper = [size for field, size, _ in sizes(shape, jobs[0][2]) if field.startswith("HyperParameters[")]
    assert hyper and max(hyper) < 20  # the study travels as a file, not as a hyperparameter


def test_deploy_and_invoke_requests_fit_the_limits(aws_env, sent, trained):
    from cnnreport.deploy.endpoint_test import endpoint_test

    study, _, ws = trained
    plan = endpoints.plan_deploy(study, ws, region="us-east-1")
    endpoints.deploy(plan, ws.runs_root, echo=lambda m: None, poll_s=0.01)
    endpoint_test(study, ws, local=True, n=2, echo=lambda m: None)  # good and bad requests, through boto3
    ops = {o for _, o, _ in sent}
    assert {"CreateModel", "CreateEndpointConfig", "CreateEndpoint", "InvokeEndpoint"} <= ops
    checked = [(s, o, p) for s, o, p in sent if (s, o) in CHECKED]
    assert sum(o == "InvokeEndpoint" for _, o, _ in checked) == 2 + 9
    # One bad request is over the limit on purpose: it checks that the runtime refuses it.
    assert check(checked) == ["InvokeEndpoint InvokeEndpoint.Body: 6,291,457 bytes, allowed 6,291,456"]
