"""The HTTPS server: ``POST /validate`` (AdmissionReview v1), ``/healthz``, ``/readyz``, ``/metrics``.

- TLS is negotiated in the connection's own thread with a handshake timeout, so a client that
  never finishes its handshake holds one thread, not the listener.
- Request bodies are capped (:data:`supplychain.admission.review.MAX_REVIEW_BYTES`) and read with a
  socket timeout.
- Every decision is logged as one JSON line on stderr (uid, object, operation, decision, reasons,
  latency, cache hits); nothing from the object beyond names and images is logged.
- ``/metrics`` is Prometheus text (prometheus-client): decisions by result, a latency histogram,
  cache hits and misses, registry errors, deadline denials.
- SIGTERM / SIGINT: ``/readyz`` turns 503, the listener stops, requests in flight finish, then
  the process exits (graceful shutdown).
"""

from __future__ import annotations

import json
import re
import ssl
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from supplychain.admission.engine import AdmissionEngine
from supplychain.admission.review import (
    MAX_REVIEW_BYTES,
    AdmissionResponse,
    ReviewError,
    parse_review,
    uid_of,
)

HANDSHAKE_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_timeout(value: str | None) -> float | None:
    """The API server's ``?timeout=`` (a Go duration such as ``10s`` or ``1m30s``) in seconds."""
    if not value or not _DURATION.match(value):
        return None
    return sum(float(n) * _UNIT[u] for n, u in _PART.findall(value))


class Telemetry:
    """Prometheus metrics on a registry of our own, fed by the engine."""

    def __init__(self, engine: AdmissionEngine) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.decisions = Counter("supplychain_admission_decisions", "Admission decisions by result",
                                 ["result"], registry=self.registry)
        self.latency = Histogram("supplychain_admission_latency_seconds", "Time to answer an AdmissionReview",
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                                 registry=self.registry)
        self.cache_hits = Counter("supplychain_admission_cache_hits", "Image decisions served from the cache",
                                  registry=self.registry)
        self.cache_misses = Counter("supplychain_admission_cache_misses", "Image decisions computed",
                                    registry=self.registry)
        self.registry_errors = Counter("supplychain_admission_registry_errors",
                                       "Image decisions the registry prevented", registry=self.registry)
        self.deadline = Counter("supplychain_admission_deadline_denials",
                                "Images denied because the deadline came first", registry=self.registry)
        self.cache_size = Gauge("supplychain_admission_cache_entries", "Entries in the decision cache",
                                registry=self.registry)
        self._engine = engine
        self._seen = {"hits": 0, "misses": 0, "registry": 0, "deadline": 0}
        self._lock = threading.Lock()
        engine.metrics.observe_latency = self.latency.observe

    def record(self, response: AdmissionResponse | None, error: bool = False) -> None:
        m = self._engine.metrics
        with self._lock:
            self.decisions.labels("error" if error or response is None else
                                  ("allow" if response.allowed else "deny")).inc()
            for name, value, counter in (("hits", m.cache_hits, self.cache_hits),
                                         ("misses", m.cache_misses, self.cache_misses),
                                         ("registry", m.registry_errors, self.registry_errors),
                                         ("deadline", m.deadline_denials, self.deadline)):
                if value > self._seen[name]:
                    counter.inc(value - self._seen[name])
                    self._seen[name] = value
            self.cache_size.set(len(self._engine.cache))

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        data: bytes = generate_latest(self.registry)
        return data


class AdmissionServer(ThreadingHTTPServer):
    daemon_threads = False  # finish requests in flight on shutdown
    block_on_close = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], engine: AdmissionEngine,
                 tls: Callable[[], ssl.SSLContext] | None, *, log: TextIO | None = None) -> None:
        self.engine = engine
        self.tls = tls
        self.log = log if log is not None else sys.stderr
        self.ready = True
        self.telemetry = Telemetry(engine)
        self._log_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                request = self.tls().wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return  # a failed handshake gets no answer: nothing was asked
        request.settimeout(READ_TIMEOUT)
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.write_log({"event": "connection-error", "client": str(client_address[0]),
                        "error": repr(sys.exc_info()[1])[:300]})

    def write_log(self, record: dict[str, Any]) -> None:
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **record}
        with self._log_lock:
            try:
                self.log.write(json.dumps(record, ensure_ascii=False) + "\n")
                self.log.flush()
            except (OSError, ValueError):
                pass


class _Handler(BaseHTTPRequestHandler):
    server: AdmissionServer
    protocol_version = "HTTP/1.1"
    server_version = "supplychain-admission"
    sys_version = ""
    # answer each request in one segment, at once: with Nagle's algorithm a small answer written
    # as headers + body waits for the client's delayed ACK (a fixed ~40 ms per request)
    disable_nagle_algorithm = True
    wbufsize = -1  # buffered: headers and body leave in one write, flushed per answer

    def log_message(self, format: str, *args: Any) -> None:
        return  # decisions are logged as JSON by do_POST

    def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._send(200, b"ok\n", "text/plain")
        elif path == "/readyz":
            ready = self.server.ready
            self._send(200 if ready else 503, b"ok\n" if ready else b"shutting down\n", "text/plain")
        elif path == "/metrics":
            self._send(200, self.server.telemetry.render(), "text/plain; version=0.0.4; charset=utf-8")
        else:
            self._send(404, b'{"error":"not found"}')

    def do_POST(self) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        if url.path != "/validate":
            self._send(404, b'{"error":"not found: POST /validate"}')
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(411, b'{"error":"Content-Length required"}')
            return
        if length < 0 or length > MAX_REVIEW_BYTES:
            self._send(413, b'{"error":"AdmissionReview too large"}')
            self.close_connection = True
            return
        try:
            body = self.rfile.read(length)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        timeout = parse_timeout(parse_qs(url.query).get("timeout", [None])[0])
        error = False
        try:
            req = parse_review(body)
        except ReviewError as exc:
            uid = uid_of(body)
            self.server.write_log({"event": "bad-request", "uid": uid, "error": str(exc)})
            self.server.telemetry.record(None, error=True)
            if not uid:
                self._send(400, json.dumps({"error": str(exc)}).encode())
                return
            response = AdmissionResponse(uid=uid, allowed=False, code=400,
                                         message=f"supplychain: malformed AdmissionReview: {exc}")
            self._send(200, json.dumps(response.review()).encode())
            return
        response = self.server.engine.review(req, timeout=timeout)
        error = response.audit.get("decision") == "error"
        self.server.telemetry.record(response, error=error)
        self._send(200, json.dumps(response.review()).encode())
        self.server.write_log({
            "event": "decision", "uid": req.uid, "kind": req.gvk, "namespace": req.namespace,
            "name": req.name, "operation": req.operation, "subResource": req.sub_resource,
            "dryRun": req.dry_run, "allowed": response.allowed,
            "reasons": response.message if not response.allowed else "",
            "warnings": len(response.warnings), "latency_ms": round((time.monotonic() - started) * 1000, 2),
            "audit": response.audit,
        })


def serve(server: AdmissionServer, *, install_signals: bool = True) -> None:
    """Serve until SIGTERM/SIGINT, then shut down gracefully."""
    import signal

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        server.ready = False
        server.write_log({"event": "shutdown", "signal": signum})
        stop.set()

    if install_signals:
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    server.write_log({"event": "listening", "address": f"{host!s}:{port}",
                      "policy_digest": server.engine.core.policy_digest})
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()  # joins the request threads still running
        server.engine.close()


def bind(host: str, port: int, engine: AdmissionEngine, tls: Callable[[], ssl.SSLContext] | None,
         log: TextIO | None = None) -> AdmissionServer:
    try:
        return AdmissionServer((host, port), engine, tls, log=log)
    except OSError as exc:
        from supplychain.errors import InputError

        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


__all__ = ["AdmissionServer", "bind", "parse_timeout", "serve"]
