"""Random access to the members of an uncompressed tar archive (OCI and docker archives):
an index of member offsets, symbolic and hard links resolved inside the archive."""

from __future__ import annotations

import posixpath
import tarfile
from dataclasses import dataclass
from typing import IO

from supplychain.errors import InputError
from supplychain.oci.decompress import GZIP_MAGIC, ZSTD_MAGIC
from supplychain.oci.descriptor import SectionReader


@dataclass
class TarMember:
    offset: int
    size: int
    link: str | None = None  # symlink target (resolved within the archive)


class TarIndex:
    """Offsets of the regular files in an uncompressed tar, for random access to blobs."""

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        self.members: dict[str, TarMember] = {}
        try:
            with open(path, "rb") as fh:
                head = fh.read(6)
            if head.startswith(GZIP_MAGIC) or head.startswith(ZSTD_MAGIC) or head.startswith(b"BZh"):
                raise InputError(
                    f"{path}: {what} is compressed; only plain tar archives can be read",
                    hint=f"decompress it first, e.g. gunzip -k {path}",
                )
            with tarfile.open(path, "r:") as tf:
                for m in tf:
                    name = tar_name(m.name)
                    if m.isreg():
                        self.members[name] = TarMember(m.offset_data, m.size)
                    elif m.issym():
                        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), m.linkname))
                        self.members[name] = TarMember(0, 0, link=tar_name(target))
                    elif m.islnk():
                        self.members[name] = TarMember(0, 0, link=tar_name(m.linkname))
        except (tarfile.TarError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise InputError(f"{path}: no such file") from exc
            raise InputError(f"{path}: not a readable tar archive ({exc})") from exc

    def find(self, name: str) -> TarMember | None:
        name = tar_name(name)
        for _ in range(16):
            m = self.members.get(name)
            if m is None or m.link is None:
                return m
            name = m.link
        return None

    def open(self, name: str) -> tuple[IO[bytes], int] | None:
        m = self.find(name)
        if m is None:
            return None
        return SectionReader(self.path, m.offset, m.size), m.size  # type: ignore[return-value]

    def read(self, name: str) -> bytes:
        found = self.open(name)
        if found is None:
            raise FileNotFoundError(name)
        with found[0] as fh:
            return fh.read()


def tar_name(name: str) -> str:
    n = posixpath.normpath("/" + name).lstrip("/")
    return n
