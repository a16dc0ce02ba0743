"""Every third-party bundle in ../shared/external/sigstore-bundles gets the verdict SOURCES.md gives.

Offline throughout: trust roots come from the case or from the copies in trusted-roots/.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import SupplychainError, VerificationError
from supplychain.signing.policy import SignerPolicy as IdentitySpec
from supplychain.signing.trust import TrustedRoot, load_trusted_root_file, parse_trusted_root
from supplychain.signing.verifier import VerifiedSignature, verify_bundle
from tests.conftest import EXTERNAL

BUNDLES = EXTERNAL / "sigstore-bundles"
CONF = BUNDLES / "conformance"
BEACON = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
          "extremely-dangerous-oidc-beacon.yml@refs/heads/main")
GHA = "https://token.actions.githubusercontent.com"
GH_OAUTH = "https://github.com/login/oauth"


def _cases() -> list[str]:
    if not CONF.is_dir():
        return []
    return sorted(p.name for p in CONF.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def roots(external: Path) -> dict[str, TrustedRoot]:
    base = external / "sigstore-bundles" / "trusted-roots"
    return {name: load_trusted_root_file(base / name / "trusted_root.json") for name in ("production", "staging")}


def _verify(bundle: Path, trust: TrustedRoot, identity: IdentitySpec, **kw: Any) -> VerifiedSignature:
    return verify_bundle(bundle.read_bytes(), identity=identity, trust=trust, source=str(bundle), **kw)


@pytest.mark.parametrize("mode", ["file", "digest"])
@pytest.mark.parametrize("case", _cases() or ["<sigstore-conformance data missing>"])
def test_sigstore_conformance_bundle_verify(case: str, mode: str, roots: dict[str, TrustedRoot]) -> None:
    d = CONF / case
    if not d.is_dir():
        pytest.skip("sigstore-conformance cases not found")
    expect_pass = not case.endswith("_fail")
    trust = load_trusted_root_file(d / "trusted_root.json") if (d / "trusted_root.json").exists() \
        else roots["production"]
    artifact = d / "artifact" if (d / "artifact").exists() else CONF / "a.txt"
    if (d / "key.pub").exists():
        identity = IdentitySpec(key_path=str(d / "key.pub"))
    else:
        identity = IdentitySpec(
            identity=(d / "identity").read_text().strip() if (d / "identity").exists() else BEACON,
            issuer=(d / "issuer").read_text().strip() if (d / "issuer").exists() else GHA)
    kw: dict[str, Any] = {"artifact": artifact.read_bytes()} if mode == "file" else \
        {"digest": "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest()}
    if expect_pass:
        v = _verify(d / "bundle.sigstore.json", trust, identity, **kw)
        if identity.is_key:
            assert v.method == "key" and v.key_id
        else:
            assert (v.identity, v.issuer) == (identity.identity, identity.issuer)
            assert v.signed_at is not None
    else:
        with pytest.raises(SupplychainError):
            _verify(d / "bundle.sigstore.json", trust, identity, **kw)


def test_conformance_passes_fail_with_wrong_identity_or_root(roots: dict[str, TrustedRoot]) -> None:
    d = CONF / "happy-path-v0.3"
    if not d.is_dir():
        pytest.skip("sigstore-conformance cases not found")
    art = (CONF / "a.txt").read_bytes()
    with pytest.raises(VerificationError, match="identity"):
        _verify(d / "bundle.sigstore.json", roots["production"],
                IdentitySpec(identity=BEACON.replace("main", "evil"), issuer=GHA), artifact=art)
    with pytest.raises(VerificationError, match="issuer"):
        _verify(d / "bundle.sigstore.json", roots["production"],
                IdentitySpec(identity=BEACON, issuer="https://accounts.google.com"), artifact=art)
    # regexes are searched like cosign's; both must match
    _verify(d / "bundle.sigstore.json", roots["production"],
            IdentitySpec(identity_regexp=r"^https://github\.com/sigstore-conformance/", issuer_regexp="githubusercontent"),
            artifact=art)
    with pytest.raises(VerificationError):
        _verify(d / "bundle.sigstore.json", roots["staging"], IdentitySpec(identity=BEACON, issuer=GHA), artifact=art)
    with pytest.raises(VerificationError, match="tampered"):
        _verify(d / "bundle.sigstore.json", roots["production"], IdentitySpec(identity=BEACON, issuer=GHA),
                artifact=art + b"x")


# ---------------------------------------------------------------- sigstore-python test assets

PY = BUNDLES / "sigstore-python"


def _need(p: Path) -> Path:
    if not p.exists():
        pytest.skip(f"{p} not found")
    return p


@pytest.mark.parametrize(
    ("bundle", "artifact", "root", "san", "issuer", "ok"),
    [
        ("bundle.txt.sigstore", "bundle.txt", "staging", "a@tny.town", GH_OAUTH, True),
        ("bundle.txt.sigstore", "bundle.txt", "production", "a@tny.town", GH_OAUTH, False),
        ("bundle.txt.sigstore", "bundle.txt", "staging", "bad@ident.example.com", GH_OAUTH, False),
        ("bundle_v3.txt.sigstore", "bundle_v3.txt", "staging", "william@yossarian.net", GH_OAUTH, True),
        ("bundle_v3_github.whl.sigstore",
         "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201", "production",
         "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2", GHA, True),
        ("staging-rekor-v2.txt.sigstore.json", "staging-rekor-v2.txt", "staging", "jku@goto.fi", GH_OAUTH, True),
        ("a.dsse.staging-rekor-v2.txt.sigstore.json", "../conformance/a.txt", "staging", BEACON, GHA, True),
        ("a.dsse.staging-rekor-v2.txt.sigstore.json", "a.dsse.staging-rekor-v2.txt", "staging", BEACON, GHA, False),
        ("bundle_cve_2022_36056.txt.sigstore", "bundle_cve_2022_36056.txt", "staging",
         "william@yossarian.net", GH_OAUTH, False),
        ("bundle_invalid_version.txt.sigstore", "bundle_invalid_version.txt", "staging", "x", GH_OAUTH, False),
        ("bundle_no_cert_v1.txt.sigstore", "bundle_no_cert_v1.txt", "staging", "x", GH_OAUTH, False),
        ("bundle_v3_no_signed_time.txt.sigstore.json", "bundle_v3_no_signed_time.txt", "production", "x",
         GH_OAUTH, False),
        ("integration/Python-3.12.5.tgz.sigstore",
         "sha256:38dc4e2c261d49c661196066edbfb70fdb16be4a79cc8220c224dfeb5636d405", "production",
         "thomas@python.org", "https://accounts.google.com", False),
        ("tsa/bundle.txt.sigstore", "tsa/bundle.txt", "staging", "alexis.challande@trailofbits.com",
         "https://accounts.google.com", True),
    ],
)
def test_sigstore_python_assets(bundle: str, artifact: str, root: str, san: str, issuer: str, ok: bool,
                                roots: dict[str, TrustedRoot]) -> None:
    b = _need(PY / bundle)
    kw: dict[str, Any] = {"digest": artifact} if artifact.startswith("sha256:") else \
        {"artifact": _need(PY / artifact).read_bytes()}
    ident = IdentitySpec(identity=san, issuer=issuer)
    if ok:
        v = _verify(b, roots[root], ident, **kw)
        assert v.identity == san
    else:
        with pytest.raises(SupplychainError):
            _verify(b, roots[root], ident, **kw)


def _with_tsa(root_path: Path, ca_json: Path) -> TrustedRoot:
    data = json.loads(root_path.read_text())
    data["timestampAuthorities"] = [*data.get("timestampAuthorities", []), json.loads(ca_json.read_text())]
    return parse_trusted_root(data, source="staging+ca.json")


def test_sigstore_python_tsa_with_extra_authority(external: Path) -> None:
    trust = _with_tsa(external / "sigstore-bundles/trusted-roots/staging/trusted_root.json",
                      _need(PY / "tsa/ca.json"))
    ident = IdentitySpec(identity="alexis.challande@trailofbits.com", issuer="https://accounts.google.com")
    art = (PY / "tsa/bundle.txt").read_bytes()
    v = _verify(PY / "tsa/bundle.txt.sigstore", trust, ident, artifact=art)
    assert "timestamp authority" in v.time_sources
    with pytest.raises(VerificationError, match="duplicate"):
        _verify(_need(PY / "tsa/bundle.duplicate.sigstore"), trust, ident, artifact=art)


# ---------------------------------------------------------------- sigstore-go and sigstore-js

GO = BUNDLES / "sigstore-go"
JS_RELEASE = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
NPM_V2_SHA512 = ("46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540"
                 "fe34640966eee9fc2ccca387082b4c85cd3c")


def test_sigstore_go_npm_provenance(roots: dict[str, TrustedRoot]) -> None:
    b = _need(GO / "bundles/sigstore.js@2.0.0-provenance.sigstore.json")
    ident = IdentitySpec(identity=JS_RELEASE, issuer=GHA)
    for trust in (roots["production"], load_trusted_root_file(GO / "trusted-roots/public-good.json")):
        v = _verify(b, trust, ident, digest="sha512:" + NPM_V2_SHA512)
        assert v.predicate_type == "https://slsa.dev/provenance/v1"
        assert v.subjects[0]["name"] == "pkg:npm/sigstore@2.0.0"
    with pytest.raises(VerificationError):
        _verify(b, roots["production"], IdentitySpec(identity="BadSANValue", issuer=GHA))
    with pytest.raises(VerificationError, match="subject"):
        _verify(b, roots["production"], ident, digest="sha512:5" + NPM_V2_SHA512[1:])
    with pytest.raises(VerificationError):
        _verify(b, roots["staging"], ident)


def test_sigstore_go_dsse_bundles(roots: dict[str, TrustedRoot]) -> None:
    v = _verify(_need(GO / "bundles/dsse.sigstore.json"), roots["production"],
                IdentitySpec(identity="brian@dehamer.com", issuer=GH_OAUTH))
    assert v.statement is not None and v.statement["_type"] == "https://in-toto.io/Statement/v0.1"
    with pytest.raises(VerificationError, match="signatures"):
        _verify(_need(GO / "bundles/dsse-2sigs.sigstore.json"), roots["production"],
                IdentitySpec(identity="brian@dehamer.com", issuer=GH_OAUTH))
    v = _verify(_need(GO / "examples/bundle-provenance.json"), roots["production"],
                IdentitySpec(identity_regexp="^https://github.com/sigstore/sigstore-js/", issuer=GHA))
    assert v.predicate_type == "https://slsa.dev/provenance/v0.2"


def test_sigstore_go_npm_publish_key(roots: dict[str, TrustedRoot], tmp_path: Path) -> None:
    b = _need(GO / "examples/bundle-publish.json")
    v = _verify(b, roots["production"], IdentitySpec(key_path=str(GO / "examples/publish_key.pub")))
    assert v.method == "key" and v.tlog_entries == 1
    from supplychain.signing.keys import generate_keypair

    other = generate_keypair(str(tmp_path / "other"), password=b"pw")
    with pytest.raises(VerificationError):
        _verify(b, roots["production"], IdentitySpec(key_path=str(other.public)))


JS_BUNDLES = ["bundleV01-dsse-no-proof", "bundleV01-full-cert-chain", "bundleV01-intoto-with-proof",
              "bundleV02-dsse", "bundleV03-dsse", "bundleV03-intoto"]


@pytest.mark.parametrize("name", JS_BUNDLES)
def test_sigstore_js_backward_compat(name: str, roots: dict[str, TrustedRoot]) -> None:
    b = _need(BUNDLES / "sigstore-js" / f"{name}.sigstore")
    statement = json.loads((BUNDLES / "sigstore-js/statement.json").read_text())
    sha512 = statement["subject"][0]["digest"]["sha512"]
    v = _verify(b, roots["production"], IdentitySpec(identity="brian@dehamer.com", issuer=GH_OAUTH),
                digest="sha512:" + sha512)
    assert v.statement == statement
    assert v.predicate_type == "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
    with pytest.raises(VerificationError):
        _verify(b, roots["production"], IdentitySpec(identity="brian@dehamer.com", issuer=GH_OAUTH),
                digest="sha512:" + "0" * 128)
