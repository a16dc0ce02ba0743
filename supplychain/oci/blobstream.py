"""A blob download as a file: undecoded bytes, resumed after a dropped connection.

- A dropped or truncated download is resumed with a ``Range`` request that starts a little
  before what was already delivered; the overlap must match, the ``Content-Range`` must start
  there and agree with the blob's size. A registry that answers the ``Range`` with ``200``
  restarts the download (the bytes already delivered are skipped).
- Every read must deliver within the transport's deadline (at most 1 MiB per read), so a
  stalled or dripping server cannot hold a download open forever; large layers on slow links
  are not cut off as long as each MiB arrives in time.
- After a resume the blob's final digest check reports a mismatch as a network fault (the
  registry served inconsistent data), not as a corrupt or tampered blob.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import requests

from supplychain.errors import NetworkError
from supplychain.oci import deadline
from supplychain.oci.answer import describe

READ_MAX = 1 << 20
OVERLAP = 4096
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


class RawStream:
    """``resp.raw`` as a file of undecoded bytes (see the module docstring)."""

    def __init__(self, resp: requests.Response, what: str, host: str, *, seconds: float,
                 reopen: Callable[[int], requests.Response] | None = None, retries: int = 0,
                 size: int | None = None) -> None:
        self._resp = resp
        self._what = what
        self._host = host
        self._reopen = reopen
        self._retries = retries
        self._size = size
        self._offset = 0
        self._tail = b""
        self._skip = 0  # bytes of a restarted (200) download still to skip
        self._check = b""  # bytes of a resumed download that must equal the end of _tail
        self.resumed = False
        self._seconds = seconds
        self._watch = deadline.Watch(seconds)
        self._watch.arm()
        self._register()

    def _register(self) -> None:
        conn = getattr(self._resp.raw, "connection", None)
        self._watch.register(getattr(conn, "sock", None))

    def read(self, n: int = -1) -> bytes:
        n = READ_MAX if n is None or n < 0 or n > READ_MAX else n
        while True:
            started = time.monotonic()
            self._watch.expires = started + self._seconds  # each read gets the whole budget
            self._watch.expired = False
            try:
                with deadline.using(self._watch):
                    data = self._read_some(n)
                if self._watch.expired:  # cut short by the deadline
                    raise self._deadline_error()
                if data or self._size is None or self._offset >= self._size:
                    return data
                raise NetworkError(f"{self._what}: download ended after {self._offset} of {self._size} bytes")
            except NetworkError:
                raise
            except Exception as exc:
                self._resp.close()
                if self._watch.expired and time.monotonic() - started >= self._seconds * 0.99:
                    raise self._deadline_error() from exc
                if self._reopen is None or self._retries <= 0:
                    raise NetworkError(f"{self._what}: connection to {self._host} dropped while reading "
                                       f"the blob ({describe(exc)})") from exc
                self._retries -= 1
                self._resume()

    def _deadline_error(self) -> NetworkError:
        return NetworkError(f"{self._what}: {self._host} did not deliver the blob within the {self._seconds:g} s "
                            "deadline per read (1 MiB)",
                            hint="a stalled or very slow registry; raise the limit with SUPPLYCHAIN_REGISTRY_TIMEOUT")

    def _read_some(self, n: int) -> bytes:
        while True:
            data: bytes = self._resp.raw.read(n, decode_content=False)
            if self._skip:
                if not data:
                    raise NetworkError(f"{self._what}: the restarted download from {self._host} is shorter "
                                       "than what was already read")
                cut = min(self._skip, len(data))
                self._skip -= cut
                data = data[cut:]
            if self._check:
                if not data:
                    raise NetworkError(f"{self._what}: the resumed download from {self._host} ended early")
                cut = min(len(self._check), len(data))
                if data[:cut] != self._check[:cut]:
                    raise NetworkError(f"{self._what}: {self._host} resumed the download with different "
                                       "bytes than it sent before", hint="retry later")
                self._check = self._check[cut:]
                data = data[cut:]
            if data or (not self._skip and not self._check):
                break
        self._offset += len(data)
        if len(data) >= OVERLAP:
            self._tail = data[-OVERLAP:]
        elif data:
            self._tail = (self._tail + data)[-OVERLAP:]
        return data

    def _resume(self) -> None:
        assert self._reopen is not None
        back = min(len(self._tail), self._offset)
        start = self._offset - back
        self.resumed = True
        again = self._reopen(start)
        self._resp = again
        self._register()
        if again.status_code == 200:  # the registry ignores Range: start over, skip what we have
            self._skip, self._check = self._offset, b""
            return
        m = _CONTENT_RANGE.match(again.headers.get("Content-Range", ""))
        total = m.group(3) if m else None
        if (m is None or int(m.group(1)) != start
                or (self._size is not None and total not in ("*", str(self._size)))):
            again.close()
            raise NetworkError(f"{self._what}: {self._host} answered the resume request with "
                               f"Content-Range {again.headers.get('Content-Range')!r}, not from byte {start}")
        self._check = self._tail[len(self._tail) - back:] if back else b""

    def close(self) -> None:
        self._watch.disarm()
        self._resp.close()


class BytesChunks:
    """Bytes as a file (for chunked uploads)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        out = bytes(self._data[self._pos : end])
        self._pos += len(out)
        return out


def read_all(stream: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = stream.read(READ_MAX)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
