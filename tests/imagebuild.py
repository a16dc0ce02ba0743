"""Build real test images from in-memory file trees (for every test that needs one).

    from tests.imagebuild import File, Dir, Symlink, Whiteout, Opaque, build_image, write_oci_layout

    img = build_image([
        [Dir("/etc"), File("/etc/os-release", b"ID=debian\\nVERSION_ID=12\\n")],
        [Whiteout("/etc/os-release")],
    ])
    write_oci_layout(tmp_path / "layout", img, tag="v1")      # oci:DIR:v1
    write_oci_archive(tmp_path / "img.tar", img, tag="v1")     # oci-archive:FILE
    write_docker_archive(tmp_path / "d.tar", img, repo_tag="example.com/app:v1")
    push_image(client, "127.0.0.1:5000/app:v1", img)           # needs a RegistryClient

Layers are gzip-compressed by default (``compression="gzip" | "none" | "zstd"``);
``build_index`` makes a multi-platform index. A layer may also be raw tar bytes
(``layer_tar`` output or a hand-made hostile tar). Everything is deterministic.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.oci.mediatypes import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
)

MTIME = 1_700_000_000


# ----------------------------------------------------------------------------- tar entries


@dataclass
class File:
    path: str
    data: bytes = b""
    mode: int = 0o644


@dataclass
class Dir:
    path: str
    mode: int = 0o755


@dataclass
class Symlink:
    path: str
    target: str


@dataclass
class Hardlink:
    path: str
    target: str


@dataclass
class Whiteout:
    """Deletes ``path`` from the layers below (a ``.wh.NAME`` entry)."""

    path: str


@dataclass
class Opaque:
    """Hides everything the layers below had under directory ``path``."""

    path: str


@dataclass
class Device:
    path: str
    kind: str = "char"  # char | block | fifo


@dataclass
class Raw:
    """A TarInfo written as is (names like ``../x`` or ``/abs``), with optional data."""

    info: tarfile.TarInfo
    data: bytes = b""


Entry = File | Dir | Symlink | Hardlink | Whiteout | Opaque | Device | Raw


def _name(path: str) -> str:
    return path.lstrip("/")


def layer_tar(entries: Iterable[Entry], *, format: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed layer tar with the given entries, in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=format) as tf:
        for e in entries:
            data = b""
            if isinstance(e, Raw):
                info, data = e.info, e.data
                info.size = len(data) if info.isreg() else 0
            else:
                info = tarfile.TarInfo()
                info.mtime = MTIME
                info.uname = info.gname = "root"
                if isinstance(e, File):
                    info.name, info.mode, data = _name(e.path), e.mode, e.data
                    info.size = len(data)
                elif isinstance(e, Dir):
                    info.name, info.type, info.mode = _name(e.path), tarfile.DIRTYPE, e.mode
                elif isinstance(e, Symlink):
                    info.name, info.type, info.linkname = _name(e.path), tarfile.SYMTYPE, e.target
                    info.mode = 0o777
                elif isinstance(e, Hardlink):
                    info.name, info.type, info.linkname = _name(e.path), tarfile.LNKTYPE, _name(e.target)
                elif isinstance(e, Whiteout):
                    d, _, base = _name(e.path).rpartition("/")
                    info.name = (d + "/" if d else "") + ".wh." + base
                elif isinstance(e, Opaque):
                    info.name = _name(e.path).rstrip("/") + "/.wh..wh..opq"
                elif isinstance(e, Device):
                    info.name = _name(e.path)
                    info.type = {"char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[e.kind]
                    info.devmajor, info.devminor = 1, 3
            tf.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


# ----------------------------------------------------------------------------- images


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


@dataclass
class BuiltImage:
    """A single-platform image: blobs by digest, manifest, config and per-layer tars."""

    manifest: bytes
    manifest_digest: str
    media_type: str
    config: bytes
    layer_tars: list[bytes]  # uncompressed
    blobs: dict[str, bytes] = field(default_factory=dict)  # every blob incl. config (not manifest)
    platform: dict[str, str] = field(default_factory=dict)

    @property
    def manifest_json(self) -> dict[str, Any]:
        return dict(json.loads(self.manifest))

    @property
    def layer_digests(self) -> list[str]:
        return [d["digest"] for d in self.manifest_json["layers"]]


@dataclass
class BuiltIndex:
    index: bytes
    index_digest: str
    images: list[BuiltImage]
    media_type: str = OCI_INDEX


def build_image(layers: Sequence[Sequence[Entry] | bytes], *, compression: str = "gzip",
                os_: str = "linux", arch: str = "amd64", variant: str | None = None,
                config: dict[str, Any] | None = None, docker: bool = False,
                annotations: dict[str, str] | None = None) -> BuiltImage:
    """An image from layers (entry lists or raw tar bytes). ``docker=True`` gives Docker
    schema 2 media types."""
    tars = [lay if isinstance(lay, bytes) else layer_tar(lay) for lay in layers]
    blobs: dict[str, bytes] = {}
    descs = []
    for t in tars:
        if compression == "gzip":
            blob, mt = gzip_bytes(t), (DOCKER_LAYER_GZIP if docker else OCI_LAYER_GZIP)
        elif compression == "zstd":
            import zstandard  # type: ignore[import-not-found,unused-ignore]

            blob, mt = zstandard.ZstdCompressor().compress(t), OCI_LAYER_ZSTD
        elif compression == "none":
            blob, mt = t, OCI_LAYER
        else:
            raise ValueError(compression)
        d = sha256(blob)
        blobs[d] = blob
        descs.append({"mediaType": mt, "digest": d, "size": len(blob)})
    cfg: dict[str, Any] = {
        "architecture": arch,
        "os": os_,
        "config": {"User": "1000", "Env": ["PATH=/usr/bin", "SECRET=hunter2"], "Cmd": ["/bin/sh"],
                   "Labels": {"org.example": "yes"}, "ExposedPorts": {"8080/tcp": {}}},
        "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in tars]},
        "history": [{"created_by": f"layer {i}"} for i in range(len(tars))],
    }
    if variant:
        cfg["variant"] = variant
    if config:
        cfg.update(config)
    cfg_bytes = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
    blobs[sha256(cfg_bytes)] = cfg_bytes
    mt = DOCKER_MANIFEST if docker else OCI_MANIFEST
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mt,
        "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG, "digest": sha256(cfg_bytes),
                   "size": len(cfg_bytes)},
        "layers": descs,
    }
    if annotations:
        manifest["annotations"] = annotations
    mbytes = json.dumps(manifest, sort_keys=True, indent=2).encode()
    plat = {"os": os_, "architecture": arch}
    if variant:
        plat["variant"] = variant
    return BuiltImage(mbytes, sha256(mbytes), mt, cfg_bytes, tars, blobs, plat)


def build_index(images: Sequence[BuiltImage]) -> BuiltIndex:
    """A multi-platform OCI image index over ``images``."""
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": im.media_type, "digest": im.manifest_digest, "size": len(im.manifest),
                       "platform": im.platform} for im in images],
    }
    raw = json.dumps(index, sort_keys=True, indent=2).encode()
    return BuiltIndex(raw, sha256(raw), list(images))


# ----------------------------------------------------------------------------- writers


def _layout_files(item: BuiltImage | BuiltIndex, tag: str | None) -> dict[str, bytes]:
    files: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
    images = item.images if isinstance(item, BuiltIndex) else [item]
    for im in images:
        files[f"blobs/sha256/{im.manifest_digest[7:]}"] = im.manifest
        for d, b in im.blobs.items():
            files[f"blobs/sha256/{d[7:]}"] = b
    if isinstance(item, BuiltIndex):
        files[f"blobs/sha256/{item.index_digest[7:]}"] = item.index
        top = {"mediaType": item.media_type, "digest": item.index_digest, "size": len(item.index)}
    else:
        top = {"mediaType": item.media_type, "digest": item.manifest_digest, "size": len(item.manifest)}
    if tag:
        top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    files["index.json"] = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [top]},
                                     indent=2).encode()
    return files


def write_oci_layout(path: str | os.PathLike[str], item: BuiltImage | BuiltIndex, *,
                     tag: str | None = "latest") -> Path:
    """Write an OCI image layout directory (``oci:PATH:TAG``)."""
    root = Path(path)
    for name, data in _layout_files(item, tag).items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def _write_tar(path: str | os.PathLike[str], files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        dirs: set[str] = set()
        for name in sorted(files):
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
                    tf.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), MTIME, 0o644
            tf.addfile(info, io.BytesIO(files[name]))
        for name, target in sorted((symlinks or {}).items()):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, MTIME
            tf.addfile(info)
    return Path(path)


def write_oci_archive(path: str | os.PathLike[str], item: BuiltImage | BuiltIndex, *,
                      tag: str | None = "latest") -> Path:
    """Write an OCI archive (a tar of an OCI layout; ``oci-archive:PATH``)."""
    return _write_tar(path, _layout_files(item, tag))


def write_docker_archive(path: str | os.PathLike[str], image: BuiltImage, *,
                         repo_tag: str | None = "example.com/test/app:latest", layout: str = "legacy",
                         gzip_layers: bool = False) -> Path:
    """Write ``docker save`` output. ``layout="legacy"``: ``<id>/layer.tar`` + ``<id>.json``
    config; ``layout="blobs"``: docker 25+ style ``blobs/sha256/…`` with legacy symlinks."""
    files: dict[str, bytes] = {}
    symlinks: dict[str, str] = {}
    layer_names = []
    cfg_hex = sha256(image.config)[7:]
    for t in image.layer_tars:
        data = gzip_bytes(t) if gzip_layers else t
        hexd = hashlib.sha256(data).hexdigest()
        if layout == "legacy":
            name = f"{hexd}/layer.tar"
            files[name] = data
            files[f"{hexd}/VERSION"] = b"1.0"
        else:
            name = f"blobs/sha256/{hexd}"
            files[name] = data
            symlinks[f"{hexd}/layer.tar"] = f"../blobs/sha256/{hexd}"
        layer_names.append(name)
    cfg_name = f"{cfg_hex}.json" if layout == "legacy" else f"blobs/sha256/{cfg_hex}"
    files[cfg_name] = image.config
    entry = {"Config": cfg_name, "RepoTags": [repo_tag] if repo_tag else [], "Layers": layer_names}
    files["manifest.json"] = json.dumps([entry]).encode()
    if repo_tag:
        name, _, tag = repo_tag.rpartition(":")
        files["repositories"] = json.dumps({name: {tag: hashlib.sha256(image.layer_tars[-1]).hexdigest()}}).encode()
    return _write_tar(path, files, symlinks)


# ----------------------------------------------------------------------------- registry


def push_image(client: Any, ref: str, item: BuiltImage | BuiltIndex) -> str:
    """Push an image or index to a registry with ``supplychain.oci.registry.RegistryClient``;
    returns the top-level manifest digest."""
    from supplychain.oci.reference import parse_reference

    r = parse_reference(ref)
    images = item.images if isinstance(item, BuiltIndex) else [item]
    for im in images:
        for d, b in im.blobs.items():
            if not client.blob_exists(r.repository, d, registry=r.registry):
                client.upload_blob(r.repository, b, d, registry=r.registry)
        if isinstance(item, BuiltIndex):
            client.put_manifest(r.repository, im.manifest_digest, im.manifest, im.media_type, registry=r.registry)
    if isinstance(item, BuiltIndex):
        return str(client.put_manifest(r.repository, r.tag or item.index_digest, item.index, item.media_type,
                                       registry=r.registry))
    return str(client.put_manifest(r.repository, r.tag or item.manifest_digest, item.manifest, item.media_type,
                                   registry=r.registry))


def push_layout(client: Any, layout: str | os.PathLike[str], ref: str, *, tag: str | None = None) -> str:
    """Push the image (or index) an OCI layout directory holds (by ``tag``, or its only
    entry); blobs are streamed from disk. Returns the top-level manifest digest."""
    from supplychain.oci.reference import parse_reference

    r = parse_reference(ref)
    root = Path(layout)
    index = json.loads((root / "index.json").read_text())
    entries = index["manifests"]
    if tag is not None:
        entries = [e for e in entries if (e.get("annotations") or {}).get("org.opencontainers.image.ref.name") == tag]
    if len(entries) != 1:
        raise ValueError(f"{layout}: expected one image, found {len(entries)}")
    top = entries[0]

    def path(d: str) -> Path:
        return root / "blobs" / "sha256" / d[7:]

    def push_manifest(desc: dict[str, Any], name: str) -> str:
        raw = path(desc["digest"]).read_bytes()
        doc = json.loads(raw)
        if "manifests" in doc:
            for m in doc["manifests"]:
                push_manifest(m, m["digest"])
        else:
            for d in [doc["config"], *doc["layers"]]:
                if not client.blob_exists(r.repository, d["digest"], registry=r.registry):
                    with open(path(d["digest"]), "rb") as fh:
                        client.upload_blob(r.repository, fh, d["digest"], registry=r.registry)
        media_type = desc.get("mediaType") or doc.get("mediaType") or OCI_MANIFEST
        return str(client.put_manifest(r.repository, name, raw, media_type, registry=r.registry))

    return push_manifest(top, r.tag or top["digest"])
