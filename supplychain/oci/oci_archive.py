"""OCI archives (``oci-archive:FILE[:TAG]``): an OCI image layout inside a plain tar."""

from __future__ import annotations

from typing import IO

from supplychain.oci.layout import LayoutSource
from supplychain.oci.tarindex import TarIndex


class OciArchiveSource(LayoutSource):
    kind = "oci-archive"

    def __init__(self, path: str, tag: str | None) -> None:
        self.tar = TarIndex(path, "OCI archive")
        self.tag = tag
        self.label = str(path)

    def _read_file(self, name: str) -> bytes:
        return self.tar.read(name)

    def _blob_raw(self, algo: str, hexpart: str) -> tuple[IO[bytes], int] | None:
        return self.tar.open(f"blobs/{algo}/{hexpart}")
