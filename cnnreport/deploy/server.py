"""The local endpoint: an unpacked model.tar.gz answering the container's contract (GET /ping,
POST /invocations) and the runtime API's path (POST /endpoints/<name>/invocations) with the
package's own handlers, so boto3's `sagemaker-runtime` client talks to it as to AWS.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from cnnreport.deploy.artifact import load_handlers, package_for
from cnnreport.errors import UserError

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's real-time invocation payload limit (6 MB)
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024  # an oversized body is read and dropped up to this much
ENDPOINT_NAME_RE = re.compile(r"^/endpoints/([A-Za-z0-9](?:-*[A-Za-z0-9]){0,62})/invocations$")

Echo = Callable[[str], None]


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
