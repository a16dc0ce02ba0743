"""Keyless signing end to end against a local Sigstore (Fulcio + Rekor v1 from @sigstore/mock) on
127.0.0.1; what we sign is verified by us and, independently, by sigstore-js (@sigstore/verify)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from supplychain.errors import VerificationError
from supplychain.signing.policy import SignerPolicy as IdentitySpec
from supplychain.signing.sign import sign_bytes, sign_dsse
from supplychain.signing.specs import SignerSpec, TrustSpec
from supplychain.signing.verifier import verify_bundle, verify_dsse_bundle
from tests.conftest import run_cli
from tests.sigstore_local import LocalSigstore, js_verify

pytestmark = pytest.mark.npm


def _ident(ls: LocalSigstore) -> list[str]:
    return ["--cert-identity", ls.subject, "--cert-oidc-issuer", ls.issuer]


def test_keyless_blob_cli_roundtrip_and_sigstore_js(local_sigstore: LocalSigstore, tmp_path: Path) -> None:
    ls = local_sigstore
    art = tmp_path / "release.tar.gz"
    art.write_bytes(b"release payload\n" * 1000)
    r = run_cli("sign", "blob", str(art), "--trust-config", str(ls.trust_config), "--identity-token", ls.token())
    assert r.exit_code == 0, r.stderr
    assert f"signed keyless as {ls.subject} (issuer {ls.issuer}), log index" in r.stderr
    bundle_path = Path(str(art) + ".sigstore.json")
    bundle = json.loads(bundle_path.read_text())
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    assert entry["kindVersion"] == {"kind": "hashedrekord", "version": "0.0.1"}

    r = run_cli("verify", "blob", str(art), "--trusted-root", str(ls.trusted_root), "--offline", *_ident(ls))
    assert r.exit_code == 0, r.stderr
    assert ls.subject in r.stdout and ls.issuer in r.stdout and "transparency log" in r.stdout
    js = js_verify(bundle_path, ls.trusted_root, artifact=art)
    assert js.returncode == 0, js.stderr
    assert json.loads(js.stdout)["san"] == ls.subject

    # wrong identity / issuer: both verifiers refuse
    r = run_cli("verify", "blob", str(art), "--trusted-root", str(ls.trusted_root), "--offline",
                "--cert-identity", "https://github.com/evil/app", "--cert-oidc-issuer", ls.issuer)
    assert r.exit_code == 1 and "identity" in r.stderr
    assert js_verify(bundle_path, ls.trusted_root, artifact=art, san="https://github.com/evil/app").returncode == 1
    r = run_cli("verify", "blob", str(art), "--trusted-root", str(ls.trusted_root), "--offline",
                "--cert-identity", ls.subject, "--cert-oidc-issuer", "https://accounts.google.com")
    assert r.exit_code == 1 and "issuer" in r.stderr
    # the production root does not trust the local instance
    r = run_cli("verify", "blob", str(art), "--offline", *_ident(ls))
    assert r.exit_code == 1

    # tampered artifact
    tampered = tmp_path / "tampered"
    tampered.write_bytes(art.read_bytes() + b"!")
    r = run_cli("verify", "blob", str(tampered), "--bundle", str(bundle_path), "--trusted-root",
                str(ls.trusted_root), "--offline", *_ident(ls))
    assert r.exit_code == 1
    assert js_verify(bundle_path, ls.trusted_root, artifact=tampered).returncode == 1

    # tampered log entry (integrated time moved): SET no longer verifies for either verifier
    bad = json.loads(bundle_path.read_text())
    bad["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = str(int(entry["integratedTime"]) - 60)
    bad_path = tmp_path / "bad.sigstore.json"
    bad_path.write_text(json.dumps(bad))
    r = run_cli("verify", "blob", str(art), "--bundle", str(bad_path), "--trusted-root", str(ls.trusted_root),
                "--offline", *_ident(ls))
    assert r.exit_code == 1 and "inclusion promise" in r.stderr
    assert js_verify(bad_path, ls.trusted_root, artifact=art).returncode == 1

    # no log entry at all: refused (keyless needs one)
    bad = json.loads(bundle_path.read_text())
    bad["verificationMaterial"]["tlogEntries"] = []
    bad_path.write_text(json.dumps(bad))
    r = run_cli("verify", "blob", str(art), "--bundle", str(bad_path), "--trusted-root", str(ls.trusted_root),
                "--offline", *_ident(ls))
    assert r.exit_code == 1 and "log entry" in r.stderr


def test_keyless_token_from_environment(local_sigstore: LocalSigstore, tmp_path: Path) -> None:
    ls = local_sigstore
    art = tmp_path / "a.txt"
    art.write_text("x")
    r = run_cli("sign", "blob", str(art), "--trust-config", str(ls.trust_config), "--bundle", str(tmp_path / "b.json"),
                env={"SIGSTORE_ID_TOKEN": ls.token(subject="https://ci.example/job/7")})
    assert r.exit_code == 0, r.stderr
    v = verify_bundle((tmp_path / "b.json").read_bytes(), artifact=art.read_bytes(),
                      identity=IdentitySpec(identity_regexp=r"^https://ci\.example/", issuer=ls.issuer),
                      trust=TrustSpec(trusted_root=str(ls.trusted_root), offline=True))
    assert v.identity == "https://ci.example/job/7"


def test_keyless_without_token_off_terminal_is_a_usage_error(local_sigstore: LocalSigstore, tmp_path: Path) -> None:
    product = Path("/sys/class/dmi/id/product_name")
    if product.exists() and product.read_text().strip() in ("Google", "Google Compute Engine"):
        pytest.skip("on Google Cloud the id package finds ambient credentials from the metadata server")
    art = tmp_path / "a.txt"
    art.write_text("x")
    no_ci = {k: "" for k in ("SIGSTORE_ID_TOKEN", "GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "GITLAB_CI",
                             "BUILDKITE", "CIRCLECI", "GOOGLE_SERVICE_ACCOUNT_NAME")}
    r = run_cli("sign", "blob", str(art), "--trust-config", str(local_sigstore.trust_config), env=no_ci)
    assert r.exit_code == 2 and "identity token" in r.stderr
    assert not (tmp_path / "a.txt.sigstore.json").exists()


def test_keyless_dsse_library_api(local_sigstore: LocalSigstore, tmp_path: Path) -> None:
    ls = local_sigstore
    data = b"model weights"
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "weights.bin", "digest": {"sha256": hashlib.sha256(data).hexdigest()}}],
        "predicateType": "https://example.com/test-predicate/v1",
        "predicate": {"ok": True},
    }
    raw = sign_dsse(statement, SignerSpec(identity_token=ls.token(), trust_config=str(ls.trust_config)))
    trust = TrustSpec(trusted_root=str(ls.trusted_root), offline=True)
    ident = IdentitySpec(identity=ls.subject, issuer=ls.issuer)
    v = verify_dsse_bundle(raw, identity=ident, trust=trust)
    assert v.statement == statement and v.predicate_type == "https://example.com/test-predicate/v1"
    assert v.payload_type == "application/vnd.in-toto+json"
    verify_bundle(raw, identity=ident, trust=trust, artifact=data)
    with pytest.raises(VerificationError, match="subject"):
        verify_bundle(raw, identity=ident, trust=trust, artifact=data + b"x")
    p = tmp_path / "att.sigstore.json"
    p.write_bytes(raw)
    js = js_verify(p, ls.trusted_root)
    assert js.returncode == 0, js.stderr
    # payload swapped after signing: both refuse
    bad = json.loads(raw)
    evil = dict(statement, predicate={"ok": False})
    bad["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(evil).encode()).decode()
    p.write_text(json.dumps(bad))
    with pytest.raises(VerificationError):
        verify_dsse_bundle(p.read_bytes(), identity=ident, trust=trust)
    assert js_verify(p, ls.trusted_root).returncode == 1


def test_key_signed_bundle_verifies_with_sigstore_js(local_sigstore: LocalSigstore, tmp_path: Path) -> None:
    from supplychain.signing.keys import generate_keypair

    kp = generate_keypair(str(tmp_path / "k"), password=b"pw")
    art = tmp_path / "a.bin"
    art.write_bytes(b"\x00" * 4096)
    import os

    statement = {"_type": "https://in-toto.io/Statement/v1",
                 "subject": [{"name": "a.bin", "digest": {"sha256": hashlib.sha256(art.read_bytes()).hexdigest()}}],
                 "predicateType": "https://example.com/p/v1", "predicate": {}}
    os.environ["SUPPLYCHAIN_PASSWORD"] = "pw"
    try:
        raw = sign_bytes(art.read_bytes(), SignerSpec(key_path=str(kp.private)))
        att = sign_dsse(statement, SignerSpec(key_path=str(kp.private)))
    finally:
        del os.environ["SUPPLYCHAIN_PASSWORD"]
    p = tmp_path / "a.bin.sigstore.json"
    p.write_bytes(raw)
    js = js_verify(p, local_sigstore.trusted_root, artifact=art, key=kp.public)
    assert js.returncode == 0, js.stderr
    pa = tmp_path / "a.bin.att.sigstore.json"
    pa.write_bytes(att)
    js = js_verify(pa, local_sigstore.trusted_root, key=kp.public)
    assert js.returncode == 0, js.stderr
    art.write_bytes(b"\x01" * 4096)
    assert js_verify(p, local_sigstore.trusted_root, artifact=art, key=kp.public).returncode == 1
