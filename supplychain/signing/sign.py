"""Signing into Sigstore bundles: keyless (sigstore-python: Fulcio + Rekor) or with a private key.

Key-signed bundles carry ``verificationMaterial.publicKey.hint`` (base64 sha256 of the DER
public key) and, like ``cosign sign --key``, the Rekor entry the signature was logged with
(``--tlog-upload=false`` / ``SignerSpec(tlog_upload=False)``: none; verifiers must then skip the
log, e.g. cosign's ``--insecure-ignore-tlog=true``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from supplychain.errors import InputError, NetworkError, VerificationError
from supplychain.fileio import note_input
from supplychain.signing.dsse import INTOTO_PAYLOAD_TYPE, DsseSignature, Envelope, pae
from supplychain.signing.formats.bundle import key_bundle_json
from supplychain.signing.specs import SignerSpec


def _hash_alg(key: Any) -> Any:
    from cryptography.hazmat.primitives import hashes

    from supplychain.signing.keys import hash_for_key

    return {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[hash_for_key(key)]


def _key_sign(key: Any, data: bytes | None, *, prehashed_sha256: bytes | None = None) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

    if isinstance(key, ed25519.Ed25519PrivateKey):
        if data is None:
            raise InputError("Ed25519 keys sign the data itself; give the artifact, not its digest")
        return key.sign(data)
    if prehashed_sha256 is not None:
        alg: Any = utils.Prehashed(hashes.SHA256())
        msg = prehashed_sha256
    else:
        assert data is not None
        alg = _hash_alg(key)
        msg = data
    if isinstance(key, ec.EllipticCurvePrivateKey):
        sig: bytes = key.sign(msg, ec.ECDSA(alg))
        return sig
    if isinstance(key, rsa.RSAPrivateKey):
        sig = key.sign(msg, padding.PKCS1v15(), alg)
        return sig
    raise InputError(f"unsupported private key type {type(key).__name__}")


# ------------------------------------------------------------------ transparency log for key signatures


def tlog_upload(signer: SignerSpec) -> bool:
    from supplychain.signing.rekor import upload_default

    return signer.tlog_upload if signer.tlog_upload is not None else upload_default()


def rekor_url(signer: SignerSpec) -> str:
    """--rekor-url, else the Rekor of --trust-config's signing config, else Sigstore's (staging) log."""
    from supplychain.signing.rekor import PRODUCTION_REKOR, STAGING_REKOR

    if signer.rekor_url:
        return signer.rekor_url
    if signer.trust_config:
        from supplychain.fileio import parse_json, read_bytes

        doc = parse_json(read_bytes(signer.trust_config, what="trust config"), source=signer.trust_config)
        urls = ((doc.get("signingConfig") or {}).get("rekorTlogUrls") if isinstance(doc, dict) else None) or []
        for u in urls:
            if isinstance(u, dict) and isinstance(u.get("url"), str) and u.get("majorApiVersion", 1) == 1:
                return str(u["url"])
        raise InputError(f"{signer.trust_config}: the signing config names no Rekor v1 log",
                         hint="pass --rekor-url, or --tlog-upload=false")
    return STAGING_REKOR if signer.staging else PRODUCTION_REKOR


# ------------------------------------------------------------------ keyless plumbing


def client_trust_config(signer: SignerSpec) -> Any:
    """sigstore ClientTrustConfig for --trust-config FILE, --staging, or production (TUF)."""
    from sigstore.models import ClientTrustConfig

    if signer.trust_config:
        from supplychain.fileio import read_bytes

        raw = read_bytes(signer.trust_config, what="trust config")
        try:
            return ClientTrustConfig.from_json(raw.decode("utf-8"))
        except Exception as exc:
            raise InputError(f"{signer.trust_config}: not a Sigstore ClientTrustConfig: {exc}") from exc
    try:
        return ClientTrustConfig.staging() if signer.staging else ClientTrustConfig.production()
    except Exception as exc:
        raise NetworkError(f"cannot fetch the Sigstore {'staging' if signer.staging else 'production'} "
                           f"trust configuration: {exc}") from exc


def identity_token(signer: SignerSpec, trust_config: Any = None) -> Any:
    """An OIDC identity token: explicit / $SIGSTORE_ID_TOKEN, ambient CI credentials (``id``),
    else the browser flow when on a terminal."""
    from sigstore.oidc import IdentityError, IdentityToken

    raw = signer.identity_token or os.environ.get("SIGSTORE_ID_TOKEN")
    if not raw:
        try:
            import id as ambient

            raw = ambient.detect_credential("sigstore")
        except Exception as exc:  # id raises its own error type for broken CI environments
            raise InputError(f"ambient CI credential detection failed: {exc}") from exc
    if not raw:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise InputError("no identity token for keyless signing",
                             hint="pass --identity-token, set SIGSTORE_ID_TOKEN, run in CI with OIDC "
                             "enabled, or sign with --key PRIVATE.pem")
        from sigstore.oidc import Issuer

        try:
            url = trust_config.signing_config.get_oidc_url() if trust_config is not None else \
                "https://oauth2.sigstore.dev/auth"
            return Issuer(url).identity_token()
        except Exception as exc:
            raise NetworkError(f"interactive OIDC sign-in failed: {exc}") from exc
    try:
        return IdentityToken(raw.strip())
    except IdentityError as exc:
        raise InputError(f"identity token rejected: {exc}",
                         hint="the token must be a JWT with aud 'sigstore', sub, iss, iat and a future exp") from exc


def _keyless(signer: SignerSpec, action: Any) -> bytes:
    cfg = client_trust_config(signer)
    token = identity_token(signer, cfg)
    return run_keyless(cfg, token, action)


def run_keyless(trust_config: Any, token: Any, action: Any) -> bytes:
    """Run ``action(signer)`` with a Sigstore signer for ``trust_config`` and ``token``.

    Returns the bundle JSON; Sigstore failures become NetworkError (transport) or
    VerificationError (refused), never a raw exception.
    """
    from sigstore.sign import SigningContext

    try:
        ctx = SigningContext.from_trust_config(trust_config)
        with ctx.signer(token, cache=True) as s:
            bundle = action(s)
    except (InputError, NetworkError):
        raise
    except Exception as exc:
        name = type(exc).__name__
        if "Network" in name or "Connection" in name or "HTTP" in name or "Timeout" in name:
            raise NetworkError(f"keyless signing failed talking to Sigstore: {exc}") from exc
        raise VerificationError(f"keyless signing failed: {name}: {exc}") from exc
    out: str = bundle.to_json()
    return out.encode("utf-8")


# ------------------------------------------------------------------ public API


def sign_bytes(data: bytes, signer: SignerSpec) -> bytes:
    """Sign ``data``; returns Sigstore bundle v0.3 JSON (message signature over sha256)."""
    return sign_digest(hashlib.sha256(data).digest(), signer, data=data)


def sign_file(path: str | Path, signer: SignerSpec) -> bytes:
    """Sign a file of any size (streamed sha256)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            note_input(fh.fileno())
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    return sign_digest(h.digest(), signer)


def sign_digest(sha256: bytes, signer: SignerSpec, *, data: bytes | None = None) -> bytes:
    """Sign an artifact given its sha256 digest (``data`` only needed for Ed25519 keys)."""
    if len(sha256) != 32:
        raise InputError("sha256 digest must be 32 bytes")
    if signer.key_path:
        from supplychain.signing.keys import key_hint, load_private_key

        key = load_private_key(signer.key_path)
        sig = _key_sign(key, data, prehashed_sha256=None if _is_ed25519(key) else sha256)
        entries = None
        if tlog_upload(signer):
            from supplychain.signing import rekor

            entries = [rekor.upload(rekor_url(signer), rekor.hashedrekord_entry(
                sha256=sha256, signature=sig, public_key=key.public_key()))]
        return key_bundle_json(hint=key_hint(key.public_key()), signature=sig, digest=sha256, tlog_entries=entries)

    from sigstore.hashes import Hashed
    from sigstore_models.common.v1 import HashAlgorithm

    hashed = Hashed(digest=sha256, algorithm=HashAlgorithm.SHA2_256)
    return _keyless(signer, lambda s: s.sign_artifact(hashed))


def _is_ed25519(key: Any) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return isinstance(key, ed25519.Ed25519PrivateKey)


def sign_dsse(statement: dict[str, Any] | bytes, signer: SignerSpec,
              payload_type: str = INTOTO_PAYLOAD_TYPE) -> bytes:
    """Sign an in-toto statement (dict or JSON bytes) as a DSSE envelope; returns bundle JSON.

    Keyless signing requires an in-toto v1 statement (sigstore-python's rule); key signing also
    takes other payload types.
    """
    payload = statement if isinstance(statement, bytes) else \
        json.dumps(statement, separators=(",", ":"), sort_keys=True).encode("utf-8")
    if signer.key_path:
        from supplychain.signing.keys import key_hint, load_private_key

        key = load_private_key(signer.key_path)
        sig = _key_sign(key, pae(payload_type, payload))
        env = Envelope(payload_type=payload_type, payload=payload, signatures=[DsseSignature(sig, "")])
        entries = None
        if tlog_upload(signer):
            from supplychain.signing import rekor

            entries = [rekor.upload(rekor_url(signer), rekor.dsse_entry(envelope=env, public_key=key.public_key()))]
        return key_bundle_json(hint=key_hint(key.public_key()), signature=sig, envelope=env, tlog_entries=entries)
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise InputError(f"keyless DSSE signing supports only {INTOTO_PAYLOAD_TYPE} payloads")
    from sigstore import dsse

    try:
        stmt = dsse.Statement(payload)
    except Exception as exc:
        raise InputError(f"not a valid in-toto v1 statement: {exc}") from exc
    return _keyless(signer, lambda s: s.sign_dsse(stmt))


def describe_bundle(raw: bytes) -> str:
    """One line about who signed a bundle we just made (no verification)."""
    from supplychain.signing.formats.bundle import parse_bundle
    from supplychain.signing.x509 import certificate_identity, load_certificate

    pb = parse_bundle(raw)
    logs = ", ".join(f"log index {e.log_index}" for e in pb.tlog_entries) or "no log entry"
    if pb.certificate_der is None:
        if not pb.tlog_entries:
            logs = ("not logged to Rekor (--tlog-upload=false): its signing time is not attested and "
                    "verifiers must not require a log entry (cosign: --insecure-ignore-tlog=true)")
        return f"signed with key {pb.public_key_hint}, {logs}"
    san, issuer = certificate_identity(load_certificate(pb.certificate_der))
    return f"signed keyless as {san} (issuer {issuer}), {logs}"
