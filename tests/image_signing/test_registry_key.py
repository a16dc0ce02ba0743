"""Sign, attest and verify images in a real registry (Debian docker-registry 2.8) with keys.

Everything runs through the CLI as a real process, except where the library is the subject.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from supplychain.signing.formats import cosign as cs
from tests.conftest import run_cli
from tests.image_signing.conftest import ENV, KeyPair

pytestmark = pytest.mark.registry


def _sign(ref: str, key: KeyPair) -> Any:
    return run_cli("sign", "image", ref, "--key", str(key.private), env=ENV)


def _verify(ref: str, *args: str) -> Any:
    return run_cli("verify", "image", ref, *args)


def test_sign_then_verify_by_tag_and_digest(push, keys, registry, client) -> None:  # type: ignore[no-untyped-def]
    ref, digest = push("signed/app")
    r = _sign(ref, keys["release"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == f"{registry.host}/signed/app@{digest}"

    # stored the cosign v3 way: a bundle referrer listed in the sha256-<hex> referrers tag index
    index = json.loads(client.get_manifest(f"{registry.host}/signed/app:{cs.digest_tag(digest)}")[0])
    (entry,) = index["manifests"]
    assert entry["artifactType"] == cs.BUNDLE_MEDIA_TYPE
    assert entry["annotations"][cs.CONTENT_ANNOTATION] == "dsse-envelope"
    manifest = json.loads(client.get_manifest(f"{registry.host}/signed/app@{entry['digest']}")[0])
    assert manifest["subject"]["digest"] == digest
    assert manifest["config"]["digest"] == cs.EMPTY_DIGEST
    bundle = json.loads(client.get_blob_bytes(f"{registry.host}/signed/app", manifest["layers"][0]["digest"]))
    assert bundle["mediaType"] == cs.BUNDLE_MEDIA_TYPE
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert statement["predicateType"] == cs.SIGN_PREDICATE_TYPE
    assert statement["subject"][0]["digest"] == {"sha256": digest[7:]}

    for target in (ref, f"{registry.host}/signed/app@{digest}"):
        v = _verify(target, "--key", str(keys["release"].public), "--json")
        assert v.exit_code == 0, v.stderr
        doc = json.loads(v.stdout)
        assert doc["verified"] is True and doc["digest"] == digest
        (sig,) = doc["signatures"]
        assert sig["trusted"] and sig["signer"]["kind"] == "key"
    text = _verify(ref, "--key", str(keys["release"].public))
    assert "VERIFIED" in text.stdout and digest in text.stdout


def test_wrong_key_unsigned_and_moved_tag_fail(push, keys, registry) -> None:  # type: ignore[no-untyped-def]
    ref, digest = push("signed/wrong")
    assert _sign(ref, keys["release"]).exit_code == 0
    r = _verify(ref, "--key", str(keys["other"].public))
    assert r.exit_code == 1
    assert "signed with another key" in r.stderr

    unsigned, _ = push("signed/unsigned")
    r = _verify(unsigned, "--key", str(keys["release"].public))
    assert r.exit_code == 1 and "no signature found" in r.stderr

    # the tag moves to a new, unsigned image: the old signature is for another digest
    moved, new_digest = push("signed/wrong", content="something else")
    assert moved == ref and new_digest != digest
    r = _verify(ref, "--key", str(keys["release"].public))
    assert r.exit_code == 1 and "no signature found" in r.stderr
    assert _verify(f"{registry.host}/signed/wrong@{digest}", "--key", str(keys["release"].public)).exit_code == 0


def test_signature_copied_to_another_image_is_rejected(push, keys, registry, client) -> None:  # type: ignore[no-untyped-def]
    """A valid signature bundle attached as a referrer of a different digest must not count."""
    from supplychain.oci.descriptor import Descriptor
    from supplychain.oci.reference import parse_reference

    ref_a, digest_a = push("copy/app")
    ref_b, digest_b = push("copy/app", tag="2.0")
    assert _sign(ref_a, keys["release"]).exit_code == 0
    repo = parse_reference(ref_a)
    index = json.loads(client.get_manifest(f"{registry.host}/copy/app:{cs.digest_tag(digest_a)}")[0])
    sig_manifest = json.loads(client.get_manifest(f"{registry.host}/copy/app@{index['manifests'][0]['digest']}")[0])
    # re-point the same bundle at image B
    sig_manifest["subject"] = {"mediaType": cs.OCI_MANIFEST, "digest": digest_b,
                               "size": len(client.get_manifest(ref_b)[0])}
    raw = json.dumps(sig_manifest).encode()
    d = client.put_manifest(repo, "sha256:" + hashlib.sha256(raw).hexdigest(), raw, cs.OCI_MANIFEST)
    client.add_referrer_to_tag_index(repo, digest_b, Descriptor(cs.OCI_MANIFEST, d, len(raw),
                                                                artifact_type=cs.BUNDLE_MEDIA_TYPE))
    r = _verify(ref_b, "--key", str(keys["release"].public), "--json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert "not " + digest_b in doc["signatures"][0]["reason"]


def test_tampered_manifest_is_rejected(push, keys, registry) -> None:  # type: ignore[no-untyped-def]
    """The registry answers a digest request with other bytes: exit 1, never trusted."""
    ref, digest = push("tamper/app")
    assert _sign(ref, keys["release"]).exit_code == 0
    # corrupt the stored manifest blob behind the registry's back
    data = registry.root / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256" / digest[7:9] / digest[7:] / "data"
    original = data.read_bytes()
    data.write_bytes(original.replace(b'"schemaVersion": 2', b'"schemaVersion":  2'))
    try:
        r = _verify(f"{registry.host}/tamper/app@{digest}", "--key", str(keys["release"].public))
        assert r.exit_code == 1, r.stderr
        assert "does not match" in r.stderr or "tampered" in r.stderr
    finally:
        data.write_bytes(original)


def test_attest_sbom_and_output_it(push, keys, registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ref, digest = push("attest/app")
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
           "components": [{"type": "library", "name": "openssl", "version": "3.0.11",
                           "purl": "pkg:deb/debian/openssl@3.0.11"}]}
    (tmp_path / "bom.json").write_text(json.dumps(bom))
    prov = {"buildDefinition": {"buildType": "https://example.com/build/v1"}, "runDetails": {}}
    (tmp_path / "prov.json").write_text(json.dumps(prov))
    assert _sign(ref, keys["release"]).exit_code == 0
    r = run_cli("attest", "image", ref, "--predicate", str(tmp_path / "bom.json"), "--type", "cyclonedx",
                "--key", str(keys["release"].private), env=ENV)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip().endswith(digest)
    r = run_cli("attest", "image", ref, "--predicate", str(tmp_path / "prov.json"), "--type", "slsaprovenance1",
                "--key", str(keys["release"].private), env=ENV)
    assert r.exit_code == 0, r.stderr

    out = tmp_path / "verified-bom.json"
    v = _verify(ref, "--key", str(keys["release"].public), "--attestation", "cyclonedx",
                "--attestation", "slsaprovenance1", "--output-attestation", str(out), "--json")
    assert v.exit_code == 0, v.stderr
    assert json.loads(out.read_text()) == bom
    doc = json.loads(v.stdout)
    assert sorted(a["type"] for a in doc["attestations"] if a["trusted"]) == ["cyclonedx", "slsaprovenance1"]

    # a required attestation that is not there
    v = _verify(ref, "--key", str(keys["release"].public), "--attestation", "spdx")
    assert v.exit_code == 1 and "required attestation spdx" in v.stderr
    # attestations by another key do not count
    v = _verify(ref, "--key", str(keys["other"].public), "--attestation", "cyclonedx")
    assert v.exit_code == 1


def test_large_sbom_is_detached_and_digest_checked(push, keys, registry, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ref, digest = push("attest/big")
    components = [{"type": "library", "name": f"pkg{i}", "version": "1.0", "purl": f"pkg:npm/pkg{i}@1.0",
                   "description": "x" * 200} for i in range(12000)]
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(bom))
    assert path.stat().st_size > 2 * 1024 * 1024
    assert _sign(ref, keys["release"]).exit_code == 0
    r = run_cli("attest", "image", ref, "--predicate", str(path), "--type", "cyclonedx",
                "--key", str(keys["release"].private), env=ENV)
    assert r.exit_code == 0, r.stderr
    assert "stored as blob" in r.stderr
    # the signed statement stays small
    from supplychain.oci.reference import parse_reference

    repo = parse_reference(ref)
    refs = client.referrers(repo, digest)
    bundles = [d for d in refs if d.artifact_type == cs.BUNDLE_MEDIA_TYPE]
    sizes = []
    for d in bundles:
        m = json.loads(client.get_manifest(f"{registry.host}/attest/big@{d.digest}")[0])
        sizes.append(m["layers"][0]["size"])
    assert max(sizes) < 16 * 1024
    out = tmp_path / "out.json"
    v = _verify(ref, "--key", str(keys["release"].public), "--attestation", "cyclonedx",
                "--output-attestation", str(out))
    assert v.exit_code == 0, v.stderr
    assert out.read_bytes() == path.read_bytes()

    # swap the stored SBOM blob for other bytes: the signed digest no longer matches
    blob_digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    data = registry.root / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256" / blob_digest[7:9] / blob_digest[7:] / "data"
    original = data.read_bytes()
    data.write_bytes(original.replace(b"pkg1", b"evil", 1))
    try:
        v = _verify(ref, "--key", str(keys["release"].public), "--attestation", "cyclonedx")
        assert v.exit_code == 1
        assert "digest" in v.stderr
    finally:
        data.write_bytes(original)


def test_sbom_from_image(registry, client, keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.imagebuild import File, build_image, push_image

    status = (b"Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\n"
              b"Architecture: amd64\nMaintainer: Debian <debian@example.org>\n\n")
    image = build_image([[File("etc/os-release", b'ID=debian\nVERSION_ID="12"\n'),
                          File("var/lib/dpkg/status", status)]])
    ref = f"{registry.host}/attest/sbom:1.0"
    digest = push_image(client, ref, image)
    r = run_cli("attest", "image", ref, "--sbom-from-image", "--key", str(keys["release"].private), env=ENV)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == f"{registry.host}/attest/sbom@{digest}"
    assert _sign(ref, keys["release"]).exit_code == 0
    out = tmp_path / "sbom.json"
    v = _verify(ref, "--key", str(keys["release"].public), "--attestation", "cyclonedx",
                "--output-attestation", str(out))
    assert v.exit_code == 0, v.stderr
    bom = json.loads(out.read_text())
    purls = [c.get("purl", "") for c in bom["components"]]
    assert any(p.startswith("pkg:deb/debian/openssl@3.0.11-1~deb12u2") for p in purls), purls


def test_multi_platform_index_is_signed_by_index_digest(registry, client, keys) -> None:  # type: ignore[no-untyped-def]
    from tests.imagebuild import File, build_image, build_index, push_image

    index = build_index([build_image([[File("a", b"amd64")]], arch="amd64"),
                         build_image([[File("a", b"arm64")]], arch="arm64", variant="v8")])
    ref = f"{registry.host}/multi/app:1.0"
    digest = push_image(client, ref, index)
    assert digest == index.index_digest
    r = _sign(ref, keys["release"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == f"{registry.host}/multi/app@{digest}"
    v = _verify(ref, "--key", str(keys["release"].public), "--json")
    assert v.exit_code == 0, v.stderr
    assert json.loads(v.stdout)["digest"] == digest
    # a platform manifest inside it is a different digest, not covered by the index signature
    amd64 = index.images[0].manifest_digest
    v = _verify(f"{registry.host}/multi/app@{amd64}", "--key", str(keys["release"].public))
    assert v.exit_code == 1 and "no signature found" in v.stderr
