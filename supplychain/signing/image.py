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
import binascii
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from supplychain.errors import InputError, RegistryError, SupplychainError, VerificationError
from supplychain.signing import attest as at
from supplychain.signing import cosign as cs
from supplychain.signing.bundle import load_untrusted_json
from supplychain.signing.specs import IdentitySpec, SignerSpec, TrustSpec

if TYPE_CHECKING:  # pragma: no cover
    from sigstore.models import TrustedRoot

    from supplychain.oci.reference import Reference

MAX_BUNDLE = 8 * 1024 * 1024
MAX_REFERRERS = 200


# ----------------------------------------------------------------------------------------------
# who may have signed
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignerRule:
    """One acceptable signer: a public key, or a keyless identity (issuer + subject, exact or regex)."""

    name: str
    keys: tuple[cs.PublicKeyEntry, ...] = ()
    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None

    @property
    def is_key(self) -> bool:
        return bool(self.keys)

    def matches(self, info: cs.SignerInfo) -> bool:
        if self.keys:
            return info.kind == "key" and any(k.fingerprint == info.key_fingerprint for k in self.keys)
        if info.kind != "keyless":
            return False
        if not (self.identity or self.identity_regexp) or not (self.issuer or self.issuer_regexp):
            return False  # fail closed: a keyless rule without both expectations would accept anyone
        return _match(info.identity, self.identity, self.identity_regexp) and _match(
            info.issuer, self.issuer, self.issuer_regexp
        )

    def describe(self) -> str:
        if self.keys:
            return "key " + ", ".join(k.name for k in self.keys)
        who = self.identity or (f"/{self.identity_regexp}/" if self.identity_regexp else "any identity")
        iss = self.issuer or (f"/{self.issuer_regexp}/" if self.issuer_regexp else "any issuer")
        return f"{who} from {iss}"

    @classmethod
    def from_identity_spec(cls, spec: IdentitySpec, *, name: str = "command line") -> SignerRule:
        if spec.key_path:
            from supplychain.fileio import read_bytes

            raw = read_bytes(spec.key_path, what="public key")
            return cls(name=name, keys=(cs.load_public_key(raw, name=str(spec.key_path), path=str(spec.key_path)),))
        if not (spec.identity or spec.identity_regexp):
            raise InputError(
                "no signer given: pass --key PUBLIC.pem, or --cert-identity / --cert-identity-regexp "
                "with --cert-oidc-issuer",
                hint="e.g. --cert-identity release@example.com --cert-oidc-issuer https://accounts.google.com",
            )
        if not (spec.issuer or spec.issuer_regexp):
            raise InputError("keyless verification needs --cert-oidc-issuer or --cert-oidc-issuer-regexp")
        for rx in (spec.identity_regexp, spec.issuer_regexp):
            _compile(rx)
        return cls(
            name=name,
            identity=spec.identity,
            identity_regexp=spec.identity_regexp,
            issuer=spec.issuer,
            issuer_regexp=spec.issuer_regexp,
        )


def _compile(rx: str | None) -> re.Pattern[str] | None:
    if rx is None:
        return None
    try:
        return re.compile(rx)
    except re.error as exc:
        raise InputError(f"invalid regular expression {rx!r}: {exc}") from exc


def _match(value: str | None, exact: str | None, regexp: str | None) -> bool:
    if exact is not None and value != exact:
        return False
    if regexp is not None:
        pattern = _compile(regexp)
        if value is None or pattern is None or not pattern.search(value):
            return False
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            return False  # Python's `$` also matches before a final newline; Go's (cosign's) does not
    return True


# ----------------------------------------------------------------------------------------------
# trust roots (lazily loaded, once per TrustSpec per process)
# ----------------------------------------------------------------------------------------------
class TrustRoots:
    """The trusted root for a TrustSpec, loaded on first use only (key-only runs never load it).

    ``bundle_root()`` is the signing layer's parsed root (for Sigstore bundles);
    ``sigstore_root()`` is sigstore-python's (for cosign v2 legacy keyless signatures).
    """

    _shared: ClassVar[dict[TrustSpec, TrustRoots]] = {}
    _shared_lock = threading.Lock()

    def __init__(self, spec: TrustSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._bundle: Any = None
        self._sigstore: Any = None

    @classmethod
    def for_spec(cls, spec: TrustSpec) -> TrustRoots:
        with cls._shared_lock:
            roots = cls._shared.get(spec)
            if roots is None:
                roots = cls._shared[spec] = cls(spec)
            return roots

    def bundle_root(self) -> Any:
        with self._lock:
            if self._bundle is None:
                from supplychain.signing.trust import load_trust

                self._bundle = load_trust(self.spec)
            return self._bundle

    def sigstore_root(self) -> TrustedRoot:
        with self._lock:
            if self._sigstore is None:
                self._sigstore = _load_sigstore_root(self.spec)
            root: TrustedRoot = self._sigstore
            return root


def _load_sigstore_root(trust: TrustSpec) -> TrustedRoot:
    from sigstore.models import ClientTrustConfig, TrustedRoot

    try:
        if trust.trusted_root:
            return TrustedRoot.from_file(trust.trusted_root)
        if trust.trust_config:
            from supplychain.fileio import read_bytes

            return ClientTrustConfig.from_json(read_bytes(trust.trust_config).decode()).trusted_root
        if trust.offline:
            # the root sigstore-python ships, used as is: no TUF refresh, no network
            from supplychain.signing.trust import embedded_root_path

            return TrustedRoot.from_file(str(embedded_root_path(trust.staging)))
        if trust.staging:
            return ClientTrustConfig.staging().trusted_root
        return ClientTrustConfig.production().trusted_root
    except SupplychainError:
        raise
    except Exception as exc:
        src = trust.trusted_root or trust.trust_config or ("staging" if trust.staging else "production")
        raise InputError(
            f"cannot load the Sigstore trusted root ({src}): {exc}",
            hint="pass --trusted-root FILE for hermetic verification",
        ) from exc


# ----------------------------------------------------------------------------------------------
# DSSE signing and bundle verification (the signing layer's sign_dsse / verify_bundle)
# ----------------------------------------------------------------------------------------------
def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def sign_statement(statement: bytes, signer: SignerSpec) -> bytes:
    """Sign an in-toto statement as DSSE; return the Sigstore bundle (v0.3) JSON bytes.

    With ``signer.key_path``: a bundle with a public-key hint and no transparency-log entry.
    Keyless: sigstore-python (Fulcio certificate, Rekor entry).
    """
    from supplychain.signing.sign import sign_dsse

    return sign_dsse(statement, signer)


@dataclass(frozen=True)
class VerifiedBundle:
    signer: cs.SignerInfo
    payload_type: str
    payload: bytes


def verify_bundle_json(
    raw: bytes,
    *,
    keys: Iterable[cs.PublicKeyEntry],
    roots: TrustRoots,
) -> VerifiedBundle:
    """Verify a DSSE Sigstore bundle cryptographically; return who signed it and the payload.

    Key-hinted bundles verify against ``keys`` (the one whose hint matches, else each in turn);
    certificate bundles against the trusted root (chain, SCT, transparency log / timestamps) with
    an accept-any identity policy: the caller matches :class:`SignerRule` s against the signer.
    """
    from supplychain.signing.verify import verify_bundle

    doc = load_untrusted_json(raw, limit=MAX_BUNDLE, what="Sigstore bundle")
    if not isinstance(doc, dict):
        raise VerificationError("Sigstore bundle is not a JSON object")
    if not isinstance(doc.get("dsseEnvelope"), dict):
        raise VerificationError("bundle holds no DSSE envelope (message signatures are not image signatures)")
    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        raise VerificationError("bundle has no verificationMaterial")
    from supplychain.signing.bundle import BundleFormatError

    has_log = bool(material.get("tlogEntries"))
    # trust-root problems (unreadable --trusted-root, ...) are the caller's input errors: load first
    root = roots.bundle_root() if ("publicKey" not in material or has_log) else None
    try:
        if "publicKey" in material:
            return _verify_key_bundle(raw, doc, material, list(keys), root or roots.spec)
        v = verify_bundle(raw, identity=IdentitySpec(identity_regexp=".*", issuer_regexp=".*"),
                          trust=root if root is not None else roots.spec, source="bundle")
    except BundleFormatError as exc:  # malformed bundle content from the registry: not verified
        raise VerificationError(str(exc)) from exc
    return VerifiedBundle(
        cs.SignerInfo(kind="keyless", identity=v.identity, issuer=v.issuer, time=v.signed_at,
                      time_source="rekor" if "transparency log" in v.time_sources else
                      ("tsa" if v.time_sources else None)),
        v.payload_type or "",
        v.payload or b"",
    )


def _verify_key_bundle(raw: bytes, doc: dict[str, Any], material: dict[str, Any],
                       keys: list[cs.PublicKeyEntry], trust: Any) -> VerifiedBundle:
    from supplychain.signing.verify import verify_bundle

    if not keys:
        raise VerificationError("bundle is key-signed but no public key was given")
    hint = (material.get("publicKey") or {}).get("hint") if isinstance(material.get("publicKey"), dict) else None
    if hint and not any(k.hint == hint for k in keys):
        names = ", ".join(k.name for k in keys)
        raise VerificationError(f"signed with another key (key hint {hint}), not with {names}")
    ordered = sorted(keys, key=lambda k: k.hint != hint)
    last: Exception | None = None
    for entry in ordered:
        if entry.path is None:  # an inline policy key: the DSSE signature is the trust anchor
            if _dsse_signature_ok(doc, entry):
                return _key_result(doc, entry, None)
            continue
        try:
            v = verify_bundle(raw, identity=IdentitySpec(key_path=entry.path), trust=trust, source="bundle")
        except VerificationError as exc:
            last = exc
            continue
        return VerifiedBundle(
            cs.SignerInfo(kind="key", key=entry.name, key_fingerprint=entry.fingerprint, time=v.signed_at,
                          time_source="rekor" if v.signed_at else None),
            v.payload_type or "", v.payload or b"")
    if last is not None and len(ordered) == 1:
        raise VerificationError(str(last))
    raise VerificationError("DSSE signature does not verify with any of the given public keys")


def _dsse_signature_ok(doc: dict[str, Any], entry: cs.PublicKeyEntry) -> bool:
    env = doc["dsseEnvelope"]
    try:
        payload = base64.b64decode(env["payload"], validate=True)
        ptype = str(env["payloadType"])
        sigs = [base64.b64decode(s["sig"], validate=True) for s in env["signatures"]]
    except (KeyError, TypeError, ValueError, binascii.Error):
        return False
    data = pae(ptype, payload)
    return any(cs.verify_raw_signature(entry.key, sig, data) for sig in sigs)


def _key_result(doc: dict[str, Any], entry: cs.PublicKeyEntry, when: datetime | None) -> VerifiedBundle:
    env = doc["dsseEnvelope"]
    return VerifiedBundle(
        cs.SignerInfo(kind="key", key=entry.name, key_fingerprint=entry.fingerprint, time=when),
        str(env["payloadType"]), base64.b64decode(env["payload"]))


def _verify_key_envelope(envelope: dict[str, Any], keys: list[cs.PublicKeyEntry]) -> VerifiedBundle:
    """A bare DSSE envelope (cosign v2 ``.att`` layer) signed with one of ``keys``."""
    if not keys:
        raise VerificationError("attestation is key-signed but no public key was given")
    doc = {"dsseEnvelope": envelope}
    for entry in keys:
        if _dsse_signature_ok(doc, entry):
            return _key_result(doc, entry, None)
    raise VerificationError("DSSE signature does not verify with any of the given public keys")


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
        digest = _push_manifest(self.client, ref, None, raw, manifest["mediaType"])
        descriptor = {
            "mediaType": manifest["mediaType"],
            "digest": digest,
            "size": len(raw),
            "artifactType": manifest.get("artifactType"),
            "annotations": manifest.get("annotations") or {},
        }
        _add_referrer(self.client, ref, subject_digest, descriptor)
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
    except RegistryNotFound:
        return None
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


def _push_manifest(client: Any, ref: Reference, tag: str | None, raw: bytes, media_type: str) -> str:
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    return str(client.put_manifest(ref, tag or digest, raw, media_type))


def _add_referrer(client: Any, ref: Reference, subject_digest: str, descriptor: dict[str, Any]) -> None:
    """List a just-pushed referrer: registries with the referrers API already do (the manifest's
    ``subject`` is indexed); otherwise add it to the ``sha256-<hex>`` referrers tag index."""
    from supplychain.oci.descriptor import Descriptor

    # the oci layer updates the tag index only from a valid read, conditionally, and confirms it
    client.add_referrer(ref, subject_digest, Descriptor.from_dict(descriptor))


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
    view = registry or RegistryView()
    image = view.resolve(parse_image_reference(reference))
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
    view = registry or RegistryView()
    image = view.resolve(parse_image_reference(reference))
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
            "annotations": {cs.CREATED_ANNOTATION: _now(), cs.BUNDLE_PREDICATE_ANNOTATION: predicate_type},
        }
        view.push_referrer(image.reference, image.digest, manifest)
        detached_digest = blob_digest
        statement = at.build_statement(
            subject_name=image.reference.name, digest=image.digest,
            predicate_type=at.DETACHED_PREDICATE_TYPE,
            predicate=at.detached_predicate(predicate_type=predicate_type, document=predicate,
                                            media_type=media, name=name),
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
    bundle = sign_statement(raw_statement, signer)
    view.push_blob(image.reference, bundle)
    view.push_blob(image.reference, cs.EMPTY_BLOB)
    manifest = cs.bundle_manifest(
        bundle_blob=bundle, subject=image.descriptor, content="dsse-envelope",
        predicate_type=statement["predicateType"], created=_now(),
    )
    digest = view.push_referrer(image.reference, image.digest, manifest)
    return Published(image, digest, statement["predicateType"], bundle)


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
    signer: cs.SignerInfo | None = None
    verified: bool = False  # cryptographically valid and for this digest
    trusted: bool = False  # verified and signed by an accepted signer
    reason: str | None = None
    statement: at.Statement | None = None
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

    signers: list[SignerRule]
    trust: TrustSpec = field(default_factory=TrustSpec)
    require_attestations: list[str] = field(default_factory=list)  # predicate type URIs
    legacy: bool | str = True  # read cosign v2 .sig / .att tags: True, False, or "auto" (only when
    # the referrers alone do not satisfy the requirements: same decision, fewer requests)

    @property
    def keys(self) -> list[cs.PublicKeyEntry]:
        return [k for rule in self.signers for k in rule.keys]


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
    view = registry or RegistryView()
    ref = parse_image_reference(reference) if isinstance(reference, str) else reference
    result = ImageVerification(str(reference), None, required_attestations=list(options.require_attestations))
    try:
        result.image = view.resolve(ref)
    except VerificationError as exc:
        result.errors.append(str(exc))
        return result
    roots = roots or TrustRoots.for_spec(options.trust)
    image = result.image
    for desc in view.referrers(ref, image.digest):
        artifact = desc.get("artifactType") or ""
        if not str(artifact).startswith(cs.BUNDLE_MEDIA_TYPE_PREFIX):
            continue
        result.findings.append(_check_referrer(view, ref, image, desc, options, roots))
    if options.legacy is True or (options.legacy == "auto" and not result.passed):
        result.findings.extend(_check_legacy(view, ref, image, options, roots))
    return result


def _check_referrer(view: RegistryView, ref: Reference, image: ResolvedImage, desc: dict[str, Any],
                    options: VerifyOptions, roots: TrustRoots) -> Finding:
    digest = str(desc.get("digest"))
    annotations = desc.get("annotations")
    annotated = annotations.get(cs.BUNDLE_PREDICATE_ANNOTATION) if isinstance(annotations, dict) else None
    finding = Finding(kind="attestation" if annotated and annotated != cs.SIGN_PREDICATE_TYPE else "signature",
                      source="referrer", location=digest, predicate_type=annotated)
    try:
        cs.check_digest(digest, what="referrer manifest digest")
        got = view.manifest(ref, digest)
        if got is None:
            raise VerificationError(f"referrer manifest {digest} is listed but missing")
        manifest = json.loads(got[0])
        subject = manifest.get("subject") or {}
        if subject.get("digest") != image.digest:
            raise VerificationError(f"referrer {digest} is attached to {subject.get('digest')}, not {image.digest}")
        layers = [layer for layer in manifest.get("layers") or []
                  if str(layer.get("mediaType", "")).startswith(cs.BUNDLE_MEDIA_TYPE_PREFIX)]
        if not layers:
            raise VerificationError(f"referrer {digest} has no Sigstore bundle layer")
        bundle_raw = view.blob(ref, cs.check_digest(str(layers[0].get("digest")), what="bundle layer digest"))
        verified = verify_bundle_json(bundle_raw, keys=options.keys, roots=roots)
        _accept_statement(finding, verified, image, view, ref, options)
        if finding.signer is not None and verified.signer.time is None:
            created = (manifest.get("annotations") or {}).get(cs.CREATED_ANNOTATION)
            if created:
                finding.signer = _with_claimed_time(finding.signer, created)
    except VerificationError as exc:
        finding.reason = str(exc)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        finding.reason = f"malformed referrer {digest}: {exc}"
    return finding


def _with_claimed_time(info: cs.SignerInfo, created: str) -> cs.SignerInfo:
    try:
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return info
    return cs.SignerInfo(info.kind, info.identity, info.issuer, info.key, info.key_fingerprint, when, "claimed")


def _accept_statement(finding: Finding, verified: VerifiedBundle, image: ResolvedImage,
                      view: RegistryView, ref: Reference, options: VerifyOptions) -> None:
    """Check a verified DSSE payload is an in-toto statement about this image; fill ``finding``."""
    finding.signer = verified.signer
    if verified.payload_type != at.IN_TOTO_PAYLOAD_TYPE:
        raise VerificationError(f"DSSE payload type {verified.payload_type!r} is not in-toto")
    statement = at.parse_statement(verified.payload)
    finding.statement = statement
    finding.predicate_type = statement.effective_type
    finding.kind = "signature" if statement.predicate_type == cs.SIGN_PREDICATE_TYPE else "attestation"
    if not statement.covers(image.digest):
        names = ", ".join(f"{n}@{d}" for n, d in statement.subjects)
        raise VerificationError(f"signed statement is about {names}, not {image.digest}")
    finding.verified = True
    if not any(rule.matches(verified.signer) for rule in options.signers):
        finding.reason = f"signed by {verified.signer.describe()}, not an accepted signer"
        return
    if finding.kind == "attestation":
        resource = statement.detached
        if resource is not None:
            blob_digest = "sha256:" + str((resource.get("digest") or {}).get("sha256", ""))
            cs.check_digest(blob_digest, what="detached predicate digest")
            size = resource.get("size")
            limit = size if isinstance(size, int) and 0 <= size <= 1 << 30 else at.MAX_STATEMENT
            try:
                document = view.blob(ref, blob_digest, limit=limit)
            except RegistryError as exc:
                raise VerificationError(f"detached predicate {blob_digest} cannot be fetched: {exc}") from exc
            except VerificationError as exc:
                raise VerificationError(f"detached predicate does not match its signed digest: {exc}") from exc
            at.check_detached_document(resource, document)
            finding.predicate = document
        else:
            finding.predicate = json.dumps(statement.predicate, indent=2).encode() + b"\n"
    finding.trusted = True


def _check_legacy(view: RegistryView, ref: Reference, image: ResolvedImage, options: VerifyOptions,
                  roots: TrustRoots) -> list[Finding]:
    findings: list[Finding] = []
    for suffix, kind in ((".sig", "signature"), (".att", "attestation")):
        tag = cs.digest_tag(image.digest, suffix)
        got = view.manifest(ref, tag)
        if got is None:
            continue
        try:
            manifest = json.loads(got[0])
            layers = manifest.get("layers") or []
            if not isinstance(layers, list):
                raise ValueError("layers is not a list")
        except (ValueError, AttributeError):
            findings.append(Finding(kind, "legacy " + suffix, tag, reason=f"{tag}: malformed manifest"))
            continue
        for i, layer in enumerate(layers[:MAX_REFERRERS]):
            finding = Finding(kind, "legacy " + suffix, f"{tag}#{i}")
            try:
                if not isinstance(layer, dict):
                    raise VerificationError("layer descriptor is not an object")
                blob = view.blob(ref, cs.check_digest(str(layer.get("digest")), what="signature layer digest"),
                                 limit=cs.MAX_PAYLOAD)
                ann = layer.get("annotations") or {}
                if not isinstance(ann, dict):
                    raise VerificationError("layer annotations are not an object")
                legacy = cs.LegacyLayer(str(layer.get("mediaType", "")), blob,
                                        {str(k): str(v) for k, v in ann.items()})
                if kind == "signature":
                    needs_root = cs.CERTIFICATE_ANNOTATION in legacy.annotations
                    info, _ = cs.verify_legacy_layer(
                        legacy, digest=image.digest, keys=options.keys,
                        trusted_root=roots.sigstore_root() if needs_root else None,
                    )
                    finding.signer = info
                    finding.predicate_type = cs.SIGN_PREDICATE_TYPE
                    finding.verified = True
                    finding.trusted = any(rule.matches(info) for rule in options.signers)
                    if not finding.trusted:
                        finding.reason = f"signed by {info.describe()}, not an accepted signer"
                else:
                    _check_legacy_attestation(finding, legacy, image, view, ref, options, roots)
            except VerificationError as exc:
                finding.reason = str(exc)
            findings.append(finding)
    return findings


def _check_legacy_attestation(finding: Finding, layer: cs.LegacyLayer, image: ResolvedImage,
                              view: RegistryView, ref: Reference, options: VerifyOptions,
                              roots: TrustRoots) -> None:
    """A cosign v2 ``.att`` layer: a DSSE envelope JSON blob (key-signed, or keyless with a cert)."""
    if layer.media_type != cs.DSSE_LAYER_MEDIA_TYPE:
        raise VerificationError(f"layer media type {layer.media_type!r} is not a DSSE envelope")
    try:
        envelope = json.loads(layer.payload)
    except ValueError as exc:
        raise VerificationError(f"attestation layer is not a DSSE envelope: {exc}") from exc
    if not isinstance(envelope, dict):
        raise VerificationError("attestation layer is not a DSSE envelope")
    cert_pem = layer.annotations.get(cs.CERTIFICATE_ANNOTATION)
    if cert_pem:
        verified = cs.verify_legacy_dsse_keyless(layer, envelope, roots.sigstore_root())
        result = VerifiedBundle(verified[0], verified[1], verified[2])
    else:
        result = _verify_key_envelope(envelope, options.keys)
    _accept_statement(finding, result, image, view, ref, options)


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
        when = f" at {f.signer.time.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        if f.signer.time_source == "claimed":
            when += " (claimed, not verified)"
    why = f" — {f.reason}" if f.reason and not f.trusted else ""
    return f"{mark} {what}{who}{when} [{f.source} {f.location[:19] + '…' if len(f.location) > 20 else f.location}]{why}"
