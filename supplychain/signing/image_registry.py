"""What image signing needs from an OCI registry, or an ``oci:`` image layout directory.

Part of :mod:`supplychain.signing.image` (which re-exports the public names): the cached,
thread-safe :class:`RegistryView` over the oci layer's client (the only code here that touches
it), image reference parsing, and where signatures live (``$COSIGN_REPOSITORY``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supplychain.errors import InputError, RegistryError, VerificationError
from supplychain.oci.descriptor import body_media_type
from supplychain.signing.formats import cosign as cs
from supplychain.signing.wire import load_untrusted_json

if TYPE_CHECKING:  # pragma: no cover
    from supplychain.oci.reference import Reference

MAX_BUNDLE = 8 * 1024 * 1024
MAX_REFERRERS = 200


@dataclass(frozen=True)
class ResolvedImage:
    reference: Reference  # as given (normalised)
    digest: str
    media_type: str
    size: int

    @property
    def digest_reference(self) -> str:
        return f"{self.reference.name}@{self.digest}"

    @property
    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


class RegistryView:
    """What signing needs from a registry, with answers cached for the life of the object.

    Thread-safe: the gate shares one view across its worker threads.
    """

    def __init__(self, client: Any = None, *, insecure: Iterable[str] = ()) -> None:
        self.client = client if client is not None else _default_client(list(insecure))
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, ...], Any] = {}

    def _cached(self, key: tuple[str, ...], fn: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = fn()
        with self._lock:
            self._cache[key] = value
        return value

    def forget(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._cache.pop(key, None)

    # --- reads -------------------------------------------------------------------------------
    def manifest(self, ref: Reference, reference: str) -> tuple[bytes, str] | None:
        """Manifest bytes and media type for a tag or digest; None when the registry has none."""
        from supplychain.oci.reference import Reference as Ref

        def fetch() -> tuple[bytes, str] | None:
            target = Ref(ref.registry, ref.repository, None, reference) if ":" in reference else Ref(
                ref.registry, ref.repository, reference, None)
            return _fetch_manifest(self.client, target)

        try:
            got: tuple[bytes, str] | None = self._cached(("manifest", ref.name, reference), fetch)
        except VerificationError as exc:
            raise VerificationError(f"{exc} (tampered or corrupted manifest)") from exc
        if got is not None and reference.startswith("sha256:"):
            actual = "sha256:" + hashlib.sha256(got[0]).hexdigest()
            if actual != reference:
                raise VerificationError(
                    f"{ref.name}@{reference}: the registry served a manifest with digest {actual} "
                    "(tampered or corrupted manifest)"
                )
        return got

    def resolve(self, ref: Reference) -> ResolvedImage:
        """Resolve a tag to the manifest digest (once) and check a given digest against the bytes."""
        got = self.manifest(ref, ref.digest or ref.tag or "latest")
        if got is None:
            raise RegistryError(f"{ref}: no such image in the registry",
                                hint="check the reference, or push the image first")
        data, media = got
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if ref.digest and ref.digest != digest:
            raise VerificationError(f"{ref}: manifest digest is {digest}, not {ref.digest}")
        return ResolvedImage(ref, digest, media, len(data))

    def blob(self, ref: Reference, digest: str, *, limit: int = MAX_BUNDLE) -> bytes:
        def fetch() -> bytes:
            data = _fetch_blob(self.client, ref, digest, limit)
            actual = "sha256:" + hashlib.sha256(data).hexdigest()
            if actual != digest:
                raise VerificationError(f"{ref.name}: blob {digest} has content digest {actual}")
            return data

        result: bytes = self._cached(("blob", ref.name, digest), fetch)
        return result

    def referrers(self, ref: Reference, digest: str) -> list[dict[str, Any]]:
        def fetch() -> list[dict[str, Any]]:
            return _fetch_referrers(self.client, ref, digest)

        result: list[dict[str, Any]] = self._cached(("referrers", ref.name, digest), fetch)
        return result

    # --- writes ------------------------------------------------------------------------------
    def push_blob(self, ref: Reference, data: bytes) -> str:
        return _push_blob(self.client, ref, data)

    def push_referrer(self, ref: Reference, subject_digest: str, manifest: dict[str, Any]) -> str:
        """Push an artifact manifest with a subject; list it in the referrers tag when needed."""
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        from supplychain.oci.descriptor import Descriptor, digest_of

        _check_referrers_tag(self.client, ref, subject_digest)  # before anything is written
        descriptor = {
            "mediaType": manifest["mediaType"],
            "digest": digest_of(raw),
            "size": len(raw),
            "artifactType": manifest.get("artifactType"),
            "annotations": manifest.get("annotations") or {},
        }
        # listed by the registry itself when it answers OCI-Subject; else the referrers tag index
        # is updated only from a valid read, conditionally, and confirmed (the oci layer)
        digest: str = self.client.push_referrer(ref, raw, manifest["mediaType"], subject_digest,
                                                Descriptor.from_dict(descriptor))
        self.forget(("referrers", ref.name, subject_digest))
        return digest


# The calls below are the only places that touch the oci layer's RegistryClient.
def _default_client(insecure: list[str]) -> Any:
    from supplychain.oci.registry import RegistryClient

    return RegistryClient(insecure_registries=insecure)


def _fetch_manifest(client: Any, ref: Reference) -> tuple[bytes, str] | None:
    from supplychain.oci.registry import RegistryNotFound

    try:
        data, media, _ = client.get_manifest(ref)
    except RegistryNotFound as exc:
        if exc.says_unknown:  # the registry itself says there is no such manifest
            return None
        # a bare 404 (a proxy, a CDN, a misrouted request) says nothing about the manifest
        raise RegistryError(f"{exc.message} without a registry error code saying the manifest is unknown",
                            hint="check the registry URL and any proxy in front of it") from exc
    return bytes(data), str(media or "")


def _fetch_blob(client: Any, ref: Reference, digest: str, limit: int) -> bytes:
    data: bytes = client.get_blob_bytes(ref, digest, max_size=limit)
    return data


def _fetch_referrers(client: Any, ref: Reference, digest: str) -> list[dict[str, Any]]:
    return [d.to_dict() for d in client.referrers(ref, digest)][:MAX_REFERRERS]


def _push_blob(client: Any, ref: Reference, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client.upload_blob(ref, data, digest)
    return digest


_INDEX_MEDIA_TYPES = (cs.OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json")


def _check_referrers_tag(client: Any, ref: Reference, subject_digest: str) -> None:
    """A ``sha256-<hex>`` tag that holds something other than an index (an image someone pushed
    under that name) is an error: it is never replaced by our referrers index."""
    from supplychain.oci.reference import Reference as Ref
    from supplychain.oci.registry import RegistryNotFound

    tag = cs.digest_tag(subject_digest)
    try:
        data, media, _ = client.get_manifest(Ref(ref.registry, ref.repository, tag, None))
    except RegistryNotFound:
        return
    kind = str(media or "") or body_media_type(data)
    if kind not in _INDEX_MEDIA_TYPES:
        raise RegistryError(f"{ref.registry}/{ref.repository}:{tag} holds a {kind or 'non-index'} manifest, not a "
                            "referrers tag index; refusing to overwrite it",
                            hint="move that tag away (it names the referrers of the image by OCI convention)")


def _view_for(reference: str, registry: RegistryView | None) -> tuple[RegistryView, Reference]:
    """A registry reference, or ``oci:DIR[:TAG|@DIGEST]`` (an OCI image layout directory)."""
    if reference.startswith("oci:"):
        from supplychain.oci.reference import Reference as Ref
        from supplychain.signing.layout_store import LayoutClient, parse_layout_reference

        path, tag, digest = parse_layout_reference(reference)
        where = path.resolve()
        return RegistryView(LayoutClient(path)), Ref(f"oci:{where.parent}", where.name, tag, digest)
    return registry or RegistryView(), parse_image_reference(reference)


def parse_image_reference(text: str) -> Reference:
    from supplychain.oci.reference import parse_reference

    return parse_reference(text)


COSIGN_REPOSITORY_ENV = "COSIGN_REPOSITORY"


def signature_repository(ref: Reference) -> Reference:
    """Where the signatures of ``ref`` live: ``$COSIGN_REPOSITORY`` (cosign's variable), else ``ref``."""
    import os

    from supplychain.oci.reference import Reference as Ref

    other = os.environ.get(COSIGN_REPOSITORY_ENV, "").strip()
    if not other:
        return ref
    try:
        parsed = parse_image_reference(other)
    except InputError as exc:
        raise InputError(f"${COSIGN_REPOSITORY_ENV}={other!r}: {exc.message}") from exc
    if parsed.digest or (parsed.tag and parsed.tag != "latest" and other.rsplit("/", 1)[-1].count(":")):
        raise InputError(f"${COSIGN_REPOSITORY_ENV}={other!r}: name a repository, without tag or digest")
    return Ref(parsed.registry, parsed.repository, ref.tag, ref.digest)


def _unreachable(exc: RegistryError) -> bool:
    """Did the registry fail to answer (True), or say the thing does not exist (False)?"""
    from supplychain.oci.registry import RegistryNotFound

    return not (isinstance(exc, RegistryNotFound) and exc.says_unknown)


def _layers_of(raw: bytes, what: str) -> list[Any]:
    manifest = load_untrusted_json(raw, limit=MAX_BUNDLE, what=f"{what} manifest")
    layers = manifest.get("layers") if isinstance(manifest, dict) else None
    if not isinstance(layers, list):
        raise VerificationError("layers is not a list")
    return layers
