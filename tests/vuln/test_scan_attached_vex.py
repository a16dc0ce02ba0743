"""`vuln scan IMAGE` honours OpenVEX attached to the image as a signed attestation only when the
user says whose signature counts (--vex-key / --vex-cert-identity + --vex-cert-oidc-issuer), and
only the attestations that verify against it; without those options attached VEX is ignored and
the report says so. Real local registry, real keys, real PyPA advisories (jinja2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.image_signing.conftest import ENV, make_keypair
from tests.imagebuild import File, build_image, push_image

pytestmark = pytest.mark.registry

METADATA = b"Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.10\nSummary: templates\n"
# the two PyPA records for jinja2 2.10 (see tests/gate/test_gate_vulnerabilities.py)
SANDBOX = ("PYSEC-2019-217", "CVE-2019-10906")
REDOS = ("PYSEC-2021-66", "CVE-2020-28493")


def _vex(vuln: str) -> bytes:
    return json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "@id": f"https://example.com/vex/{vuln}",
                       "author": "security@example.com", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
                       "statements": [{"vulnerability": {"name": vuln}, "products": [{"@id": "pkg:pypi/jinja2@2.10"}],
                                       "status": "not_affected",
                                       "justification": "vulnerable_code_not_in_execute_path"}]}).encode()


@pytest.fixture(scope="module")
def scene(registry, external: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView, attest_image
    from supplychain.signing.specs import SignerSpec
    from supplychain.vuln.service import import_into

    jinja = external / "vulns" / "pypa-advisory-database" / "vulns" / "jinja2"
    if not jinja.is_dir():
        pytest.skip(f"PyPA advisory data not found at {jinja}")
    d = tmp_path_factory.mktemp("attvex")
    import_into(d / "vuln.db", [str(jinja)])
    release, other = make_keypair(d, "release"), make_keypair(d, "other")
    client = RegistryClient()
    view = RegistryView(client)
    ref = f"{registry.host}/vulnvex/app:1.0"
    image = build_image([[File("usr/lib/python3.11/site-packages/Jinja2-2.10.dist-info/METADATA", METADATA)]])
    digest = push_image(client, ref, image)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
        # the sandbox CVE is waived by the release key, the ReDoS one by a key nobody trusts here
        attest_image(ref, _vex(SANDBOX[1]), "https://openvex.dev/ns/v0.2.0",
                     SignerSpec(key_path=str(release.private)), registry=view)
        attest_image(ref, _vex(REDOS[0]), "https://openvex.dev/ns/v0.2.0",
                     SignerSpec(key_path=str(other.private)), registry=view)
    yield {"db": d / "vuln.db", "ref": ref, "digest": digest, "release": release, "other": other, "dir": d}


def _scan(scene: dict[str, Any], *args: str) -> tuple[dict[str, Any], str]:
    r = run_cli("vuln", "scan", scene["ref"], "--db", str(scene["db"]), "--json", *args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout), r.stderr


def _ids(findings: list[dict[str, Any]]) -> set[str]:
    return {f["id"] for f in findings}


def test_attached_vex_ignored_without_verification_options(scene: dict[str, Any]) -> None:
    doc, err = _scan(scene)
    assert _ids(doc["findings"]) == {SANDBOX[0], REDOS[0]}
    assert doc["suppressed"] == []
    assert any("VEX attached to the image was not considered" in n and "--vex-key" in n for n in doc["notes"])
    assert "VEX attached to the image was not considered" in err


def test_vex_signed_by_the_given_key_suppresses_and_others_are_ignored(scene: dict[str, Any]) -> None:
    doc, err = _scan(scene, "--vex-key", str(scene["release"].public))
    assert _ids(doc["findings"]) == {REDOS[0]}
    (sup,) = doc["suppressed"]
    assert sup["id"] == SANDBOX[0]
    assert sup["suppressed_by"]["status"] == "not_affected"
    assert sup["suppressed_by"]["justification"] == "vulnerable_code_not_in_execute_path"
    assert "OpenVEX" in sup["suppressed_by"]["document"] and "signed by" in sup["suppressed_by"]["document"]
    notes = "\n".join(doc["notes"])
    assert "1 statements applied" in notes
    assert "ignored" in notes  # the other key's attestation, named
    assert "ignored" in err

    doc, _ = _scan(scene, "--vex-key", str(scene["other"].public))
    assert _ids(doc["findings"]) == {SANDBOX[0]}
    assert _ids(doc["suppressed"]) == {REDOS[0]}

    doc, _ = _scan(scene, "--vex-key", str(scene["release"].public), "--vex-key", str(scene["other"].public))
    assert doc["findings"] == []
    assert _ids(doc["suppressed"]) == {SANDBOX[0], REDOS[0]}


def test_keyless_identity_does_not_accept_key_signed_vex(scene: dict[str, Any]) -> None:
    doc, _ = _scan(scene, "--vex-cert-identity", "release@example.com",
                   "--vex-cert-oidc-issuer", "https://accounts.example.com", "--offline")
    assert _ids(doc["findings"]) == {SANDBOX[0], REDOS[0]}
    assert doc["suppressed"] == []
    assert sum("OpenVEX attestation" in n and "ignored" in n for n in doc["notes"]) == 2


def test_verification_options_are_checked(scene: dict[str, Any], tmp_path: Path) -> None:
    sbom = tmp_path / "bom.json"
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}))
    r = run_cli("vuln", "scan", str(sbom), "--db", str(scene["db"]), "--vex-key", str(scene["release"].public))
    assert r.exit_code == 2 and "--vex FILE" in r.stderr
    r = run_cli("vuln", "scan", scene["ref"], "--db", str(scene["db"]), "--vex-key", str(scene["release"].public),
                "--vex-cert-identity", "a@example.com")
    assert r.exit_code == 2 and "not both" in r.stderr
    r = run_cli("vuln", "scan", scene["ref"], "--db", str(scene["db"]), "--vex-cert-identity", "a@example.com")
    assert r.exit_code == 2 and "--vex-cert-oidc-issuer" in r.stderr
