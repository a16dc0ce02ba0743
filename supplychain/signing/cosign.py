"""cosign's registry formats: what cosign v2 and v3 store next to an image, and how to check it.

Two layouts exist in registries today:

* cosign v3 (and ``--new-bundle-format`` in v2.4+): a Sigstore bundle (v0.3) stored as the only
  layer of an OCI 1.1 artifact manifest whose ``subject`` is the image and whose
  ``artifactType`` is :data:`BUNDLE_MEDIA_TYPE` (cosign's ``specs/BUNDLE_SPEC.md``). Image
  signatures are DSSE envelopes around an in-toto statement of predicate type
  :data:`SIGN_PREDICATE_TYPE`; attestations are DSSE in-toto statements too.
* cosign v2 legacy: a tag ``sha256-<hex>.sig`` (signatures) or ``sha256-<hex>.att``
  (attestations) whose manifest has one layer per signature (``specs/SIGNATURE_SPEC.md``). A
  signature layer's blob is the "simple signing" JSON payload, its signature is the base64
  annotation ``dev.cosignproject.cosign/signature``; keyless signatures add the Fulcio
  certificate, its chain and a Rekor signed entry timestamp (``dev.sigstore.cosign/bundle``).

This module holds the constants, builders and parsers, and the cryptographic check of a legacy
layer. It has no registry access: :mod:`supplychain.signing.image` fetches and orchestrates.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from supplychain.errors import InputError, VerificationError
from supplychain.signing.bundle import load_untrusted_json

if TYPE_CHECKING:  # pragma: no cover - typing only
    from sigstore.models import TrustedRoot

# --- media types, annotations, predicate types ------------------------------------------------
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle"
SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_LAYER_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_BLOB = b"{}"
EMPTY_DIGEST = "sha256:" + hashlib.sha256(EMPTY_BLOB).hexdigest()

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
REKOR_BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
PREDICATE_TYPE_ANNOTATION = "predicateType"

CONTENT_ANNOTATION = "dev.sigstore.bundle.content"
BUNDLE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"
CREATED_ANNOTATION = "org.opencontainers.image.created"
TITLE_ANNOTATION = "org.opencontainers.image.title"

SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1"
SIMPLE_SIGNING_TYPE = "cosign container image signature"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"

# Fulcio certificate extensions: OIDC issuer (v1 raw string, v2 DER UTF8String)
_OID_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_OID_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_PAYLOAD = 4 * 1024 * 1024


@dataclass(frozen=True)
class SignerInfo:
    """Who signed, as established by a verified signature."""

    kind: str  # "key" or "keyless"
    identity: str | None = None  # certificate SAN (keyless)
    issuer: str | None = None  # OIDC issuer (keyless)
    key: str | None = None  # name of the public key that verified (key-based)
    key_fingerprint: str | None = None  # sha256 of the DER public key, hex
    time: datetime | None = None  # verified time (transparency log / timestamp), if any
    time_source: str | None = None  # "rekor", "tsa" or "claimed"

    def describe(self) -> str:
        if self.kind == "keyless":
            return f"{self.identity} (issuer {self.issuer})"
        return f"key {self.key or self.key_fingerprint}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "identity": self.identity,
            "issuer": self.issuer,
            "key": self.key,
            "key_fingerprint": self.key_fingerprint,
            "time": self.time.isoformat().replace("+00:00", "Z") if self.time else None,
            "time_source": self.time_source,
        }


@dataclass(frozen=True)
class PublicKeyEntry:
    """A trusted public key with a display name (file name or policy entry)."""

    name: str
    key: Any  # cryptography public key
    path: str | None = None  # the PEM file it came from, when it came from one

    @property
    def fingerprint(self) -> str:
        der = self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).hexdigest()

    @property
    def hint(self) -> str:
        """The public-key hint of a key-signed bundle: base64 of sha256 over the DER key."""
        der = self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(hashlib.sha256(der).digest()).decode()


def load_public_key(data: bytes, *, name: str, path: str | None = None) -> PublicKeyEntry:
    """Parse a PEM public key (or a PEM certificate, whose key is used)."""
    try:
        if b"BEGIN CERTIFICATE" in data:
            return PublicKeyEntry(name, x509.load_pem_x509_certificate(data).public_key(), path)
        return PublicKeyEntry(name, serialization.load_pem_public_key(data), path)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{name}: not a PEM public key: {exc}") from exc


def verify_raw_signature(key: Any, signature: bytes, data: bytes) -> bool:
    """Check ``signature`` over ``data`` with ECDSA/SHA-256 (or SHA-384 for P-384), Ed25519 or RSA."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            algo: hashes.HashAlgorithm = hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA256()
            key.verify(signature, data, ec.ECDSA(algo))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, rsa.RSAPublicKey):
            try:
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                key.verify(
                    signature,
                    data,
                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                    hashes.SHA256(),
                )
        else:
            return False
    except InvalidSignature:
        return False
    return True


# --- tags and manifests ---------------------------------------------------------------------
def digest_tag(digest: str, suffix: str = "") -> str:
    """``sha256:abc`` -> ``sha256-abc`` + suffix (``.sig``, ``.att``, or "" for the referrers tag)."""
    check_digest(digest)
    return digest.replace(":", "-", 1) + suffix


def check_digest(digest: str, *, what: str = "digest") -> str:
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise VerificationError(f"{what} {digest!r} is not a sha256 digest")
    return digest


def bundle_manifest(
    *,
    bundle_blob: bytes,
    subject: dict[str, Any],
    content: str,
    predicate_type: str | None,
    created: str,
    extra_layers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The OCI artifact manifest that attaches a Sigstore bundle to ``subject`` (BUNDLE_SPEC)."""
    digest = "sha256:" + hashlib.sha256(bundle_blob).hexdigest()
    annotations = {CONTENT_ANNOTATION: content, CREATED_ANNOTATION: created}
    if predicate_type:
        annotations[BUNDLE_PREDICATE_ANNOTATION] = predicate_type
    layers: list[dict[str, Any]] = [
        {
            "mediaType": BUNDLE_MEDIA_TYPE,
            "digest": digest,
            "size": len(bundle_blob),
            "annotations": {TITLE_ANNOTATION: digest.replace(":", "-") + ".sigstore.json"},
        }
    ]
    layers.extend(extra_layers or [])
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_MEDIA_TYPE,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": EMPTY_DIGEST, "size": len(EMPTY_BLOB)},
        "layers": layers,
        "subject": {k: subject[k] for k in ("mediaType", "digest", "size") if k in subject},
        "annotations": annotations,
    }


# --- simple signing -------------------------------------------------------------------------
@dataclass(frozen=True)
class SimpleSigning:
    docker_reference: str
    manifest_digest: str
    type: str
    optional: dict[str, Any] | None


def simple_signing_payload(docker_reference: str, digest: str) -> bytes:
    """The payload ``cosign sign`` (v2) signs for an image."""
    check_digest(digest)
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": docker_reference},
                "image": {"docker-manifest-digest": digest},
                "type": SIMPLE_SIGNING_TYPE,
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()


def parse_simple_signing(payload: bytes) -> SimpleSigning:
    """Parse and check the shape of a simple-signing payload (untrusted input)."""
    doc = load_untrusted_json(payload, limit=MAX_PAYLOAD, what="simple-signing payload")
    critical = doc.get("critical") if isinstance(doc, dict) else None
    if not isinstance(critical, dict):
        raise VerificationError("simple-signing payload has no 'critical' object")
    image = critical.get("image")
    identity = critical.get("identity")
    typ = critical.get("type")
    if not isinstance(image, dict) or not isinstance(image.get("docker-manifest-digest"), str):
        raise VerificationError("simple-signing payload has no critical.image.docker-manifest-digest")
    if typ != SIMPLE_SIGNING_TYPE:
        raise VerificationError(f"simple-signing payload has critical.type {typ!r}, expected {SIMPLE_SIGNING_TYPE!r}")
    ref = identity.get("docker-reference") if isinstance(identity, dict) else None
    optional = doc.get("optional")
    return SimpleSigning(
        docker_reference=ref if isinstance(ref, str) else "",
        manifest_digest=image["docker-manifest-digest"],
        type=typ,
        optional=optional if isinstance(optional, dict) else None,
    )


# --- legacy layers --------------------------------------------------------------------------
@dataclass(frozen=True)
class LegacyLayer:
    """One layer of a cosign ``.sig`` / ``.att`` manifest: media type, blob, annotations."""

    media_type: str
    payload: bytes
    annotations: dict[str, str] = field(default_factory=dict)


def parse_containers_image_signature(raw: bytes, *, source: str) -> LegacyLayer:
    """Read a containers/image ``dir:`` transport ``signature-N`` file holding a cosign layer.

    Format: ``0x00`` + ``sigstore-json\\n`` + JSON ``{"mimeType", "payload" (base64), "annotations"}``.
    """
    prefix = b"\x00sigstore-json\n"
    if not raw.startswith(prefix):
        raise InputError(f"{source}: not a containers/image sigstore signature (bad prefix)")
    try:
        doc = json.loads(raw[len(prefix) :])
        payload = base64.b64decode(doc["payload"], validate=True)
        annotations = doc.get("annotations") or {}
        mime = doc["mimeType"]
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError) as exc:
        raise InputError(f"{source}: malformed containers/image signature: {exc}") from exc
    if not isinstance(mime, str) or not isinstance(annotations, dict):
        raise InputError(f"{source}: malformed containers/image signature")
    return LegacyLayer(mime, payload, {str(k): str(v) for k, v in annotations.items()})


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"{what} is not valid base64") from exc


def cert_identity(cert: x509.Certificate) -> tuple[str | None, str | None]:
    """(subject alternative name, OIDC issuer) of a Fulcio certificate."""
    subject: str | None = None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for kind in (x509.RFC822Name, x509.UniformResourceIdentifier):
            values = san.get_values_for_type(kind)
            if values:
                subject = str(values[0])
                break
        if subject is None:
            others = san.get_values_for_type(x509.OtherName)
            if others:
                subject = _der_utf8(others[0].value) or others[0].value.hex()
    except x509.ExtensionNotFound:
        pass
    issuer: str | None = None
    for ext in cert.extensions:
        if ext.oid == _OID_ISSUER_V2 and isinstance(ext.value, x509.UnrecognizedExtension):
            issuer = _der_utf8(ext.value.value)
            break
    if issuer is None:
        for ext in cert.extensions:
            if ext.oid == _OID_ISSUER_V1 and isinstance(ext.value, x509.UnrecognizedExtension):
                issuer = ext.value.value.decode("utf-8", "replace")
                break
    return subject, issuer


def _der_utf8(raw: bytes) -> str | None:
    """Decode a DER UTF8String (tag 0x0c) with short or long length."""
    if len(raw) < 2 or raw[0] != 0x0C:
        return None
    length = raw[1]
    offset = 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(raw[2 : 2 + n], "big")
        offset = 2 + n
    return raw[offset : offset + length].decode("utf-8", "replace")


def verify_legacy_layer(
    layer: LegacyLayer,
    *,
    digest: str,
    keys: list[PublicKeyEntry],
    trusted_root: TrustedRoot | None,
    expected_repository: str | None = None,
) -> tuple[SignerInfo, SimpleSigning]:
    """Verify one cosign v2 signature layer for image ``digest``.

    Key-based: the signature must verify with one of ``keys``. Keyless (a certificate
    annotation is present): the certificate must chain to a Fulcio CA of ``trusted_root`` at the
    Rekor integrated time, carry a valid SCT, and the Rekor signed entry timestamp must verify and
    describe exactly this payload hash, signature and certificate. Returns who signed.
    Raises VerificationError with the reason otherwise.
    """
    check_digest(digest)
    if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE:
        raise VerificationError(
            f"layer media type {layer.media_type!r} is not a cosign simple-signing signature"
        )
    sig_b64 = layer.annotations.get(SIGNATURE_ANNOTATION)
    if not sig_b64:
        raise VerificationError(f"layer has no {SIGNATURE_ANNOTATION} annotation")
    signature = _b64(sig_b64, "signature annotation")
    payload = parse_simple_signing(layer.payload)
    if payload.manifest_digest != digest:
        raise VerificationError(
            f"signature is for {payload.manifest_digest}, not for image digest {digest}"
        )
    if expected_repository is not None:
        signed_repo = _repository_of(payload.docker_reference)
        if signed_repo != expected_repository:
            raise VerificationError(
                f"signature names {payload.docker_reference!r}, not repository {expected_repository!r}"
            )
    cert_pem = layer.annotations.get(CERTIFICATE_ANNOTATION)
    if cert_pem:
        info = _verify_keyless_layer(layer, signature, cert_pem, trusted_root)
        return info, payload
    for entry in keys:
        if verify_raw_signature(entry.key, signature, layer.payload):
            time = None
            if layer.annotations.get(REKOR_BUNDLE_ANNOTATION) and trusted_root is not None:
                time = _verify_rekor_set(layer, signature, None, entry.key, trusted_root)
            return (
                SignerInfo(
                    kind="key",
                    key=entry.name,
                    key_fingerprint=entry.fingerprint,
                    time=time,
                    time_source="rekor" if time else None,
                ),
                payload,
            )
    if not keys:
        raise VerificationError("signature is key-based but no public key was given")
    raise VerificationError("signature does not verify with any of the given public keys")


def _repository_of(reference: str) -> str:
    """Strip tag / digest from a docker reference."""
    ref = reference.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref = ref[:colon]
    return ref


def _verify_keyless_layer(
    layer: LegacyLayer, signature: bytes, cert_pem: str, trusted_root: TrustedRoot | None
) -> SignerInfo:
    if trusted_root is None:
        raise VerificationError("keyless signature but no Sigstore trusted root to verify it with")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError as exc:
        raise VerificationError(f"certificate annotation is not a PEM certificate: {exc}") from exc
    if not layer.annotations.get(REKOR_BUNDLE_ANNOTATION):
        raise VerificationError("keyless signature has no Rekor entry (dev.sigstore.cosign/bundle)")
    if not verify_raw_signature(cert.public_key(), signature, layer.payload):
        raise VerificationError("signature does not verify with the signing certificate's key")
    time = _verify_rekor_set(layer, signature, cert, cert.public_key(), trusted_root)
    chain = _verify_fulcio_chain(cert, time, trusted_root)
    _verify_sct(cert, chain, trusted_root)
    if not (cert.not_valid_before_utc <= time <= cert.not_valid_after_utc):
        raise VerificationError("signing certificate was not valid at the Rekor integrated time")
    subject, issuer = cert_identity(cert)
    return SignerInfo(kind="keyless", identity=subject, issuer=issuer, time=time, time_source="rekor")


def _verify_fulcio_chain(cert: x509.Certificate, time: datetime, trusted_root: TrustedRoot) -> list[x509.Certificate]:
    from cryptography.x509 import ExtendedKeyUsage, KeyUsage
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store
    from cryptography.x509.verification import VerificationError as X509Error

    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    try:
        verifier = (
            PolicyBuilder()
            .store(Store(trusted_root.get_fulcio_certs()))
            .time(time)
            .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
            .build_client_verifier()
        )
        chain = list(verifier.verify(cert, []).chain[1:])
    except (X509Error, x509.UnsupportedGeneralNameType, ValueError) as exc:
        raise VerificationError(f"signing certificate does not chain to a trusted Fulcio CA: {exc}") from exc
    try:
        usage = cert.extensions.get_extension_for_class(KeyUsage).value
        eku = cert.extensions.get_extension_for_class(ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise VerificationError(f"signing certificate lacks {exc}") from exc
    if not usage.digital_signature or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise VerificationError("signing certificate is not a code-signing certificate")
    return chain


def _verify_set(raw: str, trusted_root: TrustedRoot) -> tuple[dict[str, Any], datetime]:
    """Verify a cosign ``dev.sigstore.cosign/bundle`` Rekor SET; return the entry body and its time."""
    import rfc8785
    from sigstore._internal.trust import KeyringPurpose
    from sigstore._utils import KeyID
    from sigstore.errors import VerificationError as SigstoreVerificationError

    try:
        rb = json.loads(raw)
        set_sig = _b64(rb["SignedEntryTimestamp"], "SignedEntryTimestamp")
        p = rb["Payload"]
        body_b64 = p["body"]
        integrated = int(p["integratedTime"])
        log_index = int(p["logIndex"])
        log_id = str(p["logID"])
        log_id_bytes = bytes.fromhex(log_id)
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"malformed {REKOR_BUNDLE_ANNOTATION} annotation: {exc}") from exc
    canonical = rfc8785.dumps(
        {"body": body_b64, "integratedTime": integrated, "logID": log_id, "logIndex": log_index}
    )
    try:
        trusted_root.rekor_keyring(KeyringPurpose.VERIFY).verify(
            key_id=KeyID(log_id_bytes), signature=set_sig, data=canonical
        )
    except SigstoreVerificationError as exc:
        raise VerificationError(f"Rekor signed entry timestamp does not verify: {exc}") from exc
    except Exception as exc:  # sigstore raises MetadataError when the root has no Rekor key
        raise VerificationError(f"Rekor signed entry timestamp cannot be verified: {exc}") from exc
    try:
        body = json.loads(_b64(body_b64 if isinstance(body_b64, str) else "", "Rekor entry body"))
        if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
            raise ValueError("no spec")
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"Rekor entry body is malformed: {exc}") from exc
    return body, datetime.fromtimestamp(integrated, tz=UTC)


def _same_key(logged_pem: bytes, cert: x509.Certificate | None, key: Any) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        if b"BEGIN CERTIFICATE" in logged_pem:
            logged_cert = x509.load_pem_x509_certificate(logged_pem)
            if cert is not None:
                return logged_cert == cert
            logged_key: Any = logged_cert.public_key()
        else:
            if cert is not None:
                return False
            logged_key = serialization.load_pem_public_key(logged_pem)
    except ValueError:
        return False
    return bool(logged_key.public_bytes(*fmt) == key.public_bytes(*fmt))


def _verify_rekor_set(
    layer: LegacyLayer,
    signature: bytes,
    cert: x509.Certificate | None,
    key: Any,
    trusted_root: TrustedRoot,
) -> datetime:
    """Check the Rekor signed entry timestamp and that its body describes this signature."""
    body, when = _verify_set(layer.annotations.get(REKOR_BUNDLE_ANNOTATION, ""), trusted_root)
    kind, version, spec = body.get("kind"), body.get("apiVersion"), body["spec"]
    if (kind, version) != ("hashedrekord", "0.0.1"):
        raise VerificationError(f"unsupported Rekor entry {kind}/{version} for a simple-signing signature")
    try:
        data_hash = spec["data"]["hash"]
        body_sig = _b64(spec["signature"]["content"], "Rekor entry signature")
        body_key = _b64(spec["signature"]["publicKey"]["content"], "Rekor entry public key")
    except (KeyError, TypeError) as exc:
        raise VerificationError(f"Rekor entry body is malformed: {exc}") from exc
    if data_hash.get("algorithm") != "sha256" or data_hash.get("value") != hashlib.sha256(layer.payload).hexdigest():
        raise VerificationError("Rekor entry is for a different payload")
    if body_sig != signature:
        raise VerificationError("Rekor entry records a different signature")
    if not _same_key(body_key, cert, key):
        raise VerificationError("Rekor entry records a different signing certificate or key")
    return when


def _pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def verify_legacy_dsse_keyless(
    layer: LegacyLayer, envelope: dict[str, Any], trusted_root: TrustedRoot
) -> tuple[SignerInfo, str, bytes]:
    """Verify a keyless cosign v2 ``.att`` layer: DSSE signature by the Fulcio certificate, chain,
    SCT, and a Rekor SET whose ``intoto`` (0.0.2) or ``dsse`` (0.0.1) body records this payload."""
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
        ptype = str(envelope["payloadType"])
        sigs = [base64.b64decode(s["sig"], validate=True) for s in envelope["signatures"]]
        cert = x509.load_pem_x509_certificate(layer.annotations[CERTIFICATE_ANNOTATION].encode())
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise VerificationError(f"malformed keyless DSSE attestation: {exc}") from exc
    data = _pae(ptype, payload)
    if not any(verify_raw_signature(cert.public_key(), s, data) for s in sigs):
        raise VerificationError("DSSE signature does not verify with the signing certificate's key")
    if not layer.annotations.get(REKOR_BUNDLE_ANNOTATION):
        raise VerificationError("keyless attestation has no Rekor entry (dev.sigstore.cosign/bundle)")
    body, when = _verify_set(layer.annotations[REKOR_BUNDLE_ANNOTATION], trusted_root)
    kind, version, spec = body.get("kind"), body.get("apiVersion"), body["spec"]
    want_hash = hashlib.sha256(payload).hexdigest()
    try:
        if (kind, version) == ("intoto", "0.0.2"):
            content = spec["content"]
            got_hash = content["payloadHash"]["value"]
            verifiers = [_b64(s["publicKey"], "Rekor entry key") for s in content["envelope"]["signatures"]]
        elif (kind, version) == ("dsse", "0.0.1"):
            got_hash = spec["payloadHash"]["value"]
            verifiers = [_b64(s["verifier"], "Rekor entry key") for s in spec["signatures"]]
        else:
            raise VerificationError(f"unsupported Rekor entry {kind}/{version} for a DSSE attestation")
    except (KeyError, TypeError) as exc:
        raise VerificationError(f"Rekor entry body is malformed: {exc}") from exc
    if got_hash != want_hash:
        raise VerificationError("Rekor entry is for a different attestation payload")
    if not any(_same_key(v, cert, cert.public_key()) for v in verifiers):
        raise VerificationError("Rekor entry records a different signing certificate")
    chain = _verify_fulcio_chain(cert, when, trusted_root)
    _verify_sct(cert, chain, trusted_root)
    if not (cert.not_valid_before_utc <= when <= cert.not_valid_after_utc):
        raise VerificationError("signing certificate was not valid at the Rekor integrated time")
    subject, issuer = cert_identity(cert)
    return SignerInfo(kind="keyless", identity=subject, issuer=issuer, time=when, time_source="rekor"), ptype, payload


def _verify_sct(cert: x509.Certificate, chain: list[x509.Certificate], trusted_root: TrustedRoot) -> None:
    from sigstore._internal.sct import verify_sct
    from sigstore._internal.trust import KeyringPurpose
    from sigstore.errors import VerificationError as SigstoreVerificationError

    try:
        verify_sct(cert, chain, trusted_root.ct_keyring(KeyringPurpose.VERIFY))
    except SigstoreVerificationError as exc:
        raise VerificationError(f"certificate SCT does not verify: {exc}") from exc
    except Exception as exc:
        raise VerificationError(f"certificate SCT cannot be verified: {exc}") from exc
