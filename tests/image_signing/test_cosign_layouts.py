"""cosign layouts we read besides bundles and legacy tags: cosign 2.x's experimental OCI 1.1
signatures (a referrer whose layers are .sig layers) and $COSIGN_REPOSITORY."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from supplychain.signing.formats import cosign as cs
from tests.conftest import run_cli
from tests.image_signing.conftest import PASSWORD

pytestmark = pytest.mark.registry


def _sig_layer(client: Any, repo: str, image_name: str, digest: str, key_path: str) -> dict[str, Any]:
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), PASSWORD.encode())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    payload = cs.simple_signing_payload(image_name, digest)
    sig = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    d = "sha256:" + hashlib.sha256(payload).hexdigest()
    client.upload_blob(repo, payload, d)
    return {"mediaType": cs.SIMPLE_SIGNING_MEDIA_TYPE, "digest": d, "size": len(payload),
            "annotations": {cs.SIGNATURE_ANNOTATION: base64.b64encode(sig).decode()}}


def test_cosign_experimental_oci11_signature(push, keys, client, registry) -> None:  # type: ignore[no-untyped-def]
    from supplychain.oci.reference import parse_reference
    from supplychain.signing.image import RegistryView

    ref, digest = push("cosign-oci11/app")
    repo = f"{registry.host}/cosign-oci11/app"
    layer = _sig_layer(client, repo, repo, digest, str(keys["release"].private))
    client.upload_blob(repo, cs.EMPTY_BLOB, cs.EMPTY_DIGEST)
    view = RegistryView()
    image = view.resolve(parse_reference(ref))
    manifest = {"schemaVersion": 2, "mediaType": cs.OCI_MANIFEST, "artifactType": cs.COSIGN_SIG_ARTIFACT_TYPE,
                "config": {"mediaType": cs.EMPTY_MEDIA_TYPE, "digest": cs.EMPTY_DIGEST, "size": 2},
                "layers": [layer], "subject": image.descriptor}
    view.push_referrer(image.reference, digest, manifest)
    v = run_cli("verify", "image", ref, "--key", str(keys["release"].public), "--no-legacy", "--json")
    assert v.exit_code == 0, v.stdout + v.stderr
    (sig,) = json.loads(v.stdout)["signatures"]
    assert sig["source"] == "cosign referrer" and sig["trusted"]
    v = run_cli("verify", "image", ref, "--key", str(keys["other"].public), "--no-legacy")
    assert v.exit_code == 1


def test_cosign_repository(push, keys, client, registry) -> None:  # type: ignore[no-untyped-def]
    ref, digest = push("cosign-repo/app")
    sigs = f"{registry.host}/cosign-repo/signatures"
    layer = _sig_layer(client, sigs, f"{registry.host}/cosign-repo/app", digest, str(keys["release"].private))
    config = b"{}"
    client.upload_blob(sigs, config, "sha256:" + hashlib.sha256(config).hexdigest())
    manifest = {"schemaVersion": 2, "mediaType": cs.OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                           "digest": "sha256:" + hashlib.sha256(config).hexdigest()}, "layers": [layer]}
    client.put_manifest(sigs, cs.digest_tag(digest, ".sig"), json.dumps(manifest).encode(), cs.OCI_MANIFEST)
    key = ["--key", str(keys["release"].public)]
    assert run_cli("verify", "image", ref, *key).exit_code == 1  # not next to the image
    v = run_cli("verify", "image", ref, *key, "--json", env={"COSIGN_REPOSITORY": sigs})
    assert v.exit_code == 0, v.stdout + v.stderr
    assert [s["source"] for s in json.loads(v.stdout)["signatures"]] == ["legacy .sig"]
    bad = run_cli("verify", "image", ref, *key, env={"COSIGN_REPOSITORY": sigs + "@sha256:" + "0" * 64})
    assert bad.exit_code == 2 and "COSIGN_REPOSITORY" in bad.stderr, bad.stderr
