"""``docker save`` archives (``docker-archive:FILE[:NAME:TAG]``): manifest.json, config and
layer tars, presented as one image with a synthesised Docker manifest."""

from __future__ import annotations

import io
import json
from typing import IO, Any, cast

from supplychain.errors import InputError
from supplychain.oci.decompress import decompress
from supplychain.oci.descriptor import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    Descriptor,
    VerifyingReader,
    digest_of,
)
from supplychain.oci.reference import parse_reference, validate_digest
from supplychain.oci.source import ImageSource, ReadCallback, parse_json_blob
from supplychain.oci.tarindex import TarIndex


class DockerArchiveSource(ImageSource):
    """``docker save`` output: manifest.json + config + layer tars (legacy or blobs/ layout).

    The synthesised manifest uses the layers' diff_ids as digests; each layer is checked
    against its diff_id over the uncompressed tar.
    """

    kind = "docker-archive"

    def __init__(self, path: str, tag: str | None) -> None:
        self.path = path
        self.label = str(path)
        self.tar = TarIndex(path, "docker archive")
        self.repo_tags: list[str] = []
        try:
            doc = parse_json_blob(self.tar.read("manifest.json"), f"{path}/manifest.json")
        except FileNotFoundError:
            raise InputError(f"{path}: not a docker archive (no manifest.json)") from None
        if not isinstance(doc, list) or not doc:
            raise InputError(f"{path}/manifest.json: expected a non-empty list of images")
        chosen: dict[str, Any] | None = None
        if tag is None:
            if len(doc) > 1:
                tags = [t for e in doc for t in _repo_tags(e)]
                raise InputError(
                    f"{path}: the archive holds {len(doc)} images; say which one",
                    hint="use docker-archive:FILE:NAME:TAG; tags: " + ", ".join(map(str, tags)),
                )
            chosen = doc[0]
        else:
            for e in doc:
                if any(_docker_tag_matches(t, tag) for t in _repo_tags(e)):
                    chosen = e
                    break
            if chosen is None:
                raise InputError(f"{path}: no image tagged {tag!r} in the archive")
        if not isinstance(chosen, dict) or not isinstance(chosen.get("Config"), str) \
                or not isinstance(chosen.get("Layers"), list):
            raise InputError(f"{path}/manifest.json: entry without 'Config' and 'Layers'")
        self.repo_tags = _repo_tags(chosen)
        self.config_name = chosen["Config"]
        try:
            self.config_bytes = self.tar.read(self.config_name)
        except FileNotFoundError:
            raise InputError(f"{path}: config {self.config_name} named in manifest.json is missing") from None
        config = parse_json_blob(self.config_bytes, f"{path}/{self.config_name}")
        rootfs = config.get("rootfs") if isinstance(config, dict) else None
        diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
        if not isinstance(diff_ids, list) or len(diff_ids) != len(chosen["Layers"]):
            raise InputError(f"{path}: config rootfs.diff_ids does not match the {len(chosen['Layers'])} layers")
        self.layer_files: dict[str, str] = {}
        layers = []
        for name, diff_id in zip(chosen["Layers"], diff_ids, strict=True):
            validate_digest(str(diff_id), f"{path}: diff_id")
            m = self.tar.find(str(name))
            if m is None:
                raise InputError(f"{path}: layer {name} named in manifest.json is missing")
            self.layer_files[diff_id] = str(name)
            layers.append({"mediaType": DOCKER_LAYER, "size": m.size, "digest": diff_id})
        self.config_digest = digest_of(self.config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "size": len(self.config_bytes), "digest": self.config_digest},
            "layers": layers,
        }
        self.manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()

    def top(self) -> tuple[bytes, str, str]:
        return self.manifest_bytes, DOCKER_MANIFEST, digest_of(self.manifest_bytes)

    def open_blob(self, desc: Descriptor, on_read: ReadCallback | None = None) -> VerifyingReader:
        if desc.digest == self.config_digest:
            return VerifyingReader(io.BytesIO(self.config_bytes), desc.digest, desc.size, f"{self.label}: config")
        name = self.layer_files.get(desc.digest)
        if name is None:
            raise InputError(f"{self.label}: no blob {desc.digest} in the archive")
        found = self.tar.open(name)
        if found is None:
            raise InputError(f"{self.label}: layer {name} is missing")
        return VerifyingReader(found[0], desc.digest, desc.size, f"{self.label}: layer {name}", on_read=on_read)

    def open_layer(self, desc: Descriptor, on_read: ReadCallback | None = None) -> IO[bytes]:
        name = self.layer_files.get(desc.digest)
        if name is None:
            raise InputError(f"{self.label}: no layer {desc.digest} in the archive")
        found = self.tar.open(name)
        if found is None:
            raise InputError(f"{self.label}: layer {name} is missing")
        raw, size = found
        what = f"{self.label}: layer {name} (diff_id {desc.digest})"
        counting = VerifyingReader(raw, None, size, what, on_read=on_read)
        stream = decompress(counting, "", what)  # some docker versions store gzip layers
        return cast(IO[bytes], io.BufferedReader(VerifyingReader(stream, desc.digest, None, what), 1 << 20))


def _repo_tags(entry: Any) -> list[str]:
    tags = entry.get("RepoTags") if isinstance(entry, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _docker_tag_matches(repo_tag: str, want: str) -> bool:
    if repo_tag == want:
        return True
    try:
        a = parse_reference(repo_tag)
        b = parse_reference(want)
    except InputError:
        return False
    return a.name == b.name and a.tag == b.tag
