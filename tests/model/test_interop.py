"""Interop with model_signing 1.1.1 (its Python API and its CLI), both directions, and the
upstream backward-compatibility signatures in ../shared/external/model-signing (see SOURCES.md)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supplychain.errors import VerificationError
from supplychain.signing.model import sign_model, verify_model
from supplychain.signing.policy import SignerPolicy as IdentitySpec
from supplychain.signing.specs import SignerSpec, TrustSpec
from tests.conftest import run_cli
from tests.model.conftest import CertChain, KeyPair

model_signing = pytest.importorskip("model_signing", reason="model-signing is not installed")


def _ms_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "model_signing", *args], capture_output=True, text=True,
                          timeout=120)


def _resources(sig: Path) -> dict[str, tuple[str, str]]:
    doc = json.loads(sig.read_text())
    stmt = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    return {r["name"]: (r["algorithm"], r["digest"]) for r in stmt["predicate"]["resources"]}


# --- ours -> model_signing ------------------------------------------------------------------------


def test_model_signing_cli_and_api_verify_our_key_signature(model_dir: Path, keypair: KeyPair) -> None:
    sign_model(model_dir, SignerSpec(key_path=str(keypair.private)))
    sig = model_dir / "model.sig"
    p = _ms_cli("verify", "key", str(model_dir), "--signature", str(sig), "--public_key", str(keypair.public))
    assert p.returncode == 0, p.stderr + p.stdout
    assert "Verification succeeded" in p.stdout
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=keypair.public).verify(model_dir, sig)
    # and model_signing notices tampering in what we signed
    (model_dir / "config.json").write_text("{}")
    p = _ms_cli("verify", "key", str(model_dir), "--signature", str(sig), "--public_key", str(keypair.public))
    assert p.returncode == 1 and "config.json" in p.stderr


def test_model_signing_verifies_our_certificate_signature(model_dir: Path, cert_chain: CertChain) -> None:
    sign_model(model_dir, SignerSpec(key_path=str(cert_chain.key)), signing_cert=str(cert_chain.leaf),
               certificate_chain=[str(cert_chain.intermediate)])
    sig = model_dir / "model.sig"
    p = _ms_cli("verify", "certificate", str(model_dir), "--signature", str(sig),
                "--certificate_chain", str(cert_chain.root))
    assert p.returncode == 0, p.stderr + p.stdout


def test_model_signing_verifies_our_single_file_signature(tmp_path: Path, keypair: KeyPair) -> None:
    f = tmp_path / "weights.safetensors"
    f.write_bytes(b"\x00" * 5000 + b"tensor")
    sign_model(f, SignerSpec(key_path=str(keypair.private)))
    p = _ms_cli("verify", "key", str(f), "--signature", str(tmp_path / "model.sig"),
                "--public_key", str(keypair.public))
    assert p.returncode == 0, p.stderr + p.stdout


def test_model_signing_api_verifies_our_blake3_and_shards(model_dir: Path, keypair: KeyPair) -> None:
    sig = model_dir / "model.sig"
    sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), hash_algorithm="blake3")
    # blake3: model_signing guesses the hashing config from the signature
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=keypair.public).verify(model_dir, sig)
    sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), shard_size=1_000_000)
    # shards: model_signing needs an explicit hashing config (its own guess trips over the shard
    # size it reads back as a float)
    hc = model_signing.hashing.Config().use_shard_serialization(shard_size=1_000_000).set_ignored_paths(
        paths=["model.sig"])
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=keypair.public).set_hashing_config(
        hc).verify(model_dir, sig)


# --- model_signing -> ours ------------------------------------------------------------------------


def _ms_sign_key(model: Path, sig: Path, key: Path, hc: object | None = None) -> None:
    cfg = model_signing.signing.Config().use_elliptic_key_signer(private_key=key)
    if hc is not None:
        cfg = cfg.set_hashing_config(hc)
    cfg.sign(model, sig)


def test_we_verify_model_signing_cli_signatures(model_dir: Path, keypair: KeyPair, cert_chain: CertChain) -> None:
    sig = model_dir / "model.sig"
    p = _ms_cli("sign", "key", str(model_dir), "--signature", str(sig), "--private_key", str(keypair.private))
    assert p.returncode == 0, p.stderr
    r = run_cli("verify", "model", str(model_dir), "--key", str(keypair.public))
    assert r.exit_code == 0, r.stderr
    # digests byte-identical to ours
    ours = sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), signature=model_dir.parent / "o.sig",
                      ignore_paths=["model.sig"])
    assert _resources(ours.signature_path) == _resources(sig)

    p = _ms_cli("sign", "certificate", str(model_dir), "--signature", str(sig), "--private_key",
                str(cert_chain.key), "--signing_certificate", str(cert_chain.leaf), "--certificate_chain",
                str(cert_chain.intermediate))
    assert p.returncode == 0, p.stderr
    r = run_cli("verify", "model", str(model_dir), "--certificate-chain", str(cert_chain.root))
    assert r.exit_code == 0, r.stderr


def test_we_verify_model_signing_api_shards_and_blake3(model_dir: Path, keypair: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "ms.sig"
    hc = model_signing.hashing.Config().use_shard_serialization(shard_size=1_000_000)
    _ms_sign_key(model_dir, sig, keypair.private, hc)
    ours = sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), signature=tmp_path / "o.sig",
                      shard_size=1_000_000)
    assert _resources(ours.signature_path) == _resources(sig)
    verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec(), signature=sig)

    hc = model_signing.hashing.Config().use_file_serialization(hashing_algorithm="blake3")
    _ms_sign_key(model_dir, sig, keypair.private, hc)
    verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec(), signature=sig)
    (model_dir / "extra.bin").write_bytes(b"changed")
    with pytest.raises(VerificationError, match=r"extra\.bin"):
        verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec(), signature=sig)


def test_same_ordering_as_model_signing_for_tricky_names(tmp_path: Path, keypair: KeyPair) -> None:
    m = tmp_path / "m"
    (m / "a").mkdir(parents=True)
    for name in ("a.txt", "a/b", "a-b", "A", "a/ü.bin", "b c"):
        (m / name).write_text(name)
    sig = tmp_path / "ms.sig"
    _ms_sign_key(m, sig, keypair.private)
    ours = sign_model(m, SignerSpec(key_path=str(keypair.private)), signature=tmp_path / "o.sig")
    a = json.loads(base64.b64decode(json.loads(sig.read_text())["dsseEnvelope"]["payload"]))
    b = json.loads(base64.b64decode(json.loads(ours.signature_path.read_text())["dsseEnvelope"]["payload"]))
    assert a["subject"] == b["subject"]
    assert [r["name"] for r in a["predicate"]["resources"]] == [r["name"] for r in b["predicate"]["resources"]]


# --- upstream backward-compatibility signatures ----------------------------------------------------

IBM = ("stefanb@us.ibm.com", "https://sigstore.verify.ibm.com/oauth2")


@pytest.fixture(scope="module")
def ms_external(external: Path) -> Path:
    d = external / "model-signing"
    if not d.is_dir():
        pytest.skip(f"{d} not found")
    return d


@pytest.mark.parametrize("case", ["v0.2.0-certificate", "v0.3.1-certificate", "v1.0.0-certificate",
                                  "v1.1.0-certificate"])
def test_external_certificate_cases(ms_external: Path, case: str) -> None:
    r = run_cli("verify", "model", str(ms_external / case), "--certificate-chain",
                str(ms_external / "keys/certificate/ca-cert.pem"))
    assert r.exit_code == 0, r.stderr
    assert "2 files match" in r.stdout


@pytest.mark.parametrize("case,target,files", [("v0.3.1-elliptic-key", "signme-1", 1),
                                               ("v1.1.0-elliptic-key", "", 2)])
def test_external_key_cases(ms_external: Path, case: str, target: str, files: int) -> None:
    path = ms_external / case / target if target else ms_external / case
    r = run_cli("verify", "model", str(path), "--key", str(ms_external / "keys/certificate/signing-key-pub.pem"))
    assert r.exit_code == 0, r.stderr
    assert f"{files} file" in r.stdout


@pytest.mark.parametrize("case", ["v0.3.1-sigstore", "v1.1.0-sigstore"])
def test_external_sigstore_cases_offline(ms_external: Path, external: Path, case: str) -> None:
    root = external / "sigstore-bundles/trusted-roots/production/trusted_root.json"
    r = run_cli("verify", "model", str(ms_external / case), "--cert-identity", IBM[0], "--cert-oidc-issuer", IBM[1],
                "--trusted-root", str(root), "--offline")
    assert r.exit_code == 0, r.stderr
    r = run_cli("verify", "model", str(ms_external / case), "--cert-identity", "someone@example.com",
                "--cert-oidc-issuer", IBM[1], "--trusted-root", str(root), "--offline")
    assert r.exit_code == 1
    staging = external / "sigstore-bundles/trusted-roots/staging/trusted_root.json"
    r = run_cli("verify", "model", str(ms_external / case), "--cert-identity", IBM[0], "--cert-oidc-issuer", IBM[1],
                "--trusted-root", str(staging), "--offline")
    assert r.exit_code == 1


def test_external_negative_cases(ms_external: Path, external: Path, tmp_path: Path) -> None:
    pub = str(ms_external / "keys/certificate/signing-key-pub.pem")
    ek = tmp_path / "ek"
    shutil.copytree(ms_external / "v1.1.0-elliptic-key", ek)
    for p in ek.iterdir():
        p.chmod(0o644)
    with open(ek / "signme-1", "ab") as fh:
        fh.write(b"!")
    with pytest.raises(VerificationError, match=r"changed \(digest differs\): signme-1"):
        verify_model(ek, IdentitySpec(key_path=pub), TrustSpec())
    other = external / "sigstore-bundles/conformance/managed-key-happy-path/key.pub"
    assert other.is_file(), f"{other} is missing from the shared data (see its SOURCES.md)"
    with pytest.raises(VerificationError, match="another key"):
        verify_model(ms_external / "v1.1.0-elliptic-key", IdentitySpec(key_path=str(other)), TrustSpec())
    cert = tmp_path / "cert"
    shutil.copytree(ms_external / "v1.1.0-certificate", cert)
    (cert / "extra.bin").write_bytes(b"unsigned")
    r = run_cli("verify", "model", str(cert), "--certificate-chain", str(ms_external / "keys/certificate/ca-cert.pem"))
    assert r.exit_code == 1 and "added (not in the signature): extra.bin" in r.stderr


def test_external_old_signature_needs_ignore_paths(ms_external: Path, tmp_path: Path) -> None:
    """v1.0.0 did not record ignored paths: an extra file fails until --ignore-paths names it."""
    m = tmp_path / "v1.0.0-certificate"
    shutil.copytree(ms_external / "v1.0.0-certificate", m)
    (m / "ignore-me").write_text("")
    ca = str(ms_external / "keys/certificate/ca-cert.pem")
    r = run_cli("verify", "model", str(m), "--certificate-chain", ca)
    assert r.exit_code == 1 and "ignore-me" in r.stderr
    r = run_cli("verify", "model", str(m), "--certificate-chain", ca, "--ignore-paths", "ignore-me")
    assert r.exit_code == 0, r.stderr
