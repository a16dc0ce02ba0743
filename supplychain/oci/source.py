"""What every image source provides (registry, OCI layout, oci-archive, docker-archive):
the top manifest or index, manifests by descriptor, verified blob streams and decompressed
layers; plus the bounded JSON reading they share."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

from supplychain.errors import InputError
from supplychain.oci.decompress import decompress
from supplychain.oci.descriptor import (
    DOCKER_MANIFEST_V1,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    VerifyingReader,
)

MAX_MANIFEST = 4 * 1024 * 1024
MAX_CONFIG = 16 * 1024 * 1024

ReadCallback = Callable[[int], None]


def parse_json_blob(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{what}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise InputError(f"{what}: not valid JSON (nested too deeply)") from exc


def read_limited(stream: IO[bytes] | VerifyingReader, limit: int, what: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                return b"".join(chunks)  # EOF: verifying streams have checked the digest
            total += len(chunk)
            if total > limit:
                raise InputError(f"{what}: larger than {limit} bytes")
            chunks.append(chunk)
    finally:
        stream.close()


class ImageSource:
    kind = ""

    def top(self) -> tuple[bytes, str, str]:
        """(manifest-or-index bytes, media type, digest) of what the source names."""
        raise NotImplementedError

    def fetch_manifest(self, desc: Descriptor) -> tuple[bytes, str]:
        with self.open_blob(desc) as fh:
            data = read_limited(fh, MAX_MANIFEST, f"manifest {desc.digest}")
        return data, desc.media_type or sniff_media_type(data)

    def open_blob(self, desc: Descriptor, on_read: ReadCallback | None = None) -> VerifyingReader:
        raise NotImplementedError

    def open_layer(self, desc: Descriptor, on_read: ReadCallback | None = None) -> IO[bytes]:
        raw = self.open_blob(desc, on_read)
        return decompress(raw, desc.media_type, f"layer {desc.digest}")

    def close(self) -> None:
        pass


def sniff_media_type(data: bytes) -> str:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(doc, dict):
        return ""
    mt = doc.get("mediaType")
    if isinstance(mt, str) and mt:
        return mt
    if "manifests" in doc:
        return OCI_INDEX
    if "layers" in doc or "config" in doc:
        return OCI_MANIFEST
    if doc.get("schemaVersion") == 1:
        return DOCKER_MANIFEST_V1
    return ""
