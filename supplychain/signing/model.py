"""Sign and verify ML models in the OpenSSF model-signing format (``model_signing`` 1.x compatible).

A signature is a Sigstore bundle (v0.3 media type) whose DSSE envelope carries an in-toto
statement with predicate ``https://model_signing/signature/v1.0`` listing every file of the model
and its digest (see :mod:`supplychain.signing.model_manifest`). Three ways to sign:

* ``key``: an EC private key (P-256/384/521); the bundle holds a public-key hint (hex SHA-256 of
  the PEM public key, as model_signing writes it) and no transparency-log entry;
* ``certificate``: an EC private key plus its X.509 signing certificate and chain; the bundle
  holds the chain (leaf first), verified against ``--certificate-chain`` roots at the time the
  leaf was issued (model_signing's rule: there is no timestamp);
* ``sigstore`` (keyless): Fulcio certificate + Rekor entry through sigstore-python.

Hashing is ours (:mod:`supplychain.signing.hashing`, parallel and bounded-memory), not
model_signing's; the digests are byte-identical to what model_signing computes.

The wire format is :mod:`supplychain.signing.formats.model_signing`; verification is the one
verifier (:mod:`supplychain.signing.verifier`) for all three methods, and every expected signer
given (key, or identity + issuer) is enforced, also for certificate-chain signatures.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.errors import InputError, VerificationError
from supplychain.fileio import atomic_write, read_bytes
from supplychain.signing import hashing
from supplychain.signing.dsse import pae
from supplychain.signing.formats.model_signing import (
    BUNDLE_MEDIA_TYPE,
    model_key_hint,
    parse_model_signature,
    signature_json,
)
from supplychain.signing.model_manifest import (
    DEFAULT_SHARD_SIZE,
    GIT_PATHS,
    PAYLOAD_TYPE,
    Manifest,
    ManifestDiff,
    Serialization,
    diff_manifests,
    hash_model,
    manifest_from_statement,
)
from supplychain.signing.policy import SignerPolicy
from supplychain.signing.specs import SignerSpec, TrustSpec

DEFAULT_SIGNATURE_NAME = "model.sig"
MAX_SIGNATURE_BYTES = 64 << 20

__all__ = [
    "DEFAULT_SHARD_SIZE",
    "DEFAULT_SIGNATURE_NAME",
    "SignResult",
    "VerifyResult",
    "default_signature_path",
    "model_key_hint",
    "resolve_ignore_paths",
    "sign_model",
    "verify_model",
]


@dataclass
class SignResult:
    signature_path: Path
    method: str  # "key" | "certificate" | "sigstore"
    manifest: Manifest
    total_bytes: int


@dataclass
class VerifyResult:
    signature_path: Path
    method: str
    signer: str  # key fingerprint, certificate subject, or identity + issuer
    manifest: Manifest  # what the signature holds
    files: int
    total_bytes: int
    warnings: list[str] = field(default_factory=list)


# --- paths --------------------------------------------------------------------------------------


def default_signature_path(model: str | os.PathLike[str]) -> Path:
    """``MODEL/model.sig`` for a directory; ``model.sig`` beside the file for a single-file model.

    (model_signing's CLI writes ``model.sig`` in the current directory, i.e. the same place when
    it is run from the model directory, which is how its own test models are laid out.)
    """
    p = Path(model)
    if p.is_dir():
        return p / DEFAULT_SIGNATURE_NAME
    return p.parent / DEFAULT_SIGNATURE_NAME


def _inside(model: Path, path: Path) -> str | None:
    """POSIX path of ``path`` relative to the model directory, or None if it is outside."""
    if not model.is_dir():
        return None
    try:
        rel = path.resolve().relative_to(model.resolve())
    except ValueError:
        return None
    s = rel.as_posix()
    return None if s in ("", ".") else s


def _refuse_to_overwrite_model_file(model: Path, sig_path: Path) -> None:
    """--signature must not name a file of the model (it would be replaced): only an earlier
    signature there may be overwritten."""
    if not sig_path.is_file():
        return
    if not model.is_dir():
        if os.path.samefile(model, sig_path):
            raise InputError(f"--signature {sig_path}: is the model file itself; signing would overwrite it",
                             hint="write the signature next to it, e.g. the default MODEL.sig")
        return
    if _inside(model, sig_path) is None:
        return
    try:
        with open(sig_path, "rb") as fh:
            doc = json.loads(fh.read(MAX_SIGNATURE_BYTES + 1))
    except (OSError, ValueError, RecursionError):
        doc = None
    if not (isinstance(doc, dict) and ("dsseEnvelope" in doc or "mediaType" in doc)):
        raise InputError(f"--signature {sig_path}: is a file of the model, not an earlier signature; "
                         "signing would overwrite it", hint="choose a new file name (default: model.sig)")


def resolve_ignore_paths(model: Path, paths: Sequence[str]) -> list[str]:
    """User ``--ignore-paths`` as paths relative to the model directory.

    An absolute path, or a relative path that exists from the current directory and lies inside
    the model, is taken as is (model_signing's CLI semantics); anything else is read as relative
    to the model directory. Paths outside the model are refused.
    """
    out: list[str] = []
    for raw in paths:
        p = Path(raw)
        rel = None
        if p.is_absolute() or p.exists() or p.is_symlink():
            rel = _inside(model, p.parent.resolve() / p.name if p.is_symlink() else p)
            if rel is None and p.is_absolute():
                raise InputError(f"--ignore-paths {raw}: not inside the model directory {model}")
        if rel is None:
            pp = Path(raw.replace("\\", "/"))
            if ".." in pp.parts or pp.is_absolute():
                raise InputError(f"--ignore-paths {raw}: not inside the model directory {model}")
            rel = pp.as_posix()
        if rel not in out and rel != ".":
            out.append(rel)
    return out


# --- helpers ---------------------------------------------------------------------------------------


def _curve_hash(key: Any) -> Any:
    from cryptography.hazmat.primitives import hashes

    from supplychain.signing.keys import hash_for_key

    return {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[hash_for_key(key)]


def _require_ec(key: Any, source: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    ok = isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey)
    if not ok or key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
        raise InputError(f"{source}: model signatures need an ECDSA key on P-256, P-384 or P-521",
                         hint="create one with `supplychain keygen`")


def _load_certs(paths: Sequence[str]) -> list[Any]:
    from cryptography import x509

    certs: list[Any] = []
    for p in paths:
        raw = read_bytes(p, what="certificate file")
        try:
            certs.extend(x509.load_pem_x509_certificates(raw))
        except ValueError as exc:
            raise InputError(f"{p}: not a PEM certificate file") from exc
    return certs


# --- signing -------------------------------------------------------------------------------------


def sign_model(
    model: str | os.PathLike[str],
    signer: SignerSpec,
    *,
    signature: str | os.PathLike[str] | None = None,
    signing_cert: str | None = None,
    certificate_chain: Sequence[str] = (),
    ignore_paths: Sequence[str] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    hash_algorithm: str = "sha256",
    shard_size: int | None = None,
    threads: int | None = None,
    progress: hashing.ProgressFn | None = None,
) -> SignResult:
    """Hash ``model`` (directory or file) and write its signature (default: model.sig, atomically).

    With ``signer.key_path`` (and ``signing_cert``) the key / certificate method is used,
    otherwise keyless Sigstore. ``shard_size`` selects shard serialization (sha256 only).
    """
    model_path = Path(model)
    if not model_path.exists() and not model_path.is_symlink():
        raise InputError(f"{model_path}: no such file or directory")
    hashing.check_algorithm(hash_algorithm)
    if shard_size is not None:
        if hash_algorithm == "blake3":
            raise InputError("--shard-size works with sha256 only (blake3 is parallel by itself)")
        if shard_size <= 0:
            raise InputError(f"--shard-size {shard_size}: must be positive")
    if signing_cert is None and certificate_chain:
        raise InputError("--certificate-chain needs --signing-cert (and --key) to sign with a certificate")
    if signing_cert is not None and signer.key_path is None:
        raise InputError("--signing-cert needs --key (the certificate's private key)")
    sig_path = Path(signature) if signature is not None else default_signature_path(model_path)
    if not sig_path.parent.is_dir():
        raise InputError(f"{sig_path}: directory {sig_path.parent} does not exist")
    _refuse_to_overwrite_model_file(model_path, sig_path)

    ignores = resolve_ignore_paths(model_path, ignore_paths) if model_path.is_dir() else []
    if model_path.is_dir():
        if ignore_git_paths:
            ignores += [g for g in GIT_PATHS if g not in ignores]
        rel_sig = _inside(model_path, sig_path)
        if rel_sig is not None and rel_sig not in ignores:
            ignores.append(rel_sig)
    elif ignore_git_paths:
        # model_signing records the git paths for single-file models too (they match nothing)
        ignores = list(GIT_PATHS)
    ser = Serialization(
        method="shards" if shard_size is not None else "files",
        hash_type=hash_algorithm,
        shard_size=shard_size,
        allow_symlinks=allow_symlinks,
        ignore_paths=tuple(sorted(ignores)),
    )
    # load the key before hashing: a wrong password should not cost a full pass over the model
    key: Any = None
    keyless: tuple[Any, Any] | None = None
    if signer.key_path is None:
        keyless = _prepare_keyless(signer)  # token and trust config first: fail before hashing
    if signer.key_path is not None:
        from supplychain.signing.keys import load_private_key

        key = load_private_key(signer.key_path)
        _require_ec(key, signer.key_path)

    manifest = hash_model(model_path, ser, threads=threads, progress=progress)
    payload = json.dumps(manifest.statement(), indent=2).encode("utf-8")

    if key is not None and signing_cert is None:
        from cryptography.hazmat.primitives.asymmetric import ec

        sig = key.sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(_curve_hash(key)))
        doc = signature_json(payload, sig, key_hint=model_key_hint(key.public_key()))
        method = "key"
    elif key is not None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        leaf_list = _load_certs([signing_cert]) if signing_cert else []
        if len(leaf_list) != 1:
            raise InputError(f"{signing_cert}: expected exactly one signing certificate")
        leaf = leaf_list[0]
        if leaf.public_key() != key.public_key():
            raise InputError(f"{signing_cert}: the certificate's public key does not match --key {signer.key_path}")
        chain = _load_certs(certificate_chain)
        sig = key.sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(_curve_hash(key)))
        doc = signature_json(payload, sig, chain_der=[c.public_bytes(serialization.Encoding.DER)
                                                      for c in [leaf, *chain]])
        method = "certificate"
    else:
        assert keyless is not None
        doc = _sign_keyless(payload, *keyless)
        method = "sigstore"
    atomic_write(sig_path, doc, mode=0o644)
    return SignResult(sig_path, method, manifest, sum(manifest.sizes.values()))


def _prepare_keyless(signer: SignerSpec) -> tuple[Any, Any]:
    """(ClientTrustConfig, IdentityToken) for keyless signing, obtained before any hashing."""
    from supplychain.signing.sign import client_trust_config, identity_token

    if sys.stdin.isatty() and sys.stderr.isatty():
        cfg = client_trust_config(signer)  # the browser flow needs the OIDC URL from it
        return cfg, identity_token(signer, cfg)
    token = identity_token(signer, None)  # no terminal: a missing token is reported before any fetch
    return client_trust_config(signer), token


def _sign_keyless(payload: bytes, trust_config: Any, token: Any) -> bytes:
    from sigstore import dsse

    from supplychain.signing.sign import run_keyless

    return run_keyless(trust_config, token, lambda s: s.sign_dsse(dsse.Statement(payload)))


# --- verification ---------------------------------------------------------------------------------


def verify_model(
    model: str | os.PathLike[str],
    identity: SignerPolicy,
    trust: TrustSpec,
    *,
    signature: str | os.PathLike[str] | None = None,
    certificate_chain: Sequence[str] = (),
    ignore_paths: Sequence[str] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    ignore_unsigned_files: bool = False,
    threads: int | None = None,
    progress: hashing.ProgressFn | None = None,
) -> VerifyResult:
    """Verify the signature, then re-hash the model and compare file by file.

    The method follows from what is given: ``identity.key_path`` (key), ``certificate_chain``
    (certificate), else keyless Sigstore with the identity policy and ``trust``. Raises
    VerificationError listing every added, removed and changed file.
    """
    model_path = Path(model)
    if not model_path.exists() and not model_path.is_symlink():
        raise InputError(f"{model_path}: no such file or directory")
    sig_path = Path(signature) if signature is not None else default_signature_path(model_path)
    try:
        sig_exists = sig_path.exists()
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise InputError(f"{sig_path}: cannot read: {exc.strerror}") from exc
    if not sig_exists:
        raise InputError(f"{sig_path}: no such signature", hint="pass --signature FILE")
    source = str(sig_path)
    raw = read_bytes(sig_path, what="signature", limit=MAX_SIGNATURE_BYTES)
    material = parse_model_signature(raw, source=source)
    warnings: list[str] = []
    if identity.is_key and certificate_chain:
        raise InputError("give --key (key signature) or --certificate-chain (certificate signature), not both")
    if identity.is_key or certificate_chain:
        if material.media_type != BUNDLE_MEDIA_TYPE:
            raise VerificationError(f"{source}: unsupported bundle media type {material.media_type!r}",
                                    hint=f"expected {BUNDLE_MEDIA_TYPE}")
    from supplychain.signing.verifier import verify

    if identity.is_key:
        keys = identity.loaded_keys()
        for k in keys:
            _require_ec(k.key, k.name)
        if material.certificate_der is not None:
            raise VerificationError(f"{source}: the signature was not made with a bare key (it carries a "
                                    "certificate)", hint="verify certificate signatures with --certificate-chain, "
                                    "keyless ones with --cert-identity/--cert-oidc-issuer")
        if not material.public_key_hint:
            warnings.append("the signature has no public-key hint (older format); re-sign to add one")
        v = verify(material, policy=identity, trust=trust, keys=keys)
        signer = f"key {v.key_id}"
        method = "key"
    elif certificate_chain:
        anchors = _load_certs(certificate_chain)
        if not anchors:
            raise InputError("--certificate-chain: no certificates found")
        if material.certificate_der is None:
            raise VerificationError(f"{source}: the signature carries no certificate",
                                    hint="verify key signatures with --key")
        v = verify(material, policy=identity if identity.has_identity else None, trust=None, anchors=anchors)
        signer = f"certificate {v.identity}"
        method = "certificate"
    else:
        v = verify(material, policy=identity, trust=trust)
        signer = f"{v.identity} (issuer {v.issuer})"
        method = "sigstore"
    ptype, payload = v.payload_type or "", v.payload or b""
    if ptype != PAYLOAD_TYPE:
        raise VerificationError(f"{source}: DSSE payload type is {ptype!r}, expected {PAYLOAD_TYPE}")
    try:
        stmt = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise VerificationError(f"{source}: signed payload is not JSON") from exc
    expected = manifest_from_statement(stmt, source=source)

    ser = expected.serialization
    if allow_symlinks and not ser.allow_symlinks:
        ser = Serialization(ser.method, ser.hash_type, ser.shard_size, True, ser.ignore_paths)
    extra = resolve_ignore_paths(model_path, ignore_paths) if model_path.is_dir() else []
    if model_path.is_dir():
        # A signature that records its ignored paths says exactly what it left out (a model
        # signed with the git files in it must keep them); older ones get model_signing's default.
        if ignore_git_paths and not ser.ignore_paths:
            extra += list(GIT_PATHS)
        rel_sig = _inside(model_path, sig_path)
        if rel_sig is not None:
            extra.append(rel_sig)
    files_only = None
    if ignore_unsigned_files:
        files_only = sorted(expected.all_files())
    actual = hash_model(model_path, ser, extra_ignores=extra, threads=threads, progress=progress,
                        files_only=files_only)
    diff: ManifestDiff = diff_manifests(expected, actual)
    if not diff.ok:
        lines = diff.lines()
        raise VerificationError(
            f"{model_path}: model does not match its signature {source} ({len(lines)} difference"
            f"{'s' if len(lines) != 1 else ''}):\n  " + "\n  ".join(lines))
    if ser.method == "shards" and expected.files is None:
        empty = sorted(n for n, size in actual.sizes.items() if size == 0)
        if empty:
            warnings.append(f"this shard signature (model_signing's format) records no empty files: {len(empty)} "
                            f"empty file(s) are not covered ({', '.join(empty[:3])}); sign with supplychain to cover them")
    return VerifyResult(sig_path, method, signer, expected, len(actual.sizes), sum(actual.sizes.values()),
                        warnings)
