"""Signing keys: ECDSA P-256 key pairs in PEM, password-protected private keys, key hints.

Only ``cryptography`` is imported here (cheap); nothing from sigstore.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.fileio import atomic_write, read_bytes

PASSWORD_ENV = "SUPPLYCHAIN_PASSWORD"
DEFAULT_PREFIX = "cosign"


@dataclass(frozen=True)
class KeyPairPaths:
    private: Path
    public: Path


def _password_for_new_key() -> bytes:
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return env.encode("utf-8")
    if not sys.stdin.isatty():
        raise InputError(
            f"no password for the private key: set {PASSWORD_ENV} or run on a terminal",
            hint=f"export {PASSWORD_ENV}=... (an empty value means an unencrypted key is refused)",
        )
    first = getpass.getpass("Enter password for private key: ")
    second = getpass.getpass("Enter password for private key again: ")
    if first != second:
        raise InputError("passwords do not match")
    return first.encode("utf-8")


def _password_for_existing_key(path: str | os.PathLike[str]) -> bytes | None:
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return env.encode("utf-8")
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(f"Enter password for private key {path}: ").encode("utf-8")


def generate_keypair(prefix: str = DEFAULT_PREFIX, *, force: bool = False,
                     password: bytes | None = None) -> KeyPairPaths:
    """Create ``PREFIX.key`` (encrypted PKCS#8 PEM, mode 0600) and ``PREFIX.pub`` (SPKI PEM).

    The password comes from ``password``, else ``$SUPPLYCHAIN_PASSWORD``, else a prompt
    (asked twice). Existing files are never replaced unless ``force``.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if not prefix or prefix.endswith(("/", os.sep)):
        raise InputError(f"--output-key-prefix {prefix!r}: needs a file name part (e.g. {prefix or './'}cosign)")
    priv_path = Path(prefix + ".key")
    pub_path = Path(prefix + ".pub")
    for p in (priv_path, pub_path):
        try:
            exists = p.exists()
        except OSError as exc:  # e.g. a name longer than the file system allows
            raise InputError(f"{p}: cannot write: {exc.strerror}") from exc
        if exists and not force:
            raise InputError(f"{p}: already exists; refusing to overwrite",
                             hint="pass --force to replace it, or choose --output-key-prefix")
    pw = password if password is not None else _password_for_new_key()
    if not pw:
        raise InputError("empty password: refusing to write an unencrypted private key",
                         hint=f"set {PASSWORD_ENV} to a non-empty value")
    key = ec.generate_private_key(ec.SECP256R1())
    priv_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(pw),
    )
    pub_pem = public_key_pem(key.public_key())
    atomic_write(priv_path, priv_pem, mode=0o600)
    atomic_write(pub_path, pub_pem, mode=0o644)
    return KeyPairPaths(priv_path, pub_path)


def public_key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data: bytes = key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return data


def public_key_der(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data: bytes = key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return data


def key_hint(key: Any) -> str:
    """The public-key hint in a key-signed bundle: base64 of sha256 over the DER SubjectPublicKeyInfo."""
    return base64.b64encode(hashlib.sha256(public_key_der(key)).digest()).decode("ascii")


def load_private_key(path: str | os.PathLike[str], *, password: bytes | None = None) -> Any:
    """Load a PEM private key; encrypted keys take ``password`` / $SUPPLYCHAIN_PASSWORD / a prompt."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    raw = read_bytes(path, what="private key")
    if b"ENCRYPTED" in raw or b"Proc-Type: 4,ENCRYPTED" in raw:
        pw = password if password is not None else _password_for_existing_key(path)
        if pw is None:
            raise InputError(f"{path}: private key is encrypted and no password was given",
                             hint=f"set {PASSWORD_ENV}")
    else:
        pw = None
    try:
        key = serialization.load_pem_private_key(raw, password=pw)
    except TypeError as exc:
        raise InputError(f"{path}: {exc}") from exc
    except ValueError as exc:
        msg = str(exc)
        if "password" in msg.lower() or "decrypt" in msg.lower() or pw is not None:
            raise InputError(f"{path}: cannot decrypt private key (wrong password?)",
                             hint=f"check {PASSWORD_ENV}") from exc
        raise InputError(f"{path}: not a PEM private key") from exc
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise InputError(f"{path}: unsupported curve {key.curve.name}")
    elif not isinstance(key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise InputError(f"{path}: unsupported key type {type(key).__name__}",
                         hint="use an ECDSA P-256 key from `supplychain keygen`")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Any:
    """Load a PEM public key (SubjectPublicKeyInfo) or the public key of a PEM certificate."""
    raw = read_bytes(path, what="public key")
    return parse_public_key(raw, source=str(path))


def parse_public_key(raw: bytes, *, source: str) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        if b"BEGIN CERTIFICATE" in raw:
            key: Any = x509.load_pem_x509_certificate(raw).public_key()
        elif raw.lstrip().startswith(b"-----"):
            key = serialization.load_pem_public_key(raw)
        else:
            key = serialization.load_der_public_key(raw)
    except ValueError as exc:
        raise InputError(f"{source}: not a PEM public key or certificate") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise InputError(f"{source}: unsupported public key type {type(key).__name__}")
    return key
