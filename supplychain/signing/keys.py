"""Keys: one public-key type (named, with cosign's hint), one loader, one signature check;
key pairs and password-protected private keys.

Only ``cryptography`` is imported here (cheap); nothing from sigstore.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.fileio import atomic_write, read_bytes

PASSWORD_ENV = "SUPPLYCHAIN_PASSWORD"
COSIGN_PASSWORD_ENV = "COSIGN_PASSWORD"  # cosign's name, read when ours is not set


def _env_password() -> str | None:
    for name in (PASSWORD_ENV, COSIGN_PASSWORD_ENV):
        value = os.environ.get(name)
        if value is not None:
            return value
    return None
DEFAULT_PREFIX = "cosign"


@dataclass(frozen=True)
class KeyPairPaths:
    private: Path
    public: Path


def _password_for_new_key() -> bytes:
    env = _env_password()
    if env is not None:
        return env.encode("utf-8")
    if not sys.stdin.isatty():
        raise InputError(
            f"no password for the private key: set {PASSWORD_ENV} (or {COSIGN_PASSWORD_ENV}) or run on a terminal",
            hint=f"export {PASSWORD_ENV}=... (an empty value means an unencrypted key is refused)",
        )
    first = getpass.getpass("Enter password for private key: ")
    second = getpass.getpass("Enter password for private key again: ")
    if first != second:
        raise InputError("passwords do not match")
    return first.encode("utf-8")


def _password_for_existing_key(path: str | os.PathLike[str]) -> bytes | None:
    env = _env_password()
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
    """cosign's key id, used everywhere a key is named: base64 of sha256 over the DER public key."""
    return base64.b64encode(hashlib.sha256(public_key_der(key)).digest()).decode("ascii")


@dataclass(frozen=True)
class PublicKey:
    """A trusted public key with a display name (its file, or a policy entry).

    ``hint`` (= ``fingerprint``) is cosign's form, base64 sha256 of the DER SubjectPublicKeyInfo,
    the one key identity every command prints and every policy compares.
    """

    name: str
    key: Any = field(compare=False)  # cryptography public key
    path: str | None = None

    @property
    def der(self) -> bytes:
        return public_key_der(self.key)

    @property
    def hint(self) -> str:
        return key_hint(self.key)

    @property
    def fingerprint(self) -> str:
        return self.hint

    def matches_hint(self, hint: str) -> bool:
        """A bundle's key hint names this key: cosign's form, or model_signing's (hex sha256 of the PEM)."""
        return hint in (self.hint, hashlib.sha256(public_key_pem(self.key)).hexdigest())

    def verify(self, signature: bytes, data: bytes | None, *, prehashed: tuple[str, bytes] | None = None) -> bool:
        return verify_signature(self.key, signature, data, prehashed=prehashed)


_HASHES = ("sha256", "sha384", "sha512")


def hash_for_key(key: Any) -> str:
    """The digest an ECDSA key signs with (by curve size); sha256 for RSA."""
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return {384: "sha384", 521: "sha512"}.get(key.curve.key_size, "sha256")
    return "sha256"


def _hash(name: str) -> Any:
    from cryptography.hazmat.primitives import hashes

    return {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[name]


def verify_signature(key: Any, signature: bytes, data: bytes | None, *,
                     prehashed: tuple[str, bytes] | None = None, hash_name: str | None = None) -> bool:
    """The one raw signature check: ECDSA (hash by curve unless ``hash_name``), Ed25519, RSA
    PKCS#1 v1.5 or PSS. ``prehashed`` = (alg, digest) verifies over a digest. Never raises for a
    bad signature or an unusable key: returns False."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if data is None:
                return False  # Ed25519 signs the message itself, never a digest
            key.verify(signature, data)
            return True
        if prehashed is not None:
            if prehashed[0] not in _HASHES:
                return False
            h = _hash(prehashed[0])
            alg: Any = utils.Prehashed(h)
            msg = prehashed[1]
        else:
            if data is None:
                return False
            h = alg = _hash(hash_name or hash_for_key(key))
            msg = data
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, msg, ec.ECDSA(alg))
            return True
        if isinstance(key, rsa.RSAPublicKey):
            try:
                key.verify(signature, msg, padding.PKCS1v15(), alg)
            except InvalidSignature:
                key.verify(signature, msg, padding.PSS(mgf=padding.MGF1(h),
                                                       salt_length=padding.PSS.AUTO), alg)
            return True
    except (InvalidSignature, ValueError, TypeError, OverflowError):
        return False
    return False


_PEM_BLOCK = re.compile(rb"-----BEGIN (PUBLIC KEY|CERTIFICATE)-----.*?-----END \1-----", re.S)


def parse_public_key(raw: bytes, *, source: str, name: str | None = None, path: str | None = None) -> PublicKey:
    """The one public-key loader: a PEM public key or certificate (text before the PEM block is
    skipped, as GnuTLS ``certtool`` writes a description first), or DER SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    m = _PEM_BLOCK.search(raw)
    try:
        if m and m.group(1) == b"CERTIFICATE":
            from cryptography import x509

            key: Any = x509.load_pem_x509_certificate(m.group(0)).public_key()
        elif m:
            key = serialization.load_pem_public_key(m.group(0))
        elif raw.lstrip().startswith(b"-----"):
            raise ValueError("unknown PEM block")
        else:
            key = serialization.load_der_public_key(raw)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{source}: not a PEM public key or certificate") from exc
    except Exception as exc:  # cryptography: unsupported algorithms raise their own types
        raise InputError(f"{source}: unsupported public key ({type(exc).__name__})") from exc
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise InputError(f"{source}: unsupported curve {key.curve.name}")
    elif not isinstance(key, ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise InputError(f"{source}: unsupported public key type {type(key).__name__}")
    return PublicKey(name=name or source, key=key, path=path)


def load_public_key(path: str | os.PathLike[str], *, name: str | None = None) -> PublicKey:
    """Load a public key file (see :func:`parse_public_key`)."""
    raw = read_bytes(path, what="public key")
    return parse_public_key(raw, source=str(path), name=name or str(path), path=str(path))


def load_private_key(path: str | os.PathLike[str], *, password: bytes | None = None) -> Any:
    """Load a PEM private key; encrypted keys take ``password`` / $SUPPLYCHAIN_PASSWORD / a prompt."""
    from cryptography.hazmat.primitives import serialization

    raw = read_bytes(path, what="private key")
    cosign = _COSIGN_KEY_BLOCK.search(raw)
    if cosign is not None:  # cosign / sigstore-go's own encrypted format (`cosign generate-key-pair`)
        pw = password if password is not None else _password_for_existing_key(path)
        return _checked_private_key(_decrypt_cosign_key(cosign.group(2), path, pw or b""), path)
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
    return _checked_private_key(key, path)


def _checked_private_key(key: Any, path: str | os.PathLike[str]) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise InputError(f"{path}: unsupported curve {key.curve.name}")
    elif not isinstance(key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise InputError(f"{path}: unsupported key type {type(key).__name__}",
                         hint="use an ECDSA P-256 key from `supplychain keygen`")
    return key


_COSIGN_KEY_BLOCK = re.compile(
    rb"-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----\s*(.*?)\s*-----END ENCRYPTED \1 PRIVATE KEY-----", re.S)
_MAX_SCRYPT_N = 1 << 20  # cosign writes 32768 or 65536; more is a resource attack, not a key


def _decrypt_cosign_key(body: bytes, path: str | os.PathLike[str], password: bytes) -> Any:
    """Decrypt cosign's key file format (sigstore/sigstore ``pkg/encryption``): base64 of a JSON
    ``{"kdf": {"name": "scrypt", "params": {"N", "r", "p"}, "salt"}, "cipher": {"name":
    "nacl/secretbox", "nonce"}, "ciphertext"}``; scrypt(password, salt) gives the 32-byte secretbox
    key, and the plaintext is the PKCS#8 DER private key."""
    import json

    from cryptography.hazmat.primitives import serialization

    def bad(why: str) -> InputError:
        return InputError(f"{path}: not a valid cosign encrypted private key ({why})")

    try:
        doc = json.loads(base64.b64decode(b"".join(body.split()), validate=True))
        kdf, cipher = doc["kdf"], doc["cipher"]
        params = kdf["params"]
        n, r, p = int(params["N"]), int(params["r"]), int(params["p"])
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(cipher["nonce"], validate=True)
        ciphertext = base64.b64decode(doc["ciphertext"], validate=True)
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise bad(type(exc).__name__) from None
    if kdf.get("name") != "scrypt" or cipher.get("name") != "nacl/secretbox":
        raise bad(f"kdf {kdf.get('name')!r} / cipher {cipher.get('name')!r} not scrypt / nacl/secretbox")
    if not (2 <= n <= _MAX_SCRYPT_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise bad(f"scrypt parameters N={n} r={r} p={p} out of range")
    if len(nonce) != 24:
        raise bad("secretbox nonce is not 24 bytes")
    secret = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20), dklen=32)
    try:
        from nacl.exceptions import CryptoError
        from nacl.secret import SecretBox
    except ImportError:  # pragma: no cover - PyNaCl is a declared dependency
        raise InputError(f"{path}: reading cosign keys needs PyNaCl") from None
    try:
        der = SecretBox(secret).decrypt(ciphertext, nonce)
    except CryptoError:
        raise InputError(f"{path}: cannot decrypt cosign private key (wrong password?)",
                         hint=f"check {PASSWORD_ENV} (or COSIGN_PASSWORD)") from None
    try:
        return serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError) as exc:
        raise bad(f"decrypted data is not a PKCS#8 key: {exc}") from None
