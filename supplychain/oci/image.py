"""One ``Image`` interface over four sources: a registry reference, an OCI image layout
(``oci:DIR[:TAG]``), an OCI archive (``oci-archive:FILE[:TAG]``) and a ``docker save``
tar (``docker-archive:FILE[:NAME:TAG]``). A bare path is detected.

Every blob is checked against its digest while it streams; layers come out
decompressed (gzip through isal, zstd when the ``zstandard`` module is installed).

One module per concern: ``source`` (what every source provides), ``registry_source``,
``layout``, ``oci_archive``, ``docker_archive``, ``tarindex`` (random access into tars),
``platforms`` (index entry selection), ``decompress``; this module opens the right one and
resolves the index, manifest and config into an :class:`Image`.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from supplychain.errors import InputError
from supplychain.oci.decompress import decompress
from supplychain.oci.descriptor import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_V1,
    DOCKER_MANIFEST_V1_SIGNED,
    INDEX_TYPES,
    OCI_MANIFEST,
    Descriptor,
    Platform,
    VerifyingReader,
)
from supplychain.oci.docker_archive import DockerArchiveSource
from supplychain.oci.layout import OciLayoutSource
from supplychain.oci.oci_archive import OciArchiveSource
from supplychain.oci.platforms import select_platform
from supplychain.oci.reference import Reference, parse_reference
from supplychain.oci.registry_source import RegistrySource
from supplychain.oci.source import (
    MAX_CONFIG,
    ImageSource,
    ReadCallback,
    parse_json_blob,
    read_limited,
    sniff_media_type,
)
from supplychain.oci.tarindex import tar_name

if TYPE_CHECKING:
    from supplychain.oci.registry import RegistryClient


# ----------------------------------------------------------------------------- Image


class Image:
    """A single-platform image: manifest, config and layer descriptors, and blob streams."""

    def __init__(self, source: str, src: ImageSource, platform: Platform, reference: Reference | None,
                 tag: str | None = None, path: str | None = None) -> None:
        self.source = source
        self._tag = tag
        self.path = path  # the layout directory or archive file, for local sources
        self.kind = src.kind
        self._src = src
        self.reference = reference
        self.index_digest: str | None = None
        data, media_type, digest = src.top()
        media_type = media_type or sniff_media_type(data)
        if media_type in INDEX_TYPES:
            self.index_digest = digest or None
            index = parse_json_blob(data, f"{source}: image index")
            entries = index.get("manifests") if isinstance(index, dict) else None
            if not isinstance(entries, list):
                raise InputError(f"{source}: image index has no 'manifests' list")
            descs = [Descriptor.from_dict(m, f"{source}: index manifests[{i}]") for i, m in enumerate(entries)]
            chosen = select_platform(descs, platform, source)
            data, media_type = src.fetch_manifest(chosen)
            digest = chosen.digest
            media_type = media_type or chosen.media_type or sniff_media_type(data)
            if media_type in INDEX_TYPES:
                raise InputError(f"{source}: nested image indexes are not supported")
        if media_type in (DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED):
            raise InputError(
                f"{source}: Docker schema 1 manifests are not supported",
                hint="re-push the image with a current docker or skopeo (schema 2 / OCI)",
            )
        if media_type not in (OCI_MANIFEST, DOCKER_MANIFEST):
            raise InputError(f"{source}: unsupported manifest media type {media_type!r}")
        self.manifest_bytes = data
        self.media_type = media_type
        self.manifest_digest = digest
        manifest = parse_json_blob(data, f"{source}: manifest {digest}")
        if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
            raise InputError(f"{source}: manifest {digest} has no 'layers' list")
        self.manifest: dict[str, Any] = manifest
        self.config_descriptor = Descriptor.from_dict(manifest.get("config"), f"{source}: manifest config")
        with src.open_blob(self.config_descriptor) as fh:
            self.config_bytes = read_limited(fh, MAX_CONFIG, f"{source}: config {self.config_descriptor.digest}")
        config = parse_json_blob(self.config_bytes, f"{source}: config")
        self.config: dict[str, Any] = config if isinstance(config, dict) else {}
        self.layers: list[Descriptor] = [
            Descriptor.from_dict(d, f"{source}: manifest layers[{i}]") for i, d in enumerate(manifest["layers"])
        ]
        rootfs = self.config.get("rootfs")
        diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
        self.diff_ids: list[str] = [str(d) for d in diff_ids] if isinstance(diff_ids, list) else []

    # -- facts

    @property
    def platform(self) -> str:
        """The platform the config declares (``linux/amd64``)."""
        os_ = self.config.get("os") or "unknown"
        arch = self.config.get("architecture") or "unknown"
        variant = self.config.get("variant")
        return f"{os_}/{arch}" + (f"/{variant}" if variant else "")

    @property
    def name(self) -> str:
        """Best human name: the repository's last component for references (and archives
        whose tag is a full reference), else the layout directory / archive file name."""
        if self.reference is not None:
            return self.reference.repository.rsplit("/", 1)[-1]
        if self.path is not None:
            return Path(self.path).resolve().name
        return self.source

    @property
    def tag(self) -> str | None:
        """The tag the image was opened by (registry tag, layout ref name, archive RepoTag)."""
        if self.reference is not None and self.reference.tag:
            return self.reference.tag
        return self._tag

    @property
    def digest_reference(self) -> str | None:
        """``registry/repo@sha256:…`` for registry images."""
        if self.reference is None or self.kind != "registry":
            return None
        return str(self.reference.with_digest(self.index_digest or self.manifest_digest))

    # -- blobs

    def open_blob(self, desc: Descriptor, on_read: ReadCallback | None = None) -> VerifyingReader:
        """The raw blob, verified against its digest and size as it is read."""
        return self._src.open_blob(desc, on_read)

    def open_layer(self, desc: Descriptor, on_read: ReadCallback | None = None) -> IO[bytes]:
        """The layer's uncompressed tar stream. The digest check fires at end of stream:
        read it to EOF (``squash`` does) before trusting what came out."""
        return self._src.open_layer(desc, on_read)

    def close(self) -> None:
        self._src.close()

    def __enter__(self) -> Image:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------- open_image

_PREFIXES = ("oci:", "oci-archive:", "docker-archive:", "docker://", "registry:")


def _split_path(spec: str) -> tuple[str, str | None]:
    """``PATH[:TAG]`` where PATH itself may contain colons: the longest existing prefix wins."""
    if os.path.exists(spec):
        return spec, None
    idx = len(spec)
    while True:
        idx = spec.rfind(":", 0, idx)
        if idx <= 0:
            break
        if os.path.exists(spec[:idx]):
            return spec[:idx], spec[idx + 1 :] or None
    raise InputError(f"{spec}: no such file or directory")


def _detect(path: str) -> str:
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "oci-layout")):
            return "oci"
        raise InputError(
            f"{path}: directory is not an OCI image layout (no oci-layout file)",
            hint="point at an OCI layout (skopeo copy ... oci:DIR), an oci-archive or a docker save tar",
        )
    try:
        with tarfile.open(path, "r:") as tf:
            names = set()
            for m in tf:
                names.add(tar_name(m.name))
                if "oci-layout" in names and "index.json" in names:
                    return "oci-archive"
                if len(names) > 100000:
                    break
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"{path}: not a directory or tar archive ({exc})") from exc
    if "manifest.json" in names:
        return "docker-archive"
    if "oci-layout" in names:
        return "oci-archive"
    raise InputError(f"{path}: tar archive is neither an OCI archive nor a docker save archive")


def _archive_reference(tag: str | None, repo_tags: Iterable[str]) -> Reference | None:
    for t in [tag, *repo_tags]:
        if t and ("/" in t or ":" in t):
            try:
                return parse_reference(t)
            except InputError:
                continue
    return None


def open_image(source: str, *, platform: str = "linux/amd64", insecure_registries: Iterable[str] = (),
               client: RegistryClient | None = None) -> Image:
    """Open ``source`` (registry reference, ``oci:DIR[:TAG]``, ``oci-archive:FILE[:TAG]``,
    ``docker-archive:FILE[:NAME:TAG]`` or a bare path) for ``platform``."""
    plat = Platform.parse(platform)
    kind: str | None = None
    rest = source
    for prefix in _PREFIXES:
        if source.startswith(prefix):
            kind, rest = prefix.rstrip(":/"), source[len(prefix) :]
            break
    if kind is None and (os.path.exists(source) or source.startswith(("/", "./", "../", "~"))):
        kind = "path"
    if kind is None:
        # "DIR:TAG" with an existing DIR, else a registry reference
        try:
            p, _ = _split_path(source)
            kind = "path" if p else None
        except InputError:
            kind = None
    src: ImageSource
    reference: Reference | None = None
    tag: str | None = None
    path: str | None = None
    if kind in (None, "docker", "registry"):
        reference = parse_reference(rest)
        if client is None:
            from supplychain.oci.registry import RegistryClient

            client = RegistryClient(insecure_registries=insecure_registries)
        src = RegistrySource(reference, client)
    else:
        path, tag = _split_path(os.path.expanduser(rest))
        if kind == "path":
            kind = _detect(path)
        if kind == "oci":
            src = OciLayoutSource(path, tag)
        elif kind == "oci-archive":
            src = OciArchiveSource(path, tag)
        else:
            dsrc = DockerArchiveSource(path, tag)
            src = dsrc
            reference = _archive_reference(tag, dsrc.repo_tags)
        if reference is None and tag and kind != "docker-archive":
            reference = _archive_reference(tag, ())
    try:
        image = Image(source, src, plat, reference, tag=tag if kind != "registry" else None,
                      path=None if kind in (None, "docker", "registry") else path)
    except BaseException:
        src.close()
        raise
    return image


__all__ = ["Image", "decompress", "open_image", "select_platform"]
