"""verify blob / verify model: --format text|json (--json kept as an alias)."""

from __future__ import annotations

import json
from pathlib import Path

from supplychain.signing.keys import generate_keypair
from tests.conftest import run_cli

PW = {"SUPPLYCHAIN_PASSWORD": "pw"}


def test_verify_blob_and_model_json(tmp_path: Path) -> None:
    kp = generate_keypair(str(tmp_path / "k"), password=b"pw")
    art = tmp_path / "a.txt"
    art.write_bytes(b"a\n")
    assert run_cli("sign", "blob", str(art), "--key", str(kp.private), env=PW).exit_code == 0
    for flag in (["--format", "json"], ["--json"]):
        r = run_cli("verify", "blob", str(art), "--key", str(kp.public), *flag)
        assert r.exit_code == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["verified"] is True and doc["method"] == "key" and doc["signed_at"] is None
        assert doc["key_id"] and doc["tlog_entries"] == 0
    r = run_cli("verify", "blob", str(art), "--key", str(kp.public), "--format", "text")
    assert r.stdout.startswith("Verified OK") and "signing time not attested" in r.stdout
    assert run_cli("verify", "blob", str(art), "--key", str(kp.public), "--json", "--format", "text").exit_code == 2

    model = tmp_path / "m"
    model.mkdir()
    (model / "w.bin").write_bytes(b"w" * 100)
    assert run_cli("sign", "model", str(model), "--key", str(kp.private), env=PW).exit_code == 0
    r = run_cli("verify", "model", str(model), "--key", str(kp.public), "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["verified"] is True and doc["files"] == 1 and doc["method"] == "key"
    assert doc["signer"].startswith("key ") and doc["signer"].endswith("=")  # cosign's key id form
