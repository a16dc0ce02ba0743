"""sign model / verify model: round trips, tamper detection, single files, symlinks, ignore paths."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from supplychain.errors import InputError, VerificationError
from supplychain.signing.model import default_signature_path, sign_model, verify_model
from supplychain.signing.policy import SignerPolicy as IdentitySpec
from supplychain.signing.specs import SignerSpec, TrustSpec
from tests.conftest import run_cli
from tests.model.conftest import CertChain, KeyPair


def _statement(sig: Path) -> dict:
    doc = json.loads(sig.read_text())
    return json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))


def test_key_round_trip_cli(model_dir: Path, keypair: KeyPair) -> None:
    r = run_cli("sign", "model", str(model_dir), "--key", str(keypair.private))
    assert r.exit_code == 0, r.stderr
    sig = model_dir / "model.sig"
    assert sig.is_file()
    doc = json.loads(sig.read_text())
    assert doc["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert set(doc["verificationMaterial"]) == {"publicKey", "tlogEntries"}
    stmt = _statement(sig)
    assert stmt["predicateType"] == "https://model_signing/signature/v1.0"
    assert stmt["subject"][0]["name"] == "tiny-model"
    names = [r["name"] for r in stmt["predicate"]["resources"]]
    # .git, .gitattributes and the signature itself are not signed; the rest is, sorted
    assert names == ["config.json", "empty.txt", "extra.bin", "model.safetensors", "tokenizer/vocab.txt"]
    ser = stmt["predicate"]["serialization"]
    assert ser["method"] == "files" and ser["hash_type"] == "sha256" and ser["allow_symlinks"] is False
    assert {".git", "model.sig", ".gitattributes"} <= set(ser["ignore_paths"])

    r = run_cli("verify", "model", str(model_dir), "--key", str(keypair.public))
    assert r.exit_code == 0, r.stderr
    assert "5 files match" in r.stdout


def test_tamper_names_every_added_removed_changed_file(model_dir: Path, keypair: KeyPair) -> None:
    sign_model(model_dir, SignerSpec(key_path=str(keypair.private)))
    with open(model_dir / "model.safetensors", "r+b") as fh:  # flip one byte deep inside
        fh.seek(2_500_000)
        b = fh.read(1)
        fh.seek(2_500_000)
        fh.write(bytes([b[0] ^ 1]))
    (model_dir / "tokenizer" / "vocab.txt").unlink()
    (model_dir / "tokenizer" / "merges.txt").write_text("x y\n")
    (model_dir / ".git" / "index").write_bytes(b"ignored anyway")
    r = run_cli("verify", "model", str(model_dir), "--key", str(keypair.public))
    assert r.exit_code == 1, r.stderr
    assert "added (not in the signature): tokenizer/merges.txt" in r.stderr
    assert "removed (signed but missing): tokenizer/vocab.txt" in r.stderr
    assert "changed (digest differs): model.safetensors" in r.stderr
    assert ".git" not in r.stderr.replace(str(model_dir), "")
    assert "Traceback" not in r.stderr


def test_wrong_key_and_forged_payload_fail(model_dir: Path, keypair: KeyPair, other_keypair: KeyPair) -> None:
    sign_model(model_dir, SignerSpec(key_path=str(keypair.private)))
    with pytest.raises(VerificationError, match="signed with another key"):
        verify_model(model_dir, IdentitySpec(key_path=str(other_keypair.public)), TrustSpec())
    # a payload swapped after signing: the signature no longer verifies
    sig = model_dir / "model.sig"
    doc = json.loads(sig.read_text())
    stmt = _statement(sig)
    stmt["predicate"]["resources"] = stmt["predicate"]["resources"][:1]
    doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    sig.write_text(json.dumps(doc))
    with pytest.raises(VerificationError, match="does not verify"):
        verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec())
    sig.write_text("{not json")
    r = run_cli("verify", "model", str(model_dir), "--key", str(keypair.public))
    assert r.exit_code == 1 and "not a Sigstore bundle" in r.stderr


def test_certificate_chain_round_trip(model_dir: Path, cert_chain: CertChain, tmp_path: Path) -> None:
    r = run_cli("sign", "model", str(model_dir), "--key", str(cert_chain.key), "--signing-cert",
                str(cert_chain.leaf), "--certificate-chain", str(cert_chain.intermediate))
    assert r.exit_code == 0, r.stderr
    doc = json.loads((model_dir / "model.sig").read_text())
    assert len(doc["verificationMaterial"]["x509CertificateChain"]["certificates"]) == 2
    r = run_cli("verify", "model", str(model_dir), "--certificate-chain", str(cert_chain.root))
    assert r.exit_code == 0, r.stderr
    assert "CN=model-signer" in r.stdout
    # another CA does not vouch for it
    from tests.model.conftest import make_chain

    stranger = make_chain(tmp_path, prefix="other-")
    r = run_cli("verify", "model", str(model_dir), "--certificate-chain", str(stranger.root))
    assert r.exit_code == 1 and "does not chain" in r.stderr


def test_certificate_must_match_key(model_dir: Path, cert_chain: CertChain, keypair: KeyPair) -> None:
    with pytest.raises(InputError, match="does not match"):
        sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), signing_cert=str(cert_chain.leaf))


def test_single_file_model(tmp_path: Path, keypair: KeyPair) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(os.urandom(200_000))
    res = sign_model(weights, SignerSpec(key_path=str(keypair.private)))
    assert res.signature_path == tmp_path / "model.sig" == default_signature_path(weights)
    stmt = _statement(res.signature_path)
    assert stmt["subject"][0]["name"] == "model.gguf"
    assert [r["name"] for r in stmt["predicate"]["resources"]] == ["."]
    (tmp_path / "unrelated.txt").write_text("siblings are not part of a single-file model")
    assert verify_model(weights, IdentitySpec(key_path=str(keypair.public)), TrustSpec()).files == 1
    weights.write_bytes(weights.read_bytes() + b"x")
    r = run_cli("verify", "model", str(weights), "--key", str(keypair.public))
    assert r.exit_code == 1 and "changed (digest differs): ." in r.stderr


def test_symlinks_refused_unless_allowed(model_dir: Path, keypair: KeyPair) -> None:
    (model_dir / "alias.safetensors").symlink_to("model.safetensors")
    r = run_cli("sign", "model", str(model_dir), "--key", str(keypair.private))
    assert r.exit_code == 2
    assert "symbolic link" in r.stderr and "alias.safetensors" in r.stderr and "--allow-symlinks" in r.stderr
    assert not (model_dir / "model.sig").exists()
    r = run_cli("sign", "model", str(model_dir), "--key", str(keypair.private), "--allow-symlinks")
    assert r.exit_code == 0, r.stderr
    stmt = _statement(model_dir / "model.sig")
    assert stmt["predicate"]["serialization"]["allow_symlinks"] is True
    res = {x["name"]: x["digest"] for x in stmt["predicate"]["resources"]}
    assert res["alias.safetensors"] == res["model.safetensors"]
    assert run_cli("verify", "model", str(model_dir), "--key", str(keypair.public)).exit_code == 0


def test_ignore_paths_recorded_and_honoured(model_dir: Path, keypair: KeyPair) -> None:
    (model_dir / "README.md").write_text("notes\n")
    (model_dir / "logs").mkdir()
    (model_dir / "logs" / "train.log").write_text("step 1\n")
    r = run_cli("sign", "model", str(model_dir), "--key", str(keypair.private), "--ignore-paths", "README.md",
                "--ignore-paths", str(model_dir / "logs"))
    assert r.exit_code == 0, r.stderr
    ser = _statement(model_dir / "model.sig")["predicate"]["serialization"]
    assert {"README.md", "logs"} <= set(ser["ignore_paths"])
    (model_dir / "README.md").write_text("edited after signing\n")
    (model_dir / "logs" / "more.log").write_text("step 2\n")
    r = run_cli("verify", "model", str(model_dir), "--key", str(keypair.public))
    assert r.exit_code == 0, r.stderr


def test_ignore_paths_outside_model_refused(model_dir: Path, keypair: KeyPair) -> None:
    r = run_cli("sign", "model", str(model_dir), "--key", str(keypair.private), "--ignore-paths", "../x")
    assert r.exit_code == 2 and "not inside the model" in r.stderr


def test_signature_elsewhere_and_ignore_unsigned(model_dir: Path, keypair: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "sigs" / "tiny.sig"
    sig.parent.mkdir()
    r = run_cli("sign", "model", str(model_dir), "--key", str(keypair.private), "--signature", str(sig))
    assert r.exit_code == 0, r.stderr
    assert "model.sig" not in _statement(sig)["predicate"]["serialization"]["ignore_paths"]
    (model_dir / "new.bin").write_bytes(b"unsigned")
    r = run_cli("verify", "model", str(model_dir), "--key", str(keypair.public), "--signature", str(sig))
    assert r.exit_code == 1 and "added (not in the signature): new.bin" in r.stderr
    r = run_cli("verify", "model", str(model_dir), "--key", str(keypair.public), "--signature", str(sig),
                "--ignore-unsigned-files")
    assert r.exit_code == 0, r.stderr


def test_blake3_and_shards_round_trip(model_dir: Path, keypair: KeyPair) -> None:
    res = sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), hash_algorithm="blake3")
    stmt = _statement(res.signature_path)
    assert stmt["predicate"]["serialization"]["hash_type"] == "blake3"
    assert {r["algorithm"] for r in stmt["predicate"]["resources"]} == {"blake3"}
    verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec())

    res = sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), shard_size=1_000_000)
    stmt = _statement(res.signature_path)
    names = [r["name"] for r in stmt["predicate"]["resources"]]
    assert "model.safetensors:3000000:3000001" in names and "empty.txt:0:0" not in names
    assert {r["algorithm"] for r in stmt["predicate"]["resources"]} == {"sha256-sharded-1000000"}
    verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec())
    with open(model_dir / "model.safetensors", "r+b") as fh:
        fh.seek(1_500_000)
        fh.write(b"\0\0\0\0")
    with pytest.raises(VerificationError, match=r"changed \(digest differs\): model.safetensors"):
        verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec())


def test_missing_verification_method_is_usage_error(model_dir: Path, keypair: KeyPair) -> None:
    sign_model(model_dir, SignerSpec(key_path=str(keypair.private)))
    r = run_cli("verify", "model", str(model_dir), "--offline")
    assert r.exit_code == 2 and "Traceback" not in r.stderr


def test_key_signature_checked_with_cert_chain_fails(model_dir: Path, keypair: KeyPair, cert_chain: CertChain) -> None:
    sign_model(model_dir, SignerSpec(key_path=str(keypair.private)))
    r = run_cli("verify", "model", str(model_dir), "--certificate-chain", str(cert_chain.root))
    assert r.exit_code == 1 and "no certificate" in r.stderr


def test_no_signature(model_dir: Path, keypair: KeyPair) -> None:
    r = run_cli("verify", "model", str(model_dir), "--key", str(keypair.public))
    assert r.exit_code == 2 and "model.sig" in r.stderr


def test_copied_model_still_verifies(model_dir: Path, keypair: KeyPair, tmp_path: Path) -> None:
    sign_model(model_dir, SignerSpec(key_path=str(keypair.private)))
    moved = tmp_path / "renamed"
    shutil.copytree(model_dir, moved)
    verify_model(moved, IdentitySpec(key_path=str(keypair.public)), TrustSpec())


def test_progress_bar_only_on_a_terminal(model_dir: Path, keypair: KeyPair) -> None:
    import pty
    import subprocess
    import sys

    try:
        master, slave = pty.openpty()
    except OSError as exc:
        pytest.skip(f"no pseudo-terminal available: {exc}")
    try:
        proc = subprocess.run([sys.executable, "-m", "supplychain", "sign", "model", str(model_dir), "--key",
                               str(keypair.private)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=slave, timeout=60)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert b"hashing [" in out and b"100.0%" in out
    r = run_cli("sign", "model", str(model_dir), "--key", str(keypair.private))  # stderr is a pipe
    assert r.exit_code == 0 and "hashing [" not in r.stderr


def test_git_paths_signed_when_asked(model_dir: Path, keypair: KeyPair) -> None:
    r = run_cli("sign", "model", str(model_dir), "--key", str(keypair.private), "--no-ignore-git-paths")
    assert r.exit_code == 0, r.stderr
    stmt = _statement(model_dir / "model.sig")
    names = {x["name"] for x in stmt["predicate"]["resources"]}
    assert {".git/HEAD", ".gitattributes"} <= names
    assert stmt["predicate"]["serialization"]["ignore_paths"] == ["model.sig"]
    assert run_cli("verify", "model", str(model_dir), "--key", str(keypair.public)).exit_code == 0
    (model_dir / ".git" / "HEAD").write_text("ref: refs/heads/evil\n")
    r = run_cli("verify", "model", str(model_dir), "--key", str(keypair.public))
    assert r.exit_code == 1 and "changed (digest differs): .git/HEAD" in r.stderr


def _sign_statement(stmt: dict, key_path: Path, sig: Path) -> None:
    """A key-signed model signature over an arbitrary (hostile) statement."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from supplychain.signing.dsse import pae
    from supplychain.signing.model import model_key_hint

    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    payload = json.dumps(stmt).encode()
    doc = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
           "verificationMaterial": {"publicKey": {"hint": model_key_hint(key.public_key())}, "tlogEntries": []},
           "dsseEnvelope": {"payload": base64.b64encode(payload).decode(), "payloadType": "application/vnd.in-toto+json",
                            "signatures": [{"sig": base64.b64encode(key.sign(pae("application/vnd.in-toto+json", payload), ec.ECDSA(hashes.SHA256()))).decode(),
                                            "keyid": ""}]}}
    sig.write_text(json.dumps(doc))


def test_hostile_signed_names_and_shard_sizes(model_dir: Path, keypair: KeyPair, tmp_path: Path) -> None:
    res = sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), signature=tmp_path / "good.sig")
    stmt = _statement(res.signature_path)
    # names that point outside the model are only compared, never opened
    stmt["predicate"]["resources"].append({"name": "../../etc/passwd", "algorithm": "sha256", "digest": "00" * 32})
    import hashlib

    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in stmt["predicate"]["resources"]))
    stmt["subject"][0]["digest"]["sha256"] = root.hexdigest()
    _sign_statement(stmt, keypair.private, tmp_path / "evil.sig")
    with pytest.raises(VerificationError, match=r"removed \(signed but missing\): \.\./\.\./etc/passwd"):
        verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec(),
                     signature=tmp_path / "evil.sig")
    # a subject digest that does not match the resources
    stmt["subject"][0]["digest"]["sha256"] = "00" * 32
    _sign_statement(stmt, keypair.private, tmp_path / "evil.sig")
    with pytest.raises(VerificationError, match="inconsistent"):
        verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec(),
                     signature=tmp_path / "evil.sig")
    # a 1-byte shard size would mean millions of shards: refused, not attempted
    stmt = _statement(res.signature_path)
    stmt["predicate"]["serialization"].update({"method": "shards", "shard_size": 1})
    stmt["predicate"]["resources"] = []
    stmt["subject"][0]["digest"]["sha256"] = hashlib.sha256(b"").hexdigest()
    _sign_statement(stmt, keypair.private, tmp_path / "evil.sig")
    with pytest.raises(InputError, match="shards"):
        verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec(),
                     signature=tmp_path / "evil.sig")


def test_hostile_bundles_fail_cleanly(model_dir: Path, keypair: KeyPair, cert_chain: CertChain,
                                      tmp_path: Path) -> None:
    """Every field of a key or certificate bundle replaced by junk: exit-1/2 errors, never a crash."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    key_sig = sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), signature=tmp_path / "k.sig")
    cert_sig = sign_model(model_dir, SignerSpec(key_path=str(cert_chain.key)), signature=tmp_path / "c.sig",
                          signing_cert=str(cert_chain.leaf), certificate_chain=[str(cert_chain.intermediate)])
    docs = [json.loads(key_sig.signature_path.read_text()), json.loads(cert_sig.signature_path.read_text())]
    junk = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                        max_leaves=8)

    def paths(d: object, prefix: tuple = ()) -> list[tuple]:
        out = [prefix] if prefix else []
        if isinstance(d, dict):
            for k, v in d.items():
                out += paths(v, (*prefix, k))
        elif isinstance(d, list):
            for i, v in enumerate(d):
                out += paths(v, (*prefix, i))
        return out

    target = tmp_path / "hostile.sig"

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(which=st.integers(0, 1), data=st.data(), value=junk)
    def check(which: int, data: st.DataObject, value: object) -> None:
        doc = json.loads(json.dumps(docs[which]))
        path = data.draw(st.sampled_from(paths(doc)))
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        target.write_text(json.dumps(doc))
        ident = IdentitySpec(key_path=str(keypair.public)) if which == 0 else IdentitySpec()
        chain = [] if which == 0 else [str(cert_chain.root)]
        try:
            verify_model(model_dir, ident, TrustSpec(), signature=target, certificate_chain=chain)
        except (VerificationError, InputError):
            pass

    check()


@pytest.mark.parametrize("change", ["add-empty", "remove-empty", "add-data", "remove-data"])
def test_shard_signatures_detect_added_and_removed_files(model_dir: Path, keypair: KeyPair, change: str) -> None:
    """Shard manifests have no resource for an empty file; our shard signatures list every file."""
    (model_dir / "empty.bin").write_bytes(b"")
    sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), shard_size=1024)
    verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec())
    if change == "add-empty":
        (model_dir / "new-empty.bin").write_bytes(b"")
        expect = "added (not in the signature): new-empty.bin"
    elif change == "remove-empty":
        (model_dir / "empty.bin").unlink()
        expect = "removed (signed but missing): empty.bin"
    elif change == "add-data":
        (model_dir / "new.bin").write_bytes(b"x" * 3000)
        expect = "added (not in the signature): new.bin"
    else:
        (model_dir / "model.safetensors").unlink()
        expect = "removed (signed but missing): model.safetensors"
    with pytest.raises(VerificationError, match=re.escape(expect)):
        verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec())


def test_shard_file_list_is_signed(model_dir: Path, keypair: KeyPair) -> None:
    """The file list is inside the signed payload: editing it breaks the signature."""
    sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), shard_size=1024)
    sig = model_dir / "model.sig"
    doc = json.loads(sig.read_text())
    stmt = _statement(sig)
    from supplychain.signing.model_manifest import FILES_KEY

    assert "model.safetensors" in stmt["predicate"][FILES_KEY]
    stmt["predicate"][FILES_KEY].append("extra.bin")
    doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    sig.write_text(json.dumps(doc))
    with pytest.raises(VerificationError, match="does not verify"):
        verify_model(model_dir, IdentitySpec(key_path=str(keypair.public)), TrustSpec())


def test_certificate_chain_signatures_enforce_the_expected_identity(model_dir: Path, keys_dir: Path) -> None:
    """--cert-identity(-regexp) given with --certificate-chain is checked (SAN, else the subject DN)."""
    from tests.model.conftest import make_chain

    chain = make_chain(keys_dir, prefix="ident-")
    sign_model(model_dir, SignerSpec(key_path=str(chain.key)), signing_cert=str(chain.leaf),
               certificate_chain=[str(chain.intermediate)])
    base = ["verify", "model", str(model_dir), "--certificate-chain", str(chain.root)]
    assert run_cli(*base).exit_code == 0
    assert run_cli(*base, "--cert-identity", "CN=ident-model-signer").exit_code == 0
    assert run_cli(*base, "--cert-identity-regexp", "^CN=ident-model").exit_code == 0
    r = run_cli(*base, "--cert-identity", "CN=someone-else")
    assert r.exit_code == 1 and "someone-else" in r.stderr, r.stderr
    r = run_cli(*base, "--cert-identity-regexp", "^CN=release-")
    assert r.exit_code == 1 and "does not match" in r.stderr, r.stderr
