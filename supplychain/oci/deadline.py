"""Deadlines for registry operations: one watchdog thread shuts down the sockets of an
operation whose time is up, so no server can hold a request open by dripping headers or
body bytes (a per-read socket timeout never fires while bytes keep trickling in).

An operation (``with watch(seconds):``) covers connecting, sending, the headers and the body of
every request made inside it in the same thread, retries included. A blob stream keeps its own
watch that is armed for each read (see :class:`supplychain.oci.transport.RawStream`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3.connection
import urllib3.connectionpool

from supplychain.errors import InputError

DEFAULT_TIMEOUT = 120.0
TIMEOUT_ENV = "SUPPLYCHAIN_REGISTRY_TIMEOUT"


def timeout_from_env(env: dict[str, str] | None = None) -> float:
    """``SUPPLYCHAIN_REGISTRY_TIMEOUT`` (seconds, > 0), else the default."""
    text = (env if env is not None else os.environ).get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    return parse_timeout(text, TIMEOUT_ENV)


def parse_timeout(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise InputError(f"{where}: {text!r} is not a positive number of seconds",
                         hint="e.g. 60 (the default is 120)")
    return value


class Watch:
    """The time budget of one operation and the sockets it uses."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires: float | None = None
        self.expired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def arm(self, seconds: float | None = None) -> None:
        with self._lock:
            self.expired = False
            self.expires = time.monotonic() + (self.seconds if seconds is None else seconds)
        _WATCHDOG.add(self)

    def disarm(self) -> None:
        with self._lock:
            self.expires = None
            self._socks.clear()
        _WATCHDOG.remove(self)

    def remaining(self) -> float:
        exp = self.expires
        return float("inf") if exp is None else exp - time.monotonic()

    def register(self, sock: socket.socket | None) -> None:
        """``sock`` now serves this operation (a pooled connection serves one at a time: the
        operation that used it before no longer owns it)."""
        if sock is None:
            return
        with _OWNERS_LOCK:
            _OWNERS[sock] = self
        with self._lock:
            if any(s is sock for s in self._socks):
                return
            self._socks.append(sock)
            fire = self.expired
        if fire:
            _shutdown(sock)

    def fire(self) -> bool:
        with self._lock:
            if self.expires is None or self.expires > time.monotonic():
                return False
            self.expired = True
            socks = list(self._socks)
        with _OWNERS_LOCK:
            mine = [s for s in socks if _OWNERS.get(s) is self]
        for s in mine:
            _shutdown(s)
        return True


_OWNERS: weakref.WeakKeyDictionary[socket.socket, Watch] = weakref.WeakKeyDictionary()
_OWNERS_LOCK = threading.Lock()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[Watch] = set()
        self._thread: threading.Thread | None = None
        self._next = float("inf")

    def add(self, w: Watch) -> None:
        with self._cond:
            self._watches.add(w)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="registry-deadlines", daemon=True)
                self._thread.start()
            if w.expires is not None and w.expires < self._next:
                self._cond.notify()

    def remove(self, w: Watch) -> None:
        with self._cond:
            self._watches.discard(w)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                due = [w for w in self._watches if w.expires is not None and w.expires <= now]
                for w in due:
                    if w.fire():
                        self._watches.discard(w)
                pending = [w.expires for w in self._watches if w.expires is not None]
                self._next = min(pending) if pending else float("inf")
                self._cond.wait(None if not pending else max(self._next - now, 0.005))


_WATCHDOG = _Watchdog()
_local = threading.local()


def current() -> Watch | None:
    w: Watch | None = getattr(_local, "watch", None)
    return w


@contextmanager
def watch(seconds: float) -> Iterator[Watch]:
    """Run the body under one deadline; nested uses share the outer one."""
    outer = current()
    if outer is not None:
        yield outer
        return
    w = Watch(seconds)
    w.arm()
    _local.watch = w
    try:
        yield w
    finally:
        _local.watch = None
        w.disarm()


@contextmanager
def using(w: Watch) -> Iterator[Watch]:
    """Make ``w`` the current watch of this thread (for reads of a stream it owns)."""
    prev = current()
    _local.watch = w
    try:
        yield w
    finally:
        _local.watch = prev


def _register(sock: Any) -> None:
    w = current()
    if w is not None and isinstance(sock, socket.socket):
        w.register(sock)


class WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _register(self.sock)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _register(self.sock)
        return super().getresponse(*args, **kwargs)


class WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _register(self.sock)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _register(self.sock)
        return super().getresponse(*args, **kwargs)


class WatchedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


POOL_CLASSES: dict[str, Any] = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}
