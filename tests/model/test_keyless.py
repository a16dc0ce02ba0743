"""Keyless model signing end to end against the local Sigstore (tests/sigstore_local.py): what we
sign verifies with us, with model_signing 1.1.1 (API and CLI, --trust_config) and with sigstore-js."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.sigstore_local import LocalSigstore, js_verify

pytestmark = pytest.mark.npm


def test_keyless_model_round_trip(local_sigstore: LocalSigstore, model_dir: Path) -> None:
    ls = local_sigstore
    r = run_cli("sign", "model", str(model_dir), "--trust-config", str(ls.trust_config),
                "--identity-token", ls.token())
    assert r.exit_code == 0, r.stderr
    sig = model_dir / "model.sig"
    bundle = json.loads(sig.read_text())
    assert bundle["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    assert bundle["verificationMaterial"]["tlogEntries"], "keyless signatures carry a log entry"

    ident = ["--cert-identity", ls.subject, "--cert-oidc-issuer", ls.issuer]
    r = run_cli("verify", "model", str(model_dir), "--trusted-root", str(ls.trusted_root), "--offline", *ident)
    assert r.exit_code == 0, r.stderr
    assert ls.subject in r.stdout
    r = run_cli("verify", "model", str(model_dir), "--trusted-root", str(ls.trusted_root), "--offline",
                "--cert-identity-regexp", r"^https://github\.com/acme/", "--cert-oidc-issuer", ls.issuer)
    assert r.exit_code == 0, r.stderr
    r = run_cli("verify", "model", str(model_dir), "--trusted-root", str(ls.trusted_root), "--offline",
                "--cert-identity", "https://github.com/evil/app", "--cert-oidc-issuer", ls.issuer)
    assert r.exit_code == 1 and "identity" in r.stderr
    # the production root does not trust the local instance
    r = run_cli("verify", "model", str(model_dir), "--offline", *ident)
    assert r.exit_code == 1

    # independent verifiers: sigstore-js (the DSSE bundle) and model_signing (bundle + manifest)
    js = js_verify(sig, ls.trusted_root)
    assert js.returncode == 0, js.stderr
    p = subprocess.run([sys.executable, "-m", "model_signing", "verify", "sigstore", str(model_dir),
                        "--signature", str(sig), "--identity", ls.subject, "--identity_provider", ls.issuer,
                        "--trust_config", str(ls.trust_config)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr + p.stdout

    # tampering is still caught after a valid keyless signature
    (model_dir / "config.json").write_text('{"architectures": ["Evil"]}\n')
    r = run_cli("verify", "model", str(model_dir), "--trusted-root", str(ls.trusted_root), "--offline", *ident)
    assert r.exit_code == 1 and "changed (digest differs): config.json" in r.stderr
