"""Keyless image signatures and attestations through the local Sigstore instance (tests/sigstore_local.py),
stored in the real registry, verified by us and, independently, by sigstore-js (@sigstore/verify)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from supplychain.signing.formats import cosign as cs
from tests.conftest import run_cli
from tests.image_signing.conftest import ENV
from tests.sigstore_local import LocalSigstore, js_verify

pytestmark = [pytest.mark.registry, pytest.mark.npm]


def _bundles(client: Any, ref: str, digest: str, tmp_path: Path) -> dict[str, Path]:
    """predicate type -> bundle file, fetched from the registry's referrers of ``digest``."""
    from supplychain.oci.reference import parse_reference

    repo = parse_reference(ref)
    out: dict[str, Path] = {}
    for d in client.referrers(repo, digest):
        if d.artifact_type != cs.BUNDLE_MEDIA_TYPE:
            continue
        m = json.loads(client.get_manifest(f"{repo.name}@{d.digest}")[0])
        raw = client.get_blob_bytes(repo, m["layers"][0]["digest"])
        path = tmp_path / (d.digest[7:19] + ".sigstore.json")
        path.write_bytes(raw)
        out[m["annotations"][cs.BUNDLE_PREDICATE_ANNOTATION]] = path
    return out


def test_keyless_sign_attest_verify_and_sigstore_js(local_sigstore: LocalSigstore, push, client,
                                                     tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ls = local_sigstore
    ref, digest = push("keyless/app")
    r = run_cli("sign", "image", ref, "--trust-config", str(ls.trust_config), "--identity-token", ls.token())
    assert r.exit_code == 0, r.stderr
    bom = tmp_path / "bom.json"
    bom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}))
    r = run_cli("attest", "image", ref, "--predicate", str(bom), "--trust-config", str(ls.trust_config),
                "--identity-token", ls.token())
    assert r.exit_code == 0, r.stderr

    ident = ["--cert-identity", ls.subject, "--cert-oidc-issuer", ls.issuer]
    base = ["verify", "image", ref, "--trusted-root", str(ls.trusted_root), "--offline"]
    v = run_cli(*base, *ident, "--attestation", "cyclonedx", "--json")
    assert v.exit_code == 0, v.stdout + v.stderr
    doc = json.loads(v.stdout)
    (sig,) = doc["signatures"]
    assert sig["signer"]["identity"] == ls.subject and sig["signer"]["issuer"] == ls.issuer
    assert sig["signer"]["time_source"] == "rekor" and sig["signer"]["time"]

    v = run_cli(*base, "--cert-identity-regexp", "^https://github.com/acme/", "--cert-oidc-issuer", ls.issuer)
    assert v.exit_code == 0, v.stderr
    v = run_cli(*base, "--cert-identity", "https://github.com/evil/app", "--cert-oidc-issuer", ls.issuer)
    assert v.exit_code == 1 and "not an accepted signer" in v.stderr
    v = run_cli(*base, "--cert-identity", ls.subject, "--cert-oidc-issuer", "https://accounts.google.com")
    assert v.exit_code == 1
    # the production root does not trust the local instance
    v = run_cli("verify", "image", ref, "--offline", *ident)
    assert v.exit_code == 1

    bundles = _bundles(client, ref, digest, tmp_path)
    assert set(bundles) == {cs.SIGN_PREDICATE_TYPE, "https://cyclonedx.org/bom"}
    for path in bundles.values():
        js = js_verify(path, ls.trusted_root)
        assert js.returncode == 0, js.stderr
        assert json.loads(js.stdout)["san"] == ls.subject
        assert js_verify(path, ls.trusted_root, san="https://github.com/evil/app").returncode == 1


def test_key_signed_image_bundles_verify_with_sigstore_js(local_sigstore: LocalSigstore, push, client, keys,
                                                         tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ref, digest = push("keyed/js")
    assert run_cli("sign", "image", ref, "--key", str(keys["release"].private), env=ENV).exit_code == 0
    (path,) = _bundles(client, ref, digest, tmp_path).values()
    js = js_verify(path, local_sigstore.trusted_root, key=keys["release"].public)
    assert js.returncode == 0, js.stderr
    assert js_verify(path, local_sigstore.trusted_root, key=keys["other"].public).returncode == 1


def test_gate_with_keyless_signer(local_sigstore: LocalSigstore, push, registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ls = local_sigstore
    ref, digest = push("keyless/gate")
    assert run_cli("sign", "image", ref, "--trust-config", str(ls.trust_config),
                   "--identity-token", ls.token()).exit_code == 0
    evil_ref, evil_digest = push("keyless/gate", tag="2.0")
    assert run_cli("sign", "image", evil_ref, "--trust-config", str(ls.trust_config),
                   "--identity-token", ls.token(subject="https://github.com/evil/app/x.yml@refs/heads/main")
                   ).exit_code == 0
    policy = tmp_path / "p.yaml"
    policy.write_text(f"""version: 1
trusted_registries: ["{registry.host}/keyless/**"]
signers:
  - name: acme-ci
    issuer: {ls.issuer}
    subject_regexp: '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@'
""")
    good = f"{registry.host}/keyless/gate@{digest}"
    bad = f"{registry.host}/keyless/gate@{evil_digest}"
    r = run_cli("gate", "--image", good, "--image", bad, "--policy", str(policy), "--trusted-root",
                str(ls.trusted_root), "--offline", "--json")
    assert r.exit_code == 1, r.stderr
    got = {i["image"]: i["decision"] for i in json.loads(r.stdout)["images"]}
    assert got == {good: "pass", bad: "fail"}


def test_offline_gate_makes_no_network_call_beyond_the_registry(local_sigstore: LocalSigstore, push, registry,
                                                                 tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """In-process: every socket connect that is not to the registry fails the test."""
    import socket

    from supplychain.gate import run_gate
    from supplychain.signing.specs import TrustSpec

    ls = local_sigstore
    ref, digest = push("keyless/offline")
    assert run_cli("sign", "image", ref, "--trust-config", str(ls.trust_config),
                   "--identity-token", ls.token()).exit_code == 0
    policy = tmp_path / "p.yaml"
    policy.write_text(f"""version: 1
trusted_registries: ["{registry.host}/keyless/**"]
signers:
  - issuer: {ls.issuer}
    subject: {ls.subject}
""")
    port = int(registry.host.rsplit(":", 1)[1])
    seen: list[object] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        seen.append(address)
        if not (isinstance(address, tuple) and address[:2] == ("127.0.0.1", port)):
            raise AssertionError(f"network call to {address!r} during an offline gate run")
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    result = run_gate([], policy, images=[f"{registry.host}/keyless/offline@{digest}"],
                      trust=TrustSpec(trusted_root=str(ls.trusted_root), offline=True))
    assert result.passed, [d.reasons for d in result.images]
    assert seen  # the registry was asked


def _cosign_v2_annotations(bundle: dict[str, Any]) -> dict[str, str]:
    """The cosign v2 annotations (certificate + Rekor SET bundle) of a keyless Sigstore bundle."""
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    vm = bundle["verificationMaterial"]
    der = base64.b64decode(vm.get("certificate", {}).get("rawBytes") or vm["x509CertificateChain"]["certificates"][0]["rawBytes"])
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()
    entry = vm["tlogEntries"][0]
    rekor = {"SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"],
             "Payload": {"body": entry["canonicalizedBody"], "integratedTime": int(entry["integratedTime"]),
                         "logIndex": int(entry["logIndex"]),
                         "logID": base64.b64decode(entry["logId"]["keyId"]).hex()}}
    return {cs.CERTIFICATE_ANNOTATION: pem, cs.REKOR_BUNDLE_ANNOTATION: json.dumps(rekor)}


def test_legacy_keyless_sig_and_att_from_the_local_instance(local_sigstore: LocalSigstore, push, client, registry,
                                                            tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """cosign v2 keyless layout (.sig: hashedrekord SET; .att: dsse SET) built from real local-Sigstore
    entries, served by the registry, verified through `verify image`."""
    import hashlib

    from supplychain.oci.reference import parse_reference
    from supplychain.signing.sign import sign_bytes, sign_dsse
    from supplychain.signing.specs import SignerSpec

    ls = local_sigstore
    ref, digest = push("legacy/keyless")
    repo = parse_reference(ref)
    signer = SignerSpec(identity_token=ls.token(), trust_config=str(ls.trust_config))

    payload = cs.simple_signing_payload(f"{registry.host}/legacy/keyless", digest)
    sig_bundle = json.loads(sign_bytes(payload, signer))
    sig_ann = {cs.SIGNATURE_ANNOTATION: sig_bundle["messageSignature"]["signature"], **_cosign_v2_annotations(sig_bundle)}

    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1",
                            "subject": [{"name": repo.name, "digest": {"sha256": digest[7:]}}],
                            "predicate": {"buildDefinition": {"buildType": "https://example.com/b/v1"}}}).encode()
    att_bundle = json.loads(sign_dsse(statement, signer))
    envelope = json.dumps(att_bundle["dsseEnvelope"]).encode()
    att_ann = {cs.SIGNATURE_ANNOTATION: "", cs.PREDICATE_TYPE_ANNOTATION: "https://slsa.dev/provenance/v1",
               **_cosign_v2_annotations(att_bundle)}

    for suffix, media, blob, ann in ((".sig", cs.SIMPLE_SIGNING_MEDIA_TYPE, payload, sig_ann),
                                     (".att", cs.DSSE_LAYER_MEDIA_TYPE, envelope, att_ann)):
        d = "sha256:" + hashlib.sha256(blob).hexdigest()
        client.upload_blob(repo, blob, d)
        client.upload_blob(repo, cs.EMPTY_BLOB, cs.EMPTY_DIGEST)
        manifest = {"schemaVersion": 2, "mediaType": cs.OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cs.EMPTY_DIGEST,
                               "size": 2},
                    "layers": [{"mediaType": media, "digest": d, "size": len(blob), "annotations": ann}]}
        client.put_manifest(repo, cs.digest_tag(digest, suffix), json.dumps(manifest).encode(), cs.OCI_MANIFEST)

    base = ["verify", "image", ref, "--trusted-root", str(ls.trusted_root), "--offline"]
    v = run_cli(*base, "--cert-identity", ls.subject, "--cert-oidc-issuer", ls.issuer,
                "--attestation", "slsaprovenance1", "--json")
    assert v.exit_code == 0, v.stdout + v.stderr
    doc = json.loads(v.stdout)
    assert [(s["source"], s["signer"]["identity"]) for s in doc["signatures"]] == [("legacy .sig", ls.subject)]
    assert [(a["source"], a["type"], a["trusted"]) for a in doc["attestations"]] == [
        ("legacy .att", "slsaprovenance1", True)]
    v = run_cli(*base, "--cert-identity", "https://github.com/evil/app", "--cert-oidc-issuer", ls.issuer)
    assert v.exit_code == 1

    # a forged SET (integrated time moved) breaks both
    for ann in (sig_ann, att_ann):
        rekor = json.loads(ann[cs.REKOR_BUNDLE_ANNOTATION])
        rekor["Payload"]["integratedTime"] -= 60
        ann[cs.REKOR_BUNDLE_ANNOTATION] = json.dumps(rekor)
    from supplychain.errors import VerificationError
    from supplychain.signing.image import verify_legacy_attestation, verify_legacy_layer
    from supplychain.signing.trust import load_trusted_root_file

    root = load_trusted_root_file(ls.trusted_root)
    with pytest.raises(VerificationError, match="signed entry timestamp"):
        verify_legacy_layer(cs.LegacyLayer(cs.SIMPLE_SIGNING_MEDIA_TYPE, payload, sig_ann), digest=digest,
                            keys=[], trusted_root=root)
    with pytest.raises(VerificationError, match="signed entry timestamp"):
        verify_legacy_attestation(cs.LegacyLayer(cs.DSSE_LAYER_MEDIA_TYPE, envelope, att_ann), keys=[],
                                  trusted_root=root)


def test_unreadable_trusted_root_is_bad_input(local_sigstore: LocalSigstore, push, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ls = local_sigstore
    ref, _ = push("keyless/badroot")
    assert run_cli("sign", "image", ref, "--trust-config", str(ls.trust_config),
                   "--identity-token", ls.token()).exit_code == 0
    bad = tmp_path / "root.json"
    bad.write_text("{not json")
    v = run_cli("verify", "image", ref, "--trusted-root", str(bad), "--offline",
                "--cert-identity", ls.subject, "--cert-oidc-issuer", ls.issuer)
    assert v.exit_code == 2, v.stdout + v.stderr
    assert "root.json" in v.stderr and "Traceback" not in v.stderr
