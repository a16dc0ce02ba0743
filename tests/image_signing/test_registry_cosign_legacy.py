"""cosign v2 legacy signatures (../shared/external/cosign) served by the real registry as
``sha256-<hex>.sig`` tags and verified through ``supplychain verify image``.

The signed images' manifests reference layers we do not have, and docker-registry refuses a
manifest whose blobs are missing; so each manifest is seeded into the registry's storage
directory (exactly the bytes cosign signed) and everything else goes through the HTTP API.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from supplychain.signing.formats import cosign as cs
from supplychain.signing.keys import parse_public_key
from tests.conftest import run_cli

pytestmark = pytest.mark.registry


def _seed_manifest(registry: Any, repo: str, manifest: bytes) -> str:
    digest = hashlib.sha256(manifest).hexdigest()
    v2 = registry.root / "data" / "docker" / "registry" / "v2"
    blob = v2 / "blobs" / "sha256" / digest[:2] / digest / "data"
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(manifest)
    link = v2 / "repositories" / repo / "_manifests" / "revisions" / "sha256" / digest / "link"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.write_text("sha256:" + digest)
    return "sha256:" + digest


def _push_sig(client: Any, registry: Any, repo: str, digest: str, layers: list[cs.LegacyLayer]) -> None:
    from supplychain.oci.reference import parse_reference

    ref = parse_reference(f"{registry.host}/{repo}")
    descs = []
    for layer in layers:
        d = "sha256:" + hashlib.sha256(layer.payload).hexdigest()
        client.upload_blob(ref, layer.payload, d)
        descs.append({"mediaType": layer.media_type, "digest": d, "size": len(layer.payload),
                      "annotations": layer.annotations})
    config = json.dumps({"architecture": "", "os": "", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [x["digest"] for x in descs]}}).encode()
    cd = "sha256:" + hashlib.sha256(config).hexdigest()
    client.upload_blob(ref, config, cd)
    manifest = {"schemaVersion": 2, "mediaType": cs.OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd,
                           "size": len(config)},
                "layers": descs}
    client.put_manifest(ref, cs.digest_tag(digest, ".sig"), json.dumps(manifest).encode(), cs.OCI_MANIFEST)


@pytest.fixture(scope="module")
def legacy(registry, external: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient

    client = RegistryClient()
    base = external / "cosign" / "containers-image"
    if not base.is_dir():
        pytest.skip("cosign fixtures not present")
    out: dict[str, str] = {}
    for d in sorted(base.glob("dir-img-*")):
        repo = "legacy/" + d.name.removeprefix("dir-img-cosign-")
        digest = _seed_manifest(registry, repo, (d / "manifest.json").read_bytes())
        layers = [cs.parse_containers_image_signature(p.read_bytes(), source=str(p))
                  for p in sorted(d.glob("signature-*"))]
        _push_sig(client, registry, repo, digest, layers)
        out[d.name.removeprefix("dir-img-cosign-")] = f"{registry.host}/{repo}@{digest}"
    return out


def _key(external: Path, name: str) -> str:
    return str(external / "cosign" / "containers-image" / name)


@pytest.mark.parametrize(("image", "key", "ok"), [
    ("valid", "cosign.pub", True),
    ("valid", "cosign2.pub", False),
    ("valid-with-tag", "cosign.pub", True),
    ("mixed", "cosign.pub", True),
    ("modified-manifest", "cosign.pub", False),
    ("other-attachment", "cosign.pub", False),
])
def test_legacy_key_signatures(legacy: dict[str, str], external: Path, image: str, key: str, ok: bool) -> None:
    r = run_cli("verify", "image", legacy[image], "--key", _key(external, key), "--json")
    assert r.exit_code == (0 if ok else 1), r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert all(s["source"] == "legacy .sig" for s in doc["signatures"])
    if image == "mixed":
        assert [s["trusted"] for s in doc["signatures"]] == [False, True]
    if image == "modified-manifest":
        assert "not for image digest" in doc["signatures"][0]["reason"]
    if image == "other-attachment":
        assert "cosign simple-signing" in doc["signatures"][0]["reason"]


def test_legacy_keyless_fulcio_rekor(legacy: dict[str, str], external: Path) -> None:
    root = str(external / "cosign" / "cosign" / "trusted_root_pgi.json")
    args = ["verify", "image", legacy["fulcio-rekor-valid"], "--trusted-root", root, "--offline"]
    r = run_cli(*args, "--cert-identity", "mitr@redhat.com", "--cert-oidc-issuer", "https://github.com/login/oauth")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "mitr@redhat.com" in r.stdout and "2023-01-20T20:51:33Z" in r.stdout
    r = run_cli(*args, "--cert-identity", "this-does-not-match@example.com",
                "--cert-oidc-issuer", "https://github.com/login/oauth")
    assert r.exit_code == 1 and "not an accepted signer" in r.stderr


def test_legacy_sig_and_att_made_with_our_key(registry, client, push, keys) -> None:  # type: ignore[no-untyped-def]
    """cosign v2 layout written by hand with a key we hold: .sig (simple signing) and .att (DSSE)."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from supplychain.signing.dsse import pae
    from supplychain.signing.keys import load_private_key
    from tests.image_signing.conftest import PASSWORD

    ref, digest = push("legacy/ours")
    key = load_private_key(keys["release"].private, password=PASSWORD.encode())
    payload = cs.simple_signing_payload(f"{registry.host}/legacy/ours", digest)
    sig = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    _push_sig(client, registry, "legacy/ours", digest,
              [cs.LegacyLayer(cs.SIMPLE_SIGNING_MEDIA_TYPE, payload, {cs.SIGNATURE_ANNOTATION: sig})])

    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://cyclonedx.org/bom",
                            "subject": [{"name": f"{registry.host}/legacy/ours", "digest": {"sha256": digest[7:]}}],
                            "predicate": {"bomFormat": "CycloneDX", "components": []}}).encode()
    env_sig = key.sign(pae("application/vnd.in-toto+json", statement), ec.ECDSA(hashes.SHA256()))
    envelope = json.dumps({"payloadType": "application/vnd.in-toto+json",
                           "payload": base64.b64encode(statement).decode(),
                           "signatures": [{"keyid": "", "sig": base64.b64encode(env_sig).decode()}]}).encode()
    att = cs.LegacyLayer(cs.DSSE_LAYER_MEDIA_TYPE, envelope,
                         {cs.SIGNATURE_ANNOTATION: "", cs.PREDICATE_TYPE_ANNOTATION: "https://cyclonedx.org/bom"})
    from supplychain.oci.reference import parse_reference

    r = parse_reference(ref)
    d = "sha256:" + hashlib.sha256(envelope).hexdigest()
    client.upload_blob(r, envelope, d)
    cfg = b"{}"
    client.upload_blob(r, cfg, cs.EMPTY_DIGEST)
    manifest = {"schemaVersion": 2, "mediaType": cs.OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cs.EMPTY_DIGEST,
                           "size": 2},
                "layers": [{"mediaType": att.media_type, "digest": d, "size": len(envelope),
                            "annotations": att.annotations}]}
    client.put_manifest(r, cs.digest_tag(digest, ".att"), json.dumps(manifest).encode(), cs.OCI_MANIFEST)

    v = run_cli("verify", "image", ref, "--key", str(keys["release"].public), "--attestation", "cyclonedx", "--json")
    assert v.exit_code == 0, v.stdout + v.stderr
    doc = json.loads(v.stdout)
    assert [(s["source"], s["trusted"]) for s in doc["signatures"]] == [("legacy .sig", True)]
    assert [(a["source"], a["type"], a["trusted"]) for a in doc["attestations"]] == [("legacy .att", "cyclonedx", True)]
    v = run_cli("verify", "image", ref, "--key", str(keys["other"].public))
    assert v.exit_code == 1


def _seed_tag(registry: Any, repo: str, tag: str, manifest: bytes) -> None:
    digest = _seed_manifest(registry, repo, manifest)
    v2 = registry.root / "data" / "docker" / "registry" / "v2" / "repositories" / repo / "_manifests" / "tags" / tag
    for link in (v2 / "current" / "link", v2 / "index" / "sha256" / digest[7:] / "link"):
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_text(digest)


def test_hostile_legacy_signature_layer_fails_cleanly(registry, push, external: Path) -> None:  # type: ignore[no-untyped-def]
    """What docker-registry will serve: a .sig layer whose blob is missing and annotations are junk."""
    ref, digest = push("legacy/hostile")
    junk = {"schemaVersion": 2, "mediaType": cs.OCI_MANIFEST,
            "layers": [{"mediaType": cs.SIMPLE_SIGNING_MEDIA_TYPE, "digest": "sha256:" + "0" * 64, "size": 1,
                        "annotations": ["x"]}]}
    _seed_tag(registry, "legacy/hostile", cs.digest_tag(digest, ".sig"), json.dumps(junk).encode())
    r = run_cli("verify", "image", ref, "--key", _key(external, "cosign.pub"), "--json")
    assert r.exit_code in (1, 3), r.stdout + r.stderr
    assert "Traceback" not in r.stderr


class _HostileRegistry:
    """A registry that answers with whatever a malicious server could send (docker-registry
    itself refuses to serve most of these shapes, so they cannot come from the real one)."""

    def __init__(self, image: bytes, sig_manifest: bytes, blobs: dict[str, bytes]) -> None:
        self.image, self.sig, self.blobs = image, sig_manifest, blobs

    def get_manifest(self, ref: Any, accept: Any = None) -> tuple[bytes, str, str]:
        from supplychain.oci.registry import RegistryNotFound

        if ref.tag and ref.tag.endswith(".sig"):
            return self.sig, cs.OCI_MANIFEST, "sha256:" + hashlib.sha256(self.sig).hexdigest()
        if ref.tag and ref.tag.endswith(".att"):
            raise RegistryNotFound("no .att")
        return self.image, cs.OCI_MANIFEST, "sha256:" + hashlib.sha256(self.image).hexdigest()

    def get_blob_bytes(self, ref: Any, digest: str, max_size: int = 0) -> bytes:
        from supplychain.oci.registry import RegistryNotFound

        if digest not in self.blobs:
            raise RegistryNotFound(f"{digest}: blob unknown")
        return self.blobs[digest]

    def referrers(self, ref: Any, digest: str) -> list[Any]:
        return []


@pytest.mark.parametrize("layers", [
    {"not": "a list"},
    ["nope", 7, None],
    [{"mediaType": cs.SIMPLE_SIGNING_MEDIA_TYPE, "digest": "../../etc/passwd", "size": 1}],
    [{"mediaType": cs.SIMPLE_SIGNING_MEDIA_TYPE, "digest": "sha256:" + "1" * 64, "size": 1, "annotations": ["x"]}],
    [{"mediaType": cs.SIMPLE_SIGNING_MEDIA_TYPE, "digest": "sha256:" + "1" * 64, "size": 1,
      "annotations": {cs.SIGNATURE_ANNOTATION: "!!!", cs.CERTIFICATE_ANNOTATION: "not a cert"}}],
])
def test_hostile_registry_answers_fail_cleanly(external: Path, layers: Any) -> None:
    from supplychain.signing.image import RegistryView, VerifyOptions, verify_image
    from supplychain.signing.policy import SignerPolicy as SignerRule

    image = b'{"schemaVersion":2}'
    sig = json.dumps({"schemaVersion": 2, "layers": layers}).encode()
    view = RegistryView(_HostileRegistry(image, sig, {"sha256:" + "1" * 64: b"{}"}))
    key = parse_public_key(Path(_key(external, "cosign.pub")).read_bytes(), source="cosign.pub", name="cosign.pub")
    result = verify_image("r.example/app@sha256:" + hashlib.sha256(image).hexdigest(),
                          VerifyOptions(signers=[SignerRule("k", keys=(key,))]), registry=view)
    assert not result.passed
    assert all(not f.trusted and f.reason for f in result.findings)
