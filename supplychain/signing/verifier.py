"""The verifier: one implementation of the Sigstore client verification steps for every format.

Format adapters (:mod:`supplychain.signing.formats`) turn a Sigstore bundle, a cosign v2 legacy
layer or an OpenSSF model signature into a :class:`SignedMaterial`; :func:`verify` checks it
against a signer policy and a trust root:

1. material: a certificate or a public-key hint, one signature, per-version log rules
2. verified times: RFC 3161 timestamps from trusted TSAs (within the TSA's validity) and the
   integrated time of log entries bound by a verified inclusion promise (within the log key's
   validity)
3. certificate (Sigstore profile): chains to a Fulcio CA valid at every verified time, is valid
   at each, carries a valid SCT from a CT log valid when it was issued, has digitalSignature and
   codeSigning usages, and its identity matches the policy. (Private-PKI profile, model
   signatures: chains to the given anchors when the leaf was issued; identity enforced when
   the policy names one.)
4. every log entry: from a trusted log, Merkle inclusion proof, signed checkpoint, inclusion
   promise, and a logged body naming exactly this signature, signer and artifact / envelope
5. the signature over the artifact digest (message signature) or the DSSE PAE, and the artifact
   digest against the message digest or the in-toto statement's subjects

Our own implementation on ``cryptography`` and ``rfc3161_client``: fast to import, held to the
sigstore-conformance suite, and covering what sigstore-python cannot (intoto 0.0.2 entries,
Statement v0.1, key-signed bundles, closed validity intervals).

The input and output types live in :mod:`supplychain.signing.signed_material`, step 2's RFC 3161
timestamps in :mod:`supplychain.signing.timestamps`; this module re-exports their public names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from supplychain.errors import InputError, VerificationError
from supplychain.signing import x509 as x5
from supplychain.signing.dsse import INTOTO_PAYLOAD_TYPE, parse_statement
from supplychain.signing.keys import PublicKey, hash_for_key, public_key_der, verify_signature
from supplychain.signing.policy import SignerPolicy
from supplychain.signing.signed_material import (
    Artifact,
    ParsedBundle,
    SignedMaterial,
    VerifiedSignature,
    _match_subject,
    parse_digest,
)
from supplychain.signing.specs import TrustSpec
from supplychain.signing.timestamps import MAX_TIMESTAMPS, _verify_timestamps
from supplychain.signing.trust import TrustedRoot, TrustRoots

__all__ = [
    "DIGEST_ALGS",
    "MAX_TIMESTAMPS",
    "Artifact",
    "ParsedBundle",
    "SignedMaterial",
    "VerifiedSignature",
    "parse_digest",
    "verify",
    "verify_bundle",
    "verify_dsse_bundle",
]

DIGEST_ALGS = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}


# ------------------------------------------------------------------ the verifier


def _root(trust: TrustSpec | TrustedRoot | TrustRoots | None, source: str) -> TrustedRoot:
    if isinstance(trust, TrustedRoot):
        return trust
    if isinstance(trust, TrustRoots):
        return trust.root()
    if isinstance(trust, TrustSpec):
        return TrustRoots.for_spec(trust).root()
    raise VerificationError(f"{source}: no Sigstore trusted root to verify a certificate or log entry with")


def _known_hint_form(hint: str) -> bool:
    """cosign's (base64 of a sha256) or model_signing's (64 hex digits) hint: one we can compare."""
    if re.fullmatch(r"[0-9a-f]{64}", hint):
        return True
    return bool(re.fullmatch(r"[A-Za-z0-9+/]{43}=", hint))


def _pick_key(m: SignedMaterial, keys: Sequence[PublicKey]) -> list[PublicKey]:
    if not keys:
        raise VerificationError(f"{m.source}: signed with a key (hint {m.public_key_hint or 'none'}) but no "
                                "public key was given", hint="verify it with --key PUBLIC.pem")
    hint = m.public_key_hint
    if hint:
        named = [k for k in keys if k.matches_hint(hint)]
        if named:
            return named
        if _known_hint_form(hint):
            names = ", ".join(k.name for k in keys)
            raise VerificationError(f"{m.source}: signed with another key (key hint {hint[:80]}), not with {names}")
    return list(keys)  # no hint, or one in a form we cannot compare: the signature decides


def verify(m: SignedMaterial, *, policy: SignerPolicy | None, trust: TrustSpec | TrustedRoot | TrustRoots | None,
           artifact: Artifact | None = None, keys: Sequence[PublicKey] | None = None,
           anchors: Sequence[Any] | None = None) -> VerifiedSignature:
    """Verify ``m``. ``policy`` None = establish who signed without judging (the caller matches
    policies); ``keys`` default to the policy's; ``anchors`` selects the private-PKI profile for
    certificates (no Fulcio, SCT or log required). Raises VerificationError (exit 1) naming the
    failed check, InputError (exit 2) for bad input."""
    src = m.source
    if keys is None:
        keys = policy.loaded_keys() if policy is not None and policy.is_key else ()
    if artifact is None and m.envelope is None:
        raise InputError(f"{src}: a message-signature bundle needs the artifact or its digest")
    if m.envelope is not None and len(m.envelope.signatures) != 1:
        raise VerificationError(f"{src}: DSSE envelope has {len(m.envelope.signatures)} signatures; exactly one "
                                "is supported")

    cert: Any = None
    candidates: list[PublicKey] = []
    if m.certificate_der is not None:
        if policy is not None and policy.is_key:
            raise VerificationError(f"{src}: signed keyless (certificate), not with a key",
                                    hint="verify it with --cert-identity and --cert-oidc-issuer")
        if anchors is None and policy is not None:
            policy.check_keyless()
        cert = x5.load_certificate(m.certificate_der)
    else:
        if policy is not None and policy.has_identity and not policy.is_key:
            raise VerificationError(f"{src}: signed with a key (hint {m.public_key_hint or 'none'}), not keyless",
                                    hint="verify it with --key PUBLIC.pem")
        candidates = _pick_key(m, keys)

    root: TrustedRoot | None = None
    if m.tlog_entries or m.rfc3161_timestamps or (cert is not None and anchors is None):
        root = _root(trust, src)

    # (2) verified times
    tsa_times = _verify_timestamps(m, root) if m.rfc3161_timestamps and root is not None else []
    if m.rfc3161_timestamps and not tsa_times and not any(e.inclusion_promise for e in m.tlog_entries):
        raise VerificationError(f"{src}: no signed timestamp verifies against a trusted timestamp authority "
                                f"({root.source if root else 'no trusted root'})")
    if cert is not None and anchors is None and not m.tlog_entries:
        raise VerificationError(f"{src}: no transparency log entry (required for keyless signatures)")
    from supplychain.signing import tlog

    log_times: list[datetime] = []
    for entry in m.tlog_entries:
        assert root is not None
        # a certificate needs a verified time (promise or timestamp); a key signature is anchored by
        # the key, and its entry's inclusion proof alone is enough (sigstore-conformance
        # intoto-canonical-log-entry)
        res = tlog.verify_entry(entry, root, bundle_version=m.version,
                                has_timestamps=bool(tsa_times) or cert is None)
        if res.integrated_time is not None:
            log_times.append(res.integrated_time)
        else:
            log = root.tlog_for(entry.log_id)
            if log is not None and tsa_times and not any(log.valid.contains(t) for t in tsa_times):
                raise VerificationError(f"{src}: log entry's timestamp is outside the validity of the log key")
    times = sorted(log_times + tsa_times)

    # (3) the signer
    san = iss = None
    key_obj: PublicKey | None = None
    method = "key"
    if cert is not None:
        if anchors is not None:
            method = "certificate"
            chain = [x5.load_certificate(d, what="certificate in the signature") for d in m.chain_der]
            x5.pki_chain(cert, chain, anchors, cert.not_valid_before_utc)
            if not x5.can_sign(cert):
                raise VerificationError(f"{src}: the signing certificate may not be used for signing (key usage)")
            san, iss = x5.certificate_identity(cert)
            if san is None:  # a private-PKI certificate without SAN is named by its subject
                san = cert.subject.rfc4514_string()
            if policy is not None and policy.has_identity and not policy.identity_matches(san, iss, need_issuer=False):
                raise VerificationError(f"{src}: {policy.mismatch(san, iss)}")
        else:
            assert root is not None
            method = "keyless"
            if not times:
                raise VerificationError(f"{src}: no verified signing time (no inclusion promise or trusted timestamp)")
            chain = []
            for t in times:
                chain = x5.fulcio_chain(cert, root, t)
            x5.verify_sct(cert, chain, root)
            x5.check_leaf_profile(cert)
            san, iss = x5.certificate_identity(cert)
            if policy is not None and not policy.identity_matches(san, iss):
                raise VerificationError(f"{src}: {policy.mismatch(san, iss)}")
        verifier_key = cert.public_key()
    else:
        verifier_key = None

    # (5) the signature, and its consistency with the log
    statement = None
    cert_der = m.certificate_der
    if m.envelope is not None:
        env = m.envelope
        # a format's legacy encodings (model_signing v0.2) only for key and private-PKI signatures,
        # never for Sigstore certificates
        signed = [env.pae(), *(m.legacy_signed if cert is None or anchors is not None else ())]

        def ok(k: Any) -> bool:
            return verify_signature(k, env.signatures[0].sig, signed[0]) or any(
                verify_signature(k, env.signatures[0].sig, alt, hash_name=m.legacy_hash) for alt in signed[1:])

        key_obj, verifier_key = _choose(candidates, verifier_key, ok, src, "DSSE envelope signature is invalid: it does not verify (tampered envelope)",
                                        m.public_key_hint)
        key_der = public_key_der(verifier_key) if cert is None else None
        for entry in m.tlog_entries:
            tlog.check_dsse_entry(entry, env, cert_der=cert_der, key_der=key_der, hash_name=hash_for_key(verifier_key))
        if env.payload_type == INTOTO_PAYLOAD_TYPE:
            statement = parse_statement(env.payload)
        if artifact is not None:
            _match_subject(statement, artifact)
    else:
        assert artifact is not None and m.message_signature is not None
        alg = "sha256"
        if m.message_digest is not None:
            alg = DIGEST_ALGS.get(m.message_digest[0], "")
            if not alg:
                raise VerificationError(f"{src}: unsupported message digest algorithm {m.message_digest[0][:40]}")
        d = artifact.digest(alg)
        if d is None:
            raise InputError(f"{src}: the bundle signs a {alg} digest; give the artifact itself")
        if m.message_digest is not None and m.message_digest[1] != d:
            raise VerificationError(f"{artifact.describe()} does not match {src}: its {alg} digest is not the "
                                    "signed digest (tampered or wrong artifact)")
        sig = m.message_signature
        if artifact.data is None and artifact.path is not None and any(_is_ed25519(k.key) for k in candidates):
            art_data: bytes | None = _read_small(artifact.path)
            artifact.data = art_data
        if artifact.data is None and any(_is_ed25519(k.key) for k in candidates):
            raise InputError("an Ed25519 signature can only be checked against the artifact itself, not a digest")

        def ok(k: Any) -> bool:
            return verify_signature(k, sig, artifact.data, prehashed=(alg, d))

        key_obj, verifier_key = _choose(candidates, verifier_key, ok, src,
                                        f"signature does not match {artifact.describe()} (tampered artifact or "
                                        "wrong bundle)", m.public_key_hint)
        key_der = public_key_der(verifier_key) if cert is None else None
        for entry in m.tlog_entries:
            tlog.check_message_entry(entry, digest_alg=alg, digest=d, signature=sig, cert_der=cert_der,
                                     key_der=key_der)

    sources = (("transparency log",) if log_times else ()) + (("timestamp authority",) if tsa_times else ())
    return VerifiedSignature(
        method=method, identity=san, issuer=iss, key_id=key_obj.hint if key_obj else None,
        signed_at=times[0] if times else None, time_sources=sources, tlog_entries=len(m.tlog_entries),
        payload_type=m.envelope.payload_type if m.envelope else None,
        payload=m.envelope.payload if m.envelope else None, parsed_statement=statement,
        key_name=key_obj.name if key_obj else None)


def _choose(candidates: list[PublicKey], cert_key: Any, ok: Any, src: str, failure: str,
            hint: str | None = None) -> tuple[PublicKey | None, Any]:
    if cert_key is not None:
        if not ok(cert_key):
            raise VerificationError(f"{src}: {failure}")
        return None, cert_key
    for k in candidates:
        if ok(k.key):
            return k, k.key
    if hint and any(k.matches_hint(hint) for k in candidates):
        raise VerificationError(f"{src}: {failure}")  # the named key did not verify: tampered
    names = ", ".join(k.name for k in candidates)
    raise VerificationError(f"{src}: signed with another key: the signature does not verify with {names}")


def _is_ed25519(key: Any) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return isinstance(key, ed25519.Ed25519PublicKey)


def _read_small(path: Path, limit: int = 256 * 1024 * 1024) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read artifact: {exc.strerror}") from exc
    if len(data) > limit:
        raise InputError(f"{path}: too large to verify an Ed25519 signature over (limit {limit} bytes)")
    return data


# ------------------------------------------------------------------ convenience entry points


def verify_bundle(
    bundle: bytes | str,
    *,
    identity: SignerPolicy,
    trust: TrustSpec | TrustedRoot | TrustRoots | None,
    artifact: bytes | None = None,
    artifact_path: str | Path | None = None,
    digest: str | None = None,
    source: str = "bundle",
) -> VerifiedSignature:
    """Verify a Sigstore bundle (JSON) for an artifact (bytes, a file path or ``sha256:HEX``).

    A DSSE bundle verifies its envelope; when an artifact is given it must be a subject of the
    in-toto statement. Without any artifact only DSSE bundles can be verified.
    """
    from supplychain.signing.formats.bundle import parse_bundle

    if not identity.is_key and not identity.has_identity:
        raise InputError("no expected signer given: pass --key PUBLIC.pem, or --cert-identity(-regexp) and "
                         "--cert-oidc-issuer(-regexp)")
    art: Artifact | None = None
    if artifact is not None:
        art = Artifact(data=artifact)
    elif artifact_path is not None:
        art = Artifact(path=Path(artifact_path))
    elif digest is not None:
        given_alg, given = parse_digest(digest)
        art = Artifact(digests={given_alg: given})
    m = parse_bundle(bundle, source=source)
    return verify(m, policy=identity, trust=trust, artifact=art)


def verify_dsse_bundle(bundle: bytes | str, *, identity: SignerPolicy, trust: TrustSpec | TrustedRoot | TrustRoots,
                       subject_digest: str | None = None, source: str = "bundle") -> VerifiedSignature:
    """Verify a DSSE bundle and return its payload / in-toto statement (subject check optional)."""
    v = verify_bundle(bundle, identity=identity, trust=trust, digest=subject_digest, source=source)
    if v.payload_type is None:
        raise VerificationError(f"{source}: not a DSSE bundle (it holds a message signature)")
    return v
