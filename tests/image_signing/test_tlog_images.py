"""Key-signed image signatures and attestations are logged to Rekor by default (local Sigstore)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.image_signing.conftest import ENV
from tests.sigstore_local import LocalSigstore

pytestmark = pytest.mark.registry
UPLOAD = {**ENV, "SUPPLYCHAIN_TLOG_UPLOAD": "true"}


def test_key_signed_image_and_attestation_are_logged(local_sigstore: LocalSigstore, push, keys,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    ls = local_sigstore
    ref, _ = push("tlog/app")
    r = run_cli("sign", "image", ref, "--key", str(keys["release"].private), "--rekor-url", ls.url, env=UPLOAD)
    assert r.exit_code == 0, r.stderr
    assert "log index" in r.stderr
    pred = tmp_path / "prov.json"
    pred.write_text(json.dumps({"buildDefinition": {"buildType": "https://example.com/b/v1"}, "runDetails": {}}))
    r = run_cli("attest", "image", ref, "--predicate", str(pred), "--type", "slsaprovenance1",
                "--key", str(keys["release"].private), "--rekor-url", ls.url, env=UPLOAD)
    assert r.exit_code == 0, r.stderr
    v = run_cli("verify", "image", ref, "--key", str(keys["release"].public), "--trusted-root", str(ls.trusted_root),
                "--attestation", "slsaprovenance1", "--json")
    assert v.exit_code == 0, v.stdout + v.stderr
    doc = json.loads(v.stdout)
    assert [s["signer"]["time_source"] for s in doc["signatures"] if s["trusted"]] == ["rekor"]
    assert [a["signer"]["time_source"] for a in doc["attestations"] if a["trusted"]] == ["rekor"]
    text = run_cli("verify", "image", ref, "--key", str(keys["release"].public), "--trusted-root",
                   str(ls.trusted_root))
    assert "(rekor)" in text.stdout and "not attested" not in text.stdout, text.stdout
    # without a trusted root at hand the key still anchors it; the time is then not attested
    plain = run_cli("verify", "image", ref, "--key", str(keys["release"].public))
    assert plain.exit_code == 0 and "signing time not attested" in plain.stdout, plain.stdout + plain.stderr


def test_key_signed_image_without_upload(push, keys) -> None:  # type: ignore[no-untyped-def]
    ref, _ = push("tlog/off")
    r = run_cli("sign", "image", ref, "--key", str(keys["release"].private), "--tlog-upload=false", env=UPLOAD)
    assert r.exit_code == 0 and "not logged to Rekor" in r.stderr, r.stderr
