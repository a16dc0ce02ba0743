"""OCI descriptors and streams checked against their digest as they are read (media types:
:mod:`.mediatypes`)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from supplychain.errors import InputError, NetworkError, VerificationError
from supplychain.oci.mediatypes import (  # re-exported: callers import them from here too
    ALL_MANIFEST_TYPES,
    ANNOTATION_REF_NAME,
    DOCKER_CONFIG,
    DOCKER_FOREIGN_LAYER,
    DOCKER_LAYER,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_V1,
    DOCKER_MANIFEST_V1_SIGNED,
    EMPTY_JSON_DIGEST,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_LAYER_ND_GZIP,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
)


@dataclass
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/amd64``, ``linux/arm64/v8``, ``linux/arm/v7``."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InputError(f"invalid platform {text!r}", hint="expected OS/ARCH[/VARIANT], e.g. linux/amd64")
        return cls(parts[0].lower(), parts[1].lower(), parts[2].lower() if len(parts) == 3 else None)

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")


@dataclass
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)
    artifact_type: str | None = None
    platform: dict[str, Any] | None = None
    urls: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Any, where: str = "descriptor") -> Descriptor:
        if not isinstance(d, dict):
            raise InputError(f"{where}: not a JSON object")
        digest, size = d.get("digest"), d.get("size")
        if not isinstance(digest, str) or ":" not in digest:
            raise InputError(f"{where}: missing or invalid 'digest'")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InputError(f"{where}: missing or invalid 'size'")
        media = d.get("mediaType")
        ann = d.get("annotations") or {}
        plat = d.get("platform")
        urls = d.get("urls") or []
        return cls(
            media_type=media if isinstance(media, str) else "",
            digest=digest,
            size=size,
            annotations={str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {},
            artifact_type=d.get("artifactType") if isinstance(d.get("artifactType"), str) else None,
            platform=plat if isinstance(plat, dict) else None,
            urls=[u for u in urls if isinstance(u, str)] if isinstance(urls, list) else [],
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.artifact_type:
            d["artifactType"] = self.artifact_type
        if self.platform:
            d["platform"] = self.platform
        if self.urls:
            d["urls"] = self.urls
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d


def manifest_media_type(data: bytes, content_type: str, accept: tuple[str, ...] | list[str]) -> str:
    """The media type of ``data`` when it is a manifest or index of one of the ``accept``ed types
    (from its ``mediaType``, else the ``Content-Type``, else its shape); ValueError saying why not.
    Only such a body may ever give an image its digest."""
    if data.lstrip()[:1] != b"{":
        raise ValueError(f"{content_type or 'no content type'!r} content, not a JSON image manifest")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError("a body that is not valid JSON, not an image manifest") from None
    if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
        raise ValueError("a JSON document that is not an image manifest (no schemaVersion 2)")
    body_type = doc.get("mediaType")
    if body_type is not None and not isinstance(body_type, str):
        raise ValueError("a manifest whose mediaType is not a string")
    media_type = body_type or (content_type if content_type in ALL_MANIFEST_TYPES else "")
    if not media_type:
        media_type = OCI_INDEX if "manifests" in doc else OCI_MANIFEST if "layers" in doc else ""
    if media_type not in accept:
        raise ValueError(f"a document of media type {media_type or 'unknown'!r}, not one of " + ", ".join(accept))
    if media_type in INDEX_TYPES:
        if not isinstance(doc.get("manifests"), list):
            raise ValueError("an image index without a manifests list")
    elif not isinstance(doc.get("config"), dict) or not isinstance(doc.get("layers"), list):
        raise ValueError("an image manifest without a config and a layers list")
    return media_type


def body_media_type(data: bytes) -> str:
    """The ``mediaType`` a manifest body declares, or "" (not JSON, not an object, no such field):
    for a store that answered without a ``Content-Type``. Judges nothing."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return ""
    return str(doc.get("mediaType", "")) if isinstance(doc, dict) else ""


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hasher_for(digest: str, what: str) -> Any:
    algo = digest.split(":", 1)[0]
    if algo not in ("sha256", "sha384", "sha512"):
        raise InputError(f"{what}: unsupported digest algorithm {algo!r}")
    return hashlib.new(algo)


def verify_bytes(data: bytes, digest: str, what: str, size: int | None = None) -> bytes:
    """Raise VerificationError unless ``data`` has ``digest`` (and ``size``)."""
    if size is not None and len(data) != size:
        raise VerificationError(f"{what}: size {len(data)} does not match the expected {size} bytes")
    h = hasher_for(digest, what)
    h.update(data)
    got = f"{digest.split(':', 1)[0]}:{h.hexdigest()}"
    if got != digest:
        raise VerificationError(f"{what}: content digest {got} does not match the expected {digest}")
    return data


class VerifyingReader(io.RawIOBase):
    """A read-only stream over ``raw`` that hashes what passes through (``digest=None``:
    it only counts and checks the size).

    At end of stream (and as soon as more than ``size`` bytes arrive) it compares size and
    digest and raises VerificationError on a mismatch, so a consumer that reads to the end
    never acts on unverified data without being told. ``on_read`` gets byte counts
    (for progress bars). ``close_raw`` closes the underlying stream on close().
    """

    def __init__(self, raw: IO[bytes] | Any, digest: str | None, size: int | None, what: str, *,
                 on_read: Callable[[int], None] | None = None, close_raw: bool = True) -> None:
        super().__init__()
        self._raw = raw
        self.digest = digest
        self.size = size
        self.what = what
        self._hash = hasher_for(digest, what) if digest else None
        self.count = 0
        self._on_read = on_read
        self._close_raw = close_raw
        self.verified = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        mv = memoryview(b).cast("B")
        want = len(mv)
        if self.size is not None:
            # read at most one byte past the declared size, to detect overlong blobs
            want = min(want, max(self.size - self.count, 0) + 1)
        if want == 0:
            return 0
        data = self._raw.read(want)
        if not data:
            self._finish()
            return 0
        n = len(data)
        mv[:n] = data
        if self._hash is not None:
            self._hash.update(data)
        self.count += n
        if self.size is not None and self.count > self.size:
            cls = NetworkError if getattr(self._raw, "resumed", False) else VerificationError
            raise cls(f"{self.what}: more data than the expected {self.size} bytes")
        if self._on_read is not None:
            self._on_read(n)
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        buf = bytearray(size)
        n = self.readinto(buf)
        return bytes(buf[:n])

    def readall(self) -> bytes:
        chunks = []
        while True:
            chunk = self.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def _finish(self) -> None:
        if self.verified:
            return
        if not getattr(self._raw, "resumed", False):
            self._check()
            return
        try:
            self._check()
        except VerificationError as exc:
            # a download resumed after a dropped connection that does not verify: the registry
            # served inconsistent data (a network fault), not proof of a corrupt or tampered blob
            raise NetworkError(f"{exc} after the download was resumed",
                               hint="the registry served inconsistent data; retry later") from exc

    def _check(self) -> None:
        if self.size is not None and self.count != self.size:
            raise VerificationError(
                f"{self.what}: got {self.count} bytes, expected {self.size} (truncated blob)"
            )
        if self._hash is None or self.digest is None:
            self.verified = True
            return
        got = f"{self.digest.split(':', 1)[0]}:{self._hash.hexdigest()}"
        if got != self.digest:
            raise VerificationError(
                f"{self.what}: content digest {got} does not match the expected {self.digest}",
                hint="the blob was modified or corrupted; do not trust this image",
            )
        self.verified = True

    def drain(self) -> None:
        """Read (and verify) whatever is left."""
        while self.read(1 << 20):
            pass

    def close(self) -> None:
        if not self.closed and self._close_raw:
            close = getattr(self._raw, "close", None)
            if close is not None:
                close()
        super().close()


class SectionReader(io.RawIOBase):
    """``length`` bytes of a seekable file starting at ``offset`` (for blobs inside a tar)."""

    def __init__(self, path: str, offset: int, length: int) -> None:
        super().__init__()
        self._fh = open(path, "rb")
        self._fh.seek(offset)
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        mv = memoryview(b).cast("B")
        n = min(len(mv), self._left)
        if n <= 0:
            return 0
        got = self._fh.readinto(mv[:n])
        self._left -= got
        return got

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


__all__ = [  # with the media types re-exported from .mediatypes
    "ALL_MANIFEST_TYPES",
    "ANNOTATION_REF_NAME",
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER",
    "DOCKER_LAYER",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_MANIFEST_V1",
    "DOCKER_MANIFEST_V1_SIGNED",
    "EMPTY_JSON_DIGEST",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_ND_GZIP",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "Descriptor",
    "Platform",
    "SectionReader",
    "VerifyingReader",
    "digest_of",
    "hasher_for",
    "manifest_media_type",
    "verify_bytes",
]
