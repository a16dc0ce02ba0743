"""Layer decompression: gzip (isal, threaded on multi-core machines), zstd (when the
``zstandard`` module is installed) or plain tar, by media type or magic bytes."""

from __future__ import annotations

import io
import os
from typing import IO, Any, cast

from supplychain.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Closing(io.RawIOBase):
    """A decompressed stream that also closes what it reads from (the verified blob)."""

    def __init__(self, inner: Any, *owned: Any) -> None:
        super().__init__()
        self._inner = inner
        self._owned = owned

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._inner.read(size)
        return data

    def readinto(self, b: Any) -> int:
        data = self._inner.read(len(b))
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self._inner.close()
            finally:
                for o in self._owned:
                    o.close()
        super().close()


def _threaded_gzip() -> bool:
    """Decompress gzip in a worker thread (overlaps with tar parsing) on multi-core machines;
    SUPPLYCHAIN_GZIP_THREADS=0 turns it off."""
    env = os.environ.get("SUPPLYCHAIN_GZIP_THREADS")
    if env is not None:
        return env.strip() not in ("", "0")
    return (os.cpu_count() or 1) >= 2


def decompress(raw: IO[bytes] | io.RawIOBase, media_type: str, what: str) -> IO[bytes]:
    """A decompressed view of a layer blob, by media type (magic bytes when unclear).
    Closing it closes ``raw``."""
    buffered = io.BufferedReader(cast(Any, raw), 1 << 20)
    mt = media_type.lower()
    if mt.endswith("gzip") or mt.endswith("+gzip"):
        kind = "gzip"
    elif mt.endswith("zstd"):
        kind = "zstd"
    elif mt.endswith(".tar") or mt.endswith(".diff.tar"):
        kind = "tar"
    else:
        kind = "sniff"
    if kind in ("sniff", "tar"):
        head = buffered.peek(4)[:4]
        if head.startswith(GZIP_MAGIC):
            kind = "gzip"
        elif head.startswith(ZSTD_MAGIC):
            kind = "zstd"
        else:
            kind = "tar"
    if kind == "gzip":
        if _threaded_gzip():
            from isal import igzip_threaded

            inner = igzip_threaded.open(buffered, "rb", threads=1)  # type: ignore[no-untyped-call]
        else:
            from isal import igzip

            inner = igzip.IGzipFile(fileobj=buffered, mode="rb")  # type: ignore[no-untyped-call]
        return cast(IO[bytes], _Closing(inner, buffered))
    if kind == "zstd":
        try:
            import zstandard  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            buffered.close()
            raise InputError(
                f"{what}: layer is zstd-compressed ({media_type}) but the 'zstandard' module is not installed",
                hint="pip install zstandard",
            ) from None
        reader = zstandard.ZstdDecompressor().stream_reader(buffered, read_size=1 << 20)
        return cast(IO[bytes], _Closing(reader, buffered))
    return cast(IO[bytes], buffered)


__all__ = ["GZIP_MAGIC", "ZSTD_MAGIC", "decompress"]
