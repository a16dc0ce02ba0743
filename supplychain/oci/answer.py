"""What a registry said: answers with capped bodies, distribution error bodies, ``Retry-After``,
and short descriptions of transport failures (never urllib3's object reprs)."""

from __future__ import annotations

import email.utils
import errno
import http.client
import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from supplychain.errors import RegistryError


class RegistryNotFound(RegistryError):
    """The registry answered 404 for a manifest, blob or repository. ``codes``: the error codes
    of its distribution error body; :attr:`says_unknown` tells a registry that says the thing
    does not exist from a bare 404 (a proxy, a CDN, a misrouted request)."""

    def __init__(self, message: str, *, hint: str | None = None, codes: list[str] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.codes = list(codes or [])

    @property
    def says_unknown(self) -> bool:
        return bool(UNKNOWN_CODES.intersection(self.codes))


# distribution error codes saying "no such manifest/blob/repository" (NOT_FOUND: Harbor)
UNKNOWN_CODES = frozenset({"MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN", "NOT_FOUND"})


class RegistryAuthError(RegistryError):
    """401 / 403 from the registry or its token service."""


class RegistryPreconditionFailed(RegistryError):
    """412: a conditional write found the resource changed since it was read."""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as delta-seconds or an HTTP date; None when absent or unparseable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


@dataclass
class Answer:
    """A response whose body (capped) has been read and whose connection is released."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def error_codes(self) -> list[str]:
        """The ``code``s of a distribution error body (``{"errors": [{"code": ...}]}``)."""
        return [c for c, _ in _errors(self.body)]

    def detail(self) -> str:
        """``: CODE message; …`` from an error body, else its first line of text."""
        errs = _errors(self.body)
        if errs:
            return ": " + "; ".join(" ".join(x for x in e if x) for e in errs[:3])
        if self.body.lstrip()[:1] in (b"{", b"["):
            return ""
        text = self.body[:400].decode("utf-8", "replace").strip().splitlines()
        if not text or self.headers.get("Content-Type", "").startswith("text/html"):
            return ""
        line = "".join(ch for ch in text[0] if ch.isprintable())[:200]
        return f": {line}" if line else ""


def _errors(body: bytes) -> list[tuple[str, str]]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return []
    errs = doc.get("errors") if isinstance(doc, dict) else None
    out = []
    for e in errs if isinstance(errs, list) else []:
        if isinstance(e, dict):
            code, msg = e.get("code"), e.get("message")
            out.append((code if isinstance(code, str) else "", msg if isinstance(msg, str) else ""))
    return out


TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
              requests.exceptions.ContentDecodingError, http.client.HTTPException, OSError)


def describe(exc: BaseException) -> str:
    """A short phrase for a transport failure (never urllib3's object reprs)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    chain = []
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        nxt = cur.__cause__ or cur.__context__
        if nxt is None and cur.args and isinstance(cur.args[0], BaseException):
            nxt = cur.args[0]
        reason = getattr(cur, "reason", None)
        if nxt is None and isinstance(reason, BaseException):
            nxt = reason
        cur = nxt
    for e in chain:
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
    text = " ".join(str(e) for e in chain)
    for e in chain:
        if type(e).__name__ in ("NameResolutionError", "gaierror"):
            return "host name not found"
    tls = [e for e in chain if isinstance(e, ssl.SSLError)]
    if tls:  # the innermost says why: "self-signed certificate", "WRONG_VERSION_NUMBER", ...
        why = getattr(tls[-1], "verify_message", None) or getattr(tls[-1], "reason", None)
        return "TLS error" + (f": {_short(str(why))}" if why else "")
    if any(isinstance(e, requests.exceptions.SSLError) for e in chain):
        return "TLS error"
    for e in chain:
        if isinstance(e, ConnectionResetError):
            return "connection reset"
        if isinstance(e, requests.Timeout | TimeoutError) or "timed out" in str(e).lower():
            return "timed out"
    if "IncompleteRead" in text or "incomplete" in text.lower():
        return "connection closed before the whole answer arrived"
    if "RemoteDisconnected" in text or "closed connection" in text or "BadStatusLine" in text:
        return "connection closed before a complete answer"
    return _short(f"{type(exc).__name__}: {exc}")


def refused(exc: BaseException) -> bool:
    """A failure that a retry cannot fix: refused connection, unknown host, TLS failure."""
    reason = describe(exc)
    return reason in ("connection refused", "host name not found") or reason.startswith("TLS error")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) < 160 else text[:160] + "…"
