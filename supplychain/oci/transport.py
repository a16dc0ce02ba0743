"""HTTP transport for OCI registries, on ``requests``.

- scheme policy: plain HTTP only for loopback (127.0.0.0/8, ``localhost``, ``::1``) and hosts
  named in ``insecure_registries``;
- auth (challenges, tokens) is layered on top in :mod:`supplychain.oci.challenge`;
- retries with exponential backoff on 429, 5xx, dropped connections and truncated answers
  (bounded; ``Retry-After`` in seconds or as an HTTP date, honoured up to a cap). A refused
  connection or an unknown host fails at once;
- redirects followed by hand: the ``Authorization`` header never crosses to another host;
- a deadline per operation (connect, headers and body; see :mod:`supplychain.oci.deadline`);
- every non-blob body read with a size cap.
"""

from __future__ import annotations

import ipaddress
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import urlencode, urljoin, urlsplit

import requests
import requests.adapters

from supplychain import __version__
from supplychain.errors import NetworkError, RegistryError
from supplychain.oci import deadline
from supplychain.oci.answer import TRANSIENT, Answer, describe, refused, retry_after_seconds
from supplychain.oci.auth import CredentialStore
from supplychain.vocab import DOCKER_HUB, DOCKER_HUB_API

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
MAX_ERROR_BODY = 8 * 1024
MAX_TOKEN_BODY = 256 * 1024
_NO_PROXY: dict[str, str | None] = {"http": None, "https": None}


def is_loopback(host: str) -> bool:
    """``host`` (optionally with port) is localhost, 127.0.0.0/8 or ::1."""
    h = host
    if h.startswith("["):
        h = h[1 : h.find("]")] if "]" in h else h[1:]
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    h = h.lower()
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False




class _Adapter(requests.adapters.HTTPAdapter):
    """Pools whose connections register their sockets with the current deadline watch."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = deadline.POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = deadline.POOL_CLASSES
        return manager


class Transport:
    """Requests to registries: auth, retries, redirects, deadlines, capped bodies."""

    def __init__(self, *, insecure_registries: Iterable[str] = (), credentials: CredentialStore | None = None,
                 session: requests.Session | None = None, connect_timeout: float = 15.0,
                 timeout: float | None = None, max_retries: int = 4, backoff: float = 0.5,
                 max_retry_after: float = 30.0) -> None:
        self.insecure = {h.lower() for h in insecure_registries}
        self.credentials = credentials if credentials is not None else CredentialStore()
        if session is None:
            session = requests.Session()
            # the gate checks images from many threads: keep enough connections per host
            adapter = _Adapter(pool_connections=16, pool_maxsize=32)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        self.session.headers["User-Agent"] = f"supplychain/{__version__}"
        self.connect_timeout = connect_timeout
        self.deadline = timeout if timeout is not None else deadline.timeout_from_env()
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ hosts and schemes

    @staticmethod
    def api_host(registry: str) -> str:
        return DOCKER_HUB_API if registry == DOCKER_HUB else registry

    def is_insecure(self, host: str) -> bool:
        """``host`` (with or without port) was named in ``insecure_registries``."""
        h = host.lower()
        if h in self.insecure:
            return True
        bare = h.rsplit(":", 1)[0] if h.count(":") == 1 or (h.startswith("[") and "]:" in h) else h
        return bare in self.insecure

    def scheme(self, host: str) -> str:
        return "http" if (is_loopback(host) or self.is_insecure(host)) else "https"

    def url(self, registry: str, path: str) -> str:
        host = self.api_host(registry)
        return f"{self.scheme(host)}://{host}{path}"

    def check_scheme(self, url: str, what: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https":
            return
        host = parts.netloc.rsplit("@", 1)[-1]
        if parts.scheme == "http" and (is_loopback(host) or self.is_insecure(host)):
            return
        raise RegistryError(
            f"{what}: refusing plain-HTTP request to {parts.netloc}",
            hint=f"only loopback registries use HTTP by default; pass --insecure-registry {parts.netloc} "
                 "if you trust it",
        )

    # ------------------------------------------------------------------ deadlines

    @contextmanager
    def operation(self) -> Iterator[deadline.Watch]:
        """One registry operation: everything inside shares one deadline."""
        with deadline.watch(self.deadline) as w:
            yield w

    def deadline_error(self, what: str, host: str) -> NetworkError:
        return NetworkError(
            f"{what}: {host} did not answer within the {self.deadline:g} s deadline",
            hint=f"a slow or stalled registry; raise the limit with {deadline.TIMEOUT_ENV}=SECONDS "
                 "(or --registry-timeout) if it is just slow")

    def network_error(self, exc: BaseException, what: str, host: str, *, reading: bool = False) -> NetworkError:
        w = deadline.current()
        if w is not None and w.expired:
            return self.deadline_error(what, host)
        verb = "connection to {h} dropped while reading the answer" if reading else "cannot reach {h}"
        reason = describe(exc)
        if reason in ("connection refused", "host name not found"):
            return NetworkError(f"{what}: cannot connect to {host}: {reason}")
        if reason.startswith("TLS error"):
            return NetworkError(f"{what}: cannot connect to {host}: {reason}",
                                hint="for a private CA, point REQUESTS_CA_BUNDLE at its certificates")
        return NetworkError(f"{what}: {verb.format(h=host)} ({reason})")

    def sleep(self, attempt: int, retry_after: str | None, what: str, host: str, said: str) -> None:
        """Back off before attempt ``attempt + 1``; fail at once when the wait would pass the
        deadline (``said``: what went wrong, for that message)."""
        delay = self.backoff * (2**attempt) * (0.5 + random.random() / 2)
        asked = retry_after_seconds(retry_after)
        if asked is not None:
            delay = max(delay, min(asked, self.max_retry_after))
        delay = min(delay, self.max_retry_after)
        w = deadline.current()
        if w is not None and delay >= w.remaining():
            raise NetworkError(
                f"{what}: {host} {said}, and no retry fits in the {self.deadline:g} s deadline"
                + (f" (it asked to retry after {asked:g} s)" if asked is not None else ""),
                hint=f"raise the limit with {deadline.TIMEOUT_ENV}=SECONDS (or --registry-timeout)")
        time.sleep(delay)

    # ------------------------------------------------------------------ sending

    def send(self, method: str, url: str, what: str, *, headers: dict[str, str] | None = None,
             data: Any = None, authorization: str | None = None, retry: bool = True,
             params: dict[str, str] | None = None) -> requests.Response:
        """One request with retries and hand-followed redirects (auth dropped across hosts).
        The response is streamed: the caller reads (capped) and closes it."""
        hdrs = dict(headers or {})
        if authorization:
            hdrs["Authorization"] = authorization
        origin = urlsplit(url)
        attempt = 0
        cur_url, cur_method, cur_data = url, method, data
        if params:
            cur_url += ("&" if "?" in cur_url else "?") + urlencode(params)
        redirects = 0
        while True:
            self.check_scheme(cur_url, what)
            host = urlsplit(cur_url).netloc
            # loopback never goes through an HTTP(S)_PROXY from the environment
            proxies = _NO_PROXY if is_loopback(host) else None
            w = deadline.current()
            connect = self.connect_timeout if w is None else max(min(self.connect_timeout, w.remaining()), 0.01)
            read = self.deadline if w is None else max(min(self.deadline, w.remaining()), 0.01)
            try:
                resp = self.session.request(cur_method, cur_url, headers=hdrs, data=cur_data, stream=True,
                                            timeout=(connect, read), allow_redirects=False,
                                            proxies=cast(Any, proxies))
            except TRANSIENT as exc:
                if w is not None and w.expired:
                    raise self.deadline_error(what, host) from exc
                if retry and attempt < self.max_retries and replayable(cur_data) and not refused(exc):
                    self.sleep(attempt, None, what, host, f"failed ({describe(exc)})")
                    attempt += 1
                    continue
                raise self.network_error(exc, what, host) from exc
            if w is not None and w.expired:  # headers cut short by the deadline
                resp.close()
                raise self.deadline_error(what, host)
            if resp.status_code in RETRY_STATUSES and retry and attempt < self.max_retries and replayable(cur_data):
                retry_after = resp.headers.get("Retry-After")
                resp.close()
                self.sleep(attempt, retry_after, what, host, f"answered HTTP {resp.status_code}")
                attempt += 1
                continue
            if resp.status_code in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                redirects += 1
                resp.close()
                if redirects > MAX_REDIRECTS:
                    raise RegistryError(f"{what}: too many redirects (last from {host})")
                nxt = urljoin(cur_url, resp.headers["Location"])
                new = urlsplit(nxt)
                if (new.scheme, new.netloc) != (origin.scheme, origin.netloc):
                    hdrs.pop("Authorization", None)  # never send credentials to another host
                if resp.status_code == 303 or (resp.status_code in (301, 302) and cur_method == "POST"):
                    cur_method, cur_data = "GET", None
                cur_url = nxt
                continue
            return resp

    def read(self, resp: requests.Response, limit: int, what: str, *, kind: str = "answer") -> bytes:
        """The body of ``resp`` (decoded), at most ``limit`` bytes, then release it."""
        host = urlsplit(resp.url).netloc if resp.url else "the registry"
        try:
            length = int(resp.headers.get("Content-Length", "-1"))
        except ValueError:
            length = -1
        head = resp.request.method == "HEAD"
        try:
            if length > limit and not head:
                raise RegistryError(f"{what}: {host} announced {length} bytes for the {kind}, more than the "
                                    f"{limit} allowed")
            data: bytes = b"" if head else resp.raw.read(limit + 1, decode_content=True)
        except RegistryError:
            raise
        except Exception as exc:
            raise self.network_error(exc, what, host, reading=True) from exc
        finally:
            resp.close()
        w = deadline.current()
        if w is not None and w.expired:  # a body cut short by the deadline
            raise self.deadline_error(what, host)
        if len(data) > limit:
            raise RegistryError(f"{what}: {host} sent more than the {limit} bytes allowed for the {kind}")
        return data

    def fetch(self, make: Callable[[], requests.Response], limit: int, what: str, *,
              kind: str = "answer") -> Answer:
        """``make()`` a request and read its (capped) answer; an answer whose connection drops
        mid-body is asked for again (bounded, within the deadline)."""
        with self.operation() as w:
            attempt = 0
            while True:
                resp = make()
                try:
                    return self.answer(resp, limit, what, kind=kind)
                except NetworkError:
                    if w.expired or attempt >= self.max_retries:
                        raise
                    self.sleep(attempt, None, what, urlsplit(resp.url or "").netloc, "dropped the answer")
                    attempt += 1

    def answer(self, resp: requests.Response, limit: int, what: str, *, kind: str = "answer") -> Answer:
        """Read ``resp`` into an Answer (the body of an error status capped at a few KiB)."""
        cap = limit if 200 <= resp.status_code < 300 else min(limit, MAX_ERROR_BODY)
        host = urlsplit(resp.url).netloc if resp.url else ""
        if cap < limit:
            try:
                body = resp.raw.read(cap, decode_content=True) if resp.request.method != "HEAD" else b""
            except Exception:
                body = b""  # the status is what counts
            finally:
                resp.close()
        else:
            body = self.read(resp, cap, what, kind=kind)
        return Answer(resp.status_code, resp.headers, body, resp.url or host)


def replayable(data: Any) -> bool:
    return data is None or isinstance(data, bytes | bytearray | str | dict)
