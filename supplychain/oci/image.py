"""One ``Image`` interface over four sources: a registry reference, an OCI image layout
(``oci:DIR[:TAG]``), an OCI archive (``oci-archive:FILE[:TAG]``) and a ``docker save``
tar (``docker-archive:FILE[:NAME:TAG]``). A bare path is detected.

Every blob is checked against its digest while it streams; layers come out
decompressed (gzip through isal, zstd when the ``zstandard`` module is installed).
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from supplychain.errors import InputError
from supplychain.oci.descriptor import (
    ALL_MANIFEST_TYPES,
    ANNOTATION_REF_NAME,
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_V1,
    DOCKER_MANIFEST_V1_SIGNED,
    INDEX_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Platform,
    SectionReader,
    VerifyingReader,
    digest_of,
)
from supplychain.oci.reference import Reference, parse_reference, validate_digest

if TYPE_CHECKING:
    from supplychain.oci.registry import RegistryClient

MAX_MANIFEST = 4 * 1024 * 1024
MAX_CONFIG = 16 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

ReadCallback = Callable[[int], None]


# ----------------------------------------------------------------------------- helpers


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{what}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise InputError(f"{what}: not valid JSON (nested too deeply)") from exc


def _read_limited(stream: IO[bytes] | VerifyingReader, limit: int, what: str) -> bytes:
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


def _platform_of(desc: Descriptor) -> Platform | None:
    p = desc.platform
    if not p or not isinstance(p.get("os"), str) or not isinstance(p.get("architecture"), str):
        return None
    v = p.get("variant")
    return Platform(p["os"].lower(), p["architecture"].lower(), v.lower() if isinstance(v, str) else None)


def _norm_variant(arch: str, variant: str | None) -> str | None:
    if arch == "arm64" and variant in (None, "v8"):
        return "v8"
    if arch == "arm" and variant is None:
        return "v7"
    return variant


def select_platform(manifests: list[Descriptor], platform: Platform, what: str) -> Descriptor:
    """Pick the manifest for ``platform`` from an index's entries."""
    best: Descriptor | None = None
    for d in manifests:
        p = _platform_of(d)
        if p is None or p.os != platform.os or p.architecture != platform.architecture:
            continue
        if platform.variant is not None:
            if _norm_variant(p.architecture, p.variant) != _norm_variant(platform.architecture, platform.variant):
                continue
            return d
        if _norm_variant(p.architecture, p.variant) == _norm_variant(platform.architecture, None):
            return d
        best = best or d
    if best is not None:
        return best
    have = sorted({str(p) for d in manifests if (p := _platform_of(d)) and p.os != "unknown"})
    raise InputError(
        f"{what}: no image for platform {platform}",
        hint=("available platforms: " + ", ".join(have)) if have else "the index lists no platforms",
    )


# ----------------------------------------------------------------------------- sources


class _Source:
    kind = ""

    def top(self) -> tuple[bytes, str, str]:
        """(manifest-or-index bytes, media type, digest) of what the source names."""
        raise NotImplementedError

    def fetch_manifest(self, desc: Descriptor) -> tuple[bytes, str]:
        with self.open_blob(desc) as fh:
            data = _read_limited(fh, MAX_MANIFEST, f"manifest {desc.digest}")
        return data, desc.media_type or _sniff_media_type(data)

    def open_blob(self, desc: Descriptor, on_read: ReadCallback | None = None) -> VerifyingReader:
        raise NotImplementedError

    def open_layer(self, desc: Descriptor, on_read: ReadCallback | None = None) -> IO[bytes]:
        raw = self.open_blob(desc, on_read)
        return decompress(raw, desc.media_type, f"layer {desc.digest}")

    def close(self) -> None:
        pass


def _sniff_media_type(data: bytes) -> str:
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


class _LayoutBase(_Source):
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
            marker = _json(self._read_file("oci-layout"), f"{self.label}/oci-layout")
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
        index = _json(raw_index, f"{self.label}/index.json")
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
        if not any(_platform_of(e) for e in entries):
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


class OciLayoutSource(_LayoutBase):
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


@dataclass
class _Member:
    offset: int
    size: int
    link: str | None = None  # symlink target (resolved within the archive)


class _TarIndex:
    """Offsets of the regular files in an uncompressed tar, for random access to blobs."""

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        self.members: dict[str, _Member] = {}
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
                    name = _tar_name(m.name)
                    if m.isreg():
                        self.members[name] = _Member(m.offset_data, m.size)
                    elif m.issym():
                        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), m.linkname))
                        self.members[name] = _Member(0, 0, link=_tar_name(target))
                    elif m.islnk():
                        self.members[name] = _Member(0, 0, link=_tar_name(m.linkname))
        except (tarfile.TarError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise InputError(f"{path}: no such file") from exc
            raise InputError(f"{path}: not a readable tar archive ({exc})") from exc

    def find(self, name: str) -> _Member | None:
        name = _tar_name(name)
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


def _tar_name(name: str) -> str:
    n = posixpath.normpath("/" + name).lstrip("/")
    return n


class OciArchiveSource(_LayoutBase):
    kind = "oci-archive"

    def __init__(self, path: str, tag: str | None) -> None:
        self.tar = _TarIndex(path, "OCI archive")
        self.tag = tag
        self.label = str(path)

    def _read_file(self, name: str) -> bytes:
        return self.tar.read(name)

    def _blob_raw(self, algo: str, hexpart: str) -> tuple[IO[bytes], int] | None:
        return self.tar.open(f"blobs/{algo}/{hexpart}")


class DockerArchiveSource(_Source):
    """``docker save`` output: manifest.json + config + layer tars (legacy or blobs/ layout).

    The synthesised manifest uses the layers' diff_ids as digests; each layer is checked
    against its diff_id over the uncompressed tar.
    """

    kind = "docker-archive"

    def __init__(self, path: str, tag: str | None) -> None:
        self.path = path
        self.label = str(path)
        self.tar = _TarIndex(path, "docker archive")
        self.repo_tags: list[str] = []
        try:
            doc = _json(self.tar.read("manifest.json"), f"{path}/manifest.json")
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
        config = _json(self.config_bytes, f"{path}/{self.config_name}")
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


class RegistrySource(_Source):
    kind = "registry"

    def __init__(self, ref: Reference, client: RegistryClient) -> None:
        self.ref = ref
        self.client = client
        self.label = str(ref)

    def top(self) -> tuple[bytes, str, str]:
        return self.client.get_manifest(self.ref, accept=ALL_MANIFEST_TYPES)

    def fetch_manifest(self, desc: Descriptor) -> tuple[bytes, str]:
        data, mt, _ = self.client.get_manifest(self.ref.with_digest(desc.digest), accept=ALL_MANIFEST_TYPES)
        return data, mt

    def open_blob(self, desc: Descriptor, on_read: ReadCallback | None = None) -> VerifyingReader:
        return self.client.open_blob(self.ref.repository, desc, on_read=on_read, registry=self.ref.registry)


# ----------------------------------------------------------------------------- Image


class Image:
    """A single-platform image: manifest, config and layer descriptors, and blob streams."""

    def __init__(self, source: str, src: _Source, platform: Platform, reference: Reference | None,
                 tag: str | None = None, path: str | None = None) -> None:
        self.source = source
        self._tag = tag
        self.path = path  # the layout directory or archive file, for local sources
        self.kind = src.kind
        self._src = src
        self.requested_platform = platform
        self.reference = reference
        self.index_digest: str | None = None
        self.index_media_type: str | None = None
        data, media_type, digest = src.top()
        media_type = media_type or _sniff_media_type(data)
        if media_type in INDEX_TYPES:
            self.index_digest, self.index_media_type = digest or None, media_type
            index = _json(data, f"{source}: image index")
            entries = index.get("manifests") if isinstance(index, dict) else None
            if not isinstance(entries, list):
                raise InputError(f"{source}: image index has no 'manifests' list")
            descs = [Descriptor.from_dict(m, f"{source}: index manifests[{i}]") for i, m in enumerate(entries)]
            chosen = select_platform(descs, platform, source)
            data, media_type = src.fetch_manifest(chosen)
            digest = chosen.digest
            media_type = media_type or chosen.media_type or _sniff_media_type(data)
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
        manifest = _json(data, f"{source}: manifest {digest}")
        if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
            raise InputError(f"{source}: manifest {digest} has no 'layers' list")
        self.manifest: dict[str, Any] = manifest
        self.config_descriptor = Descriptor.from_dict(manifest.get("config"), f"{source}: manifest config")
        with src.open_blob(self.config_descriptor) as fh:
            self.config_bytes = _read_limited(fh, MAX_CONFIG, f"{source}: config {self.config_descriptor.digest}")
        config = _json(self.config_bytes, f"{source}: config")
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
                names.add(_tar_name(m.name))
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
    src: _Source
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
