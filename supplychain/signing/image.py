"""Image signatures and attestations in an OCI registry: sign, attest, find and verify.

What we write is what cosign v3 writes: a Sigstore bundle (v0.3) holding a DSSE envelope around an
in-toto statement whose subject is the image manifest digest, attached to the image as an OCI 1.1
referrer (artifactType ``application/vnd.dev.sigstore.bundle.v0.3+json``). Image signatures use
predicate type ``https://sigstore.dev/cosign/sign/v1``; attestations use the predicate's own type.
Registries without the referrers API (Debian's docker-registry 2.8) get the referrers tag schema:
a ``sha256-<hex>`` tag pointing at an image index that lists the referrers.

What we read: those referrers, and cosign v2's legacy ``sha256-<hex>.sig`` / ``.att`` tags.

Verification is two steps, so one pass can serve many acceptable signers (the gate):
each signature is first verified cryptographically (against the given public keys, or against
the Sigstore trusted root for certificates), which tells *who* signed it; then the signer is
matched against the :class:`SignerRule` list.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from supplychain.errors import InputError, RegistryError, VerificationError
from supplychain.signing import attest as at
from supplychain.signing.dsse import Statement, parse_statement
from supplychain.signing.formats import cosign as cs
from supplychain.signing.keys import PublicKey
from supplychain.signing.policy import Signer, SignerPolicy, accepts
from supplychain.signing.specs import SignerSpec, TrustSpec
from supplychain.signing.trust import TrustRoots
from supplychain.signing.verifier import SignedMaterial
from supplychain.signing.wire import load_untrusted_json

if TYPE_CHECKING:  # pragma: no cover
    from supplychain.oci.reference import Reference

MAX_BUNDLE = 8 * 1024 * 1024
MAX_REFERRERS = 200


# ----------------------------------------------------------------------------------------------
# signing and verifying bundles (who may have signed: supplychain.signing.policy)
# ----------------------------------------------------------------------------------------------
def sign_statement(statement: bytes, signer: SignerSpec) -> bytes:
    """Sign an in-toto statement as DSSE; return the Sigstore bundle (v0.3) JSON bytes."""
    from supplychain.signing.sign import sign_dsse

    return sign_dsse(statement, signer)


@dataclass(frozen=True)
class VerifiedBundle:
    signer: Signer
    payload_type: str
    payload: bytes


def _judge(material: SignedMaterial, keys: list[PublicKey], keyless: bool, roots: TrustRoots) -> VerifiedBundle:
    """Verify ``material`` cryptographically and say who signed it (policies are matched after).

    Keyless material is verified only when some accepted signer is keyless: a ``--key`` run
    never loads (or downloads) a trust root because of a stranger's keyless signature.
    """
    from supplychain.signing.verifier import verify

    if material.certificate_der is not None:
        if not keyless:
            raise VerificationError("signed keyless (certificate), but only keys are accepted")
        v = verify(material, policy=None, trust=roots)
    else:
        if not keys:
            raise VerificationError(f"signed with a key (hint {material.public_key_hint or 'none'}), but no "
                                    "public key is accepted")
        if (material.tlog_entries or material.rfc3161_timestamps) and _log_checkable(roots):
            v = verify(material, policy=None, trust=roots, keys=keys)
        else:  # the key signature is the anchor; its signing time stays "not attested"
            v = verify(_without_log(material), policy=None, trust=None, keys=keys)
    return VerifiedBundle(v.signer, v.payload_type or "", v.payload or b"")


def _log_checkable(roots: TrustRoots) -> bool:
    """Can a key signature's log entries be checked without a download? (explicit or embedded root)"""
    spec = roots.spec
    return roots.loaded or bool(spec.trusted_root or spec.trust_config or spec.offline)


def _without_log(material: SignedMaterial) -> SignedMaterial:
    from dataclasses import replace

    return replace(material, tlog_entries=[], rfc3161_timestamps=[])


def verify_bundle_json(raw: bytes, *, keys: Iterable[PublicKey], roots: TrustRoots, keyless: bool = True,
                       source: str = "bundle") -> VerifiedBundle:
    """Verify a DSSE Sigstore bundle from a registry: who signed it, and its payload."""
    from supplychain.signing.formats.bundle import BundleFormatError, parse_bundle

    try:
        material = parse_bundle(raw, source=source)
    except BundleFormatError as exc:  # malformed bundle content from the registry: not verified
        raise VerificationError(str(exc)) from exc
    if material.envelope is None:
        raise VerificationError("bundle holds no DSSE envelope (message signatures are not image signatures)")
    return _judge(material, list(keys), keyless, roots)


# ----------------------------------------------------------------------------------------------
# registry access (a cache over supplychain.oci.registry.RegistryClient)
# ----------------------------------------------------------------------------------------------
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
    kind = str(media or "")
    if not kind:
        try:
            doc = json.loads(data)
            kind = str(doc.get("mediaType", "")) if isinstance(doc, dict) else ""
        except (ValueError, RecursionError):
            kind = ""
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


# ----------------------------------------------------------------------------------------------
# sign and attest
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Published:
    """What sign/attest pushed."""

    image: ResolvedImage
    referrer_digest: str
    predicate_type: str
    bundle: bytes
    detached_digest: str | None = None

    @property
    def digest_reference(self) -> str:
        return self.image.digest_reference


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_image(reference: str, signer: SignerSpec, *, registry: RegistryView | None = None) -> Published:
    """Resolve ``reference`` to its digest once, sign that digest, attach the bundle as a referrer."""
    view, ref = _view_for(reference, registry)
    image = view.resolve(ref)
    statement = at.build_statement(
        subject_name=image.reference.name, digest=image.digest,
        predicate_type=cs.SIGN_PREDICATE_TYPE, predicate={},
    )
    return _publish(view, image, statement, signer)


def attest_image(
    reference: str,
    predicate: bytes,
    predicate_type: str,
    signer: SignerSpec,
    *,
    registry: RegistryView | None = None,
    detach_threshold: int = at.DEFAULT_DETACH_THRESHOLD,
    source: str = "predicate",
) -> Published:
    """Sign an in-toto statement about the image's digest carrying ``predicate`` and attach it.

    A predicate larger than ``detach_threshold`` bytes is stored as its own referrer blob and
    bound by digest in a small detached predicate (see :mod:`supplychain.signing.attest`).
    """
    try:
        predicate_doc = json.loads(predicate)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: predicate is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"{source}: predicate is not JSON: nested too deeply") from exc
    if not isinstance(predicate_doc, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(predicate_doc), "a number")
        raise InputError(f"{source}: predicate must be a JSON object, not {kind}")
    at.check_predicate_kind(predicate_type, predicate_doc, source=source)
    view, ref = _view_for(reference, registry)
    image = view.resolve(ref)
    detached_digest: str | None = None
    if len(predicate) > detach_threshold:
        media = at.PREDICATE_MEDIA_TYPES.get(predicate_type, "application/json")
        blob_digest = view.push_blob(image.reference, predicate)
        view.push_blob(image.reference, cs.EMPTY_BLOB)
        name = blob_digest.replace(":", "-") + ".json"
        manifest = {
            "schemaVersion": 2,
            "mediaType": cs.OCI_MANIFEST,
            "artifactType": media,
            "config": {"mediaType": cs.EMPTY_MEDIA_TYPE, "digest": cs.EMPTY_DIGEST, "size": 2},
            "layers": [{"mediaType": media, "digest": blob_digest, "size": len(predicate),
                        "annotations": {cs.TITLE_ANNOTATION: name}}],
            "subject": image.descriptor,
            # no annotations: it is not a signed attestation, and the same SBOM gives the same
            # manifest (re-running attest does not stack another referrer)
        }
        view.push_referrer(image.reference, image.digest, manifest)
        detached_digest = blob_digest
        ref = image.reference
        statement = at.build_statement(
            subject_name=image.reference.name, digest=image.digest,
            predicate_type=at.REFERENCE_PREDICATE_TYPE,
            predicate=at.reference_predicate(
                document=predicate, media_type=media, name=name, predicate_type=predicate_type,
                download_location=f"https://{ref.registry}/v2/{ref.repository}/blobs/{blob_digest}"),
        )
    else:
        statement = at.build_statement(
            subject_name=image.reference.name, digest=image.digest,
            predicate_type=predicate_type, predicate=predicate_doc,
        )
    published = _publish(view, image, statement, signer)
    return Published(published.image, published.referrer_digest, predicate_type, published.bundle,
                     detached_digest)


def _publish(view: RegistryView, image: ResolvedImage, statement: dict[str, Any], signer: SignerSpec) -> Published:
    raw_statement = json.dumps(statement, separators=(",", ":")).encode()
    existing = _already_published(view, image, raw_statement, signer)
    if existing is not None:
        return existing
    bundle = sign_statement(raw_statement, signer)
    view.push_blob(image.reference, bundle)
    view.push_blob(image.reference, cs.EMPTY_BLOB)
    manifest = cs.bundle_manifest(
        bundle_blob=bundle, subject=image.descriptor, content="dsse-envelope",
        predicate_type=statement["predicateType"], created=_now(),
    )
    digest = view.push_referrer(image.reference, image.digest, manifest)
    if signer.legacy_tags:
        if statement["predicateType"] == cs.SIGN_PREDICATE_TYPE:
            payload = cs.simple_signing_payload(image.reference.name, image.digest)
            from supplychain.signing.sign import sign_bytes

            _append_legacy(view, image, ".sig", cs.SIMPLE_SIGNING_MEDIA_TYPE, payload, sign_bytes(payload, signer), None)
        else:
            from supplychain.signing.formats.bundle import parse_bundle

            env = parse_bundle(bundle).envelope
            assert env is not None
            envelope = json.dumps(env.to_json(), separators=(",", ":")).encode()
            _append_legacy(view, image, ".att", cs.DSSE_LAYER_MEDIA_TYPE, envelope, bundle, statement["predicateType"])
    return Published(image, digest, statement["predicateType"], bundle)


def _already_published(view: RegistryView, image: ResolvedImage, raw_statement: bytes,
                       signer: SignerSpec) -> Published | None:
    """Re-running sign/attest with the same key and the same statement does not stack another
    referrer: the one already there is returned. (Keyless signers cannot be recognised before
    signing: each run adds one.)"""
    if not signer.key_path or signer.legacy_tags:
        return None
    from supplychain.signing.formats.bundle import BundleFormatError, parse_bundle
    from supplychain.signing.keys import key_hint, load_private_key, verify_signature

    public = load_private_key(signer.key_path).public_key()
    hint = key_hint(public)
    ptype = json.loads(raw_statement)["predicateType"]
    for desc in view.referrers(image.reference, image.digest):
        ann = desc.get("annotations")
        if not str(desc.get("artifactType", "")).startswith(cs.BUNDLE_MEDIA_TYPE_PREFIX) or not isinstance(ann, dict) \
                or ann.get(cs.BUNDLE_PREDICATE_ANNOTATION) != ptype:
            continue
        try:
            got = view.manifest(image.reference, cs.check_digest(str(desc.get("digest"))))
            layers = _layers_of(got[0], "referrer") if got else []
            bundle = view.blob(image.reference, cs.check_digest(str(layers[0].get("digest")))) if layers else b""
            m = parse_bundle(bundle)
        except (VerificationError, RegistryError, BundleFormatError, AttributeError, IndexError):
            continue  # junk is not ours; a new referrer is written
        if m.public_key_hint == hint and m.envelope is not None and m.envelope.payload == raw_statement \
                and len(m.envelope.signatures) == 1 and verify_signature(public, m.envelope.signatures[0].sig,
                                                                         m.envelope.pae()) \
                and (m.tlog_entries or signer.tlog_upload is False or not _upload_default()):
            return Published(image, str(desc.get("digest")), ptype, bundle)  # ours, and it verifies
    return None


def _upload_default() -> bool:
    from supplychain.signing.rekor import upload_default

    return upload_default()


def _append_legacy(view: RegistryView, image: ResolvedImage, suffix: str, media_type: str, blob: bytes,
                   bundle: bytes, predicate_type: str | None) -> None:
    """Add one layer to the cosign v2 ``sha256-<hex>.sig`` / ``.att`` manifest of ``image``
    (kept for consumers that read only those: Kyverno's default verifier, policy-controller's
    key authorities, cosign 2.x without --new-bundle-format)."""
    from supplychain.signing.formats.bundle import parse_bundle
    from supplychain.signing.x509 import load_certificate

    m = parse_bundle(bundle, source="bundle")
    annotations = {cs.SIGNATURE_ANNOTATION: base64.b64encode(m.message_signature).decode()
                   if m.message_signature is not None else ""}
    if predicate_type:
        annotations[cs.PREDICATE_TYPE_ANNOTATION] = predicate_type
    if m.certificate_der is not None:
        from cryptography.hazmat.primitives import serialization

        cert = load_certificate(m.certificate_der)
        annotations[cs.CERTIFICATE_ANNOTATION] = cert.public_bytes(serialization.Encoding.PEM).decode()
    for entry in m.tlog_entries[:1]:
        if entry.inclusion_promise is None or entry.integrated_time is None:
            raise VerificationError("cannot write cosign v2 legacy tags: the log entry has no signed entry "
                                    "timestamp (a Rekor v2 log); legacy consumers need one")
        annotations[cs.REKOR_BUNDLE_ANNOTATION] = json.dumps({
            "SignedEntryTimestamp": base64.b64encode(entry.inclusion_promise).decode(),
            "Payload": {"body": base64.b64encode(entry.body).decode(), "integratedTime": entry.integrated_time,
                        "logIndex": entry.log_index, "logID": entry.log_id.hex()}}, separators=(",", ":"))
    ref = image.reference
    tag = cs.digest_tag(image.digest, suffix)
    layer_digest = view.push_blob(ref, blob)
    layer = {"mediaType": media_type, "digest": layer_digest, "size": len(blob), "annotations": annotations}
    layers: list[dict[str, Any]] = []
    got = view.manifest(ref, tag)
    if got is not None:
        old = load_untrusted_json(got[0], limit=MAX_BUNDLE, what=f"{tag} manifest")
        old_layers = old.get("layers") if isinstance(old, dict) else None
        if not isinstance(old_layers, list):
            raise RegistryError(f"{ref.name}:{tag} is not a cosign signature manifest; refusing to overwrite it")
        layers = [x for x in old_layers if isinstance(x, dict)]
    if any(x.get("digest") == layer_digest and x.get("annotations") == annotations for x in layers):
        return
    layers.append(layer)
    config = json.dumps({"architecture": "", "created": "0001-01-01T00:00:00Z", "history": [{"created":
                         "0001-01-01T00:00:00Z"}], "os": "", "rootfs": {"type": "layers", "diff_ids":
                         [x.get("digest") for x in layers]}, "config": {}}, separators=(",", ":")).encode()
    config_digest = view.push_blob(ref, config)
    manifest = {"schemaVersion": 2, "mediaType": cs.OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(config),
                           "digest": config_digest},
                "layers": layers}
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    view.client.put_manifest(ref, tag, raw, cs.OCI_MANIFEST)
    view.forget(("manifest", ref.name, tag))


# ----------------------------------------------------------------------------------------------
# find and verify
# ----------------------------------------------------------------------------------------------
@dataclass
class Finding:
    """One signature or attestation found next to the image, and what verification said."""

    kind: str  # "signature" | "attestation"
    source: str  # "referrer" | "legacy .sig" | "legacy .att"
    location: str  # referrer manifest digest, or tag#layer
    predicate_type: str | None = None
    signer: Signer | None = None
    verified: bool = False  # cryptographically valid and for this digest
    trusted: bool = False  # verified and signed by an accepted signer
    reason: str | None = None
    unreachable: bool = False  # the registry could not be read (5xx, network, bare 404): no answer
    statement: Statement | None = None
    predicate: bytes | None = None  # the verified predicate document (attestations)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "location": self.location,
            "predicate_type": self.predicate_type,
            "type": at.short_type(self.predicate_type) if self.predicate_type else None,
            "signer": self.signer.as_dict() if self.signer else None,
            "verified": self.verified,
            "trusted": self.trusted,
            "reason": self.reason,
        }


@dataclass
class ImageVerification:
    reference: str
    image: ResolvedImage | None
    findings: list[Finding] = field(default_factory=list)
    required_attestations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str | None:
        return self.image.digest if self.image else None

    @property
    def signatures(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "signature"]

    @property
    def attestations(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "attestation"]

    def trusted_attestation(self, predicate_type: str) -> Finding | None:
        for f in self.attestations:
            if f.trusted and f.predicate_type and at.same_predicate_type(f.predicate_type, predicate_type):
                return f
        return None

    @property
    def signed(self) -> bool:
        return any(f.trusted for f in self.signatures)

    @property
    def reasons(self) -> list[str]:
        """Why this image fails (empty when it passes)."""
        out = list(self.errors)
        if self.image is None:
            return out
        if not self.signed:
            if not self.signatures:
                out.append(f"no signature found for {self.image.digest_reference}")
            else:
                detail = "; ".join(sorted({f.reason or "not signed by an accepted signer"
                                           for f in self.signatures}))
                out.append(f"no valid signature by an accepted signer ({detail})")
        for ptype in self.required_attestations:
            if self.trusted_attestation(ptype) is None:
                bad = [f for f in self.attestations
                       if f.predicate_type and at.same_predicate_type(f.predicate_type, ptype)]
                detail = f" ({'; '.join(sorted({f.reason or '?' for f in bad}))})" if bad else ""
                out.append(f"required attestation {at.short_type(ptype)} ({ptype}) missing or not valid{detail}")
        return out

    @property
    def passed(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "digest_reference": self.image.digest_reference if self.image else None,
            "verified": self.passed,
            "reasons": self.reasons,
            "signatures": [f.as_dict() for f in self.signatures],
            "attestations": [f.as_dict() for f in self.attestations],
            "required_attestations": self.required_attestations,
        }


@dataclass
class VerifyOptions:
    """Who may sign, what to trust, what must be attested."""

    signers: list[SignerPolicy]
    trust: TrustSpec = field(default_factory=TrustSpec)
    require_attestations: list[str] = field(default_factory=list)  # predicate type URIs
    legacy: bool | str = True  # read cosign v2 .sig / .att tags: True, False, or "auto" (only when
    # the referrers alone do not satisfy the requirements: same decision, fewer requests)

    @property
    def keys(self) -> list[PublicKey]:
        return [k for rule in self.signers for k in rule.loaded_keys()]

    @property
    def keyless(self) -> bool:
        """Is some keyless signer accepted? (If not, keyless signatures are not even checked.)"""
        return any(not rule.is_key for rule in self.signers)


def verify_image(
    reference: str | Reference,
    options: VerifyOptions,
    *,
    registry: RegistryView | None = None,
    roots: TrustRoots | None = None,
) -> ImageVerification:
    """Find every signature and attestation of the image's digest and verify them.

    Never raises for a verification failure: the result's ``reasons`` say why it fails.
    Registry failures raise RegistryError; bad options raise InputError.
    """
    if isinstance(reference, str):
        view, ref = _view_for(reference, registry)
    else:
        view, ref = registry or RegistryView(), reference
    result = ImageVerification(str(reference), None, required_attestations=list(options.require_attestations))
    try:
        result.image = view.resolve(ref)
    except VerificationError as exc:
        result.errors.append(str(exc))
        return result
    roots = roots or TrustRoots.for_spec(options.trust)
    image = result.image
    sigs = signature_repository(ref)  # $COSIGN_REPOSITORY: signatures stored in another repository
    for desc in view.referrers(sigs, image.digest):
        artifact = str(desc.get("artifactType") or "")
        if artifact.startswith(cs.BUNDLE_MEDIA_TYPE_PREFIX):
            result.findings.append(_check_referrer(view, sigs, image, desc, options, roots))
        elif artifact in (cs.COSIGN_SIG_ARTIFACT_TYPE, cs.COSIGN_ATT_ARTIFACT_TYPE):
            result.findings.extend(_check_cosign_referrer(view, sigs, image, desc, options, roots))
    if options.legacy is True or (options.legacy == "auto" and not result.passed):
        result.findings.extend(_check_legacy(view, sigs, image, options, roots))
    _raise_if_undecided(result)
    return result


def _raise_if_undecided(result: ImageVerification) -> None:
    """A failing result that would pass if the findings the registry could not serve were good is
    no answer: raise RegistryError (exit 3, the gate's "undecided") instead of failing (exit 1)."""
    unread = [f for f in result.findings if f.unreachable]
    if result.passed or not unread or result.errors:
        return
    sig_possible = result.signed or any(f.kind == "signature" for f in unread)
    atts_possible = all(
        result.trusted_attestation(p) is not None
        or any(f.kind == "attestation" and (f.predicate_type is None or at.same_predicate_type(f.predicate_type, p))
               for f in unread)
        for p in result.required_attestations)
    if sig_possible and atts_possible:
        why = "; ".join(sorted({f.reason or f.location for f in unread}))[:1000]
        raise RegistryError(f"{result.image.digest_reference if result.image else result.reference}: "
                            f"could not read every signature: {why}")


def _unreachable(exc: RegistryError) -> bool:
    """Did the registry fail to answer (True), or say the thing does not exist (False)?"""
    from supplychain.oci.registry import RegistryNotFound

    return not (isinstance(exc, RegistryNotFound) and exc.says_unknown)


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


def _check_referrer(view: RegistryView, ref: Reference, image: ResolvedImage, desc: dict[str, Any],
                    options: VerifyOptions, roots: TrustRoots) -> Finding:
    digest = str(desc.get("digest"))[:80]
    annotations = desc.get("annotations")
    annotated = annotations.get(cs.BUNDLE_PREDICATE_ANNOTATION) if isinstance(annotations, dict) else None
    annotated = annotated if isinstance(annotated, str) else None
    finding = Finding(kind="attestation" if annotated and annotated != cs.SIGN_PREDICATE_TYPE else "signature",
                      source="referrer", location=digest, predicate_type=annotated)
    try:
        cs.check_digest(digest, what="referrer manifest digest")
        got = view.manifest(ref, digest)
        if got is None:
            raise VerificationError(f"referrer manifest {digest} is listed but missing")
        manifest = load_untrusted_json(got[0], limit=MAX_BUNDLE, what=f"referrer manifest {digest}")
        if not isinstance(manifest, dict):
            raise VerificationError(f"referrer manifest {digest} is not a JSON object")
        subject_raw = manifest.get("subject")
        subject: dict[str, Any] = subject_raw if isinstance(subject_raw, dict) else {}
        if subject.get("digest") != image.digest:
            raise VerificationError(f"referrer {digest} is attached to {str(subject.get('digest'))[:80]}, "
                                    f"not {image.digest}")
        layers_raw = manifest.get("layers")
        layers = [layer for layer in (layers_raw if isinstance(layers_raw, list) else []) if isinstance(layer, dict)
                  and str(layer.get("mediaType", "")).startswith(cs.BUNDLE_MEDIA_TYPE_PREFIX)]
        if not layers:
            raise VerificationError(f"referrer {digest} has no Sigstore bundle layer")
        bundle_raw = view.blob(ref, cs.check_digest(str(layers[0].get("digest")), what="bundle layer digest"))
        verified = verify_bundle_json(bundle_raw, keys=options.keys, roots=roots, keyless=options.keyless,
                                      source=f"referrer {digest}")
        _accept_statement(finding, verified, image, view, ref, options)
    except VerificationError as exc:
        finding.reason = str(exc)
    except RegistryError as exc:  # one unreachable referrer does not decide the image
        finding.reason = f"referrer {digest} could not be fetched: {exc}"
        finding.unreachable = _unreachable(exc)
    return finding


def _accept_statement(finding: Finding, verified: VerifiedBundle, image: ResolvedImage,
                      view: RegistryView, ref: Reference, options: VerifyOptions) -> None:
    """Check a verified DSSE payload is an in-toto statement about this image; fill ``finding``."""
    finding.signer = verified.signer
    if verified.payload_type != at.IN_TOTO_PAYLOAD_TYPE:
        raise VerificationError(f"DSSE payload type {verified.payload_type[:100]!r} is not in-toto")
    statement = parse_statement(verified.payload)
    finding.statement = statement
    finding.predicate_type = at.effective_type(statement)
    finding.kind = "signature" if statement.predicate_type == cs.SIGN_PREDICATE_TYPE else "attestation"
    if not statement.covers(image.digest):
        names = ", ".join(f"{n}@{d}" for n, d in statement.subjects)[:300]
        raise VerificationError(f"signed statement is about {names}, not {image.digest}")
    finding.verified = True
    if not accepts(options.signers, verified.signer):
        finding.reason = f"signed by {verified.signer.describe()}, not an accepted signer"
        return
    if finding.kind == "attestation":
        finding.predicate = at.resolve_predicate(statement, lambda d, limit: _fetch_referenced(view, ref, d, limit))
    finding.trusted = True


def _fetch_referenced(view: RegistryView, ref: Reference, digest: str, limit: int) -> bytes:
    try:
        return view.blob(ref, digest, limit=limit)
    except RegistryError as exc:
        if _unreachable(exc):  # 5xx, network, bare 404: no answer, not a missing predicate
            raise RegistryError(f"referenced predicate {digest} cannot be fetched: {exc}") from exc
        raise VerificationError(f"referenced predicate {digest} cannot be fetched: {exc}") from exc
    except VerificationError as exc:
        raise VerificationError(f"referenced predicate does not match its signed digest: {exc}") from exc


def _layers_of(raw: bytes, what: str) -> list[Any]:
    manifest = load_untrusted_json(raw, limit=MAX_BUNDLE, what=f"{what} manifest")
    layers = manifest.get("layers") if isinstance(manifest, dict) else None
    if not isinstance(layers, list):
        raise VerificationError("layers is not a list")
    return layers


def _check_legacy(view: RegistryView, ref: Reference, image: ResolvedImage, options: VerifyOptions,
                  roots: TrustRoots) -> list[Finding]:
    findings: list[Finding] = []
    for suffix, kind in ((".sig", "signature"), (".att", "attestation")):
        tag = cs.digest_tag(image.digest, suffix)
        try:
            got = view.manifest(ref, tag)
        except VerificationError as exc:
            findings.append(Finding(kind, "legacy " + suffix, tag, reason=f"{tag}: {exc}"))
            continue
        except RegistryError as exc:  # a bare 404 or a 5xx: not "unsigned", but no answer
            findings.append(Finding(kind, "legacy " + suffix, tag, reason=f"{tag}: {exc}",
                                    unreachable=_unreachable(exc)))
            continue
        if got is None:
            continue
        try:
            layers = _layers_of(got[0], tag)
        except VerificationError as exc:
            findings.append(Finding(kind, "legacy " + suffix, tag, reason=f"{tag}: malformed manifest ({exc})"))
            continue
        for i, layer in enumerate(layers[:MAX_REFERRERS]):
            findings.append(_check_cosign_layer(view, ref, image, layer, kind, "legacy " + suffix, f"{tag}#{i}",
                                                options, roots))
    return findings


def _check_cosign_referrer(view: RegistryView, ref: Reference, image: ResolvedImage, desc: dict[str, Any],
                           options: VerifyOptions, roots: TrustRoots) -> list[Finding]:
    """cosign 2.x's experimental OCI 1.1 layout (``--registry-referrers-mode=oci-1-1``): a referrer
    of artifactType ``application/vnd.dev.cosign.artifact.sig.v1+json`` whose layers are .sig layers."""
    digest = str(desc.get("digest"))[:80]
    kind = "attestation" if str(desc.get("artifactType")) == cs.COSIGN_ATT_ARTIFACT_TYPE else "signature"
    try:
        cs.check_digest(digest, what="referrer manifest digest")
        got = view.manifest(ref, digest)
        if got is None:
            raise VerificationError(f"referrer manifest {digest} is listed but missing")
        doc = load_untrusted_json(got[0], limit=MAX_BUNDLE, what=f"referrer manifest {digest}")
        subject = doc.get("subject") if isinstance(doc, dict) else None
        if not isinstance(subject, dict) or subject.get("digest") != image.digest:
            raise VerificationError(f"referrer {digest} is not attached to {image.digest}")
        layers = _layers_of(got[0], digest)
    except VerificationError as exc:
        return [Finding(kind, "cosign referrer", digest, reason=str(exc))]
    except RegistryError as exc:
        return [Finding(kind, "cosign referrer", digest, reason=str(exc), unreachable=_unreachable(exc))]
    return [_check_cosign_layer(view, ref, image, layer, kind, "cosign referrer", f"{digest}#{i}", options, roots)
            for i, layer in enumerate(layers[:MAX_REFERRERS])]


def _check_cosign_layer(view: RegistryView, ref: Reference, image: ResolvedImage, layer: Any, kind: str,
                        source: str, location: str, options: VerifyOptions, roots: TrustRoots) -> Finding:
    """One cosign v2 layer: a simple-signing signature, or a DSSE attestation envelope."""
    finding = Finding(kind, source, location)
    try:
        if not isinstance(layer, dict):
            raise VerificationError("layer descriptor is not an object")
        blob = view.blob(ref, cs.check_digest(str(layer.get("digest")), what="signature layer digest"),
                         limit=cs.MAX_PAYLOAD)
        ann = layer.get("annotations") or {}
        if not isinstance(ann, dict):
            raise VerificationError("layer annotations are not an object")
        legacy = cs.LegacyLayer(str(layer.get("mediaType", "")), blob, {str(k): str(v) for k, v in ann.items()})
        material = cs.legacy_material(legacy, source=location)
        if kind == "signature":
            if material.message_signature is None:
                raise VerificationError("a cosign signature layer must hold a simple-signing signature")
            cs.check_simple_signing(legacy, digest=image.digest)
            info = _judge_message(material, legacy.payload, options, roots)
            finding.signer = info
            finding.predicate_type = cs.SIGN_PREDICATE_TYPE
            finding.verified = True
            finding.trusted = accepts(options.signers, info)
            if not finding.trusted:
                finding.reason = f"signed by {info.describe()}, not an accepted signer"
        else:
            if material.envelope is None:
                raise VerificationError(f"layer media type {legacy.media_type[:100]!r} is not a DSSE envelope")
            _accept_statement(finding, _judge(material, options.keys, options.keyless, roots), image, view, ref,
                              options)
    except VerificationError as exc:
        finding.reason = str(exc)
    except RegistryError as exc:
        finding.reason = f"{location} could not be fetched: {exc}"
        finding.unreachable = _unreachable(exc)
    return finding


def _judge_message(material: SignedMaterial, payload: bytes, options: VerifyOptions, roots: TrustRoots) -> Signer:
    """A legacy ``.sig`` layer: a message signature over its simple-signing payload."""
    from supplychain.signing.verifier import Artifact, verify

    art = Artifact(data=payload)
    if material.certificate_der is not None:
        if not options.keyless:
            raise VerificationError("signed keyless (certificate), but only keys are accepted")
        return verify(material, policy=None, trust=roots, artifact=art).signer
    if not options.keys:
        raise VerificationError("signature is key-based but no public key is accepted")
    if material.tlog_entries and _log_checkable(roots):
        return verify(material, policy=None, trust=roots, artifact=art, keys=options.keys).signer
    return verify(_without_log(material), policy=None, trust=None, artifact=art, keys=options.keys).signer


def verify_legacy_layer(layer: cs.LegacyLayer, *, digest: str, keys: list[PublicKey],
                        trusted_root: Any = None, expected_repository: str | None = None,
                        source: str = "signature layer") -> tuple[Signer, cs.SimpleSigning]:
    """Verify one cosign v2 ``.sig`` layer for image ``digest``: who signed it, and its payload.

    Key-signed: the signature must verify with one of ``keys`` (and its Rekor entry, when present
    and ``trusted_root`` is given). Keyless: everything a v0.1 bundle needs, against ``trusted_root``.
    """
    from supplychain.signing.trust import TrustedRoot
    from supplychain.signing.verifier import Artifact, verify

    material = cs.legacy_material(layer, source=source)
    if material.message_signature is None:
        raise VerificationError(f"layer media type {layer.media_type[:100]!r} is not a cosign simple-signing "
                                "signature")
    payload = cs.check_simple_signing(layer, digest=digest, expected_repository=expected_repository)
    root = trusted_root if isinstance(trusted_root, TrustedRoot) else None
    if material.certificate_der is None and root is None:
        material = _without_log(material)
    elif material.certificate_der is None and not keys:
        raise VerificationError("signature is key-based but no public key was given")
    v = verify(material, policy=None, trust=root, artifact=Artifact(data=layer.payload), keys=keys)
    return v.signer, payload


def verify_legacy_attestation(layer: cs.LegacyLayer, *, keys: list[PublicKey], trusted_root: Any = None,
                              source: str = "attestation layer") -> VerifiedBundle:
    """Verify one cosign v2 ``.att`` layer (a DSSE envelope): who signed it, and its payload."""
    from supplychain.signing.trust import TrustedRoot
    from supplychain.signing.verifier import verify

    material = cs.legacy_material(layer, source=source)
    if material.envelope is None:
        raise VerificationError(f"layer media type {layer.media_type[:100]!r} is not a DSSE envelope")
    root = trusted_root if isinstance(trusted_root, TrustedRoot) else None
    if material.certificate_der is None and root is None:
        material = _without_log(material)
    v = verify(material, policy=None, trust=root, keys=keys)
    return VerifiedBundle(v.signer, v.payload_type or "", v.payload or b"")


# ----------------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------------
def render_verification(result: ImageVerification) -> str:
    """Human-readable summary: digest, signatures (who, when), attestations, verdict."""
    lines: list[str] = []
    if result.image is None:
        lines.append(f"{result.reference}: not verified")
        lines.extend(f"  {e}" for e in result.errors)
        return "\n".join(lines) + "\n"
    img = result.image
    lines.append(f"image:   {img.digest_reference}")
    if img.reference.tag and not img.reference.digest:
        lines.append(f"         (tag {img.reference.tag} resolved to this digest)")
    lines.append(f"verdict: {'VERIFIED' if result.passed else 'NOT VERIFIED'}")
    lines.append(f"signatures ({len(result.signatures)} found):")
    for f in result.signatures:
        lines.append("  " + _finding_line(f))
    if not result.signatures:
        lines.append("  none")
    lines.append(f"attestations ({len(result.attestations)} found):")
    for f in result.attestations:
        lines.append("  " + _finding_line(f))
    if not result.attestations:
        lines.append("  none")
    for reason in result.reasons:
        lines.append(f"reason:  {reason}")
    return "\n".join(lines) + "\n"


def _finding_line(f: Finding) -> str:
    mark = "ok  " if f.trusted else "FAIL"
    what = at.short_type(f.predicate_type) if f.kind == "attestation" and f.predicate_type else f.kind
    who = f" by {f.signer.describe()}" if f.signer else ""
    when = ""
    if f.signer and f.signer.time:
        when = f" at {f.signer.time.strftime('%Y-%m-%dT%H:%M:%SZ')} ({f.signer.time_source})"
    elif f.signer and f.signer.kind == "key":
        when = "; signing time not attested"
    why = f" — {f.reason}" if f.reason and not f.trusted else ""
    return f"{mark} {what}{who}{when} [{f.source} {f.location[:19] + '…' if len(f.location) > 20 else f.location}]{why}"
