"""Junk next to a valid signature: the image is judged on what verifies, never a crash or a registry
failure, and a stranger's keyless junk never makes a --key run load (or download) a trust root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplychain.signing.formats import cosign as cs
from tests.conftest import EXTERNAL, run_cli
from tests.image_signing.conftest import ENV

pytestmark = pytest.mark.registry

KEYLESS_DSSE = EXTERNAL / "sigstore-bundles" / "conformance" / "happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json"


def _attach(ref: str, bundle: bytes, *, predicate_type: str | None = cs.SIGN_PREDICATE_TYPE) -> str:
    from supplychain.oci.reference import parse_reference
    from supplychain.signing.image import RegistryView

    view = RegistryView()
    image = view.resolve(parse_reference(ref))
    view.push_blob(image.reference, bundle)
    view.push_blob(image.reference, cs.EMPTY_BLOB)
    manifest = cs.bundle_manifest(bundle_blob=bundle, subject=image.descriptor, content="dsse-envelope",
                                  predicate_type=predicate_type, created="2026-01-01T00:00:00Z")
    return view.push_referrer(image.reference, image.digest, manifest)


JUNK = [
    b"{not json",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {"tlogEntries": '
    b'[{"logIndex": ' + b"9" * 5000 + b"}]}}",
    b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {"publicKey": '
    b'{"hint": "x"}}, "dsseEnvelope": {"payload": "e30=", "payloadType": "x", "signatures": []}}',
]


def test_junk_referrers_beside_a_valid_signature(push, keys) -> None:  # type: ignore[no-untyped-def]
    ref, _ = push("junk/app")
    for junk in JUNK:
        _attach(ref, junk)
    assert run_cli("sign", "image", ref, "--key", str(keys["release"].private), env=ENV).exit_code == 0
    v = run_cli("verify", "image", ref, "--key", str(keys["release"].public), "--json")
    assert v.exit_code == 0, v.stdout + v.stderr
    doc = json.loads(v.stdout)
    assert doc["verified"] is True
    assert sum(1 for s in doc["signatures"] if s["trusted"]) == 1
    assert len([s for s in doc["signatures"] if not s["trusted"] and s["reason"]]) == len(JUNK)
    # without the valid one the same junk is a plain "not verified" (exit 1), never a crash
    ref2, _ = push("junk/unsigned")
    for junk in JUNK:
        _attach(ref2, junk)
    v = run_cli("verify", "image", ref2, "--key", str(keys["release"].public))
    assert v.exit_code == 1 and "Traceback" not in v.stderr, v.stderr


def test_keyless_junk_never_loads_a_trust_root_in_a_key_run(push, keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not KEYLESS_DSSE.exists():
        pytest.skip("sigstore-conformance cases not found")
    ref, _ = push("junk/keyless")
    _attach(ref, KEYLESS_DSSE.read_bytes())
    assert run_cli("sign", "image", ref, "--key", str(keys["release"].private), env=ENV).exit_code == 0
    # no --offline, no --trusted-root: loading a root would mean a TUF download; make any such
    # attempt fail at once (a dead proxy, an empty cache)
    env = {"HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data")}
    v = run_cli("verify", "image", ref, "--key", str(keys["release"].public), "--json", env=env)
    assert v.exit_code == 0, v.stdout + v.stderr
    doc = json.loads(v.stdout)
    reasons = [s["reason"] for s in doc["signatures"] if not s["trusted"]]
    assert reasons == ["signed keyless (certificate), but only keys are accepted"], reasons


def test_non_index_manifest_at_the_referrers_tag_is_an_error(push, keys, client, registry) -> None:  # type: ignore[no-untyped-def]
    """A registry without the referrers API: a sha256-<hex> tag holding an image (not an index) is
    refused, and left as it was, instead of being overwritten by our index."""
    ref, digest = push("junk/tagclash")
    other_ref, _ = push("junk/tagclash", tag="other")
    raw, media, _ = client.get_manifest(other_ref)
    client.put_manifest(f"{registry.host}/junk/tagclash", cs.digest_tag(digest), raw, media)
    r = run_cli("sign", "image", ref, "--key", str(keys["release"].private), env=ENV)
    assert r.exit_code == 3 and "Traceback" not in r.stderr, r.stderr
    assert "referrers tag index" in r.stderr
    after = client.get_manifest(f"{registry.host}/junk/tagclash:{cs.digest_tag(digest)}")[0]
    assert after == raw


def test_bundle_manifest_is_cosigns_shape(push, keys, client, registry) -> None:  # type: ignore[no-untyped-def]
    ref, digest = push("junk/shape")
    assert run_cli("sign", "image", ref, "--key", str(keys["release"].private), env=ENV).exit_code == 0
    (entry,) = client.referrers(ref, digest)
    manifest = json.loads(client.get_manifest(f"{registry.host}/junk/shape@{entry.digest}")[0])
    assert manifest["artifactType"] == cs.BUNDLE_MEDIA_TYPE
    assert manifest["config"] == {"mediaType": cs.EMPTY_MEDIA_TYPE, "digest": cs.EMPTY_DIGEST, "size": 2,
                                  "artifactType": cs.BUNDLE_MEDIA_TYPE}
