"""Sign and attest images: what cosign v3 writes, attached as OCI 1.1 referrers.

Part of :mod:`supplychain.signing.image` (which re-exports the public names). A Sigstore bundle
(v0.3) around an in-toto statement about the image digest, pushed as a referrer; on request also
cosign v2's legacy ``sha256-<hex>.sig`` / ``.att`` tags. Re-running with the same key and
statement returns the referrer already there.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from supplychain.errors import InputError, RegistryError, VerificationError
from supplychain.signing import attest as at
from supplychain.signing.formats import cosign as cs
from supplychain.signing.image_bundles import sign_statement
from supplychain.signing.image_registry import (
    MAX_BUNDLE,
    RegistryView,
    ResolvedImage,
    _layers_of,
    _view_for,
)
from supplychain.signing.specs import SignerSpec
from supplychain.signing.wire import load_untrusted_json


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
