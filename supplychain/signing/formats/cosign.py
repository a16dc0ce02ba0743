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

This module holds the constants, manifest builders and parsers, and turns a legacy layer into the
verifier's input (a legacy layer is a v0.1 bundle in other clothes: signature, certificate, and a
Rekor entry with its signed entry timestamp). No cryptography and no registry access here:
:mod:`supplychain.signing.verifier` checks, :mod:`supplychain.signing.image` fetches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from supplychain.errors import InputError, VerificationError
from supplychain.signing.dsse import INTOTO_PAYLOAD_TYPE, parse_envelope
from supplychain.signing.tlog import TlogEntry
from supplychain.signing.verifier import SignedMaterial
from supplychain.signing.wire import WireFormatError, load_untrusted_json, pem_blocks

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
# cosign 2.x --registry-referrers-mode=oci-1-1 (experimental): .sig / .att layers in a referrer
COSIGN_SIG_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_ATT_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.att.v1+json"
SIMPLE_SIGNING_TYPE = "cosign container image signature"
IN_TOTO_PAYLOAD_TYPE = INTOTO_PAYLOAD_TYPE


_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_PAYLOAD = 4 * 1024 * 1024


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
        # cosign writes the bundle artifactType on the (empty) config descriptor too
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": EMPTY_DIGEST, "size": len(EMPTY_BLOB),
                   "artifactType": BUNDLE_MEDIA_TYPE},
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
        if not isinstance(doc, dict):
            raise TypeError("not an object")
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


def _rekor_entry(raw: str) -> TlogEntry:
    """A cosign ``dev.sigstore.cosign/bundle`` annotation (Rekor v1 SET + entry) as a log entry."""
    doc = load_untrusted_json(raw.encode("utf-8", "replace"), limit=MAX_PAYLOAD,
                              what=f"{REKOR_BUNDLE_ANNOTATION} annotation")
    try:
        set_sig = _b64(doc["SignedEntryTimestamp"], "SignedEntryTimestamp")
        p = doc["Payload"]
        body_b64 = p["body"]
        integrated = p["integratedTime"]
        log_index = p["logIndex"]
        log_id = bytes.fromhex(str(p["logID"]))
        if not isinstance(body_b64, str) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                     and 0 <= v < 1 << 63 for v in (integrated, log_index)):
            raise TypeError("body, integratedTime or logIndex has the wrong type")
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"malformed {REKOR_BUNDLE_ANNOTATION} annotation: {exc}") from exc
    body = _b64(body_b64, "Rekor entry body")
    parsed = load_untrusted_json(body, limit=MAX_PAYLOAD, what="Rekor entry body")
    if not isinstance(parsed, dict) or not isinstance(parsed.get("kind"), str) \
            or not isinstance(parsed.get("apiVersion"), str):
        raise VerificationError("Rekor entry body has no kind / apiVersion")
    if base64.b64encode(body).decode() != body_b64:
        raise VerificationError("Rekor entry body is not canonical base64")
    return TlogEntry(log_index=log_index, log_id=log_id, kind=parsed["kind"], version=parsed["apiVersion"],
                     integrated_time=integrated, inclusion_promise=set_sig, inclusion_proof=None, body=body)


def _certificate_der(pem: str) -> bytes:
    """The DER bytes of the first PEM certificate in a ``dev.sigstore.cosign/certificate`` annotation."""
    for label, der in pem_blocks(pem):
        if label == "CERTIFICATE":
            return der
    raise VerificationError("certificate annotation is not a PEM certificate")


def legacy_material(layer: LegacyLayer, *, source: str) -> SignedMaterial:
    """A cosign v2 ``.sig`` (simple-signing message signature) or ``.att`` (DSSE envelope) layer
    as verifier input. The artifact of a ``.sig`` layer is its payload (:attr:`LegacyLayer.payload`)."""
    m = SignedMaterial(source=source, version=(0, 1), media_type=layer.media_type)
    cert_pem = layer.annotations.get(CERTIFICATE_ANNOTATION)
    if cert_pem:
        m.certificate_der = _certificate_der(cert_pem)
    else:
        m.public_key_hint = ""
    if layer.annotations.get(REKOR_BUNDLE_ANNOTATION):
        m.tlog_entries = [_rekor_entry(layer.annotations[REKOR_BUNDLE_ANNOTATION])]
    if layer.media_type == SIMPLE_SIGNING_MEDIA_TYPE:
        sig_b64 = layer.annotations.get(SIGNATURE_ANNOTATION)
        if not sig_b64:
            raise VerificationError(f"layer has no {SIGNATURE_ANNOTATION} annotation")
        m.message_signature = _b64(sig_b64, "signature annotation")
    elif layer.media_type == DSSE_LAYER_MEDIA_TYPE:
        doc = load_untrusted_json(layer.payload, limit=MAX_PAYLOAD, what="attestation layer",
                                  not_json="attestation layer is not a DSSE envelope")
        try:
            m.envelope = parse_envelope(doc, "DSSE envelope")
        except WireFormatError as exc:
            raise VerificationError(f"attestation layer is not a DSSE envelope: {exc.message}") from exc
        if len(m.envelope.signatures) != 1:
            raise VerificationError(f"DSSE envelope has {len(m.envelope.signatures)} signatures; exactly one is "
                                    "supported")
    else:
        raise VerificationError(f"layer media type {layer.media_type[:100]!r} is neither a cosign simple-signing "
                                "signature nor a DSSE envelope")
    return m


def check_simple_signing(layer: LegacyLayer, *, digest: str, expected_repository: str | None = None) -> SimpleSigning:
    """The signed simple-signing payload must name ``digest`` (and the repository, when asked)."""
    check_digest(digest)
    payload = parse_simple_signing(layer.payload)
    if payload.manifest_digest != digest:
        raise VerificationError(f"signature is for {payload.manifest_digest[:80]}, not for image digest {digest}")
    if expected_repository is not None:
        signed_repo = _repository_of(payload.docker_reference)
        if signed_repo != expected_repository:
            raise VerificationError(
                f"signature names {payload.docker_reference[:200]!r}, not repository {expected_repository!r}")
    return payload


def _repository_of(reference: str) -> str:
    """Strip tag / digest from a docker reference."""
    ref = reference.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref = ref[:colon]
    return ref
