"""Fixtures for model signing tests: a small model directory, EC keys and a generated CA chain."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.sigstore_local import local_sigstore  # noqa: F401  (keyless model tests)


@dataclass
class KeyPair:
    private: Path
    public: Path


@dataclass
class CertChain:
    key: Path  # leaf private key
    leaf: Path
    intermediate: Path
    root: Path


def _write_key(key: ec.EllipticCurvePrivateKey, directory: Path, name: str) -> KeyPair:
    priv = directory / f"{name}.key"
    pub = directory / f"{name}.pub"
    priv.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return KeyPair(priv, pub)


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-keys")


@pytest.fixture(scope="session")
def keypair(keys_dir: Path) -> KeyPair:
    return _write_key(ec.generate_private_key(ec.SECP256R1()), keys_dir, "signer")


@pytest.fixture(scope="session")
def other_keypair(keys_dir: Path) -> KeyPair:
    return _write_key(ec.generate_private_key(ec.SECP384R1()), keys_dir, "other")


def _cert(subject: str, issuer: str, pub: ec.EllipticCurvePublicKey, signer: ec.EllipticCurvePrivateKey,
          *, ca: bool, path_len: int | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
         .public_key(pub)
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(minutes=5))
         .not_valid_after(now + dt.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return b.sign(signer, hashes.SHA256())


def make_chain(directory: Path, prefix: str = "") -> CertChain:
    root_key = ec.generate_private_key(ec.SECP384R1())
    int_key = ec.generate_private_key(ec.SECP384R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert(f"{prefix}test-root-ca", f"{prefix}test-root-ca", root_key.public_key(), root_key, ca=True)
    inter = _cert(f"{prefix}test-intermediate-ca", f"{prefix}test-root-ca", int_key.public_key(), root_key,
                  ca=True, path_len=0)
    leaf = _cert(f"{prefix}model-signer", f"{prefix}test-intermediate-ca", leaf_key.public_key(), int_key, ca=False)
    kp = _write_key(leaf_key, directory, f"{prefix}leaf")
    paths = []
    for name, c in (("leaf.crt", leaf), ("intermediate.crt", inter), ("root.crt", root)):
        p = directory / f"{prefix}{name}"
        p.write_bytes(c.public_bytes(serialization.Encoding.PEM))
        paths.append(p)
    return CertChain(kp.private, paths[0], paths[1], paths[2])


@pytest.fixture(scope="session")
def cert_chain(keys_dir: Path) -> CertChain:
    return make_chain(keys_dir)


def make_model(root: Path, *, big: int = 3_000_001) -> Path:
    """A model directory: weights (one larger than a read chunk), config, a nested file."""
    m = root / "tiny-model"
    (m / "tokenizer").mkdir(parents=True)
    (m / "model.safetensors").write_bytes(os.urandom(big))
    (m / "extra.bin").write_bytes(os.urandom(70_000))
    (m / "config.json").write_text('{"architectures": ["Tiny"]}\n')
    (m / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")
    (m / "empty.txt").write_bytes(b"")
    (m / ".git").mkdir()
    (m / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (m / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    return m


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return make_model(tmp_path)
