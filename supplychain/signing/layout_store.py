"""Signatures in an OCI image layout directory (``oci:DIR[:TAG]``): the store behind
``sign image`` / ``attest image`` / ``verify image`` for layouts.

It answers the calls :class:`supplychain.signing.image.RegistryView` makes of a registry client.
Referrers follow the OCI image-layout 1.1 convention (what ``oras`` does): every manifest written
is listed in ``index.json``; the referrers of a digest are the listed manifests whose ``subject``
is that digest. Writes are atomic (temp file + rename); ``index.json`` is rewritten whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from supplychain.errors import InputError, VerificationError
from supplychain.fileio import atomic_write
from supplychain.oci.descriptor import body_media_type, digest_of

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
MAX_INDEX = 16 * 1024 * 1024


def _not_found(message: str) -> Exception:
    from supplychain.oci.registry import RegistryNotFound

    return RegistryNotFound(message, codes=["MANIFEST_UNKNOWN"])


def parse_layout_reference(text: str) -> tuple[Path, str | None, str | None]:
    """``oci:DIR[:TAG]`` or ``oci:DIR@sha256:HEX`` -> (dir, tag, digest)."""
    body = text[len("oci:"):]
    digest = None
    if "@" in body:
        body, digest = body.rsplit("@", 1)
    tag = None
    if not Path(body).is_dir() and ":" in body:
        body, tag = body.rsplit(":", 1)
    path = Path(body)
    if not (path / "oci-layout").is_file() or not (path / "index.json").is_file():
        raise InputError(f"{text}: {path} is not an OCI image layout (no oci-layout / index.json)")
    return path, tag, digest


class LayoutClient:
    """The registry-client calls of RegistryView, on an OCI layout directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    # --- index.json -------------------------------------------------------------------------
    def _index(self) -> dict[str, Any]:
        p = self.path / "index.json"
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise InputError(f"{p}: cannot read: {exc.strerror}") from exc
        if len(raw) > MAX_INDEX:
            raise InputError(f"{p}: too large")
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{p}: not JSON ({exc})") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
            raise InputError(f"{p}: not an OCI image index")
        return doc

    def _blob_path(self, digest: str) -> Path:
        algo, _, hexpart = digest.partition(":")
        if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
            raise VerificationError(f"{digest!r} is not a sha256 digest")
        return self.path / "blobs" / "sha256" / hexpart

    # --- reads --------------------------------------------------------------------------------
    def get_manifest(self, ref: Any) -> tuple[bytes, str, str]:
        want = ref.digest
        media = ""
        if want is None:
            tag = ref.tag or "latest"
            for m in self._index()["manifests"]:
                if isinstance(m, dict) and (m.get("annotations") or {}).get(ANNOTATION_REF_NAME) == tag:
                    want, media = str(m.get("digest")), str(m.get("mediaType") or "")
                    break
            else:
                if ref.tag is None and len(self._index()["manifests"]) == 1:
                    only = self._index()["manifests"][0]
                    want, media = str(only.get("digest")), str(only.get("mediaType") or "")
                else:
                    raise _not_found(f"{self.path}: no manifest tagged {tag!r}")
        p = self._blob_path(str(want))
        if not p.is_file():
            raise _not_found(f"{self.path}: no manifest {want}")
        data = p.read_bytes()
        return data, media or body_media_type(data), digest_of(data)

    def get_blob_bytes(self, ref: Any, digest: str, *, max_size: int) -> bytes:
        p = self._blob_path(digest)
        try:
            with open(p, "rb") as fh:
                data = fh.read(max_size + 1)
        except FileNotFoundError as exc:
            raise VerificationError(f"{self.path}: blob {digest} is missing") from exc
        if len(data) > max_size:
            raise VerificationError(f"{self.path}: blob {digest} is larger than {max_size} bytes")
        return data

    def referrers(self, ref: Any, digest: str) -> list[Any]:
        from supplychain.oci.descriptor import Descriptor

        out = []
        for m in self._index()["manifests"]:
            if not isinstance(m, dict) or m.get("mediaType") != "application/vnd.oci.image.manifest.v1+json":
                continue
            try:
                raw = self._blob_path(str(m.get("digest"))).read_bytes()
                doc = json.loads(raw)
            except (OSError, ValueError, RecursionError, VerificationError):
                continue
            subject = doc.get("subject") if isinstance(doc, dict) else None
            if isinstance(subject, dict) and subject.get("digest") == digest:
                d = {"mediaType": m["mediaType"], "digest": m["digest"], "size": len(raw),
                     "artifactType": doc.get("artifactType") or (doc.get("config") or {}).get("mediaType"),
                     "annotations": doc.get("annotations") or {}}
                out.append(Descriptor.from_dict(d))
        return out

    # --- writes -------------------------------------------------------------------------------
    def upload_blob(self, ref: Any, data: bytes, digest: str) -> None:
        p = self._blob_path(digest)
        if digest_of(data) != digest:
            raise VerificationError(f"blob does not have digest {digest}")
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(p, data, mode=0o644)

    def put_manifest(self, ref: Any, tag_or_digest: str, raw: bytes, media_type: str) -> str:
        digest = digest_of(raw)
        self.upload_blob(ref, raw, digest)
        index = self._index()
        tag = None if tag_or_digest.startswith("sha256:") else tag_or_digest
        manifests = [m for m in index["manifests"] if not (
            isinstance(m, dict) and tag is not None and (m.get("annotations") or {}).get(ANNOTATION_REF_NAME) == tag)]
        if not any(isinstance(m, dict) and m.get("digest") == digest and not tag for m in manifests):
            entry: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": len(raw)}
            if tag:
                entry["annotations"] = {ANNOTATION_REF_NAME: tag}
            manifests.append(entry)
        index["manifests"] = manifests
        atomic_write(self.path / "index.json", json.dumps(index, separators=(",", ":")).encode(), mode=0o644)
        return digest

    def add_referrer(self, ref: Any, subject_digest: str, descriptor: Any) -> None:
        """put_manifest listed it in index.json: the layout's referrers need nothing else."""

    def push_referrer(self, ref: Any, raw: bytes, media_type: str, subject_digest: str, descriptor: Any) -> str:
        """The registry client's push_referrer on a layout: the manifest listed in index.json is
        its referrer entry (there is no OCI-Subject answer and no tag index to keep)."""
        digest = self.put_manifest(ref, digest_of(raw), raw, media_type)
        self.add_referrer(ref, subject_digest, descriptor)
        return digest
