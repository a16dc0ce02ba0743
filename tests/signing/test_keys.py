"""Key handling: generated keys, other key types, hints, encrypted/unencrypted PEM."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from supplychain.errors import InputError, VerificationError
from supplychain.signing.keys import generate_keypair, key_hint, load_private_key
from supplychain.signing.policy import SignerPolicy as IdentitySpec
from supplychain.signing.sign import sign_bytes, sign_dsse
from supplychain.signing.specs import SignerSpec
from supplychain.signing.trust import TrustedRoot
from supplychain.signing.verifier import verify_bundle

NO_ROOT = TrustedRoot(source="none", tlogs=[], ctlogs=[], fulcio=[], tsas=[])


def _write(tmp: Path, name: str, key: object) -> tuple[Path, Path]:
    priv = tmp / f"{name}.key"
    pub = tmp / f"{name}.pub"
    priv.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,  # type: ignore[attr-defined]
                                       serialization.NoEncryption()))
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return priv, pub


@pytest.mark.parametrize("kind", ["p256", "p384", "ed25519", "rsa"])
def test_sign_verify_with_key_types(kind: str, tmp_path: Path) -> None:
    key = {"p256": lambda: ec.generate_private_key(ec.SECP256R1()),
           "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
           "ed25519": ed25519.Ed25519PrivateKey.generate,
           "rsa": lambda: rsa.generate_private_key(65537, 2048)}[kind]()
    priv, pub = _write(tmp_path, kind, key)
    data = b"artifact " + kind.encode()
    raw = sign_bytes(data, SignerSpec(key_path=str(priv)))
    v = verify_bundle(raw, identity=IdentitySpec(key_path=str(pub)), trust=NO_ROOT, artifact=data)
    assert v.key_id == key_hint(key.public_key())
    with pytest.raises(VerificationError):
        verify_bundle(raw, identity=IdentitySpec(key_path=str(pub)), trust=NO_ROOT, artifact=data + b"!")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if kind == "ed25519":  # Ed25519 signs the message itself: a digest is not enough
        with pytest.raises(InputError):
            verify_bundle(raw, identity=IdentitySpec(key_path=str(pub)), trust=NO_ROOT, digest=digest)
    else:
        verify_bundle(raw, identity=IdentitySpec(key_path=str(pub)), trust=NO_ROOT, digest=digest)
    st = {"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "x", "digest": {"sha256": digest[7:]}}],
          "predicateType": "https://example.com/p", "predicate": {}}
    att = sign_dsse(st, SignerSpec(key_path=str(priv)))
    v = verify_bundle(att, identity=IdentitySpec(key_path=str(pub)), trust=NO_ROOT, digest=digest)
    assert v.statement == st


def test_key_hint_is_base64_sha256_of_der(tmp_path: Path) -> None:
    kp = generate_keypair(str(tmp_path / "k"), password=b"pw")
    pub = serialization.load_pem_public_key(kp.public.read_bytes())
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key_hint(pub) == base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_encrypted_key_password_handling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kp = generate_keypair(str(tmp_path / "k"), password=b"secret")
    monkeypatch.delenv("SUPPLYCHAIN_PASSWORD", raising=False)
    assert isinstance(load_private_key(kp.private, password=b"secret"), ec.EllipticCurvePrivateKey)
    with pytest.raises(InputError, match="wrong password"):
        load_private_key(kp.private, password=b"nope")
    monkeypatch.setenv("SUPPLYCHAIN_PASSWORD", "secret")
    assert isinstance(load_private_key(kp.private), ec.EllipticCurvePrivateKey)
    with pytest.raises(InputError, match="already exists"):
        generate_keypair(str(tmp_path / "k"), password=b"x")
    with pytest.raises(InputError, match="empty password"):
        generate_keypair(str(tmp_path / "e"), password=b"")
    (tmp_path / "junk.key").write_text("not a key")
    with pytest.raises(InputError, match="not a PEM private key"):
        load_private_key(tmp_path / "junk.key")
