"""cosign's encrypted private key format (``cosign generate-key-pair``: scrypt + nacl/secretbox).

The reader was checked by hand against a key written by cosign itself (a public test key with an
empty password, not copied here); these tests write the same format with the same primitives
(hashlib.scrypt, PyNaCl's SecretBox) to check parsing, passwords, the CLI and hostile files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from supplychain.errors import InputError
from supplychain.signing.keys import key_hint, load_private_key
from tests.conftest import run_cli


def cosign_key(private: ec.EllipticCurvePrivateKey, password: bytes, *, n: int = 32768,
               header: str = "ENCRYPTED SIGSTORE PRIVATE KEY", **override: object) -> bytes:
    from nacl.secret import SecretBox

    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    salt, nonce = os.urandom(32), os.urandom(24)
    box_key = hashlib.scrypt(password, salt=salt, n=n, r=8, p=1, maxmem=256 * n * 8 + (1 << 20), dklen=32)
    sealed = SecretBox(box_key).encrypt(der, nonce).ciphertext
    doc = {"kdf": {"name": "scrypt", "params": {"N": n, "r": 8, "p": 1},
                   "salt": base64.b64encode(salt).decode()},
           "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
           "ciphertext": base64.b64encode(sealed).decode()}
    doc.update(override)  # type: ignore[arg-type]
    body = base64.b64encode(json.dumps(doc).encode()).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {header}-----\n{lines}\n-----END {header}-----\n".encode()


@pytest.mark.parametrize("header", ["ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"])
def test_cosign_key_loads_with_its_password(tmp_path: Path, header: str) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "cosign.key"
    path.write_bytes(cosign_key(private, b"s3cret", header=header))
    loaded = load_private_key(path, password=b"s3cret")
    assert key_hint(loaded.public_key()) == key_hint(private.public_key())
    with pytest.raises(InputError, match="wrong password"):
        load_private_key(path, password=b"other")


@pytest.mark.parametrize(("override", "message"), [
    ({"kdf": {"name": "argon2", "params": {"N": 32768, "r": 8, "p": 1}, "salt": "AAAA"}}, "not scrypt"),
    ({"kdf": {"name": "scrypt", "params": {"N": 1 << 30, "r": 8, "p": 1}, "salt": "AAAA"}}, "out of range"),
    ({"cipher": {"name": "nacl/secretbox", "nonce": "AAAA"}}, "nonce"),
    ({"ciphertext": "not base64!"}, "not a valid cosign"),
    ({"kdf": "x"}, "not a valid cosign"),
])
def test_hostile_cosign_keys_are_input_errors(tmp_path: Path, override: dict[str, object], message: str) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(cosign_key(ec.generate_private_key(ec.SECP256R1()), b"pw", **override))
    with pytest.raises(InputError, match=message):
        load_private_key(path, password=b"pw")


def test_sign_blob_with_a_cosign_key_and_cosign_password(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "cosign.key").write_bytes(cosign_key(private, b"pw"))
    (tmp_path / "cosign.pub").write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (tmp_path / "f.txt").write_text("release\n")
    env = {"COSIGN_PASSWORD": "pw", "SUPPLYCHAIN_TLOG_UPLOAD": "false"}
    env.pop("SUPPLYCHAIN_PASSWORD", None)
    r = run_cli("sign", "blob", str(tmp_path / "f.txt"), "--key", str(tmp_path / "cosign.key"),
                "--bundle", str(tmp_path / "f.sigstore.json"), "--tlog-upload=false", env=env)
    assert r.exit_code == 0, r.stderr
    r = run_cli("verify", "blob", str(tmp_path / "f.txt"), "--bundle", str(tmp_path / "f.sigstore.json"),
                "--key", str(tmp_path / "cosign.pub"), "--offline")
    assert r.exit_code == 0, r.stdout + r.stderr
    r = run_cli("sign", "blob", str(tmp_path / "f.txt"), "--key", str(tmp_path / "cosign.key"),
                "--bundle", str(tmp_path / "g.sigstore.json"), "--tlog-upload=false",
                env={**env, "COSIGN_PASSWORD": "wrong"})
    assert r.exit_code == 2 and "wrong password" in r.stderr
