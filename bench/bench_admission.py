"""Benchmark: the admission webhook under load, on loopback, against the local registry.

Starts Debian's docker-registry, pushes, signs and attests N images (as bench_gate.py does),
starts ``supplychain serve admission`` as its own process (self-signed TLS), then calls it as the
API server does (``POST /validate?timeout=10s``, TLS checked against the CA bundle, keep-alive
connections) with a Pod per image:

1. cold: every image once (cache misses: registry reads and verification), 10 at a time;
2. cached: an open-loop load at each rate of ``--rates`` requests per second for ``--duration``
   seconds, cycling over the images.

It prints p50 / p99 latency, errors and the server's resident memory (start and end of each
phase, from /proc)::

    .venv/bin/python bench/bench_admission.py                       # 50 images, 50/100/200 rps, 30 s
    .venv/bin/python bench/bench_admission.py --rates 200 --duration 10
    .venv/bin/python bench/bench_admission.py --cold-rounds 5 --rates 50 --duration 5   # cold p99 over 250

The cold phase's p99 over 50 requests is their slowest one; ``--cold-rounds N`` repeats it with
a freshly started webhook each time (empty cache, first requests included) and prints the p99 over
all of them too. The load average is printed at start and end: the machine is shared.

Targets (issue "The gate inside the cluster"): cached p99 < 20 ms, cold p99 < 500 ms per image,
no errors, memory flat.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_gate import setup, start_registry  # noqa: E402

DNS = "supplychain-admission.supplychain.svc"


def pod_review(image: str, i: int) -> bytes:
    sc = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"svc{i}", "namespace": "bench"},
           "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "automountServiceAccountToken": False,
                    "containers": [{"name": "app", "image": image, "securityContext": sc,
                                    "resources": {"limits": {"cpu": "1", "memory": "64Mi"}}}]}}
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
              "request": {"uid": str(uuid.uuid4()), "kind": {"group": "", "version": "v1", "kind": "Pod"},
                          "resource": {"group": "", "version": "v1", "resource": "pods"},
                          "namespace": "bench", "name": f"svc{i}", "operation": "CREATE",
                          "object": pod, "oldObject": None, "dryRun": False}}
    return json.dumps(review).encode()


class Client:
    """One keep-alive HTTPS connection, certificate checked for the Service's DNS name."""

    def __init__(self, port: int, ctx: ssl.SSLContext) -> None:
        self.port = port
        self.ctx = ctx
        self.conn: http.client.HTTPSConnection | None = None

    def _connect(self) -> http.client.HTTPSConnection:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=15)
        sock = socket.create_connection(("127.0.0.1", self.port), 15)
        # as Go's net/http (the API server) does: no Nagle delay between headers and body
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock = self.ctx.wrap_socket(sock, server_hostname=DNS)
        return conn

    def post(self, body: bytes) -> dict[str, Any]:
        for attempt in range(2):
            if self.conn is None:
                self.conn = self._connect()
            try:
                self.conn.request("POST", "/validate?timeout=10s", body=body,
                                  headers={"Content-Type": "application/json"})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")
                answer: dict[str, Any] = json.loads(data)["response"]
                return answer
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] * 1000


def start_webhook(policy: Path, tmp: Path) -> tuple[subprocess.Popen[str], int, ssl.SSLContext]:
    ca = tmp / "ca.pem"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen([sys.executable, "-m", "supplychain", "serve", "admission", "--policy", str(policy),
                             "--self-signed", "--ca-bundle-out", str(ca), "--host", "127.0.0.1", "--port", "0",
                             "--offline"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=REPO,
                            env=env)
    assert proc.stderr is not None
    first = json.loads(proc.stderr.readline())
    port = int(first["address"].rsplit(":", 1)[1])
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    ctx = ssl.create_default_context(cafile=str(ca))
    return proc, port, ctx


def cold(port: int, ctx: ssl.SSLContext, refs: list[str]) -> tuple[list[float], int]:
    """Every image once, 10 requests at a time; latencies in the order the requests were sent."""
    todo: queue.Queue[tuple[int, str]] = queue.Queue()
    for i, r in enumerate(refs):
        todo.put((i, r))
    lat: list[float] = [0.0] * len(refs)
    errors = [0]
    lock = threading.Lock()

    def worker() -> None:
        client = Client(port, ctx)
        while True:
            try:
                i, r = todo.get_nowait()
            except queue.Empty:
                return
            t = time.perf_counter()
            try:
                ok = client.post(pod_review(r, i))["allowed"]
            except Exception:
                ok = False
            with lock:
                lat[i] = time.perf_counter() - t
                errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors[0]


def load(port: int, ctx: ssl.SSLContext, refs: list[str], rate: float, duration: float
         ) -> tuple[list[float], int, int]:
    """Open loop: request k is due at start + k/rate whatever the answers' speed (latency counts
    from when it was due, so a backlog shows as latency)."""
    total = int(rate * duration)
    bodies = [pod_review(r, i) for i, r in enumerate(refs)]
    due: queue.Queue[tuple[int, float] | None] = queue.Queue()
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    workers = min(64, max(8, int(rate / 10)))

    def worker() -> None:
        client = Client(port, ctx)
        while True:
            item = due.get()
            if item is None:
                return
            k, when = item
            try:
                ok = client.post(bodies[k % len(bodies)])["allowed"]
            except Exception:
                ok = False
            done = time.perf_counter()
            with lock:
                lat.append(done - when)
                errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    for k in range(total):
        when = start + k / rate
        delay = when - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        due.put((k, when))
    for _ in threads:
        due.put(None)
    for t in threads:
        t.join(timeout=60)
    return lat, errors[0], total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--rates", default="50,100,200", help="requests per second, comma-separated")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per rate")
    ap.add_argument("--cold-rounds", type=int, default=1,
                    help="cold phases, each with a freshly started webhook (more samples for the cold p99)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-admission-"))
    registry, host = start_registry(tmp)
    hook = None
    try:
        policy, _lst, _k8s, _one = setup(host, tmp, args.images)
        refs = [line for line in (tmp / "images.txt").read_text().splitlines() if line]
        pooled: list[float] = []
        for round_ in range(args.cold_rounds):
            if hook is not None:  # a fresh process: an empty cache, nothing imported yet
                hook.terminate()
                hook.wait(timeout=30)
            hook, port, ctx = start_webhook(policy, tmp)
            if round_ == 0:
                print(f"webhook pid {hook.pid}, {len(refs)} signed and attested images, "
                      f"RSS {rss_mib(hook.pid):.0f} MiB, load average {load_average()}")
            lat, errors = cold(port, ctx, refs)
            pooled.extend(lat)
            slowest = sorted(range(len(lat)), key=lambda i: -lat[i])[:3]
            print(f"cold    {len(lat):5d} requests  p50 {pct(lat, 50):7.1f} ms  p99 {pct(lat, 99):7.1f} ms  "
                  f"errors {errors}  RSS {rss_mib(hook.pid):.0f} MiB  (slowest: "
                  + ", ".join(f"#{i} {lat[i] * 1000:.0f} ms" for i in slowest) + ")")
        if args.cold_rounds > 1:
            print(f"cold, {args.cold_rounds} fresh processes: {len(pooled)} requests  p50 {pct(pooled, 50):7.1f} ms  "
                  f"p99 {pct(pooled, 99):7.1f} ms")
        assert hook is not None
        for rate in (float(r) for r in args.rates.split(",")):
            before = rss_mib(hook.pid)
            lat, errors, total = load(port, ctx, refs, rate, args.duration)
            print(f"cached  {rate:5.0f} rps x {args.duration:.0f} s: {len(lat)}/{total} answered  "
                  f"p50 {pct(lat, 50):6.1f} ms  p99 {pct(lat, 99):6.1f} ms  mean {statistics.mean(lat) * 1000:6.1f} ms  "
                  f"errors {errors}  RSS {before:.0f} -> {rss_mib(hook.pid):.0f} MiB")
        print(f"load average {load_average()} (1, 5, 15 min; {os.cpu_count()} CPUs)")
    finally:
        if hook is not None:
            hook.terminate()
            hook.wait(timeout=30)
        registry.terminate()
        registry.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
