"""Gate policy sections (schema, line-numbered errors) and the SBOM rules, without a registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError
from supplychain.gate import GatePolicy, ImageDecision, SbomRules, load_gate_policy
from supplychain.gate.decide import check_image_sbom
from supplychain.policy.config import Policy
from supplychain.policy.images import parse_image

REPO = Path(__file__).resolve().parents[2]


def test_release_example_policy_loads() -> None:
    gp = load_gate_policy(REPO / "policies" / "release.yaml")
    assert [s.rule.name for s in gp.signers] == ["acme-release-workflow", "acme-platform-team",
                                                  "docker-official-images", "acme-offline-key"]
    app = parse_image("ghcr.io/acme/shop:1.2@sha256:" + "a" * 64)
    assert [r.name for r in gp.signers_for(app)] == ["acme-release-workflow"]
    assert gp.attestations_for(app) == ["https://cyclonedx.org/bom", "https://slsa.dev/provenance/v1"]
    nginx = parse_image("nginx:1.27")
    assert [r.name for r in gp.signers_for(nginx)] == ["docker-official-images"]
    assert gp.attestations_for(nginx) == []
    airgap = parse_image("registry.acme.internal:5000/airgap/tool:1")
    assert [r.name for r in gp.signers_for(airgap)] == ["acme-release-workflow", "acme-offline-key"]
    assert gp.signers_for(parse_image("quay.io/x/y:1")) == []


def _check_sbom(d: ImageDecision, document: bytes, rules: SbomRules, policy: Policy) -> None:
    check_image_sbom(d, document, GatePolicy(policy, sbom=rules))


def _policy(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\n" + body)
    return p


@pytest.mark.parametrize(("body", "where", "words"), [
    ("signers:\n  - name: a\n    issuer: https://x\n", "p.yaml:3", "subject"),
    ("signers:\n  - name: a\n    subject: me\n", "p.yaml", "issuer"),
    ("signers:\n  - name: a\n    key: missing.pub\n", "missing.pub", "no such"),
    ("signers:\n  - subject_regexp: '(['\n    issuer: https://x\n", "p.yaml", "regular expression"),
    ("attestations:\n  - images: '**'\n    require: [nonsense]\n", "p.yaml", "unknown attestation type"),
    ("attestations:\n  - images: '**'\n", "p.yaml:3", "require"),
    ("sbom:\n  deny_package: [x]\n", "p.yaml:3", "deny_package"),
])
def test_bad_gate_sections(tmp_path: Path, body: str, where: str, words: str) -> None:
    with pytest.raises(InputError) as exc:
        load_gate_policy(_policy(tmp_path, body))
    assert where in str(exc.value) and words in str(exc.value), str(exc.value)


def test_key_file_relative_to_policy(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    (tmp_path / "keys").mkdir()
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "keys" / "k.pub").write_bytes(pem)
    gp = load_gate_policy(_policy(tmp_path, "signers:\n  - name: k\n    key: keys/k.pub\n"))
    (key,) = gp.signers[0].rule.keys
    assert key.path == str(tmp_path / "keys" / "k.pub")


def test_sbom_rules() -> None:
    from supplychain.policy.config import default_policy

    bom = {"components": [
        {"name": "a", "purl": "pkg:npm/event-stream@3.3.6", "licenses": [{"license": {"id": "MIT"}}]},
        {"name": "b", "purl": "pkg:deb/debian/xz-utils@5.6.1?arch=amd64",
         "components": [{"name": "nested", "purl": "pkg:pypi/x@1", "licenses": [{"expression": "GPL-2.0-only AND AGPL-3.0-only"}]}]},
        {"name": "c", "purl": "pkg:npm/left-pad@1.3.0", "licenses": [{"license": {"name": "AGPL-3.0-only"}}]},
        {"name": "fine", "purl": "pkg:npm/ok@1", "licenses": [{"license": {"id": "Apache-2.0"}}]},
        # one choice avoids every denied license: allowed (SPDX OR)
        {"name": "dual", "purl": "pkg:npm/dual@1", "licenses": [{"expression": "MIT OR AGPL-3.0-only"}]},
    ]}
    d = ImageDecision("x", None)
    rules = SbomRules(("**",), ("pkg:npm/event-stream@*", "pkg:deb/debian/xz-utils@5.6.*"), ("AGPL-*",))
    _check_sbom(d, json.dumps(bom).encode(), rules, default_policy())
    got = sorted((f.rule, f.message.split(" (")[0]) for f in d.findings)
    assert got == [
        ("SC-GATE-003", "attested SBOM contains pkg:deb/debian/xz-utils@5.6.1?arch=amd64"),
        ("SC-GATE-003", "attested SBOM contains pkg:npm/event-stream@3.3.6"),
        ("SC-GATE-004", "attested SBOM: pkg:npm/left-pad@1.3.0 is licensed AGPL-3.0-only"),
        ("SC-GATE-004", "attested SBOM: pkg:pypi/x@1 is licensed GPL-2.0-only AND AGPL-3.0-only"),
    ]
    assert d.sbom_components == 6
    assert "denied: AGPL-3.0-only by 'AGPL-*'" in next(f.message for f in d.findings if "pkg:pypi/x@1" in f.message)


@pytest.mark.parametrize(("licenses", "deny", "denied"), [
    # Debian copyright short names and deprecated ids mean their SPDX ids
    ([{"license": {"name": "GPL-3+"}}], ("GPL-3.0-or-later",), True),
    ([{"license": {"id": "GPL-2.0+"}}], ("GPL-2.0-or-later",), True),
    ([{"license": {"name": "Expat"}}], ("MIT",), True),
    ([{"expression": "MIT OR GPL-3.0-only"}], ("GPL-3.0-only",), False),
    ([{"expression": "MIT AND GPL-3.0-only"}], ("GPL-3.0-only",), True),
    ([{"license": {"id": "MIT"}}, {"license": {"id": "GPL-3.0-only"}}], ("GPL-3.0-only",), True),
    # not SPDX: matched token by token (fail closed)
    ([{"expression": "see AGPL-3.0-only ((("}], ("AGPL-*",), True),
    ([{"license": {"name": "public-domain"}}], ("GPL-*",), False),
])
def test_license_rules_mean_spdx(licenses: list[object], deny: tuple[str, ...], denied: bool) -> None:
    from supplychain.policy.config import default_policy

    bom = {"components": [{"name": "p", "purl": "pkg:deb/debian/p@1", "licenses": licenses}]}
    d = ImageDecision("x", None)
    _check_sbom(d, json.dumps(bom).encode(), SbomRules(("**",), (), deny), default_policy())
    assert [f.rule for f in d.findings] == (["SC-GATE-004"] if denied else []), d.findings


def test_unreachable_registry_is_no_decision(tmp_path: Path) -> None:
    import socket

    from supplychain.gate import gate_error, run_gate
    from supplychain.oci.registry import RegistryClient
    from supplychain.policy.report import Decision
    from supplychain.signing.image import RegistryView

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: connection refused
    p = _policy(tmp_path, f"trusted_registries: ['127.0.0.1:{port}/**']\nsigners:\n"
                          "  - subject: me@example.com\n    issuer: https://accounts.example.com\n")
    image = f"127.0.0.1:{port}/app:1@sha256:" + "b" * 64
    result = run_gate([], p, images=[image], registry=RegistryView(RegistryClient(max_retries=0)))
    assert not result.passed and result.network_failure
    assert [f.rule for f in result.images[0].findings] == ["SC-GATE-006"]
    assert result.images[0].decision is Decision.UNDECIDED and result.decision is Decision.UNDECIDED
    error = gate_error(result)
    assert error is not None and error.exit_code == 3 and image in error.message


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(
                        st.sampled_from(["components", "purl", "licenses", "license", "id", "name",
                                         "expression", "metadata", "component"]), c, max_size=4),
                    max_leaves=25))
def test_sbom_rules_on_hostile_json(doc: object) -> None:
    from supplychain.policy.config import default_policy

    d = ImageDecision("x", None)
    _check_sbom(d, json.dumps(doc).encode(), SbomRules(("**",), ("pkg:*",), ("*",)), default_policy())
    assert all(f.rule in ("SC-GATE-002", "SC-GATE-003", "SC-GATE-004") for f in d.findings)


def test_denied_licenses_match_case_insensitively() -> None:
    """SPDX license identifiers are case-insensitive: `agpl-3.0-only` is AGPL-3.0-only (package
    metadata copied into SBOMs often has such spellings)."""
    from supplychain.policy.config import default_policy

    bom = {"components": [
        {"name": "a", "purl": "pkg:npm/a@1", "licenses": [{"expression": "agpl-3.0-or-later"}]},
        {"name": "b", "purl": "pkg:npm/b@1", "licenses": [{"license": {"name": "Agpl-3.0-only"}}]},
        {"name": "c", "purl": "pkg:npm/c@1", "licenses": [{"license": {"id": "MIT"}}]},
    ]}
    d = ImageDecision("x", None)
    _check_sbom(d, json.dumps(bom).encode(), SbomRules(("**",), (), ("AGPL-*",)), default_policy())
    assert sorted(f.message.split(" is licensed")[0] for f in d.findings) == [
        "attested SBOM: pkg:npm/a@1", "attested SBOM: pkg:npm/b@1"]


def test_denied_packages_match_decoded_and_canonical_purls() -> None:
    """purls percent-encode `@` in npm scopes and their type is case-insensitive: a deny glob
    written the readable way still matches."""
    from supplychain.policy.config import default_policy

    bom = {"components": [
        {"name": "a", "purl": "pkg:npm/%40evil/stealer@1.0.0"},
        {"name": "b", "purl": "pkg:NPM/event-stream@3.3.6"},
        {"name": "c", "purl": "pkg:npm/%40good/ok@1.0.0"},
    ]}
    d = ImageDecision("x", None)
    _check_sbom(d, json.dumps(bom).encode(), SbomRules(("**",), ("pkg:npm/@evil/*", "pkg:npm/event-stream@*"), ()),
                default_policy())
    assert sorted(f.message.split(" (")[0] for f in d.findings) == [
        "attested SBOM contains pkg:NPM/event-stream@3.3.6", "attested SBOM contains pkg:npm/%40evil/stealer@1.0.0"]
