"""sign blob / verify blob / keygen through the real CLI process."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path

import pytest

from tests.conftest import EXTERNAL, run_cli

PW = {"SUPPLYCHAIN_PASSWORD": "correct horse"}
CONF = EXTERNAL / "sigstore-bundles" / "conformance"
BEACON = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
          "extremely-dangerous-oidc-beacon.yml@refs/heads/main")
GHA = "https://token.actions.githubusercontent.com"


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    r = run_cli("keygen", "--output-key-prefix", str(tmp_path / "release"), env=PW)
    assert r.exit_code == 0, r.stderr
    return tmp_path / "release.key", tmp_path / "release.pub"


def test_keygen_writes_encrypted_0600_key_and_refuses_overwrite(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    priv, pub = keypair
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in priv.read_bytes()
    assert pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(priv.read_bytes(), password=b"correct horse")
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    before = priv.read_bytes()
    r = run_cli("keygen", "--output-key-prefix", str(tmp_path / "release"), env=PW)
    assert r.exit_code == 2 and "already exists" in r.stderr and priv.read_bytes() == before
    r = run_cli("keygen", "--output-key-prefix", str(tmp_path / "release"), "--force", env=PW)
    assert r.exit_code == 0 and priv.read_bytes() != before


def test_keygen_without_password_or_tty_fails(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SUPPLYCHAIN_PASSWORD"}
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "supplychain", "keygen", "--output-key-prefix", str(tmp_path / "k")],
                       env=env, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 2 and b"SUPPLYCHAIN_PASSWORD" in p.stderr
    assert not (tmp_path / "k.key").exists()


def test_sign_verify_blob_with_key(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    priv, pub = keypair
    art = tmp_path / "app.tar.gz"
    art.write_bytes(os.urandom(100_000))
    r = run_cli("sign", "blob", str(art), "--key", str(priv), env=PW)
    assert r.exit_code == 0, r.stderr
    bundle = json.loads((tmp_path / "app.tar.gz.sigstore.json").read_text())
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert bundle["verificationMaterial"]["publicKey"]["hint"]
    assert bundle["verificationMaterial"]["tlogEntries"] == []
    # the bundle round-trips through sigstore's own protobuf models unchanged
    from sigstore_models.bundle.v1 import Bundle

    assert json.loads(Bundle.from_json(json.dumps(bundle)).to_json()) == bundle

    r = run_cli("verify", "blob", str(art), "--key", str(pub), "--offline")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Verified OK") and "key " in r.stdout and len(r.stdout.splitlines()) == 1
    import hashlib

    digest = "sha256:" + hashlib.sha256(art.read_bytes()).hexdigest()
    r = run_cli("verify", "blob", digest, "--bundle", str(art) + ".sigstore.json", "--key", str(pub))
    assert r.exit_code == 0, r.stderr

    art.write_bytes(art.read_bytes() + b"\0")
    r = run_cli("verify", "blob", str(art), "--key", str(pub))
    assert r.exit_code == 1 and "tampered" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1

    other = run_cli("keygen", "--output-key-prefix", str(tmp_path / "other"), env=PW)
    assert other.exit_code == 0
    art.write_bytes(art.read_bytes()[:-1])
    r = run_cli("verify", "blob", str(art), "--key", str(tmp_path / "other.pub"))
    assert r.exit_code == 1 and "signed with another key" in r.stderr
    # a key bundle cannot pass as keyless
    r = run_cli("verify", "blob", str(art), "--cert-identity", "a@b", "--cert-oidc-issuer", "x", "--offline")
    assert r.exit_code == 1 and "signed with a key" in r.stderr


def test_sign_with_wrong_password(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    art = tmp_path / "f"
    art.write_text("x")
    r = run_cli("sign", "blob", str(art), "--key", str(keypair[0]), "--bundle", str(tmp_path / "b.json"),
                env={"SUPPLYCHAIN_PASSWORD": "nope"})
    assert r.exit_code == 2 and "password" in r.stderr
    assert not (tmp_path / "b.json").exists()


def test_verify_blob_input_errors(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    art = tmp_path / "f"
    art.write_text("x")
    r = run_cli("verify", "blob", str(art), "--key", str(keypair[1]))
    assert r.exit_code == 2 and "f.sigstore.json" in r.stderr
    (tmp_path / "f.sigstore.json").write_text("{not json")
    r = run_cli("verify", "blob", str(art), "--key", str(keypair[1]))
    assert r.exit_code == 2 and "invalid JSON" in r.stderr
    (tmp_path / "f.sigstore.json").write_text(json.dumps({"mediaType": "application/vnd.dev.sigstore.bundle.v9.9+json"}))
    r = run_cli("verify", "blob", str(art), "--key", str(keypair[1]))
    assert r.exit_code == 1 and "unsupported bundle version 9.9" in r.stderr
    r = run_cli("verify", "blob", "sha256:" + "0" * 64, "--key", str(keypair[1]))
    assert r.exit_code == 2 and "--bundle" in r.stderr
    r = run_cli("verify", "blob", "sha256:abc", "--bundle", str(tmp_path / "f.sigstore.json"), "--key",
                str(keypair[1]))
    assert r.exit_code == 2
    r = run_cli("verify", "blob", str(art), "--bundle", str(tmp_path / "f.sigstore.json"))
    assert r.exit_code == 2


def _blocking_sitecustomize(tmp_path: Path) -> dict[str, str]:
    d = tmp_path / "nonet"
    d.mkdir()
    (d / "sitecustomize.py").write_text(textwrap.dedent("""
        import socket
        def _blocked(*a, **k):
            raise OSError("network access attempted during --offline verification")
        socket.socket.connect = _blocked
        socket.socket.connect_ex = _blocked
        socket.create_connection = _blocked
        socket.getaddrinfo = _blocked
    """))
    return {"PYTHONPATH": f"{d}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def test_offline_verification_makes_no_network_call(tmp_path: Path) -> None:
    if not CONF.is_dir():
        pytest.skip("sigstore-conformance data not found")
    env = _blocking_sitecustomize(tmp_path)
    # the guard works: an online trust refresh would hit it
    probe = run_cli("verify", "blob", str(CONF / "a.txt"), "--bundle", str(CONF / "happy-path-v0.3/bundle.sigstore.json"),
                    "--cert-identity", BEACON, "--cert-oidc-issuer", GHA, env=env)
    assert probe.exit_code == 3, probe.stderr
    for case in ("happy-path-v0.3", "happy-path-intoto-in-dsse-v3", "happy-path-v0.1"):
        r = run_cli("verify", "blob", str(CONF / "a.txt"), "--bundle", str(CONF / case / "bundle.sigstore.json"),
                    "--offline", "--cert-identity", BEACON, "--cert-oidc-issuer", GHA, env=env)
        assert r.exit_code == 0, (case, r.stderr)
        assert BEACON in r.stdout and GHA in r.stdout
    r = run_cli("verify", "blob", str(CONF / "a.txt"), "--bundle",
                str(CONF / "rekor2-happy-path/bundle.sigstore.json"), "--offline", "--trusted-root",
                str(CONF / "rekor2-happy-path/trusted_root.json"), "--cert-identity", BEACON,
                "--cert-oidc-issuer", GHA, env=env)
    assert r.exit_code == 0, r.stderr
    r = run_cli("verify", "blob", str(CONF / "a.txt"), "--bundle",
                str(CONF / "happy-path-v0.3/bundle.sigstore.json"), "--offline", "--staging",
                "--cert-identity", BEACON, "--cert-oidc-issuer", GHA, env=env)
    assert r.exit_code == 1 and "not in the trusted root" in r.stderr
    py = EXTERNAL / "sigstore-bundles" / "sigstore-python"
    # the embedded staging root, offline
    assert py.is_dir(), f"{py} is missing from the shared data (see its SOURCES.md)"
    r = run_cli("verify", "blob", str(py / "bundle_v3.txt"), "--bundle", str(py / "bundle_v3.txt.sigstore"),
                "--offline", "--staging", "--cert-identity", "william@yossarian.net",
                "--cert-oidc-issuer", "https://github.com/login/oauth", env=env)
    assert r.exit_code == 0, r.stderr


def test_verify_dsse_prints_statement(tmp_path: Path) -> None:
    if not CONF.is_dir():
        pytest.skip("sigstore-conformance data not found")
    r = run_cli("verify", "blob", str(CONF / "a.txt"), "--bundle",
                str(CONF / "happy-path-intoto-in-dsse-v3/bundle.sigstore.json"), "--offline",
                "--certificate-identity-regexp", "sigstore-conformance", "--certificate-oidc-issuer", GHA)
    assert r.exit_code == 0, r.stderr
    assert "payload type: application/vnd.in-toto+json" in r.stdout
    assert "subject: a.txt sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf" in r.stdout
    assert "predicate type: https://slsa.dev/provenance/v1" in r.stdout


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("signature-mismatch_fail", "signature"),
        ("invalid-inclusion-proof_fail", "inclusion proof"),
        ("bundle-unknown-version_fail", "unsupported bundle version"),
        ("intoto-missing-inclusion-proof_fail", "no inclusion proof"),
        ("bundle-from-wrong-instance_fail", "not in the trusted root"),
    ],
)
def test_verify_failure_is_one_line_exit_1(case: str, why: str) -> None:
    d = CONF / case
    if not d.is_dir():
        pytest.skip("sigstore-conformance data not found")
    art = d / "artifact" if (d / "artifact").exists() else CONF / "a.txt"
    args = ["verify", "blob", str(art), "--bundle", str(d / "bundle.sigstore.json"), "--offline",
            "--cert-identity", BEACON, "--cert-oidc-issuer", GHA]
    if (d / "trusted_root.json").exists():
        args += ["--trusted-root", str(d / "trusted_root.json")]
    r = run_cli(*args)
    assert r.exit_code == 1, r.stderr
    assert why in r.stderr and len(r.stderr.strip().splitlines()) <= 2 and "Traceback" not in r.stderr
