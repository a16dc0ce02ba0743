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


def test_a_planted_copy_with_a_bad_signature_is_not_reused(push, keys, client) -> None:  # type: ignore[no-untyped-def]
    """Someone plants a referrer with our key hint and our statement but a broken signature:
    signing again must publish a real signature, not take the planted one for ours."""
    import base64

    from supplychain.oci.reference import parse_reference
    from supplychain.signing.image import RegistryView
    from tests.image_signing.test_junk_referrers import _attach

    ref, digest = push("idem/planted")
    assert run_cli("sign", "image", ref, "--key", str(keys["release"].private), env=ENV).exit_code == 0
    view = RegistryView()
    image = view.resolve(parse_reference(ref))
    (desc,) = client.referrers(ref, digest)
    manifest = json.loads(client.get_manifest(f"{image.reference.name}@{desc.digest}")[0])
    bundle = json.loads(client.get_blob_bytes(ref, manifest["layers"][0]["digest"]))
    sig = bytearray(base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"]))
    sig[-1] ^= 1
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    # replace the good referrer's visibility: a fresh image with only the planted copy
    ref2, digest2 = push("idem/planted2")
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload["subject"][0]["digest"]["sha256"] = digest2[7:]
    payload["subject"][0]["name"] = image.reference.name.replace("planted", "planted2")
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(
        json.dumps(payload, separators=(",", ":")).encode()).decode()
    _attach(ref2, json.dumps(bundle).encode())
    assert run_cli("sign", "image", ref2, "--key", str(keys["release"].private), env=ENV).exit_code == 0
    v = run_cli("verify", "image", ref2, "--key", str(keys["release"].public))
    assert v.exit_code == 0, v.stdout + v.stderr
