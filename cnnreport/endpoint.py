"""The deployable artifact and the local endpoint: export, packaging, `serve`, `endpoint-test`.

One artifact for every path: the run's own model.keras is exported to a SavedModel (its
`serving_default` signature takes raw pixels, since scaling is the model's first layer) and
packed into model.tar.gz exactly as SageMaker's TensorFlow Serving container expects:

    <name>/1/saved_model.pb, <name>/1/variables/...   the model
    code/inference.py, code/requirements.txt          the container's pre/post-processing
    code/model_info.json                              class names, input shape, run id

`deploy` uploads that file; `serve` unpacks the same file and answers the container's contract
(GET /ping, POST /invocations) and the runtime API's path (POST /endpoints/<name>/invocations)
with the same handlers, so boto3's `sagemaker-runtime` client talks to either.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shutil
import tarfile
import tempfile
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, Callable

import numpy as np

from . import store
from .errors import UserError

SAGEMAKER_DIR = Path(__file__).resolve().parent.parent / "sagemaker"
INFERENCE_SCRIPT = SAGEMAKER_DIR / "inference.py"
# Installed by the container from code/requirements.txt before it loads inference.py.
CONTAINER_REQUIREMENTS = "numpy\npillow\n"
ENDPOINT_DIR = "endpoint"  # runs/<study>/endpoint/: packages, transcripts, deployment records
MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's real-time invocation payload limit (6 MB)
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024  # an oversized body is read and dropped up to this much
ENDPOINT_NAME_RE = re.compile(r"^/endpoints/([A-Za-z0-9](?:-*[A-Za-z0-9]){0,62})/invocations$")

Echo = Callable[[str], None]


# ------------------------------------------------------------------------------ which model


def endpoint_dir(runs_root: Path, study_name: str) -> Path:
    return store.study_runs_dir(runs_root, study_name) / ENDPOINT_DIR


def choose_run(records: list[dict[str, Any]], model: str | None = None,
               seed: int | None = None) -> dict[str, Any]:
    """The run to deploy: the reference CNN (or `model`), at `seed` or its best seed.

    "Best" is the highest validation accuracy at the last epoch, never test accuracy: picking
    on the test set would make the deployed model's reported test score optimistic, and the
    saved model.keras holds the last epoch's weights, so the last epoch's score is the one that
    describes it. Ties go to the lower seed.
    """
    runs = [r for r in records if r.get("probe", "none") == "none" and not r["diverged"]]
    if model is None:
        runs = [r for r in runs if r["model"]["role"] == "reference"]
        what = "the reference CNN"
    else:
        names = sorted({r["model"]["name"] for r in runs})
        runs = [r for r in runs if r["model"]["name"] == model]
        what = f"model {model!r}"
        if not runs:
            raise UserError(f"--model {model!r}: no finished runs; expected one of {names}")
    if seed is not None:
        seeds = sorted(r["seed"] for r in runs)
        runs = [r for r in runs if r["seed"] == seed]
        if not runs:
            raise UserError(f"--seed {seed}: {what} has no finished run with that seed (seeds: {seeds})")
    if not runs:
        raise UserError(f"no finished run of {what}; run `cnnreport build` (or `train`) first")
    return max(runs, key=lambda r: (_final_val(r), -r["seed"]))


def _final_val(record: dict[str, Any]) -> float:
    vals = record["history"].get("val_accuracy") or [float("-inf")]
    return float(vals[-1])


def selection_note(record: dict[str, Any], seed_given: bool) -> str:
    if seed_given:
        return f"seed {record['seed']} as asked"
    return (f"seed {record['seed']}: highest final validation accuracy "
            f"({_final_val(record):.4f}); chosen on validation, not test, data")


def study_records(study: Any, runs_root: Path) -> list[dict[str, Any]]:
    from .runner import plan_runs

    study_dir = store.study_runs_dir(runs_root, study.name)
    wanted = {r.run_id for r in plan_runs(study)}
    return [r for r in store.load_runs(study_dir) if r["run_id"] in wanted]


# ------------------------------------------------------------------------ export and package


def tfs_name(record: dict[str, Any]) -> str:
    """The model's folder name inside model.tar.gz (and TensorFlow Serving's model name)."""
    from .runner import _slug

    return _slug(record["model"]["name"]) or "model"


def export_savedmodel(model: Any, dest: Path) -> Path:
    """The Keras model as a SavedModel with a `serving_default` signature (needs TensorFlow)."""
    try:
        import tensorflow  # noqa: F401  (the SavedModel format is TensorFlow's)
    except ImportError:
        raise UserError("exporting a SavedModel needs TensorFlow: pip install tensorflow-cpu "
                        "(the JAX backend trains, but TensorFlow Serving loads only SavedModels)") from None
    model.export(str(dest), format="tf_saved_model", verbose=False)
    if not (dest / "saved_model.pb").is_file():
        raise RuntimeError(f"{dest}: export wrote no saved_model.pb")
    return dest


def model_info(record: dict[str, Any], class_names: list[str]) -> dict[str, Any]:
    shape = record["architecture"]["layers"][0]["output_shape"]  # the Rescaling layer: H, W, C
    return {"model": record["model"]["name"], "run_id": record["run_id"], "seed": record["seed"],
            "study": record["study"], "tfs_model_name": tfs_name(record),
            "input_shape": [int(d) for d in shape], "class_names": list(class_names)}


def package(record: dict[str, Any], run_dir: Path, class_names: list[str], out_dir: Path) -> Path:
    """model.tar.gz for one run, built once and kept under runs/<study>/endpoint/<run-id>/."""
    import keras

    final = out_dir / record["run_id"] / "model.tar.gz"
    if final.is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cnnreport-pkg-") as tmp:
        root = Path(tmp)
        name = tfs_name(record)
        model = keras.saving.load_model(run_dir / "model.keras")
        export_savedmodel(model, root / name / "1")
        code = root / "code"
        code.mkdir()
        shutil.copyfile(INFERENCE_SCRIPT, code / "inference.py")
        (code / "requirements.txt").write_text(CONTAINER_REQUIREMENTS)
        (code / "model_info.json").write_text(json.dumps(model_info(record, class_names), indent=2))
        part = final.with_name(f"{store.TMP_PREFIX}model.tar.gz.{uuid.uuid4().hex[:8]}")
        with tarfile.open(part, "w:gz") as tar:
            for top in (name, "code"):  # members at the archive root, as the container expects
                tar.add(root / top, arcname=top)
        part.replace(final)
    return final


def package_for(study: Any, ws: Any, model: str | None = None, seed: int | None = None
                ) -> tuple[dict[str, Any], Path]:
    """The chosen run of a study and its model.tar.gz."""
    records = study_records(study, ws.runs_root)
    record = choose_run(records, model, seed)
    run_dir = store.study_runs_dir(ws.runs_root, study.name) / record["run_id"]
    class_names = ws.splits(study).class_names
    return record, package(record, run_dir, class_names, endpoint_dir(ws.runs_root, study.name))


def load_handlers(code_dir: Path) -> ModuleType:
    """inference.py from a package's code/ (or the repository's), as a fresh module.

    Loaded by path, never as `sagemaker.inference`: the SDK's `sagemaker` namespace package
    would otherwise mix with this repository's `sagemaker/` folder.
    """
    code_dir = Path(code_dir)
    script = code_dir / "inference.py" if (code_dir / "inference.py").is_file() else INFERENCE_SCRIPT
    spec = importlib.util.spec_from_file_location(f"cnnreport_inference_{uuid.uuid4().hex[:8]}", script)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    info = code_dir / "model_info.json"
    if info.is_file():
        module._INFO = json.loads(info.read_text(encoding="utf-8"))
    return module


# ------------------------------------------------------------------------------ local server


@dataclass
class _TFSResponse:
    """What the container hands output_handler: TensorFlow Serving's HTTP response."""

    status_code: int
    content: bytes


class ServedModel:
    """An unpacked model.tar.gz: the SavedModel's serving signature plus the package's handlers."""

    def __init__(self, tarball: Path):
        import tensorflow as tf

        self._tmp = tempfile.TemporaryDirectory(prefix="cnnreport-serve-")
        root = Path(self._tmp.name)
        try:
            with tarfile.open(tarball, "r:gz") as tar:
                tar.extractall(root, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise UserError(f"{tarball}: not a readable model.tar.gz ({exc})") from None
        self.handlers = load_handlers(root / "code")
        self.info = self.handlers.model_info()
        saved = root / self.info["tfs_model_name"] / "1"
        self._signature = tf.saved_model.load(str(saved)).signatures["serving_default"]
        self._input_name = next(iter(self._signature.structured_input_signature[1]))
        self._tf = tf
        self._lock = threading.Lock()

    def tensorflow_serving(self, request_json: str) -> _TFSResponse:
        """TensorFlow Serving's REST predict on {"instances": ...}, as the container calls it."""
        try:
            x = np.asarray(json.loads(request_json)["instances"], dtype=np.float32)
            with self._lock:  # one batch at a time, as one TFS model worker would
                out = self._signature(**{self._input_name: self._tf.constant(x)})
            probs = next(iter(out.values())).numpy()
        except Exception as exc:  # TFS answers a bad tensor with 400 and its message
            return _TFSResponse(400, json.dumps({"error": " ".join(str(exc).split())[:300]}).encode())
        return _TFSResponse(200, json.dumps({"predictions": probs.tolist()}).encode())

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        context = SimpleNamespace(model_name=self.info["tfs_model_name"], model_version="1",
                                  method="predict", request_content_type=content_type,
                                  accept_header=accept or "application/json",
                                  content_length=len(body), custom_attributes=None)
        request_json = self.handlers.input_handler(io.BytesIO(body), context)
        result, ctype = self.handlers.output_handler(self.tensorflow_serving(request_json), context)
        return (result.encode() if isinstance(result, str) else result), ctype

    def close(self) -> None:
        self._tmp.cleanup()


class EndpointServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], served: ServedModel, max_body: int, echo: Echo | None):
        self.served, self.max_body, self.echo = served, max_body, echo
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up is not our error; anything else is one line, and serving goes on."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            return
        if self.echo:
            self.echo(f"{client_address[0]}: request failed: {type(exc).__name__}: {exc}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3 reuses its connection
    # Headers and body go out as two writes: without TCP_NODELAY the body waits ~40 ms for the
    # client's delayed ACK, which would be most of the measured latency.
    disable_nagle_algorithm = True
    server: EndpointServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        if self.server.echo:
            self.server.echo(f"{self.address_string()} {format % args}")

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if status >= 400:
            # botocore reads the error code from this header and the message from the body.
            self.send_header("x-amzn-ErrorType", "ValidationError" if status < 500 else "ModelError")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"error": message, "message": message}).encode())

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.split("?", 1)[0] == "/ping":
            self._send(200, b"{}")
        else:
            self._error(404, f"no such path {self.path[:80]!r}; GET /ping, POST /invocations")

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path != "/invocations" and not ENDPOINT_NAME_RE.match(path):
            self._drain(self._length_or_none() or 0)
            return self._error(404, f"no such path {path[:80]!r}; POST /invocations or "
                                    "/endpoints/<name>/invocations")
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            return self._error(411, "chunked bodies are not accepted; send Content-Length")
        length = self._length_or_none()
        if length is None:
            self.close_connection = True
            return self._error(411, "Content-Length header missing or not a whole number")
        if length > self.server.max_body:
            self._drain(length)
            return self._error(413, f"body of {length:,} bytes is over the {self.server.max_body:,}-byte limit")
        body = self.rfile.read(length)
        try:
            result, ctype = self.server.served.invoke(body, self.headers.get("Content-Type"),
                                                      self.headers.get("Accept"))
        except self.server.served.handlers.BadRequest as exc:
            return self._error(exc.status, str(exc))
        except Exception as exc:  # keep serving; the client gets one line
            return self._error(500, f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
        self._send(200, result, ctype)

    def _length_or_none(self) -> int | None:
        raw = self.headers.get("Content-Length")
        try:
            n = int(raw) if raw is not None else None
        except ValueError:
            return None
        return n if n is None or n >= 0 else None

    def _drain(self, length: int) -> None:
        """Read and drop a refused body, so the client sees our answer instead of a reset."""
        if length > DRAIN_LIMIT_BYTES:
            self.close_connection = True
            return
        left = length
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                break
            left -= len(chunk)


def start_server(tarball: Path, host: str = "127.0.0.1", port: int = 8080,
                 max_body: int = MAX_BODY_BYTES, echo: Echo | None = None) -> EndpointServer:
    """Load the package and bind (port 0 picks a free one); call serve_forever() to answer."""
    served = ServedModel(tarball)
    try:
        return EndpointServer((host, port), served, max_body, echo)
    except OSError as exc:
        served.close()
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


class running:
    """`with running(server) as url:` serves in a background thread and stops cleanly."""

    def __init__(self, server: EndpointServer):
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.server.served.close()


def serve(study: Any, ws: Any, model: str | None = None, seed: int | None = None,
          host: str = "127.0.0.1", port: int = 8080, max_body: int = MAX_BODY_BYTES,
          echo: Echo = print) -> None:
    """`cnnreport serve`: the local endpoint in the foreground until Ctrl-C."""
    record, tarball = package_for(study, ws, model, seed)
    server = start_server(tarball, host, port, max_body, echo)
    h, p = server.server_address[:2]
    echo(f"serving {record['model']['name']} (run {record['run_id']}) from {tarball}")
    echo(f"  GET http://{h}:{p}/ping · POST http://{h}:{p}/invocations · "
         f"POST http://{h}:{p}/endpoints/<name>/invocations · body limit {max_body:,} bytes")
    try:
        server.serve_forever()
    finally:
        server.server_close()
        server.served.close()
