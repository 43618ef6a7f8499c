"""The local endpoint as the SageMaker TensorFlow Serving container (tensorflow-inference 2.20)
and runtime answer: the model artifact, `serve` over real HTTP, every row of the README's
"local vs AWS" table through boto3's runtime client, and `endpoint-test --local`, against the
shared trained study's reference CNN (on a copy: packaging and the transcript write into runs/)."""

from __future__ import annotations

import http.client
import io
import json
import sys
import tarfile

import numpy as np
import pytest

from cnnreport.deploy import artifact
from cnnreport.deploy import container as local_container
from cnnreport.deploy import endpoint_test as transcript
from cnnreport.deploy import server as endpoint_server
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
    srv = endpoint_server.start_server(tarball, "127.0.0.1", 0)
    with endpoint_server.running(srv) as url:
        yield srv, url, record


def _post(srv, path, body, headers):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
    conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    out = resp.status, resp.read()
    conn.close()
    return out


def _runtime(url):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    return boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=url,
                        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))


def test_package_is_float32_without_requirements_and_says_what_made_it(trained):
    study, _, ws = trained
    record, tarball = artifact.package_for(study, ws)
    names = tarfile.open(tarball).getnames()
    name = artifact.tfs_name(record)
    assert f"{name}/1/saved_model.pb" in names
    assert {"code/inference.py", "code/model_info.json"} <= set(names)
    assert "code/requirements.txt" not in names  # nothing for the container to fetch at start
    assert record["model"]["role"] == "reference"
    info = artifact.read_model_info(tarball)
    assert info["run_id"] == record["run_id"] and info["input_shape"] == list(SHARED_SHAPE)
    import tensorflow as tf

    assert info["exported_with"]["tensorflow"] == tf.__version__
    assert info["serving_image"]["tensorflow"] == "2.20" and info["precision"]["served"] == "float32"
    assert info["serving_image"]["load_check"].startswith(("passed", "not needed"))
    agree = info["agreement_with_run"]
    assert agree["images"] == len(ws.splits(study).y_test)
    assert agree["fraction"] >= artifact.MIN_AGREEMENT or agree["near_ties"] == agree["images"] - agree["same_top1"]
    assert set(info["inputs"]) == {"format", "model.keras", "inference.py", "tensorflow", "export_code"}


def test_package_is_rebuilt_when_its_inputs_change_and_never_runs_a_planted_handler(trained, tmp_path, monkeypatch):
    """A package under runs/ whose recorded inputs differ is rebuilt; one whose inputs match but
    whose code/inference.py was replaced is served with the project's own inference.py."""
    study, _, ws = trained
    record, tarball = artifact.package_for(study, ws)
    original = tarball.read_bytes()

    # 1. The same inputs: reused as it is.
    assert artifact.package_for(study, ws)[1].read_bytes() == original

    # 2. A planted handler, model_info.json untouched (so the inputs still match).
    marker = tmp_path / "planted-ran"
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    (tmp_path / "x" / "code" / "inference.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\ndef input_handler(d, c): raise RuntimeError('planted')\n")
    with tarfile.open(tarball, "w:gz") as tar:
        for top in (artifact.tfs_name(record), "code"):
            tar.add(tmp_path / "x" / top, arcname=top)
    served = local_container.Container(artifact.package_for(study, ws)[1])
    try:
        status, body, _ = served.invoke(json.dumps({"instances": [_image(10)]}).encode(),
                                        {"Content-Type": "application/json"})
    finally:
        served.close()
    assert status == 200 and json.loads(body)["run_id"] == record["run_id"]
    assert not marker.exists()

    # 3. inference.py of the project changed: the package is rebuilt, and says why.
    changed = tmp_path / "inference.py"
    changed.write_text(artifact.INFERENCE_SCRIPT.read_text() + "\n# changed\n")
    monkeypatch.setattr(artifact, "INFERENCE_SCRIPT", changed)
    said = []
    rebuilt = artifact.package_for(study, ws, echo=said.append)[1]
    assert any("inference.py changed" in s for s in said)
    assert artifact.read_model_info(rebuilt)["inputs"]["inference.py"] == artifact.file_sha256(changed)
    with tarfile.open(rebuilt) as tar:
        assert tar.extractfile("code/inference.py").read().decode().endswith("# changed\n")


def test_a_changed_model_keras_is_exported_again_and_checked_against_the_run(trained, tmp_path):
    """model.keras replaced (here by the other seed's): the package is rebuilt, and the new
    export's disagreement with the run's saved test predictions stops it."""
    import shutil

    from cnnreport.train import store

    study, _, ws = trained
    records = artifact.study_records(study, ws)
    record = artifact.choose_run(records, seed=0)
    other = artifact.choose_run(records, seed=1)
    study_dir = store.study_runs_dir(ws.runs_root, study.name)
    run_dir = tmp_path / record["run_id"]
    shutil.copytree(study_dir / record["run_id"], run_dir)
    out = tmp_path / "endpoint"
    artifact.package(record, run_dir, ws.splits(study), out)
    shutil.copyfile(study_dir / other["run_id"] / "model.keras", run_dir / "model.keras")
    said = []
    with pytest.raises(UserError, match=r"agrees with the run's own test predictions on \d+\.\d+% .*not packaged"):
        artifact.package(record, run_dir, ws.splits(study), out, echo=said.append)
    assert said == [f"rebuilding {out / record['run_id'] / 'model.tar.gz'}: model.keras changed"]


def test_serve_names_a_damaged_run_and_the_fix(trained_copy):
    study, ws = trained_copy.study(), trained_copy.workspace()
    record = artifact.choose_run(artifact.study_records(study, ws))
    (trained_copy.study_runs / record["run_id"] / "model.keras").unlink()
    with pytest.raises(UserError, match=rf"{record['run_id']}: damaged run: model.keras is missing.*cnnreport build"):
        artifact.package_for(study, ws)


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


def test_ping_both_paths_and_image_files(server):
    from PIL import Image

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
    resp = _runtime(url).invoke_endpoint(EndpointName="any-name", Body=json.dumps({"instances": [img]}),
                                         ContentType="application/json")
    one = json.loads(resp["Body"].read())["predictions"][0]  # a batch of 1: the last bits may differ
    assert one["class_index"] == preds[0]["class_index"] and one["probability"] == pytest.approx(preds[0]["probability"], abs=1e-5)
    assert resp["InvokedProductionVariant"] == "AllTraffic"
    png = io.BytesIO()
    Image.fromarray(np.full(SHARED_SHAPE[:2], 230, np.uint8)).save(png, "PNG")
    status, body = _post(srv, "/invocations", png.getvalue(), {"Content-Type": "image/png"})
    assert status == 200
    assert json.loads(body)["predictions"][0]["probability"] == pytest.approx(preds[0]["probability"], abs=1e-5)


def test_a_handler_error_is_the_containers_500_and_the_runtimes_model_error(server):
    """/invocations answers as the container: 500 {"error": message}. Through the runtime route
    boto3 raises ModelError (424) carrying OriginalStatusCode and OriginalMessage, as on AWS."""
    srv, url, _ = server
    status, body = _post(srv, "/invocations", b"1,2,3", {"Content-Type": "text/csv"})
    assert status == 500 and json.loads(body) == {
        "error": "unsupported content type 'text/csv'; send application/json, image/png or image/jpeg"}
    client = _runtime(url)
    with pytest.raises(client.exceptions.ModelError) as err:
        client.invoke_endpoint(EndpointName="e", Body=b"1,2", ContentType="text/csv")
    resp = err.value.response
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 424 and resp["OriginalStatusCode"] == 500
    assert "unsupported content type" in json.loads(resp["OriginalMessage"])["error"]
    assert resp["Error"]["Message"].startswith("Received server error (500) from primary")


@pytest.mark.parametrize("body,headers,words", [
    (b"not json", {"Content-Type": "application/json"}, "body is not JSON"),
    (b'{"instances": [' + b"9" * 5000 + b"]}", {"Content-Type": "application/json"}, "body is not JSON"),
    (json.dumps({"instances": [[[1, 2], [3, 4]]]}), {"Content-Type": "application/json"}, "shape 2×2"),
    (b"\x89PNG\r\n garbage", {"Content-Type": "image/png"}, "not a readable image"),
])
def test_handler_refusals_say_what_was_wrong_and_serving_goes_on(server, body, headers, words):
    srv, _, _ = server
    status, payload = _post(srv, "/invocations", body, headers)
    assert status == 500
    message = json.loads(payload)["error"]
    assert words in message and "internal error" not in message and "\n" not in message
    ok, _ = _post(srv, "/invocations", json.dumps({"instances": [_image(0)]}), {"Content-Type": "application/json"})
    assert ok == 200


@pytest.mark.parametrize("path,body,headers,status", [
    ("/invocations", b"x" * (endpoint_server.MAX_BODY_BYTES + 1), {"Content-Type": "application/json"}, 413),
    ("/endpoints/bad_name!/invocations", b"{}", {"Content-Type": "application/json"}, 404),
    ("/nowhere", b"{}", {"Content-Type": "application/json"}, 404),
])
def test_the_http_layer_answers_before_any_handler(server, path, body, headers, status):
    srv, _, _ = server
    got, payload = _post(srv, path, body, headers)
    assert got == status and "\n" not in json.loads(payload)["error"]


def _png_declaring(width: int, height: int) -> bytes:
    return transcript._png_declaring(width, height)


JSON = {"ContentType": "application/json", "Accept": "application/json"}
CA = "CustomAttributes"
# The README's "local vs AWS" table, row by row, as boto3's runtime client sees the local endpoint:
# (row, invoke_endpoint arguments beyond Body and EndpointName, body, expected exception class
# or "200", OriginalStatusCode, words in the message or OriginalMessage).
ROWS = [
    ("JSON pixels", JSON, "good", "200", None, '"predictions"'),
    ("PNG file", {"ContentType": "image/png"}, "png", "200", None, '"predictions"'),
    ("content type the handlers refuse", {"ContentType": "text/csv"}, b"1,2,3", "ModelError", 500,
     '{"error": "unsupported content type \'text/csv\''),
    ("JSON of the wrong shape", JSON, json.dumps({"instances": [[[1, 2], [3, 4]]]}), "ModelError", 500,
     "shape 2\\u00d72"),
    ("image over the handler's 4 megapixels", {"ContentType": "image/png"}, _png_declaring(20_000, 20_000),
     "ModelError", 500, '{"error": "image of 20000\\u00d720000 pixels is over the 4,000,000-pixel limit"}'),
    ("unknown tfs-model-name (TF Serving's 404)", {**JSON, CA: "tfs-model-name=no-such-model"}, "good", "ModelError",
     404, '{"title": "404 Not Found", "description": "{\\n    \\"error\\": \\"Servable not found for request: '
          'Latest(no-such-model)\\"\\n}"}'),
    ("unknown tfs-model-version", {**JSON, CA: "tfs-model-version=2"}, "good", "ModelError", 404,
     "Specific(cnn-kernel-3x3, 2)"),
    ("image TF Serving cannot decode (TF Serving's 400)", {"ContentType": "image/png"}, _png_declaring(28, 28),
     "ModelError", 400, '{"title": "400 Bad Request", "description": "{\\n    \\"error\\": '),
    ("tfs-method=classify on a predict model (TF Serving's 400)", {**JSON, CA: "tfs-method=classify"}, "good",
     "ModelError", 400, '"title": "400 Bad Request"'),
    ("TF Serving's 404 to a client preferring XML", {**JSON, "Accept": "application/xml", CA: "tfs-model-name=zz"},
     "good", "ModelError", 404, '<?xml version="1.0" encoding="UTF-8"?><error><title>404 Not Found</title>'),
    ("invalid tfs-model-name", {**JSON, CA: "tfs-model-name=../etc"}, "good", "ModelError", 400,
     '{"error": "invalid tfs-model-name"}'),
    ("invalid tfs-model-version", {**JSON, CA: "tfs-model-version=abc"}, "good", "ModelError", 400,
     '{"error": "invalid tfs-model-version: must be a positive integer"}'),
    ("invalid tfs-method", {**JSON, CA: "tfs-method=bogus"}, "good", "ModelError", 400,
     '{"error": "invalid tfs-method: must be one of predict|classify|regress"}'),
    ("body over 6 MB (the runtime's limit)", JSON, b" " * (endpoint_server.MAX_BODY_BYTES + 1), "ValidationError",
     None, "has oversize body."),
    ("CustomAttributes over 1,024 characters", {**JSON, CA: "x" * 1025}, "good", "ValidationError", None,
     "Value at 'customAttributes' failed to satisfy constraint"),
]


@pytest.mark.parametrize("row,kwargs,body,outcome,original,words", ROWS, ids=[r[0] for r in ROWS])
def test_each_row_of_the_local_vs_aws_table_through_boto3(server, row, kwargs, body, outcome, original, words):
    from PIL import Image

    srv, url, record = server
    if body == "good":
        body = json.dumps({"instances": [_image(40)]})
    elif body == "png":
        buf = io.BytesIO()
        Image.fromarray(np.full(SHARED_SHAPE[:2], 40, np.uint8)).save(buf, "PNG")
        body = buf.getvalue()
    client = _runtime(url)
    if outcome == "200":
        resp = client.invoke_endpoint(EndpointName="e", Body=body, **kwargs)
        assert words in resp["Body"].read().decode() and resp["ContentType"] == "application/json"
        assert resp["InvokedProductionVariant"] == "AllTraffic" and resp["ResponseMetadata"]["RequestId"]
        return
    with pytest.raises(getattr(client.exceptions, outcome)) as err:
        client.invoke_endpoint(EndpointName="e", Body=body, **kwargs)
    resp = err.value.response
    if outcome == "ModelError":
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 424 and resp["OriginalStatusCode"] == original
        assert words in resp["OriginalMessage"]
        kind = "server" if original >= 500 else "client"
        assert resp["Error"]["Message"].startswith(f"Received {kind} error ({original}) from primary with message")
    else:  # the runtime's own answer: no container status
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400 and "OriginalStatusCode" not in resp
        assert words in resp["Error"]["Message"]
    assert _post(srv, "/invocations", json.dumps({"instances": [_image(0)]}), {"Content-Type": "application/json"})[0] == 200


def test_a_request_without_content_type_is_read_as_json_locally(server):
    """The container's default (tfs_utils: application/json); what the runtime hands it when the
    client sends none is not documented, so endpoint-test records this, not asserts it."""
    _, url, _ = server
    resp = _runtime(url).invoke_endpoint(EndpointName="e", Body=json.dumps({"instances": [_image(3)]}))
    assert json.loads(resp["Body"].read())["predictions"]


def test_endpoint_test_local_writes_transcript_with_bad_requests_and_render_shows_it(trained):
    from cnnreport.cli import main
    from cnnreport.pipeline import context_for, render

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
    bad = {r["request"]: r for r in t["bad_requests"]}
    assert t["bad_requests_as_expected"] and len(bad) == 9
    csv = bad["text/csv body (a type the handlers do not take)"]
    assert csv["outcome"] == "ModelError" and csv["status"] == 424 and csv["original_status"] == 500
    assert "unsupported content type" in csv["message"]
    seen = {r["expected"]: r for r in t["bad_requests"]}
    assert seen["ModelError, OriginalStatusCode 404"]["original_status"] == 404
    assert seen["ValidationError"]["status"] == 400 and "oversize body" in seen["ValidationError"]["message"]
    untyped = next(r for r in t["bad_requests"] if r["request"].startswith("no Content-Type"))
    assert untyped["expected"] == "not asserted" and untyped["outcome"] == "200" and untyped["as_expected"]
    text = (out / "transcript.txt").read_text()
    assert "Local endpoint" in text and "bad requests, as the boto3 client saw them" in text and "ModelError" in text

    result = render(context_for(study, ws), echo=lambda m: None, pdf=False)
    dep = result.report.deployment
    assert dep.where == "local" and dep.run_id == t["run_id"] and not dep.stale
    html = result.paths["html"].read_text()
    assert "local endpoint on this machine, not AWS" in html and t["rows"][0]["predicted"] in html


def test_endpoint_test_needs_exactly_one_target(trained):
    study, _, ws = trained
    with pytest.raises(UserError, match="exactly one"):
        transcript.endpoint_test(study, ws, endpoint=None, local=False)


def test_pick_test_images_cycles_classes():
    y = np.array([2, 0, 0, 1, 2, 1, 0])
    assert transcript.pick_test_images(y, 3, 5) == [1, 3, 0, 2, 5]


def test_the_endpoint_test_names_the_aws_extra_when_boto3_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """`endpoint-test --local` drives boto3 too: without the aws extra it says which to install,
    in one line, instead of an ImportError's traceback."""
    monkeypatch.setitem(sys.modules, "boto3", None)  # `import boto3` raises ImportError
    with pytest.raises(UserError, match=r"pip install 'cnnreport\[aws\]'"):
        transcript.runtime_client("http://127.0.0.1:9")
