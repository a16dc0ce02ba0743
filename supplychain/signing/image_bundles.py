"""Signing and verifying the Sigstore bundles and cosign v2 layers attached to images.

Part of :mod:`supplychain.signing.image` (which re-exports the public names). Verification here
says *who* signed (against the given public keys, or the Sigstore trusted root for certificates);
whether that signer is accepted is matched afterwards (:mod:`supplychain.signing.policy`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from supplychain.errors import VerificationError
from supplychain.signing.formats import cosign as cs
from supplychain.signing.keys import PublicKey
from supplychain.signing.policy import Signer
from supplychain.signing.specs import SignerSpec
from supplychain.signing.trust import TrustRoots
from supplychain.signing.verifier import SignedMaterial


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
