"""Find and verify an image's signatures and attestations (referrers and cosign v2 legacy tags).

Part of :mod:`supplychain.signing.image` (which re-exports the public names). Each signature is
first verified cryptographically (:mod:`supplychain.signing.image_bundles`), then its signer is
matched against the accepted :class:`SignerPolicy` list; a result that only the unreadable
findings could change raises RegistryError (no answer) instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from supplychain.errors import RegistryError, VerificationError
from supplychain.signing import attest as at
from supplychain.signing.dsse import parse_statement
from supplychain.signing.formats import cosign as cs
from supplychain.signing.image_bundles import (
    VerifiedBundle,
    _judge,
    _log_checkable,
    _without_log,
    verify_bundle_json,
)
from supplychain.signing.image_registry import (
    MAX_BUNDLE,
    MAX_REFERRERS,
    RegistryView,
    ResolvedImage,
    _layers_of,
    _unreachable,
    _view_for,
    signature_repository,
)
from supplychain.signing.image_result import Finding, ImageVerification
from supplychain.signing.keys import PublicKey
from supplychain.signing.policy import Signer, SignerPolicy, accepts
from supplychain.signing.specs import TrustSpec
from supplychain.signing.trust import TrustRoots
from supplychain.signing.verifier import SignedMaterial
from supplychain.signing.wire import load_untrusted_json

if TYPE_CHECKING:  # pragma: no cover
    from supplychain.oci.reference import Reference


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
        if at.in_band(statement):
            finding.keep_predicate(statement.predicate)
        else:
            finding.predicate = at.resolve_predicate(statement,
                                                     lambda d, limit: _fetch_referenced(view, ref, d, limit))
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
