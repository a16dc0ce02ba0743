"""OCI image layout directories (``oci:DIR[:TAG]``), and the layout logic that OCI archives
share: the ``oci-layout`` marker, ``index.json`` and tag (``org.opencontainers.image.ref.name``)
selection, blobs under ``blobs/<algorithm>/<hex>``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from supplychain.errors import InputError
from supplychain.oci.descriptor import ANNOTATION_REF_NAME, OCI_INDEX, Descriptor, VerifyingReader
from supplychain.oci.platforms import platform_of
from supplychain.oci.reference import validate_digest
from supplychain.oci.source import ImageSource, ReadCallback, parse_json_blob


class LayoutSource(ImageSource):
    """Shared by the OCI layout directory and the OCI archive."""

    label = ""
    tag: str | None = None

    def _read_file(self, name: str) -> bytes:
        raise NotImplementedError

    def _blob_raw(self, algo: str, hexpart: str) -> tuple[IO[bytes], int] | None:
        raise NotImplementedError

    def open_blob(self, desc: Descriptor, on_read: ReadCallback | None = None) -> VerifyingReader:
        validate_digest(desc.digest, f"{self.label}: descriptor digest")
        algo, hexpart = desc.digest.split(":", 1)
        found = self._blob_raw(algo, hexpart)
        if found is None:
            raise InputError(f"{self.label}: blob {desc.digest} is missing (blobs/{algo}/{hexpart})")
        raw, _ = found
        return VerifyingReader(raw, desc.digest, desc.size, f"{self.label}: blob {desc.digest}", on_read=on_read)

    def _check_layout(self) -> None:
        try:
            marker = parse_json_blob(self._read_file("oci-layout"), f"{self.label}/oci-layout")
        except FileNotFoundError:
            raise InputError(f"{self.label}: not an OCI image layout (no oci-layout file)") from None
        if not isinstance(marker, dict) or not str(marker.get("imageLayoutVersion", "")).startswith("1."):
            raise InputError(f"{self.label}/oci-layout: unsupported imageLayoutVersion")

    def top(self) -> tuple[bytes, str, str]:
        self._check_layout()
        try:
            raw_index = self._read_file("index.json")
        except FileNotFoundError:
            raise InputError(f"{self.label}: index.json is missing") from None
        index = parse_json_blob(raw_index, f"{self.label}/index.json")
        if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
            raise InputError(f"{self.label}/index.json: no 'manifests' list")
        entries = [Descriptor.from_dict(m, f"{self.label}/index.json manifests[{i}]")
                   for i, m in enumerate(index["manifests"])]
        if not entries:
            raise InputError(f"{self.label}: index.json lists no images")
        if self.tag is not None:
            matches = [e for e in entries if _ref_name_matches(e.annotations.get(ANNOTATION_REF_NAME), self.tag)]
            if not matches:
                names = sorted({n for e in entries if (n := e.annotations.get(ANNOTATION_REF_NAME))})
                raise InputError(
                    f"{self.label}: no image tagged {self.tag!r}",
                    hint=("tags in this layout: " + ", ".join(names)) if names else "the layout has no tags",
                )
            entries = matches
        if len(entries) == 1:
            entry = entries[0]
            data, mt = self.fetch_manifest(entry)
            return data, mt, entry.digest
        if not any(platform_of(e) for e in entries):
            names = sorted({n for e in entries if (n := e.annotations.get(ANNOTATION_REF_NAME))})
            raise InputError(
                f"{self.label}: the layout holds {len(entries)} images; say which one with :TAG",
                hint=("tags in this layout: " + ", ".join(names)) if names else "the layout has no tags",
            )
        # several platform manifests listed directly: index.json itself is the index
        # (it is not a blob, so it has no digest of its own)
        return raw_index, OCI_INDEX, ""


def _ref_name_matches(name: str | None, tag: str) -> bool:
    if not name:
        return False
    if name == tag:
        return True
    # full references are allowed as ref.name; match their tag part
    return ":" in name and name.rsplit(":", 1)[1] == tag and "/" not in name.rsplit(":", 1)[1]


class OciLayoutSource(LayoutSource):
    kind = "oci"

    def __init__(self, path: str, tag: str | None) -> None:
        self.path = Path(path)
        self.tag = tag
        self.label = str(path)
        if not self.path.is_dir():
            raise InputError(f"{path}: not a directory (expected an OCI image layout)")

    def _read_file(self, name: str) -> bytes:
        p = self.path / name
        try:
            return p.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise InputError(f"{p}: cannot read: {exc.strerror}") from exc

    def _blob_raw(self, algo: str, hexpart: str) -> tuple[IO[bytes], int] | None:
        p = self.path / "blobs" / algo / hexpart
        try:
            fh = open(p, "rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputError(f"{p}: cannot read blob: {exc.strerror}") from exc
        return fh, os.fstat(fh.fileno()).st_size
