"""The local endpoint's HTTP layer: what the container's nginx front and the SageMaker runtime
do before and after the container (container.py) handles a request.

Routes:
  GET  /ping                               200 while serving
  POST /invocations                        the container's own answer (container.py)
  POST /endpoints/<name>/invocations       the runtime API boto3's invoke_endpoint calls
                                           (runtime.py): the runtime's limits, then the
                                           container's answer, a non-2xx one as the runtime's
                                           ModelError, so boto3 raises the same exception
                                           class with the same OriginalStatusCode as on AWS

By default requests are handled one at a time, as the container's single gunicorn worker handles
them, and the runtime's 60 s limit holds: a request that has no answer by then gets the
runtime's timeout answer (ModelError, OriginalStatusCode 0), or 504 on /invocations. `workers`
above 1 departs from the container.

The front also protects this process, answering before any handler (4xx/503, one JSON line): a
malformed request line or headers (400), chunked or missing Content-Length (411), on
/invocations a body over the runtime's 6 MB (413: the container alone has no limit, but on AWS
nothing larger reaches it), a client that stops sending (408, after a timeout), too many
connections or request bodies held at once (503 with Retry-After). It keeps a real accept queue
(backlog 128) and bounds the connections it holds and the bytes of bodies it buffers, so a
burst queues or gets 503s instead of connection resets, and memory stays bounded. A request
whose answer the container gives without TensorFlow Serving (a bad custom attribute, an image
declaring more pixels than the handler decodes) is answered at once with that same answer,
without waiting for a worker.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from cnnreport.deploy import runtime
from cnnreport.deploy.artifact import package_for
from cnnreport.deploy.container import Container
from cnnreport.errors import UserError

MAX_BODY_BYTES = runtime.MAX_BODY_BYTES  # nothing larger reaches a container on AWS
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024  # a refused body is read and dropped up to this much
BACKLOG = 128  # listen backlog: a burst of connections waits here instead of being reset
MAX_CONNECTIONS = 256  # connections held at once (one thread each); more get 503 at accept
MAX_BUFFERED_BYTES = 128 * 1024 * 1024  # request bodies held in memory at once; beyond: 503
CONNECTION_TIMEOUT_S = 30.0  # idle keep-alive, a stalled request line or body: then closed
CONTAINER_WORKERS = 1  # the container's gunicorn workers (serve.py: SAGEMAKER_GUNICORN_WORKERS)
RETRY_AFTER_S = 1
# The runtime's route, with its EndpointName pattern (botocore's sagemaker-runtime model).
RUNTIME_ROUTE = re.compile(r"^/endpoints/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/invocations$")
NOT_FOUND = b'{"error": "Not Found"}'  # nginx.conf.template's answer for any other path

Echo = Callable[[str], None]


def workers_note(workers: int) -> str:
    """What `serve` says about its worker count."""
    if workers == CONTAINER_WORKERS:
        return "1 worker, as the container runs"
    return (f"{workers} workers: departs from the container, which runs {CONTAINER_WORKERS} gunicorn worker; "
            "latency and burst figures do not carry over to AWS")


def _json_line(message: str) -> bytes:
    # "message" too: botocore reads an error's message from it.
    return json.dumps({"error": message, "message": message}).encode()


class EndpointServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int], container: Container, max_body: int = MAX_BODY_BYTES,
                 echo: Echo | None = None, workers: int = CONTAINER_WORKERS,
                 max_connections: int = MAX_CONNECTIONS, timeout_s: float = CONNECTION_TIMEOUT_S,
                 queue_wait_s: float | None = None, max_buffered: int = MAX_BUFFERED_BYTES,
                 invocation_timeout_s: float = runtime.INVOCATION_TIMEOUT_S):
        """`queue_wait_s`: how long a request may wait for a free worker before a 503 (None: up
        to the invocation time limit, as on AWS, where the runtime's limit is the only one)."""
        if workers < 1:
            raise UserError(f"--workers {workers}: expected at least 1")
        self.container, self.max_body, self.echo = container, max_body, echo
        self.timeout_s, self.queue_wait_s = timeout_s, queue_wait_s
        self.invocation_timeout_s = invocation_timeout_s
        self.max_connections, self.max_buffered = max_connections, max_buffered
        self.worker_count = workers
        self.workers = threading.BoundedSemaphore(workers)
        # The handlers run here, so a request past its time limit can be answered while its
        # handler goes on (as the container's does); the semaphore admits at most `workers`.
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="cnnreport-handler")
        self._lock = threading.Lock()
        self.connections = 0
        self.buffered = 0
        super().__init__(address, _Handler)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -------------------------------------------------------------- connections and buffers

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            full = self.connections >= self.max_connections
            if not full:
                self.connections += 1
        if full:
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release_connection()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release_connection()

    def _release_connection(self) -> None:
        with self._lock:
            self.connections -= 1

    def _refuse(self, request: socket.socket) -> None:
        """503 straight from the accepting thread, without a thread for this connection."""
        body = _json_line(f"over {self.max_connections} connections at once; retry after {RETRY_AFTER_S} s")
        head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nRetry-After: {RETRY_AFTER_S}\r\n"
                "x-amzn-ErrorType: ServiceUnavailable\r\nConnection: close\r\n\r\n").encode()
        try:
            request.settimeout(1.0)
            request.sendall(head + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def reserve(self, nbytes: int) -> bool:
        with self._lock:
            if self.buffered + nbytes > self.max_buffered:
                return False
            self.buffered += nbytes
            return True

    def unreserve(self, nbytes: int) -> None:
        with self._lock:
            self.buffered -= nbytes

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up is not our error; anything else is one line, and serving goes on."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        if self.echo:
            self.echo(f"{client_address[0]}: request failed: {type(exc).__name__}: {exc}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3 reuses its connection
    # Headers and body go out as two writes: without TCP_NODELAY the body waits ~40 ms for the
    # client's delayed ACK, which would be most of the measured latency.
    disable_nagle_algorithm = True
    # A request line too broken to name its version is still answered with a status line and
    # headers (http.server would assume HTTP/0.9 and send the bare body).
    default_request_version = "HTTP/1.1"
    server: EndpointServer

    def setup(self) -> None:
        self.timeout = self.server.timeout_s  # socket timeout: idle keep-alive and stalled reads
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        if self.server.echo:
            self.server.echo(f"{self.address_string()} {format % args}")

    def _send(self, status: int, body: bytes, ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (malformed request line or headers, 414, 431, 501) as one
        JSON line, like every other answer of this layer."""
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        body = _json_line(message or self.responses.get(code, ("error",))[0])
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _front_error(self, status: int, message: str) -> None:
        """A protection of this process (a request boto3 never sends, or overload). botocore reads
        the error code from x-amzn-ErrorType: ServiceUnavailable is the runtime's own overload
        error; the others are named as ours, so no client mistakes them for the runtime's
        ValidationError."""
        kind = "ServiceUnavailable" if status == 503 else "LocalEndpointRefusal"
        headers = {"x-amzn-ErrorType": kind}
        if status == 503:
            headers["Retry-After"] = str(RETRY_AFTER_S)
        self._send(status, _json_line(message), headers=headers)

    def _runtime_answer(self, status: int, body: bytes, ctype: str = "application/json",
                        headers: dict[str, str] | None = None, rid: str | None = None) -> None:
        """An answer on the runtime's route, with its request id (botocore reads x-amzn-RequestId)."""
        self._send(status, body, ctype, {**(headers or {}), "x-amzn-RequestId": rid or runtime.request_id()})

    def _validation_error(self, message: str, rid: str | None = None) -> None:
        """The runtime's own refusal: ValidationError, HTTP 400 (the status its service model gives)."""
        self._runtime_answer(400, _json_line(message), headers={"x-amzn-ErrorType": "ValidationError"}, rid=rid)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.split("?", 1)[0] == "/ping":
            self._send(200, b"")
        else:
            self._send(404, NOT_FOUND)

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        route = RUNTIME_ROUTE.match(path)
        if path != "/invocations" and not route:
            self._drain_declared()
            return self._send(404, NOT_FOUND)
        if route:
            problem = runtime.header_problem(self.headers)
            if problem:
                self._drain_declared()
                return self._validation_error(problem)
        body = self._read_body(on_runtime=route is not None)
        if body is None:
            return
        try:
            self._invoke(body, route.group(1) if route else None)
        finally:
            self.server.unreserve(len(body))

    def _read_body(self, on_runtime: bool) -> bytes | None:
        """The request body, or None after answering why not."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            return self._front_error(411, "chunked bodies are not accepted; send Content-Length")
        raw = self.headers.get("Content-Length")
        if raw is None:
            self.close_connection = True
            return self._front_error(411, "Content-Length header missing")
        if not raw.strip().isdigit():
            self.close_connection = True
            return self._front_error(400, f"Content-Length {raw[:20]!r} is not a whole number")
        length = int(raw)
        if on_runtime and length > min(self.server.max_body, runtime.MAX_BODY_BYTES):
            self._drain(length)
            rid = runtime.request_id()
            return self._validation_error(runtime.oversize_body(rid), rid)
        if length > self.server.max_body:
            self._drain(length)
            return self._front_error(413, f"body of {length:,} bytes is over the "
                                          f"{self.server.max_body:,}-byte limit")
        if not self.server.reserve(length):
            self._drain(length)
            return self._front_error(503, "too many request bodies held at once; retry later")
        parts, got = [], 0
        try:
            while got < length:
                chunk = self.rfile.read1(min(length - got, 1 << 16))  # what has arrived, up to n
                if not chunk:
                    break
                parts.append(chunk)
                got += len(chunk)
        except (TimeoutError, OSError):
            pass
        body = b"".join(parts)
        if len(body) < length:
            self.server.unreserve(length)
            self.close_connection = True
            return self._front_error(408, f"body ended after {len(body):,} of {length:,} bytes "
                                          f"(or stalled for {self.server.timeout_s:g} s)")
        return body

    def _invoke(self, body: bytes, endpoint: str | None) -> None:
        """The container's answer, on the runtime's route as the runtime passes it on."""
        answer = self.server.container.early_answer(body, self.headers) or self._run_container(body)
        if answer == "busy":
            return self._front_error(503, f"all handlers busy for {self.server.queue_wait_s:g} s; "
                                          f"retry after {RETRY_AFTER_S} s")
        if answer is None:  # no answer within the time limit
            limit = f"{self.server.invocation_timeout_s:g}"
            if endpoint is None:  # nginx's proxy_read_timeout would answer 504 here
                return self._send(504, _json_line(f"the container gave no answer within {limit} s"))
            return self._runtime_answer(424, json.dumps(runtime.timed_out(endpoint)).encode(),
                                        headers={"x-amzn-ErrorType": "ModelError"})
        status, result, ctype = answer
        if endpoint is None:
            return self._send(status, result, ctype)
        if 200 <= status < 300:
            return self._runtime_answer(status, result, ctype, {"x-Amzn-Invoked-Production-Variant": "AllTraffic"})
        self._runtime_answer(424, json.dumps(runtime.model_error(status, result, endpoint)).encode(),
                             headers={"x-amzn-ErrorType": "ModelError"})

    def _run_container(self, body: bytes) -> Any:
        """container.invoke on a worker within the time limit: its answer, None when the limit
        passed first (the handler goes on, holding its worker, as the container's would), or
        "busy" when queue_wait_s passed without a free worker."""
        server = self.server
        start = time.monotonic()
        limit = server.invocation_timeout_s
        busy_first = server.queue_wait_s is not None and server.queue_wait_s < limit
        if not server.workers.acquire(timeout=server.queue_wait_s if busy_first else limit):
            return "busy" if busy_first else None
        try:
            future = server.pool.submit(server.container.invoke, body, self.headers)
        except RuntimeError:  # the server is shutting down
            server.workers.release()
            raise
        future.add_done_callback(lambda _: server.workers.release())
        try:
            return future.result(timeout=max(0.0, limit - (time.monotonic() - start)))
        except FutureTimeout:
            return None

    def _drain_declared(self) -> None:
        """Drop the body a refused request declares (or close when it declares none)."""
        raw = self.headers.get("Content-Length", "")
        self._drain(int(raw) if raw.strip().isdigit() else DRAIN_LIMIT_BYTES + 1)

    def _drain(self, length: int) -> None:
        """Read and drop a refused body, so the client sees our answer instead of a reset."""
        if length > DRAIN_LIMIT_BYTES:
            self.close_connection = True
            return
        left = length
        try:
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
        except (TimeoutError, OSError):
            self.close_connection = True


def start_server(tarball: Path, host: str = "127.0.0.1", port: int = 8080,
                 max_body: int = MAX_BODY_BYTES, echo: Echo | None = None, **limits: Any) -> EndpointServer:
    """Load the package and bind (port 0 picks a free one); call serve_forever() to answer."""
    container = Container(tarball)
    try:
        return EndpointServer((host, port), container, max_body, echo, **limits)
    except OSError as exc:
        container.close()
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
        self.server.container.close()


def serve(study: Any, ws: Any, model: str | None = None, seed: int | None = None,
          host: str = "127.0.0.1", port: int = 8080, max_body: int = MAX_BODY_BYTES,
          echo: Echo = print, workers: int = CONTAINER_WORKERS) -> None:
    """`cnnreport serve`: the local endpoint in the foreground until Ctrl-C."""
    record, tarball = package_for(study, ws, model, seed, echo)
    server = start_server(tarball, host, port, max_body, echo, workers=workers)
    h, p = server.server_address[:2]
    echo(f"serving {record['model']['name']} (run {record['run_id']}) from {tarball}")
    echo(f"  GET http://{h}:{p}/ping · POST http://{h}:{p}/invocations · "
         f"POST http://{h}:{p}/endpoints/<name>/invocations · body limit {max_body:,} bytes")
    echo(f"  {workers_note(workers)}; {server.invocation_timeout_s:g} s to answer each request")
    try:
        server.serve_forever()
    finally:
        server.server_close()
        server.container.close()
