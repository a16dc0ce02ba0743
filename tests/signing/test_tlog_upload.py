"""Key signatures are logged to Rekor by default, as cosign does (the local Sigstore's Rekor here),
and verified with their log entry by us and by sigstore-js (tlog threshold 1)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from supplychain.signing.keys import generate_keypair
from tests.conftest import run_cli
from tests.sigstore_local import JS_DIR, LocalSigstore

PW = {"SUPPLYCHAIN_PASSWORD": "pw", "SUPPLYCHAIN_TLOG_UPLOAD": "true"}


def _js_key_verify(bundle: Path, root: Path, artifact: Path, key: Path) -> subprocess.CompletedProcess[str]:
    args = [shutil.which("node") or "node", str(JS_DIR / "verify.mjs"), "--bundle", str(bundle), "--trusted-root",
            str(root), "--artifact", str(artifact), "--key", str(key), "--tlog-threshold", "1"]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=JS_DIR)


def test_key_signed_blob_is_logged_by_default(local_sigstore: LocalSigstore, tmp_path: Path) -> None:
    ls = local_sigstore
    kp = generate_keypair(str(tmp_path / "k"), password=b"pw")
    art = tmp_path / "release.tar.gz"
    art.write_bytes(b"release\n")
    r = run_cli("sign", "blob", str(art), "--key", str(kp.private), "--rekor-url", ls.url, env=PW)
    assert r.exit_code == 0, r.stderr
    assert "log index" in r.stderr
    bundle = Path(str(art) + ".sigstore.json")
    doc = json.loads(bundle.read_text())
    (entry,) = doc["verificationMaterial"]["tlogEntries"]
    assert entry["kindVersion"] == {"kind": "hashedrekord", "version": "0.0.1"}
    v = run_cli("verify", "blob", str(art), "--key", str(kp.public), "--trusted-root", str(ls.trusted_root))
    assert v.exit_code == 0, v.stderr
    assert "(transparency log)" in v.stdout and "1 log entry" in v.stdout
    js = _js_key_verify(bundle, ls.trusted_root, art, kp.public)
    assert js.returncode == 0, js.stderr
    # the log entry is checked: a root without this Rekor refuses it
    other = tmp_path / "root.json"
    root = json.loads(ls.trusted_root.read_text())
    root["tlogs"] = []
    other.write_text(json.dumps(root))
    v = run_cli("verify", "blob", str(art), "--key", str(kp.public), "--trusted-root", str(other))
    assert v.exit_code == 1 and "not in the trusted root" in v.stderr, v.stderr


def test_tlog_upload_false_says_what_a_verifier_needs(tmp_path: Path) -> None:
    kp = generate_keypair(str(tmp_path / "k"), password=b"pw")
    art = tmp_path / "a.txt"
    art.write_bytes(b"a\n")
    r = run_cli("sign", "blob", str(art), "--key", str(kp.private), "--tlog-upload=false", env=PW)
    assert r.exit_code == 0, r.stderr
    assert "not logged to Rekor" in r.stderr and "--insecure-ignore-tlog" in r.stderr
    assert json.loads(Path(str(art) + ".sigstore.json").read_text())["verificationMaterial"]["tlogEntries"] == []
    v = run_cli("verify", "blob", str(art), "--key", str(kp.public))
    assert v.exit_code == 0 and "signing time not attested" in v.stdout, v.stdout + v.stderr
    # a dead Rekor is a network failure (exit 3) naming it, not a traceback
    r = run_cli("sign", "blob", str(art), "--key", str(kp.private), "--rekor-url", "http://127.0.0.1:9",
                "--bundle", str(tmp_path / "b.json"), env=PW)
    assert r.exit_code == 3 and "127.0.0.1:9" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "b.json").exists()
    r = run_cli("sign", "blob", str(art), "--tlog-upload=false", "--identity-token", "x", env=PW)
    assert r.exit_code == 2 and "--tlog-upload" in r.stderr, r.stderr
