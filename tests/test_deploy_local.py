"""The local endpoint: the model artifact, `serve` over real HTTP (with boto3 too) and
`endpoint-test --local`, against the shared trained study's reference CNN (on a copy: packaging
and the transcript write into runs/)."""

from __future__ import annotations

import http.client
import json
import tarfile

import numpy as np
import pytest

from cnnreport.deploy import artifact
from cnnreport.deploy import server as endpoint_server
from cnnreport.deploy import endpoint_test as transcript
from cnnreport.errors import UserError

from helpers import SHARED_SHAPE, TrainedStudy


def _image(value: int) -> list:
    """One test image of the shared study's shape, every pixel `value`, as JSON lists."""
    return np.full(SHARED_SHAPE, value).tolist()


@pytest.fixture(scope="module")
def trained(trained_study: TrainedStudy, tmp_path_factory):
    """(study, its file, workspace) of a copy of the shared build, for this module."""
    copy = trained_study.copy_to(tmp_path_factory.mktemp("endpoint"))
    return copy.study(), copy.study_file, copy.workspace()


@pytest.fixture(scope="module")
def server(trained):
    study, _, ws = trained
    record, tarball = artifact.package_for(study, ws)
    srv = endpoint_server.start_server(tarball, "127.0.0.1", 0, max_body=20_000)
    with endpoint_server.running(srv) as url:
        yield srv, url, record


def _post(srv, path, body, headers):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
    conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    out = resp.status, resp.read()
    conn.close()
    return out


def test_package_layout_is_what_the_container_expects(trained):
    study, _, ws = trained
    record, tarball = artifact.package_for(study, ws)
    names = tarfile.open(tarball).getnames()
    name = artifact.tfs_name(record)
    assert f"{name}/1/saved_model.pb" in names
    assert {"code/inference.py", "code/requirements.txt", "code/model_info.json"} <= set(names)
    assert record["model"]["role"] == "reference"
    info = json.load(tarfile.open(tarball).extractfile("code/model_info.json"))
    assert info["run_id"] == record["run_id"] and info["input_shape"] == list(SHARED_SHAPE)


def test_choose_run_uses_final_validation_accuracy_not_test():
    def rec(seed, val, test):
        return {"run_id": f"r{seed}", "seed": seed, "diverged": False, "probe": "none",
                "model": {"name": "cnn", "role": "reference"},
                "history": {"val_accuracy": [0.1, val]}, "test": {"accuracy": test}}

    runs = [rec(0, 0.80, 0.95), rec(1, 0.90, 0.70), rec(2, 0.90, 0.99)]
    assert artifact.choose_run(runs)["seed"] == 1  # best val; tie → lower seed; test ignored
    assert artifact.choose_run(runs, seed=2)["seed"] == 2
    with pytest.raises(UserError, match="--seed 7"):
        artifact.choose_run(runs, seed=7)
    with pytest.raises(UserError, match="--model 'x'"):
        artifact.choose_run(runs, model="x")


def test_ping_and_both_invocation_paths(server):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    srv, url, record = server
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
    conn.request("GET", "/ping")
    assert conn.getresponse().status == 200
    img = _image(230)
    status, body = _post(srv, "/invocations", json.dumps({"instances": [img, img]}),
                         {"Content-Type": "application/json"})
    preds = json.loads(body)["predictions"]
    assert status == 200 and len(preds) == 2 and len(preds[0]["top3"]) == 3
    assert json.loads(body)["run_id"] == record["run_id"]
    client = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=url,
                          config=Config(signature_version=UNSIGNED))
    resp = client.invoke_endpoint(EndpointName="any-name", Body=json.dumps({"instances": [img]}),
                                  ContentType="application/json")
    assert json.loads(resp["Body"].read())["predictions"][0] == preds[0]


@pytest.mark.parametrize("path,body,headers,status", [
    ("/invocations", b"not json", {"Content-Type": "application/json"}, 400),
    ("/invocations", json.dumps({"instances": [[[1, 2], [3, 4]]]}), {"Content-Type": "application/json"}, 400),
    ("/invocations", json.dumps({"instances": [[[["a"] * SHARED_SHAPE[2]] * SHARED_SHAPE[1]] * SHARED_SHAPE[0]]}),
     {"Content-Type": "application/json"}, 400),
    ("/invocations", b"1,2,3", {"Content-Type": "text/csv"}, 415),
    ("/invocations", b"x" * 30_000, {"Content-Type": "application/json"}, 413),
    ("/endpoints/bad_name!/invocations", b"{}", {"Content-Type": "application/json"}, 404),
    ("/invocations", b"\x89PNG\r\n garbage", {"Content-Type": "image/png"}, 400),
])
def test_bad_requests_get_4xx_and_the_server_keeps_serving(server, path, body, headers, status):
    srv, _, _ = server
    got, payload = _post(srv, path, body, headers)
    assert got == status
    message = json.loads(payload)["error"]
    assert message and "\n" not in message
    ok, _ = _post(srv, "/invocations", json.dumps({"instances": [_image(0)]}),
                  {"Content-Type": "application/json"})
    assert ok == 200


def test_boto3_sees_a_client_error_with_the_status(server):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import ClientError

    _, url, _ = server
    client = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=url,
                          config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        client.invoke_endpoint(EndpointName="e", Body=b"1,2", ContentType="text/csv")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 415
    assert "unsupported content type" in err.value.response["Error"]["Message"]


def test_endpoint_test_local_writes_transcript_and_render_shows_it(trained):
    from cnnreport.cli import main
    from cnnreport.pipeline import render

    study, path, ws = trained
    rc = main(["endpoint-test", "--study", str(path), "--local", "--n", "6",
               "--runs-dir", str(ws.runs_root), "--reports-dir", str(ws.reports_root)])
    assert rc == 0
    out = ws.runs_root / study.name / "endpoint"
    t = json.loads((out / "transcript.json").read_text())
    assert t["where"] == "local" and t["n"] == 6 and t["agreement"] == 1.0 and t["same_model"]
    assert {r["request"]["content_type"] for r in t["rows"]} == {"application/json", "image/png"}
    splits = ws.splits(study)
    for r in t["rows"]:  # real test images, labelled with their true class
        assert r["true"] == splits.class_names[int(splits.y_test[r["test_index"]])]
        assert r["latency_ms"] > 0 and 0 <= r["confidence"] <= 1
    assert len({r["true"] for r in t["rows"]}) == 6  # 6 images cycle through 10 classes: 6 shown
    assert "Local endpoint" in (out / "transcript.txt").read_text()

    result = render(study, ws, echo=lambda m: None, pdf=False)
    dep = result["context"]["deployment"]
    assert dep["where"] == "local" and dep["run_id"] == t["run_id"] and not dep["stale"]
    html = result["paths"]["html"].read_text()
    assert "local endpoint on this machine, not AWS" in html and t["rows"][0]["predicted"] in html
    saved = json.loads(result["paths"]["json"].read_text())
    assert saved["deployment"]["agreement"] == 1.0


def test_endpoint_test_needs_exactly_one_target(trained):
    study, _, ws = trained
    with pytest.raises(UserError, match="exactly one"):
        transcript.endpoint_test(study, ws, endpoint=None, local=False)


def test_pick_test_images_cycles_classes():
    y = np.array([2, 0, 0, 1, 2, 1, 0])
    assert transcript.pick_test_images(y, 3, 5) == [1, 3, 0, 2, 5]
