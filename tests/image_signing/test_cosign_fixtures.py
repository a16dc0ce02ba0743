"""cosign v2 legacy signatures and a cosign v3 OCI-referrer bundle from ../shared/external/cosign.

Pure parsing and cryptography: no registry. Expectations come from the fixtures' SOURCES.md
(containers/image's policy_eval_sigstore_test.go and cosign's verify_oci_test.go).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError, VerificationError
from supplychain.signing.dsse import STATEMENT_V01, parse_statement
from supplychain.signing.formats import cosign as cs
from supplychain.signing.image import TrustRoots, verify_bundle_json, verify_legacy_layer
from supplychain.signing.keys import PublicKey, parse_public_key
from supplychain.signing.policy import SignerPolicy as SignerRule
from supplychain.signing.specs import TrustSpec
from supplychain.signing.trust import load_trusted_root_file


@pytest.fixture(scope="module")
def cdir(external: Path) -> Path:
    d = external / "cosign"
    if not d.is_dir():
        pytest.skip("cosign fixtures not present")
    return d


@pytest.fixture(scope="module")
def root(cdir: Path):  # type: ignore[no-untyped-def]
    return load_trusted_root_file(cdir / "cosign" / "trusted_root_pgi.json")


def _key(cdir: Path, name: str) -> PublicKey:
    return parse_public_key((cdir / "containers-image" / name).read_bytes(), source=name, name=name)


def _image(cdir: Path, name: str) -> tuple[str, list[cs.LegacyLayer]]:
    d = cdir / "containers-image" / name
    digest = "sha256:" + hashlib.sha256((d / "manifest.json").read_bytes()).hexdigest()
    layers = [cs.parse_containers_image_signature(p.read_bytes(), source=str(p))
              for p in sorted(d.glob("signature-*"))]
    return digest, layers


def test_valid_key_signature(cdir: Path) -> None:
    digest, layers = _image(cdir, "dir-img-cosign-valid")
    assert digest == "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
    info, payload = verify_legacy_layer(layers[0], digest=digest, keys=[_key(cdir, "cosign.pub")],
                                           trusted_root=None)
    assert info.kind == "key" and info.key == "cosign.pub"
    assert payload.docker_reference == "192.168.64.2:5000/cosign-signed-single-sample"
    # among two keys it still verifies; with only the other key it does not
    info, _ = verify_legacy_layer(layers[0], digest=digest,
                                     keys=[_key(cdir, "cosign2.pub"), _key(cdir, "cosign.pub")], trusted_root=None)
    assert info.key == "cosign.pub"
    with pytest.raises(VerificationError, match="does not verify"):
        verify_legacy_layer(layers[0], digest=digest, keys=[_key(cdir, "cosign2.pub")], trusted_root=None)


def test_identity_mismatch_when_repository_is_enforced(cdir: Path) -> None:
    digest, layers = _image(cdir, "dir-img-cosign-valid")
    with pytest.raises(VerificationError, match="not repository"):
        verify_legacy_layer(layers[0], digest=digest, keys=[_key(cdir, "cosign.pub")], trusted_root=None,
                               expected_repository="docker.io/testing/manifest")
    verify_legacy_layer(layers[0], digest=digest, keys=[_key(cdir, "cosign.pub")], trusted_root=None,
                           expected_repository="192.168.64.2:5000/cosign-signed-single-sample")


def test_valid_with_tag(cdir: Path) -> None:
    digest, layers = _image(cdir, "dir-img-cosign-valid-with-tag")
    _, payload = verify_legacy_layer(layers[0], digest=digest, keys=[_key(cdir, "cosign.pub")],
                                        trusted_root=None)
    assert payload.docker_reference == "192.168.64.2:5000/skopeo-signed:tag"
    assert payload.optional and payload.optional["creator"].startswith("containers/image")


def test_mixed_one_valid_signature_suffices(cdir: Path) -> None:
    digest, layers = _image(cdir, "dir-img-cosign-mixed")
    results = []
    for layer in layers:
        try:
            verify_legacy_layer(layer, digest=digest, keys=[_key(cdir, "cosign.pub")], trusted_root=None)
            results.append(True)
        except VerificationError:
            results.append(False)
    assert results == [False, True]


def test_modified_manifest_is_rejected(cdir: Path) -> None:
    digest, layers = _image(cdir, "dir-img-cosign-modified-manifest")
    assert digest.startswith("sha256:d9dcafdb")
    with pytest.raises(VerificationError, match="not for image digest"):
        verify_legacy_layer(layers[0], digest=digest, keys=[_key(cdir, "cosign.pub")], trusted_root=None)


def test_other_attachment_is_rejected(cdir: Path) -> None:
    digest, layers = _image(cdir, "dir-img-cosign-other-attachment")
    with pytest.raises(VerificationError, match="neither a cosign simple-signing"):
        verify_legacy_layer(layers[0], digest=digest, keys=[_key(cdir, "cosign.pub")], trusted_root=None)


def test_unknown_key_signature(cdir: Path) -> None:
    p = cdir / "containers-image" / "unknown-cosign-key.signature"
    layer = cs.parse_containers_image_signature(p.read_bytes(), source=str(p))
    digest = cs.parse_simple_signing(layer.payload).manifest_digest
    with pytest.raises(VerificationError):
        verify_legacy_layer(layer, digest=digest, keys=[_key(cdir, "cosign.pub")], trusted_root=None)


def test_keyless_fulcio_rekor(cdir: Path, root) -> None:  # type: ignore[no-untyped-def]
    digest, layers = _image(cdir, "dir-img-cosign-fulcio-rekor-valid")
    info, _ = verify_legacy_layer(layers[0], digest=digest, keys=[], trusted_root=root)
    assert (info.kind, info.identity, info.issuer) == ("keyless", "mitr@redhat.com", "https://github.com/login/oauth")
    assert info.time is not None and int(info.time.timestamp()) == 1674247893
    good = SignerRule("r", identity="mitr@redhat.com", issuer="https://github.com/login/oauth")
    bad = SignerRule("r", identity="this-does-not-match@example.com", issuer="https://github.com/login/oauth")
    assert good.matches(info) and not bad.matches(info)
    # a keyless rule needs both an identity and an issuer expectation; half a rule matches nobody
    for half in (SignerRule("r", issuer="https://github.com/login/oauth"), SignerRule("r", identity="mitr@redhat.com"),
                 SignerRule("r", identity_regexp="", issuer_regexp=""), SignerRule("r")):
        assert not half.matches(info), half


def test_keyless_rejected_without_trusted_root_or_with_wrong_rekor_key(cdir: Path, root) -> None:  # type: ignore[no-untyped-def]
    digest, layers = _image(cdir, "dir-img-cosign-fulcio-rekor-valid")
    with pytest.raises(VerificationError, match="trusted root"):
        verify_legacy_layer(layers[0], digest=digest, keys=[], trusted_root=None)
    # a trusted root whose Rekor key is cosign.pub instead of the real log key
    data = json.loads((cdir / "cosign" / "trusted_root_pgi.json").read_text())
    import base64

    from cryptography.hazmat.primitives import serialization

    der = _key(cdir, "cosign.pub").key.public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    for tlog in data["tlogs"]:
        tlog["publicKey"]["rawBytes"] = base64.b64encode(der).decode()
    wrong = load_trusted_root_file(_write(data))
    with pytest.raises(VerificationError, match="signed entry timestamp"):
        verify_legacy_layer(layers[0], digest=digest, keys=[], trusted_root=wrong)


def _write(data: object) -> str:
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".json")
    with open(fd, "w") as fh:
        json.dump(data, fh)
    return path


def test_tampered_keyless_payload(cdir: Path, root) -> None:  # type: ignore[no-untyped-def]
    digest, layers = _image(cdir, "dir-img-cosign-fulcio-rekor-valid")
    layer = layers[0]
    doc = json.loads(layer.payload)
    doc["optional"] = {"x": 1}
    forged = cs.LegacyLayer(layer.media_type, json.dumps(doc).encode(), layer.annotations)
    with pytest.raises(VerificationError):
        verify_legacy_layer(forged, digest=digest, keys=[], trusted_root=root)


def test_oci_referrer_attestation_bundle(cdir: Path) -> None:
    roots = TrustRoots(TrustSpec(trusted_root=str(cdir / "cosign" / "trusted_root_pgi.json")))
    raw = (cdir / "cosign" / "oci-attestation.sigstore.json").read_bytes()
    verified = verify_bundle_json(raw, keys=[], roots=roots)
    assert verified.signer.identity == "cody@soyland.com"
    assert verified.signer.issuer == "https://github.com/login/oauth"
    statement = parse_statement(verified.payload)
    assert statement.type == STATEMENT_V01
    assert statement.predicate_type == "https://cosign.sigstore.dev/attestation/v1"
    assert statement.covers("sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4")
    assert not statement.covers("sha256:" + "0" * 64)
    assert SignerRule("r", identity_regexp=".*", issuer_regexp=".*").matches(verified.signer)
    assert not SignerRule("r", identity_regexp="wrong", issuer_regexp=".*").matches(verified.signer)


def test_oci_referrer_bundle_tampered(cdir: Path) -> None:
    roots = TrustRoots(TrustSpec(trusted_root=str(cdir / "cosign" / "trusted_root_pgi.json")))
    doc = json.loads((cdir / "cosign" / "oci-attestation.sigstore.json").read_text())
    import base64

    payload = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    payload["subject"][0]["digest"]["sha256"] = "0" * 64
    doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(VerificationError):
        verify_bundle_json(json.dumps(doc).encode(), keys=[], roots=roots)


def test_simple_signing_roundtrip() -> None:
    digest = "sha256:" + "a" * 64
    p = cs.parse_simple_signing(cs.simple_signing_payload("r.example/app", digest))
    assert (p.docker_reference, p.manifest_digest) == ("r.example/app", digest)
    assert cs.digest_tag(digest, ".sig") == "sha256-" + "a" * 64 + ".sig"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_hostile_payloads_never_crash(data: bytes) -> None:
    for fn in (cs.parse_simple_signing, parse_statement):
        try:
            fn(data)
        except VerificationError:
            pass
    try:
        cs.parse_containers_image_signature(b"\x00sigstore-json\n" + data, source="x")
    except InputError:
        pass
    try:
        verify_bundle_json(data, keys=[], roots=TrustRoots(TrustSpec(offline=True)))
    except VerificationError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
                    max_leaves=20))
def test_hostile_json_statements(doc: object) -> None:
    for fn in (cs.parse_simple_signing, parse_statement):
        try:
            fn(json.dumps(doc).encode())
        except VerificationError:
            pass


@pytest.mark.parametrize(("where", "match"), [
    ("tlogs", "outside the validity of the log key"),
    ("ctlogs", "outside the validity of its CT log key"),
    ("certificateAuthorities", "no Fulcio CA in the trusted root was valid"),
])
def test_legacy_keyless_honours_trusted_root_validity(cdir: Path, where: str, match: str) -> None:
    """The validity windows of the log key, the CT key and the Fulcio CA apply to cosign v2 legacy
    signatures too, at the time the signature was made (2023-01-20)."""
    digest, layers = _image(cdir, "dir-img-cosign-fulcio-rekor-valid")
    data = json.loads((cdir / "cosign" / "trusted_root_pgi.json").read_text())
    for item in data[where]:
        vf = item["publicKey"]["validFor"] if "publicKey" in item else item["validFor"]
        vf["start"], vf["end"] = "2020-01-01T00:00:00Z", "2022-12-31T00:00:00Z"
    expired = load_trusted_root_file(_write(data))
    with pytest.raises(VerificationError, match=match):
        verify_legacy_layer(layers[0], digest=digest, keys=[], trusted_root=expired)
