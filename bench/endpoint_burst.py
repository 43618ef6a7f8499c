"""The local endpoint under a burst, on loopback only, bounded in count and time.

Starts `start_server(model.tar.gz)` of the code tree given by --code (default: this checkout)
in its own process on 127.0.0.1, then sends

  1. 200 requests at once, each on its own new connection (a thread each, released together);
  2. 1,000 requests one after the other on one keep-alive connection (reopened if the server
     closes it), as boto3 sends them;

each a JSON image of the model's shape, with a 30 s timeout per request and a 120 s bound per
phase; then (--bombs N) N PNG files at once that are 164 KB each but declare 13,000 × 13,000
pixels (169 megapixels). Prints, per phase: requests, connection errors (resets, refused,
timeouts), 503s, other statuses, p50 and p99 latency, and the server process's peak resident
memory so far (VmHWM); and its resident memory after loading.

    .venv/bin/python bench/endpoint_burst.py runs/<study>/endpoint/<run>/model.tar.gz
    .venv/bin/python bench/endpoint_burst.py --code /path/to/older/checkout OLD/model.tar.gz
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REQUEST_TIMEOUT_S = 30.0
PHASE_LIMIT_S = 120.0

SERVER = """
import sys
from pathlib import Path
from cnnreport.deploy.server import start_server
srv = start_server(Path(sys.argv[1]), "127.0.0.1", 0)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def one_request(port: int, body: bytes, conn: http.client.HTTPConnection | None = None,
                content_type: str = "application/json") -> tuple[str, float, http.client.HTTPConnection | None]:
    """('200' | '503' | other status | 'error: …', seconds, the connection to reuse or None)."""
    t0 = time.perf_counter()
    own = conn is None
    try:
        conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        conn.request("POST", "/invocations", body=body, headers={"Content-Type": content_type})
        resp = conn.getresponse()
        resp.read()
        outcome = str(resp.status)
        keep = not own and not resp.will_close
    except (OSError, http.client.HTTPException) as exc:
        outcome, keep = f"error: {type(exc).__name__}", False
    elapsed = time.perf_counter() - t0
    if own or not keep:
        if conn is not None:
            conn.close()
        conn = None
    return outcome, elapsed, conn


def summary(name: str, results: list[tuple[str, float]], wall: float) -> dict[str, object]:
    lat = sorted(t for _, t in results)
    pick = lambda q: 1000 * lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")  # noqa: E731
    outcomes = [o for o, _ in results]
    return {"phase": name, "requests": len(results), "ok": outcomes.count("200"),
            "connection_errors": sum(o.startswith("error") for o in outcomes),
            "503": outcomes.count("503"),
            "other": sorted({o for o in outcomes if o not in ("200", "503") and not o.startswith("error")}),
            "error_kinds": sorted({o for o in outcomes if o.startswith("error")}),
            "p50_ms": round(pick(0.50), 1), "p99_ms": round(pick(0.99), 1), "wall_s": round(wall, 1)}


def burst(port: int, body: bytes, n: int, content_type: str = "application/json",
          name: str = "concurrent") -> dict[str, object]:
    results: list[tuple[str, float]] = []
    lock, go = threading.Lock(), threading.Event()

    def worker() -> None:
        go.wait()
        outcome, elapsed, _ = one_request(port, body, content_type=content_type)
        with lock:
            results.append((outcome, elapsed))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    go.set()
    for t in threads:
        t.join(timeout=max(0.0, PHASE_LIMIT_S - (time.perf_counter() - t0)))
    return summary(f"{n} {name}", results, time.perf_counter() - t0)


def sequential(port: int, body: bytes, n: int) -> dict[str, object]:
    results, conn = [], None
    t0 = time.perf_counter()
    for _ in range(n):
        if time.perf_counter() - t0 > PHASE_LIMIT_S:
            break
        outcome, elapsed, conn = one_request(port, body, conn or http.client.HTTPConnection(
            "127.0.0.1", port, timeout=REQUEST_TIMEOUT_S))
        results.append((outcome, elapsed))
    if conn is not None:
        conn.close()
    return summary(f"{n} sequential", results, time.perf_counter() - t0)


def bomb() -> bytes:
    """A PNG of 13,000 × 13,000 black pixels: about 164 KB compressed, 169 MB decoded as grey."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (13_000, 13_000)).save(buf, "PNG")
    return buf.getvalue()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("tarball")
    p.add_argument("--code", help="the code tree to serve with (default: the installed cnnreport)")
    p.add_argument("--concurrent", type=int, default=200)
    p.add_argument("--sequential", type=int, default=1000)
    p.add_argument("--bombs", type=int, default=0, help="then N 169-megapixel PNGs at once")
    args = p.parse_args()
    import tarfile

    with tarfile.open(args.tarball) as tar:
        info = json.load(tar.extractfile("code/model_info.json"))  # type: ignore[arg-type]
    h, w, c = info["input_shape"]
    body = json.dumps({"instances": [[[[(i * 7 + j) % 256] * c for j in range(w)] for i in range(h)]]}).encode()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if args.code:
        env["PYTHONPATH"] = str(Path(args.code).resolve())
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(Path(args.tarball).resolve())], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        loaded = rss_kib(server.pid)
        one_request(port, body)  # the first call traces the graph; not part of the figures
        phases = []
        for run in (lambda: burst(port, body, args.concurrent), lambda: sequential(port, body, args.sequential),
                    *([lambda: burst(port, bomb(), args.bombs, "image/png", "169-megapixel PNGs")] if args.bombs else [])):
            phases.append({**run(), "server_peak_rss_mib": round(rss_kib(server.pid)["VmHWM"] / 1024)})
    finally:
        server.terminate()
        server.wait(timeout=30)
    for ph in phases:
        print(json.dumps(ph))
    print(json.dumps({"server_rss_after_load_mib": round(loaded["VmRSS"] / 1024)}))
    return 0 if all(ph["connection_errors"] == 0 for ph in phases) else 1


if __name__ == "__main__":
    sys.exit(main())
