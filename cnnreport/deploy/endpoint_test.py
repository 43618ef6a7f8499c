"""`cnnreport endpoint-test`: real test images through boto3 `invoke_endpoint`, checked against
the local model, then a few requests the endpoint must refuse, each recorded as the client saw
it (exception class, status, message); written as a transcript (JSON + a readable table) the
report's deployment section shows.

The same client code talks to an AWS endpoint and to the local one (`endpoint_url`), so the
local test exercises the path the AWS test takes.
"""

from __future__ import annotations

import io
import json
import struct
import time
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image
from pydantic import ValidationError

from cnnreport.backend import import_keras
from cnnreport.contract import problems
from cnnreport.deploy.artifact import (
    choose_run,
    endpoint_dir,
    package_for,
    selection_note,
    study_records,
)
from cnnreport.deploy.aws_session import import_boto3
from cnnreport.deploy.aws_session import resolve_region, session
from cnnreport.deploy.endpoints import find_deployment
from cnnreport.deploy.export import float32_copy
from cnnreport.deploy.runtime import MAX_BODY_BYTES
from cnnreport.deploy.server import running, start_server
from cnnreport.errors import UserError
from cnnreport.files import write_json, write_text
from cnnreport.results.deployment import Deployment
from cnnreport.train import store

TRANSCRIPT_JSON = "transcript.json"
TRANSCRIPT_TXT = "transcript.txt"
PROB_TOLERANCE = 1e-4  # endpoint vs in-process probabilities (float32 through JSON)
LOCAL_REGION = "us-east-1"  # botocore needs some region to build a client; the local server ignores it

Echo = Callable[[str], None]


def pick_test_images(y_test: np.ndarray, num_classes: int, n: int) -> list[int]:
    """n test-set indices, one class after another (the first unused image of each), so a
    short transcript still shows every class."""
    queues = [list(np.flatnonzero(y_test == k)) for k in range(num_classes)]
    picked: list[int] = []
    while len(picked) < min(n, len(y_test)):
        for q in queues:
            if q and len(picked) < n:
                picked.append(int(q.pop(0)))
    return picked


def encode_png(image: np.ndarray) -> bytes:
    arr = image[..., 0] if image.shape[-1] == 1 else image
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buf, "PNG")  # lossless: the same pixels arrive
    return buf.getvalue()


def runtime_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    """boto3's sagemaker-runtime client; unsigned for the local endpoint (no credentials needed)."""
    boto3 = import_boto3()  # the aws extra, named when it is missing (the local endpoint test needs it too)
    from botocore import UNSIGNED
    from botocore.config import Config

    if endpoint_url:
        return boto3.client("sagemaker-runtime", region_name=region or LOCAL_REGION,
                            endpoint_url=endpoint_url,
                            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    return session(resolve_region(region)).client("sagemaker-runtime")


def invoke_images(client: Any, endpoint: str, images: np.ndarray, indices: list[int],
                  echo: Echo | None = None) -> list[dict[str, Any]]:
    """One request per image, alternating JSON pixel arrays and PNG files; time each call."""
    from botocore.exceptions import BotoCoreError, ClientError

    rows = []
    for i, (img, idx) in enumerate(zip(images, indices)):
        if i % 2 == 0:
            body, ctype = json.dumps({"instances": [img.astype(int).tolist()]}).encode(), "application/json"
            what = f"application/json · 1 instance {'×'.join(map(str, img.shape))} raw pixels"
        else:
            body, ctype = encode_png(img), "image/png"
            what = f"image/png · {img.shape[1]}×{img.shape[0]} file"
        t0 = time.perf_counter()
        try:
            resp = client.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=ctype,
                                          Accept="application/json")
            payload = resp["Body"].read()
        except ClientError as exc:
            raise UserError(f"endpoint {endpoint}: test image {idx} refused: "
                            f"{exc.response.get('Error', {}).get('Message', exc)}") from None
        except BotoCoreError as exc:
            raise UserError(f"endpoint {endpoint}: {exc}") from None
        latency = 1000.0 * (time.perf_counter() - t0)
        answer = json.loads(payload)
        rows.append({"i": i + 1, "test_index": idx, "request": {"content_type": ctype, "bytes": len(body),
                                                                "summary": what},
                     "status": resp["ResponseMetadata"]["HTTPStatusCode"], "response": answer,
                     "latency_ms": latency})
        if echo:
            echo(f"  [{i + 1}/{len(indices)}] test image {idx}: {answer['predictions'][0]['class_name']} "
                 f"({answer['predictions'][0]['probability']:.3f}) in {latency:.1f} ms")
    return rows


def latency_summary(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "median": float(np.median(arr)), "p95": float(np.percentile(arr, 95)),
            "min": float(arr.min()), "max": float(arr.max())}


def endpoint_test(study: Any, ws: Any, endpoint: str | None = None, local: bool = False, n: int = 10,
                  model: str | None = None, seed: int | None = None, region: str | None = None,
                  echo: Echo = print) -> dict[str, Any]:
    """Send n real test images, compare with the local model, write the transcript. Returns it."""
    if local == bool(endpoint):
        raise UserError("endpoint-test: give exactly one of --endpoint NAME or --local")
    if n < 1:
        raise UserError(f"--n {n}: expected at least 1 image")
    splits = ws.splits(study)
    out_dir = endpoint_dir(ws.runs_root, study.name)
    if local:
        record, tarball = package_for(study, ws, model, seed, echo)
    else:
        record, tarball = _deployed_record(study, ws, endpoint, model, seed), None  # type: ignore[arg-type]
    indices = pick_test_images(splits.y_test, splits.num_classes, n)
    images = splits.x_test[indices]
    local_probs = _local_model_probabilities(store.study_runs_dir(ws.runs_root, study.name) / record["run_id"],
                                             images)
    echo(f"endpoint-test: {len(indices)} test images → "
         + ("local endpoint" if local else f"SageMaker endpoint {endpoint}")
         + f"; model {record['model']['name']} (run {record['run_id']})")
    rows, refusals, where, endpoint_label = _send(tarball, endpoint, region, images, indices, echo)
    compare_with_local(rows, local_probs, splits.y_test, splits.class_names)
    transcript = _transcript(study, ws, record, seed is not None, where, endpoint_label, rows)
    transcript["bad_requests"] = refusals
    transcript["bad_requests_as_expected"] = all(r["as_expected"] for r in refusals)
    write_transcript(out_dir, transcript)
    echo(table(transcript))
    echo(f"agreement with the local model: {transcript['agreement']:.0%} "
         f"({sum(r['match'] for r in rows)}/{len(rows)}); "
         f"latency per image {transcript['latency_ms']['median']:.1f} ms median; "
         f"transcript: {out_dir / TRANSCRIPT_JSON} and {TRANSCRIPT_TXT}")
    return transcript


def _local_model_probabilities(run_dir: Path, images: np.ndarray) -> np.ndarray:
    """The run's own saved model on the same images, in this process, computing in float32 as
    the served graph does (a run trained in mixed precision computes in bf16, whose rounding
    alone would exceed PROB_TOLERANCE): what the endpoint must match."""
    keras = import_keras()

    return float32_copy(keras.saving.load_model(run_dir / "model.keras")).predict(images, verbose=0)


def _send(tarball: Path | None, endpoint: str | None, region: str | None, images: np.ndarray,
          indices: list[int], echo: Echo) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str, str]:
    """The images, then the bad requests, through boto3: to a local endpoint started from
    `tarball` for the test (and stopped after it), else to the named AWS endpoint.
    Returns (rows, refusals, where, endpoint label)."""
    if tarball is not None:
        with running(start_server(tarball, "127.0.0.1", 0)) as url:
            client = runtime_client(endpoint_url=url)
            rows = invoke_images(client, "local", images, indices, echo)
            refusals = send_bad_requests(client, "local", images[0], echo)
        return rows, refusals, "local", f"{url} (started for the test, stopped after it)"
    client = runtime_client(region=region)
    rows = invoke_images(client, endpoint, images, indices, echo)  # type: ignore[arg-type]
    return rows, send_bad_requests(client, endpoint, images[0], echo), "aws", endpoint  # type: ignore[arg-type]


NOT_ASSERTED = "not asserted"


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG signature and header chunk declaring width × height pixels, and no pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def bad_requests(image: np.ndarray) -> list[dict[str, Any]]:
    """Requests a correct endpoint answers as `expect` says, (exception class, OriginalStatusCode),
    the same on AWS as locally: a handler's refusal is the container's 500; TensorFlow Serving's
    refusal passes through with its status (404: no such model); a bad tfs-* custom attribute is
    the container's 400; a body over 6 MB is the runtime's own ValidationError. A request
    without Content-Type is sent and recorded, not asserted: what the runtime hands the container
    then is documented nowhere (locally the container reads it as JSON, its default)."""
    h, w, c = image.shape
    pixels = json.dumps({"instances": [image.astype(int).tolist()]})
    as_json = {"Body": pixels, "ContentType": "application/json"}
    return [
        {"what": "text/csv body (a type the handlers do not take)", "kwargs": {
            "Body": b"1,2,3", "ContentType": "text/csv"}, "expect": ("ModelError", 500)},
        {"what": "JSON image of the wrong shape (2×2)", "kwargs": {
            "Body": json.dumps({"instances": [[[1, 2], [3, 4]]]}), "ContentType": "application/json"},
         "expect": ("ModelError", 500)},
        {"what": "image/png body that is not a PNG", "kwargs": {
            "Body": b"\x89PNG\r\n not really", "ContentType": "image/png"}, "expect": ("ModelError", 500)},
        {"what": "image/png declaring 20,000×20,000 pixels (over the handler's 4 megapixels)", "kwargs": {
            "Body": _png_declaring(20_000, 20_000), "ContentType": "image/png"}, "expect": ("ModelError", 500)},
        {"what": "custom attribute tfs-model-name=no-such-model (TF Serving: no such model)", "kwargs": {
            **as_json, "CustomAttributes": "tfs-model-name=no-such-model"}, "expect": ("ModelError", 404)},
        {"what": "custom attribute tfs-model-version=abc", "kwargs": {
            **as_json, "CustomAttributes": "tfs-model-version=abc"}, "expect": ("ModelError", 400)},
        {"what": "custom attribute tfs-method=bogus", "kwargs": {
            **as_json, "CustomAttributes": "tfs-method=bogus"}, "expect": ("ModelError", 400)},
        {"what": f"body of {MAX_BODY_BYTES + 1:,} bytes (over the runtime's 6 MB)", "kwargs": {
            "Body": b" " * (MAX_BODY_BYTES + 1), "ContentType": "application/json"},
         "expect": ("ValidationError", None)},
        {"what": f"no Content-Type: 1 instance {h}×{w}×{c}", "kwargs": {"Body": pixels}, "expect": None},
    ]


def _expected_words(expect: tuple[str, int | None] | None) -> str:
    if expect is None:
        return NOT_ASSERTED
    kind, original = expect
    return kind + (f", OriginalStatusCode {original}" if original is not None else "")


def send_bad_requests(client: Any, endpoint: str, image: np.ndarray, echo: Echo | None = None
                      ) -> list[dict[str, Any]]:
    """Each bad request as the client saw it: the exception class and message, or the status."""
    from botocore.exceptions import BotoCoreError, ClientError

    out = []
    for req in bad_requests(image):
        row: dict[str, Any] = {"request": req["what"], "expected": _expected_words(req["expect"])}
        try:
            resp = client.invoke_endpoint(EndpointName=endpoint, **req["kwargs"])
            resp["Body"].read()
            row.update(outcome="200", status=resp["ResponseMetadata"]["HTTPStatusCode"], message="")
        except ClientError as exc:
            err = exc.response.get("Error", {})
            row.update(outcome=type(exc).__name__, status=exc.response["ResponseMetadata"].get("HTTPStatusCode"),
                       code=err.get("Code"), message=" ".join(str(err.get("Message", exc)).split())[:400],
                       original_status=exc.response.get("OriginalStatusCode"),
                       original_message=exc.response.get("OriginalMessage"))
        except BotoCoreError as exc:
            raise UserError(f"endpoint {endpoint}: {exc}") from None
        expect = req["expect"]
        row["as_expected"] = expect is None or (row["outcome"], row.get("original_status")) == expect
        out.append(row)
        if echo:
            echo(f"  bad request: {row['request']}: {row['outcome']}"
                 + (f" ({row['status']}, original {row.get('original_status')})" if row["outcome"] != "200" else "")
                 + (f" ({NOT_ASSERTED})" if expect is None else ""))
    return out


def compare_with_local(rows: list[dict[str, Any]], local_probs: np.ndarray, y_test: np.ndarray,
                       names: list[str]) -> None:
    """Add to each row the true class and the local model's answer, and whether the endpoint's
    answer matches it (same class, probability within PROB_TOLERANCE)."""
    for row, probs in zip(rows, local_probs):
        pred = row["response"]["predictions"][0]
        k = int(np.argmax(probs))
        true = int(y_test[row["test_index"]])
        row.update({"predicted": pred["class_name"], "predicted_index": pred["class_index"],
                    "confidence": pred["probability"], "top3": pred["top3"],
                    "true": names[true], "true_index": true, "correct": pred["class_index"] == true,
                    "local_predicted": names[k], "local_confidence": float(probs[k]),
                    "match": pred["class_index"] == k
                    and abs(pred["probability"] - float(probs[k])) <= PROB_TOLERANCE,
                    "served_run_id": row["response"].get("run_id")})


def _transcript(study: Any, ws: Any, record: dict[str, Any], seed_given: bool, where: str,
                endpoint_label: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "where": where, "endpoint": endpoint_label, "model": record["model"]["name"],
        "run_id": record["run_id"], "seed": record["seed"],
        "selection": selection_note(record, seed_given),
        "study": study.name, "n": len(rows), "agreement": sum(r["match"] for r in rows) / len(rows),
        "served_run_ids": sorted({str(r["served_run_id"]) for r in rows}),
        "same_model": all(r["served_run_id"] == record["run_id"] for r in rows),
        "accuracy": sum(r["correct"] for r in rows) / len(rows),
        "latency_ms": latency_summary([r["latency_ms"] for r in rows]),
        "images": "real test-set images, one class after another, the first unused image of each",
        "tolerance": PROB_TOLERANCE, "tested_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "transcript_file": f"{store.study_runs_dir(ws.runs_root, study.name) / 'endpoint' / TRANSCRIPT_JSON}",
        "rows": rows,
    }


def _deployed_record(study: Any, ws: Any, endpoint: str, model: str | None, seed: int | None) -> dict[str, Any]:
    """The run behind an AWS endpoint: as `deploy` recorded it, else the default choice."""
    records = study_records(study, ws)
    found = find_deployment(ws.runs_root, endpoint)
    if found and model is None and seed is None:
        run = [r for r in records if r["run_id"] == found[1]["run_id"]]
        if run:
            return run[0]
    return choose_run(records, model, seed)


def table(t: dict[str, Any]) -> str:
    """The transcript as a plain-text table (transcript.txt and the console)."""
    head = ["#", "test img", "request", "predicted (confidence)", "true", "ok", "local model", "same", "ms"]
    lines = [[str(r["i"]), str(r["test_index"]), r["request"]["summary"],
              f"{r['predicted']} ({r['confidence']:.3f})", r["true"], "yes" if r["correct"] else "no",
              f"{r['local_predicted']} ({r['local_confidence']:.3f})", "yes" if r["match"] else "NO",
              f"{r['latency_ms']:.1f}"] for r in t["rows"]]
    widths = [max(len(h), *(len(l[j]) for l in lines)) for j, h in enumerate(head)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    lat = t["latency_ms"]
    return "\n".join([
        f"{'AWS SageMaker endpoint' if t['where'] == 'aws' else 'Local endpoint'}: {t['endpoint']}",
        f"model {t['model']}, run {t['run_id']} ({t['selection']})",
        fmt(head), fmt(["-" * w for w in widths]), *map(fmt, lines),
        f"agreement with the local model {t['agreement']:.0%}; correct {t['accuracy']:.0%}; "
        f"latency per image (one image per request, client side) median {lat['median']:.1f} ms, "
        f"mean {lat['mean']:.1f}, p95 {lat['p95']:.1f}, min {lat['min']:.1f}, max {lat['max']:.1f}",
        *refusal_lines(t.get("bad_requests") or []),
    ])


def refusal_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The bad requests as boto3 saw them, one line each."""
    if not rows:
        return []
    lines = ["", "bad requests, as the boto3 client saw them:"]
    for r in rows:
        seen = "200 OK" if r["outcome"] == "200" else (
            f"{r['outcome']} (HTTP {r['status']}, OriginalStatusCode {r.get('original_status')}): {r['message']}")
        note = (f"  [{NOT_ASSERTED}]" if r["expected"] == NOT_ASSERTED
                else "" if r["as_expected"] else f"  [expected {r['expected']}]")
        lines.append(f"  {r['request']}: {seen}{note}")
    return lines


def write_transcript(out_dir: Path, transcript: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / TRANSCRIPT_JSON, transcript)
    write_text(out_dir / TRANSCRIPT_TXT, table(transcript) + "\n")


def load_deployment(runs_root: Path, study_name: str, run_ids: list[str]) -> Deployment | None:
    """report.json's `deployment`: the last transcript, or None; flagged stale when its run is
    no longer one of the study's runs."""
    path = endpoint_dir(runs_root, study_name) / TRANSCRIPT_JSON
    if not path.is_file():
        return None
    try:
        t = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: damaged endpoint transcript ({exc}); rerun `cnnreport endpoint-test`") from None
    if not isinstance(t, dict):
        raise UserError(f"{path}: not an endpoint transcript; rerun `cnnreport endpoint-test`")
    try:
        return Deployment.model_validate({**t, "stale": t.get("run_id") not in run_ids})
    except ValidationError as exc:
        found = problems(exc)
        raise UserError(f"{path}: endpoint transcript not as this cnnreport writes it ({'; '.join(found[:3])}"
                        f"{f' and {len(found) - 3} more' if len(found) > 3 else ''}); rerun `cnnreport endpoint-test`") from None
