"""Re-running sign/attest with the same key and content does not stack referrers; --type checks
the predicate is that kind of document; COSIGN_PASSWORD / COSIGN_KEY work like cosign's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.image_signing.conftest import ENV, PASSWORD

pytestmark = pytest.mark.registry


def test_rerun_does_not_stack_referrers(push, keys, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ref, digest = push("idem/app")
    key = ["--key", str(keys["release"].private)]
    bom = tmp_path / "bom.json"
    bom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                               "components": [{"type": "library", "name": f"c{i}", "version": "1"}
                                              for i in range(200)]}))
    for _ in range(2):
        assert run_cli("sign", "image", ref, *key, env=ENV).exit_code == 0
        assert run_cli("attest", "image", ref, "--predicate", str(bom), "--type", "cyclonedx", *key,
                       env=ENV).exit_code == 0
        # a large SBOM: stored by reference (blob referrer + reference attestation)
        assert run_cli("attest", "image", ref, "--predicate", str(bom), "--type", "cyclonedx", "--detach-over",
                       "1024", *key, env=ENV).exit_code == 0
    assert len(client.referrers(ref, digest)) == 4  # signature, attestation, SBOM blob, reference attestation
    # another key is another signer: one more
    assert run_cli("sign", "image", ref, "--key", str(keys["other"].private), env=ENV).exit_code == 0
    assert len(client.referrers(ref, digest)) == 5
    v = run_cli("verify", "image", ref, "--key", str(keys["release"].public), "--attestation", "cyclonedx",
                "--output-attestation", str(tmp_path / "out.json"))
    assert v.exit_code == 0, v.stdout + v.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == json.loads(bom.read_text())


@pytest.mark.parametrize(("ptype", "doc"), [
    ("cyclonedx", {"spdxVersion": "SPDX-2.3"}),
    ("spdx", {"bomFormat": "CycloneDX"}),
    ("slsaprovenance", {"buildDefinition": {}, "runDetails": {}}),  # v1 content for cosign's v0.2 name
    ("slsaprovenance1", {"builder": {"id": "x"}, "buildType": "y"}),
    ("openvex", {"statements": []}),
])
def test_attest_type_checks_the_predicate(push, keys, tmp_path: Path, ptype: str, doc: dict) -> None:  # type: ignore[no-untyped-def, type-arg]
    ref, _ = push("idem/kinds")
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps(doc))
    r = run_cli("attest", "image", ref, "--predicate", str(pred), "--type", ptype,
                "--key", str(keys["release"].private), env=ENV)
    assert r.exit_code == 2 and f"--type {ptype}" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_cosign_password_and_key_variables(push, keys) -> None:  # type: ignore[no-untyped-def]
    ref, _ = push("idem/cosignenv")
    env = {"COSIGN_PASSWORD": PASSWORD, "COSIGN_KEY": str(keys["release"].private), "SUPPLYCHAIN_PASSWORD": ""}
    env.pop("SUPPLYCHAIN_PASSWORD")
    r = run_cli("sign", "image", ref, env=env)
    assert r.exit_code == 0, r.stderr
    assert run_cli("verify", "image", ref, "--key", str(keys["release"].public)).exit_code == 0
