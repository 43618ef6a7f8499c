"""The local endpoint's HTTP layer under load and hostile clients, on 127.0.0.1 only, bounded in
count and time: a burst against the real served model, then the front's limits one by one
against a stand-in container (so each case takes a fraction of a second)."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cnnreport.deploy import artifact
from cnnreport.deploy import server as endpoint_server

from helpers import SHARED_SHAPE, TrainedStudy


class StandIn:
    """A container that answers 200 {} at once, or waits for `gate` first; counts its calls."""

    def __init__(self, gate: threading.Event | None = None):
        self.handlers = artifact.load_handlers({"class_names": ["a", "b"], "input_shape": [4, 4, 1]})
        self.gate, self.calls = gate, 0

    def invoke(self, body, headers):
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        return 200, b"{}", "application/json"

    def early_answer(self, body, headers):
        return None

    def close(self):
        pass


def _serve(container, **limits):
    srv = endpoint_server.EndpointServer(("127.0.0.1", 0), container, **limits)
    return srv, endpoint_server.running(srv)


def _raw(srv, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes, half-close, read the whole answer."""
    with socket.create_connection(srv.server_address[:2], timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def _wait_for(predicate, limit_s: float = 5.0) -> bool:
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture(scope="module")
def real_package(trained_study: TrainedStudy, tmp_path_factory):
    copy = trained_study.copy_to(tmp_path_factory.mktemp("load"))
    return artifact.package_for(copy.study(), copy.workspace())[1]


def test_a_burst_of_200_concurrent_and_1000_sequential_requests_has_no_connection_errors(real_package):
    """Before: a listen backlog of 5 reset 92–175 of 200 simultaneous connections."""
    body = json.dumps({"instances": [np.full(SHARED_SHAPE, 7).tolist()]})
    srv = endpoint_server.start_server(real_package, "127.0.0.1", 0)
    with endpoint_server.running(srv):
        host, port = srv.server_address[:2]
        go = threading.Event()

        def one(conn=None):
            go.wait(10)
            own = conn is None
            conn = conn or http.client.HTTPConnection(host, port, timeout=30)
            try:
                conn.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                return resp.status
            except OSError as exc:
                return type(exc).__name__
            finally:
                if own:
                    conn.close()

        with ThreadPoolExecutor(200) as pool:
            futures = [pool.submit(one) for _ in range(200)]
            time.sleep(0.2)  # every thread waiting at the gate
            go.set()
            burst = [f.result(timeout=60) for f in futures]
        conn = http.client.HTTPConnection(host, port, timeout=30)
        sequential = [one(conn) for _ in range(1000)]
        conn.close()
    assert burst.count(200) == 200, sorted(set(map(str, burst)))
    assert sequential.count(200) == 1000, sorted(set(map(str, sequential)))


def test_an_idle_connection_is_closed_after_the_timeout():
    srv, run = _serve(StandIn(), timeout_s=0.3)
    with run:
        with socket.create_connection(srv.server_address[:2], timeout=5) as s:
            assert _wait_for(lambda: srv.connections == 1)
            assert s.recv(1) == b""  # closed by the server, not by us
        assert _wait_for(lambda: srv.connections == 0)


def test_a_partial_body_gets_408_and_frees_its_thread():
    srv, run = _serve(StandIn(), timeout_s=0.3)
    with run:
        with socket.create_connection(srv.server_address[:2], timeout=5) as s:
            s.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n{\"instances\"")
            answer = b""  # headers and body may arrive in separate segments: read to the close
            while chunk := s.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408") and b"body ended after 12 of 100 bytes" in answer
        assert _wait_for(lambda: srv.connections == 0 and srv.buffered == 0)


def test_busy_handlers_answer_503_with_retry_after_then_serve_again():
    gate = threading.Event()
    srv, run = _serve(StandIn(gate), workers=1, queue_wait_s=0.2)
    with run:
        host, port = srv.server_address[:2]

        def post():
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("POST", "/invocations", body=b"{}", headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            out = resp.status, resp.getheader("Retry-After"), resp.read()
            conn.close()
            return out

        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(post)
            assert _wait_for(lambda: srv.container.calls == 1)  # the one handler is taken
            status, retry, body = post()
            gate.set()
            assert first.result(timeout=10)[0] == 200
        assert (status, retry) == (503, "1") and b"all handlers busy" in body
        assert post()[0] == 200


def test_connections_over_the_cap_get_503_at_accept():
    srv, run = _serve(StandIn(), max_connections=2, timeout_s=5)
    with run:
        idle = [socket.create_connection(srv.server_address[:2], timeout=5) for _ in range(2)]
        try:
            assert _wait_for(lambda: srv.connections == 2)
            with socket.create_connection(srv.server_address[:2], timeout=5) as third:
                answer = b""  # answered at accept, before it sends anything
                while chunk := third.recv(65536):
                    answer += chunk
        finally:
            for s in idle:
                s.close()
        assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in answer
        assert _wait_for(lambda: srv.connections == 0)


def _png_declaring(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def test_an_image_declaring_169_megapixels_gets_the_handlers_500_without_a_worker(real_package):
    """What the container answers (its handler's refusal, 500), answered by the front at once:
    neither a worker nor TensorFlow Serving is used, even while the only worker is busy."""
    png = _png_declaring(13_000, 13_000)
    srv = endpoint_server.start_server(real_package, "127.0.0.1", 0)
    posted = []
    real_post = srv.container.tfs.post
    srv.container.tfs.post = lambda uri, data: posted.append(uri) or real_post(uri, data)
    with endpoint_server.running(srv):
        assert srv.workers.acquire(timeout=1)  # the one worker busy
        try:
            answer = _raw(srv, b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                               b"Content-Length: %d\r\n\r\n" % len(png) + png)
        finally:
            srv.workers.release()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500")
    assert json.loads(body) == {"error": "image of 13000×13000 pixels is over the 4,000,000-pixel limit"}
    assert posted == []


def _runtime_client(srv):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    host, port = srv.server_address[:2]
    return boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=f"http://{host}:{port}",
                        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))


def test_past_the_time_limit_the_runtime_answers_model_error_0_and_the_container_route_504():
    """The runtime's 60 s, shortened: a handler still running then gets the runtime's timeout
    answer; with one worker the next request waits behind it and times out too; once the
    handler ends, serving goes on."""
    gate = threading.Event()
    stand_in = StandIn(gate)
    srv, run = _serve(stand_in, invocation_timeout_s=0.4)
    with run:
        client = _runtime_client(srv)
        t0 = time.monotonic()
        with pytest.raises(client.exceptions.ModelError) as err:
            client.invoke_endpoint(EndpointName="e", Body=b"{}", ContentType="application/json")
        assert 0.4 <= time.monotonic() - t0 < 3
        resp = err.value.response
        assert resp["OriginalStatusCode"] == 0 and "Your invocation timed out while waiting for a response " \
            "from container primary" in resp["Error"]["Message"]
        status, body = _raw(srv, b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}").split(
            b"\r\n", 1)
        assert status.startswith(b"HTTP/1.1 504") and b"no answer within 0.4 s" in body
        assert stand_in.calls == 1  # the second request never got the one worker
        gate.set()
        assert _wait_for(lambda: srv.workers.acquire(timeout=0.01) and (srv.workers.release() or True))
        assert client.invoke_endpoint(EndpointName="e", Body=b"{}", ContentType="application/json")[
            "ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("workers,at_once", [(None, 1), (3, 3)])
def test_one_worker_by_default_and_workers_n_handles_n_at_once(workers, at_once):
    gate = threading.Event()
    stand_in = StandIn(gate)
    srv, run = _serve(stand_in, timeout_s=5, **({"workers": workers} if workers else {}))
    with run:
        host, port = srv.server_address[:2]

        def post():
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("POST", "/invocations", body=b"{}", headers={"Content-Type": "application/json"})
            status = conn.getresponse().status
            conn.close()
            return status

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(post) for _ in range(4)]
            _wait_for(lambda: stand_in.calls >= at_once)
            time.sleep(0.2)
            started = stand_in.calls
            gate.set()
            assert [f.result(timeout=10) for f in futures] == [200] * 4
    assert started == at_once
    assert "departs from the container" in endpoint_server.workers_note(3)
    assert endpoint_server.workers_note(1) == "1 worker, as the container runs"


@pytest.mark.parametrize("request_bytes,status,words", [
    (b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411, b"chunked"),
    (b"POST /invocations HTTP/1.1\r\nHost: x\r\n\r\n", 411, b"Content-Length header missing"),
    (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\n", 400, b"not a whole number"),
    (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 300\r\n\r\n" + b"x" * 300, 503, b"held at once"),
    (b"BREW /pot HTCPCP/1.0\r\n\r\n", 400, b"Bad request version"),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, b"error"),
])
def test_malformed_or_oversized_requests_get_one_json_line(request_bytes, status, words):
    stand_in = StandIn()
    srv, run = _serve(stand_in, max_buffered=200)
    with run:
        answer = _raw(srv, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d" % status) or head.startswith(b"HTTP/1.0 %d" % status), head[:60]
    assert words in body and json.loads(body)["error"]
    assert stand_in.calls == 0


@pytest.fixture(scope="module")
def fuzz_server():
    srv, run = _serve(StandIn(), timeout_s=0.5, max_body=4096)
    with run:
        yield srv


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.sampled_from([b"POST /invocations HTTP/1.1\r\n", b"POST /endpoints/e/invocations HTTP/1.1\r\n",
                             b"GET /ping HTTP/1.1\r\n", b""]),
       tail=st.binary(max_size=400))
def test_fuzz_any_bytes_get_an_answer_or_a_close_and_serving_goes_on(fuzz_server, head, tail):
    """Whatever a client sends, the front answers with a status line (or closes) within its
    timeout, never hangs, and the next well-formed request is served."""
    answer = _raw(fuzz_server, head + tail, timeout=5)
    assert answer == b"" or answer.startswith(b"HTTP/1.")
    assert _raw(fuzz_server, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 200")
