"""A fault-injecting HTTP proxy on loopback, in front of a real registry, and a second loopback
server ("storage") that redirected blob downloads land on.

The proxy forwards every request to the upstream registry over real sockets, unless a rule
matches it; a rule can answer by itself (a status, a junk page, a redirect, a stall), cut the
connection (before the answer, in the middle of the headers or of the body), drip the answer
byte by byte, or rewrite the upstream answer. Rules apply a given number of times (``times``,
``None`` = always). Every request is logged with its headers, so tests can check which
credentials went where.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te", "trailer",
       "transfer-encoding", "upgrade", "content-length"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class Upstream:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Rule:
    """``action`` is one of: status, reset, cut_headers, cut_body, stall_headers, stall, drip_body,
    junk, redirect, ignore_range, bad_range, huge_body, rewrite."""

    action: str
    method: str | None = None
    path: str = ".*"
    times: int | None = 1
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    at: int = 0  # bytes to let through before cutting
    interval: float = 0.2  # drip / stall pace
    size: int = 0  # huge_body: bytes to send
    need_auth: bool = False  # only for requests that carry Authorization
    rewrite: Callable[[Upstream], Upstream] | None = None
    hits: int = 0

    def matches(self, req: Request) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and req.method != self.method:
            return False
        if self.need_auth and "authorization" not in req.headers:
            return False
        if self.action in ("ignore_range", "bad_range") and "range" not in req.headers:
            return False
        return re.search(self.path, req.path) is not None


def _read_request(f: Any) -> Request | None:
    line = f.readline(65536)
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        h = f.readline(65536)
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body = f.read(int(headers.get("content-length", "0") or 0)) if "content-length" in headers else b""
    return Request(method, path, headers, body)


def _head_bytes(status: int, reason: str, headers: list[tuple[str, str]], length: int | None) -> bytes:
    out = [f"HTTP/1.1 {status} {reason}"]
    out += [f"{k}: {v}" for k, v in headers if k.lower() not in HOP]
    if length is not None:
        out.append(f"Content-Length: {length}")
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


def _reset(conn: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed proxy or load balancer would."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    conn.close()


class _Server:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.log: list[Request] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.sent = 0  # body bytes written (huge_body)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        f = conn.makefile("rb")
        try:
            while not self.stopped.is_set():
                req = _read_request(f)
                if req is None:
                    break
                with self.lock:
                    self.log.append(req)
                if not self.handle(conn, req):
                    return  # the handler closed or reset the connection
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle(self, conn: socket.socket, req: Request) -> bool:
        raise NotImplementedError

    def send(self, conn: socket.socket, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
             head: bool = False) -> bool:
        hdrs = list((headers or {}).items())
        conn.sendall(_head_bytes(status, http.client.responses.get(status, "X"), hdrs, len(body)))
        if not head:
            conn.sendall(body)
        return True

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()


class FaultProxy(_Server):
    """Forwards to ``upstream`` ("127.0.0.1:PORT") unless a rule says otherwise."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rules: list[Rule] = []
        super().__init__()

    def add(self, action: str, **kw: Any) -> Rule:
        rule = Rule(action, **kw)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def requests(self, pattern: str = ".*", method: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.log if re.search(pattern, r.path) and (method is None or r.method == method)]

    def forward(self, req: Request, drop: tuple[str, ...] = ()) -> Upstream:
        host, port = self.upstream.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            headers = {k: v for k, v in req.headers.items() if k not in HOP and k not in drop}
            if req.body or req.method in ("PUT", "POST", "PATCH"):
                headers["content-length"] = str(len(req.body))
            c.request(req.method, req.path, body=req.body or None, headers=headers)
            r = c.getresponse()
            body = r.read()
            return Upstream(r.status, r.reason, list(r.getheaders()), body)
        finally:
            c.close()

    def _reply(self, conn: socket.socket, req: Request, up: Upstream) -> bool:
        length = dict((k.lower(), v) for k, v in up.headers).get("content-length") if req.method == "HEAD" else None
        conn.sendall(_head_bytes(up.status, up.reason, up.headers,
                                 int(length) if length is not None else len(up.body)))
        if req.method != "HEAD":
            conn.sendall(up.body)
        return True

    def handle(self, conn: socket.socket, req: Request) -> bool:
        rule = None
        with self.lock:
            for r in self.rules:
                if r.matches(req):
                    r.hits += 1
                    rule = r
                    break
        if rule is None:
            return self._reply(conn, req, self.forward(req))
        a = rule.action
        head = req.method == "HEAD"
        if a == "status":
            return self.send(conn, rule.status, rule.body, rule.headers, head)
        if a == "junk":
            return self.send(conn, rule.status, rule.body, rule.headers or {"Content-Type": "application/json"}, head)
        if a == "redirect":
            loc = rule.headers["Location"] + req.path.rsplit("/", 1)[-1]
            return self.send(conn, rule.status if rule.status in (301, 302, 303, 307, 308) else 307, b"",
                             {"Location": loc}, head)
        if a == "reset":
            _reset(conn)
            return False
        if a == "stall":  # accept, read the request, never answer
            self.stopped.wait(rule.interval)
            _reset(conn)
            return False
        if a == "stall_headers":  # slow loris: one header byte at a time, never finishing
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not self.stopped.is_set():
                try:
                    conn.sendall(b"X")
                except OSError:
                    return False
                time.sleep(rule.interval)
            _reset(conn)
            return False
        if a == "huge_body":  # a body of rule.size bytes, streamed without Content-Length
            hdrs = [*(rule.headers or {"Content-Type": "application/json"}).items(), ("Connection", "close")]
            conn.sendall(_head_bytes(rule.status, "X", hdrs, None))
            chunk = b"[" * 65536
            try:
                while self.sent < rule.size and not self.stopped.is_set():
                    conn.sendall(chunk)
                    self.sent += len(chunk)
            except OSError:
                pass
            _reset(conn)
            return False
        if a == "bad_range":
            start = int(req.headers["range"].split("=", 1)[1].rstrip("-"))
            up = self.forward(req, drop=("range",))
            total = len(up.body)
            junk = bytes((b ^ 0xFF) for b in up.body[start:])
            return self.send(conn, 206, junk, {"Content-Range": f"bytes {start}-{total - 1}/{total}"}, head)
        up = self.forward(req, drop=("range",) if a == "ignore_range" else ())
        if a == "ignore_range":
            return self._reply(conn, req, up)
        if a == "rewrite":
            assert rule.rewrite is not None
            return self._reply(conn, req, rule.rewrite(up))
        raw_head = _head_bytes(up.status, up.reason, up.headers, len(up.body))
        if a == "cut_headers":
            conn.sendall(raw_head[: rule.at or len(raw_head) // 2])
            _reset(conn)
            return False
        if a == "cut_body":
            conn.sendall(raw_head + up.body[: rule.at or len(up.body) // 2])
            _reset(conn)
            return False
        if a == "drip_body":
            conn.sendall(raw_head)
            for i in range(len(up.body)):
                if self.stopped.is_set():
                    break
                try:
                    conn.sendall(up.body[i : i + 1])
                except OSError:
                    return False
                time.sleep(rule.interval)
            return True
        raise ValueError(f"unknown fault action {a}")


class Storage(_Server):
    """The host a registry redirects blob downloads to; ``challenge`` says how it asks for auth:
    none, basic, bearer (realm on itself), bearer-norealm, bearer-refuses, unknown."""

    def __init__(self, blobs: dict[str, bytes], challenge: str = "none") -> None:
        self.blobs = blobs
        self.challenge = challenge
        self.token = "storage-token-1234"
        super().__init__()

    def handle(self, conn: socket.socket, req: Request) -> bool:
        auth = req.headers.get("authorization")
        if req.path.startswith("/token"):
            if self.challenge == "bearer-refuses":
                return self.send(conn, 401, b'{"errors":[{"code":"DENIED","message":"no"}]}')
            return self.send(conn, 200, json.dumps({"token": self.token, "expires_in": 300}).encode(),
                             {"Content-Type": "application/json"})
        digest = req.path.rsplit("/", 1)[-1]
        ok = {"none": True, "basic": False, "unknown": False}.get(self.challenge, auth == f"Bearer {self.token}")
        if not ok:
            chal = {
                "basic": 'Basic realm="storage"',
                "bearer": f'Bearer realm="http://{self.host}/token",service="storage"',
                "bearer-refuses": f'Bearer realm="http://{self.host}/token",service="storage"',
                "bearer-norealm": 'Bearer service="storage"',
                "unknown": 'Negotiate abc',
            }[self.challenge]
            return self.send(conn, 401, b"", {"WWW-Authenticate": chal})
        if digest not in self.blobs:
            return self.send(conn, 404, b"")
        return self.send(conn, 200, self.blobs[digest], {"Content-Type": "application/octet-stream"},
                         req.method == "HEAD")
