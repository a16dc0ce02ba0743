"""--legacy-tags: also write cosign v2 sha256-<hex>.sig / .att tags, read back by our legacy
verifier (key + local Rekor SET, and keyless from the local Sigstore)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplychain.signing.formats import cosign as cs
from tests.conftest import run_cli
from tests.image_signing.conftest import ENV
from tests.sigstore_local import LocalSigstore

pytestmark = pytest.mark.registry


def test_key_legacy_tags_with_rekor(local_sigstore: LocalSigstore, push, keys, client, registry,  # type: ignore[no-untyped-def]
                                    tmp_path: Path) -> None:
    ls = local_sigstore
    ref, digest = push("legacy-out/app")
    env = {**ENV, "SUPPLYCHAIN_TLOG_UPLOAD": "true"}
    key = ["--key", str(keys["release"].private), "--rekor-url", ls.url, "--legacy-tags"]
    assert run_cli("sign", "image", ref, *key, env=env).exit_code == 0
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps({"buildDefinition": {"buildType": "https://example.com/b/v1"}, "runDetails": {}}))
    r = run_cli("attest", "image", ref, "--predicate", str(pred), "--type", "slsaprovenance1", *key, env=env)
    assert r.exit_code == 0, r.stderr
    for suffix, media in ((".sig", cs.SIMPLE_SIGNING_MEDIA_TYPE), (".att", cs.DSSE_LAYER_MEDIA_TYPE)):
        manifest = json.loads(client.get_manifest(f"{registry.host}/legacy-out/app:{cs.digest_tag(digest, suffix)}")[0])
        (layer,) = manifest["layers"]
        assert layer["mediaType"] == media and cs.REKOR_BUNDLE_ANNOTATION in layer["annotations"]
    # both layouts verify, each with its Rekor time
    v = run_cli("verify", "image", ref, "--key", str(keys["release"].public), "--trusted-root", str(ls.trusted_root),
                "--attestation", "slsaprovenance1", "--json")
    assert v.exit_code == 0, v.stdout + v.stderr
    doc = json.loads(v.stdout)
    sources = sorted((f["source"], f["signer"]["time_source"]) for f in doc["signatures"] + doc["attestations"]
                     if f["trusted"])
    assert sources == [("legacy .att", "rekor"), ("legacy .sig", "rekor"), ("referrer", "rekor"),
                       ("referrer", "rekor")]


def test_keyless_legacy_sig(local_sigstore: LocalSigstore, push) -> None:  # type: ignore[no-untyped-def]
    ls = local_sigstore
    ref, _ = push("legacy-out/keyless")
    r = run_cli("sign", "image", ref, "--trust-config", str(ls.trust_config), "--identity-token", ls.token(),
                "--legacy-tags")
    assert r.exit_code == 0, r.stderr
    v = run_cli("verify", "image", ref, "--trusted-root", str(ls.trusted_root), "--offline",
                "--cert-identity", ls.subject, "--cert-oidc-issuer", ls.issuer, "--json")
    assert v.exit_code == 0, v.stdout + v.stderr
    doc = json.loads(v.stdout)
    assert sorted(s["source"] for s in doc["signatures"] if s["trusted"]) == ["legacy .sig", "referrer"]
