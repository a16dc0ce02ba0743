"""The gate's `vulnerabilities:` rules against the real local registry and real advisory data
(pypa/advisory-database and FriendsOfPHP from ../shared/external/vulns, see its SOURCES.md)."""

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

JINJA = {"type": "library", "name": "jinja2", "version": "2.10", "purl": "pkg:pypi/jinja2@2.10"}
CTX = {"type": "library", "name": "ctx", "version": "0.2.6", "purl": "pkg:pypi/ctx@0.2.6"}
TWIG = {"type": "library", "name": "twig/twig", "version": "v3.11.0", "purl": "pkg:composer/twig/twig@v3.11.0"}


def _bom(*components: dict[str, str]) -> bytes:
    return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                       "components": list(components)}).encode()


def _vex() -> bytes:
    stmt = [{"vulnerability": {"name": name}, "products": [{"@id": "pkg:pypi/jinja2@2.10"}],
             "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}
            for name in ("CVE-2019-10906", "PYSEC-2021-66")]
    return json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/jinja",
                       "author": "security@example.com", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
                       "statements": stmt}).encode()


@pytest.fixture(scope="module")
def scene(registry, external: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.specs import SignerSpec
    from supplychain.vuln import open_db
    from supplychain.vuln.service import import_sources

    vulns = external / "vulns"
    d = tmp_path_factory.mktemp("gatevuln")
    db_path = d / "vuln.db"
    with open_db(db_path, create=True) as db:  # real records: jinja2 and ctx (PyPI), twig/twig (FriendsOfPHP)
        import_sources(db, [str(vulns / "pypa-advisory-database" / "vulns" / "jinja2"),
                            str(vulns / "pypa-advisory-database" / "vulns" / "ctx"),
                            str(vulns / "friendsofphp-security-advisories" / "twig" / "twig")])
    release, other = make_keypair(d, "release"), make_keypair(d, "other")
    client = RegistryClient()
    view = RegistryView(client)
    host = registry.host
    images: dict[str, str] = {}
    cdx, openvex = "https://cyclonedx.org/bom", "https://openvex.dev/ns/v0.2.0"
    plan: dict[str, list[tuple[bytes, str, Any]]] = {
        "jinja": [(_bom(JINJA), cdx, release)],
        "ctx": [(_bom(CTX), cdx, release)],
        "twig": [(_bom(TWIG), cdx, release)],
        "clean": [(_bom({"type": "library", "name": "jinja2", "version": "3.1.4", "purl": "pkg:pypi/jinja2@3.1.4"}),
                   cdx, release)],
        "vexok": [(_bom(JINJA), cdx, release), (_vex(), openvex, release)],
        "vexbad": [(_bom(JINJA), cdx, release), (_vex(), openvex, other)],
        "nosbom": [],
        "mixed": [(_bom({"type": "library", "name": "jinja2", "version": "3.1.4", "purl": "pkg:pypi/jinja2@3.1.4"},
                        {"type": "library", "name": "zlib1g", "version": "1:1.2.13.dfsg-1",
                         "purl": "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12"}), cdx, release)],
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
        for name, atts in plan.items():
            ref = f"{host}/vg/{name}:1.0"
            digest = push_image(client, ref, build_image([[File(f"app/{name}", name.encode())]]))
            images[name] = f"{ref}@{digest}"
            sign_image(ref, SignerSpec(key_path=str(release.private)), registry=view)
            for doc, ptype, key in atts:
                attest_image(ref, doc, ptype, SignerSpec(key_path=str(key.private)), registry=view)
    (d / "release.pub").write_bytes(release.public.read_bytes())
    yield {"images": images, "dir": d, "db": db_path, "host": host, "release": release}


def _policy(scene: dict[str, Any], name: str, vulns: str) -> Path:
    p: Path = scene["dir"] / f"{name}.yaml"
    p.write_text(f"""version: 1
trusted_registries: ["{scene['host']}/vg/**"]
signers:
  - name: release
    images: ["{scene['host']}/vg/**"]
    key: release.pub
vulnerabilities:
{vulns}""")
    return p


BASE = "  max_db_age: 36500d\n  deny:\n    - severity: high\n"


def _decide(scene: dict[str, Any], policy: Path, image: str) -> Any:
    from supplychain.gate import decide_image, load_gate_policy
    from supplychain.gate.vuln_rules import set_database
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView
    from supplychain.signing.specs import TrustSpec

    gp = load_gate_policy(policy)
    set_database(str(scene["db"]))
    try:
        return decide_image(scene["images"][image], gp, registry=RegistryView(RegistryClient()), trust=TrustSpec())
    finally:
        set_database(None)


def _msgs(d: Any, rule: str) -> list[str]:
    return [f.message for f in d.findings if f.rule == rule]


def test_vulnerable_pypi_and_composer_packages_fail_with_the_advisory_named(scene: dict[str, Any]) -> None:
    policy = _policy(scene, "base", BASE)
    d = _decide(scene, policy, "jinja")
    assert d.decision.value == "fail"
    msgs = _msgs(d, "SC-GATE-030")
    assert len(msgs) == 2, msgs
    first = next(m for m in msgs if m.startswith("PYSEC-2019-217"))
    assert "CVE-2019-10906" in first and "jinja2 2.10" in first and "fixed in 2.10.1" in first
    assert "severity unknown" in first  # the PyPA record has no severity: unknown meets the threshold
    assert any(m.startswith("PYSEC-2021-66") and "fixed in 2.11.3" in m for m in msgs)
    d = _decide(scene, policy, "twig")
    msgs = _msgs(d, "SC-GATE-030")
    assert d.decision.value == "fail"
    assert any(m.startswith("FriendsOfPHP:CVE-2024-51754") and "twig/twig v3.11.0" in m and "fixed in 3.11.2" in m
               for m in msgs), msgs
    clean = _decide(scene, policy, "clean")
    assert clean.decision.value == "pass", clean.reasons


def test_allow_list_by_alias_passes_and_expired_entry_fails_and_is_reported(scene: dict[str, Any]) -> None:
    allow = ("  allow:\n    - id: cve-2019-10906\n      reason: sandbox not used (SEC-1)\n      expires: 2999-01-01\n"
             "    - id: PYSEC-2021-66\n      reason: no untrusted input (SEC-2)\n      expires: {exp}\n")
    ok = _decide(scene, _policy(scene, "allow", BASE + allow.format(exp="2999-12-31")), "jinja")
    assert ok.decision.value == "pass", ok.reasons
    assert sorted(w.finding.message.split(" ")[0] for w in ok.waived) == ["PYSEC-2019-217", "PYSEC-2021-66"]
    assert any("SEC-1" in w.reason for w in ok.waived)
    expired = _decide(scene, _policy(scene, "expired", BASE + allow.format(exp="2020-01-01")), "jinja")
    assert expired.decision.value == "fail"
    (denied,) = _msgs(expired, "SC-GATE-030")
    assert denied.startswith("PYSEC-2021-66") and "expired on 2020-01-01" in denied
    (note,) = _msgs(expired, "SC-GATE-032")
    assert "PYSEC-2021-66" in note and "2020-01-01" in note


def test_only_fixed(scene: dict[str, Any]) -> None:
    # ctx 0.2.6: PYSEC-2022-199 (a hijacked release) has no fixed version
    d = _decide(scene, _policy(scene, "all", BASE), "ctx")
    assert d.decision.value == "fail" and _msgs(d, "SC-GATE-030")[0].startswith("PYSEC-2022-199")
    assert "no fix yet" in _msgs(d, "SC-GATE-030")[0]
    fixed_only = _policy(scene, "fixed", BASE + "      only_fixed: true\n")
    assert _decide(scene, fixed_only, "ctx").decision.value == "pass"
    assert _decide(scene, fixed_only, "jinja").decision.value == "fail"  # those have fixes
    # a second entry for these images without only_fixed still denies: the strictest entry wins
    both = _policy(scene, "both", BASE + "      only_fixed: true\n    - images: \"**/vg/ctx\"\n      severity: low\n")
    assert _decide(scene, both, "ctx").decision.value == "fail"


def test_old_or_missing_database_fails_closed(scene: dict[str, Any]) -> None:
    old = _policy(scene, "old", BASE.replace("36500d", "30d") +
                  "  allow:\n    - id: PYSEC-2019-217\n      reason: x\n      expires: 2999-01-01\n"
                  "waivers:\n  - rule: SC-GATE-031\n    image: \"**\"\n    reason: try to waive\n"
                  "    expires: 2999-01-01\n")
    for image in ("jinja", "clean"):
        d = _decide(scene, old, image)
        assert d.decision.value == "fail"  # never a pass, a waiver does not lift it
        (msg,) = _msgs(d, "SC-GATE-031")
        assert "days old" in msg and "older than the allowed" in msg
    missing = _policy(scene, "missing", BASE + "  database: nowhere/vuln.db\n")
    from supplychain.gate import decide_image, load_gate_policy
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView
    from supplychain.signing.specs import TrustSpec

    d = decide_image(scene["images"]["clean"], load_gate_policy(missing), registry=RegistryView(RegistryClient()),
                     trust=TrustSpec())
    assert d.decision.value == "fail"
    assert "no vulnerability database here" in _msgs(d, "SC-GATE-031")[0]


def test_no_attested_sbom_fails_unless_generation_is_asked(scene: dict[str, Any]) -> None:
    d = _decide(scene, _policy(scene, "base", BASE), "nosbom")
    assert d.decision.value == "fail"
    assert "no CycloneDX SBOM attested" in _msgs(d, "SC-GATE-033")[0]
    gen = _decide(scene, _policy(scene, "gen", BASE + "  generate_sbom: true\n"), "nosbom")
    assert gen.decision.value == "pass", gen.reasons  # the generated SBOM has no known-vulnerable package


def test_components_the_data_does_not_cover_are_said_and_can_fail(scene: dict[str, Any]) -> None:
    d = _decide(scene, _policy(scene, "base", BASE), "mixed")  # no Debian data was imported
    assert d.decision.value == "pass", d.reasons
    (msg,) = _msgs(d, "SC-GATE-035")
    assert "zlib1g" in msg and "not checked" in msg
    strict = _policy(scene, "strict", BASE).read_text() + "rules:\n  SC-GATE-035: error\n"
    (scene["dir"] / "strict.yaml").write_text(strict)
    assert _decide(scene, scene["dir"] / "strict.yaml", "mixed").decision.value == "fail"


def test_signed_vex_suppresses_and_untrusted_vex_is_ignored(scene: dict[str, Any]) -> None:
    policy = _policy(scene, "base", BASE)
    ok = _decide(scene, policy, "vexok")
    assert ok.decision.value == "pass", ok.reasons
    bad = _decide(scene, policy, "vexbad")
    assert bad.decision.value == "fail"
    assert len(_msgs(bad, "SC-GATE-030")) == 2
    (ignored,) = _msgs(bad, "SC-GATE-034")
    assert "ignored" in ignored and "signed with another key" in ignored


def test_gate_cli_vuln_db_option_and_env(scene: dict[str, Any]) -> None:
    policy = _policy(scene, "base", BASE)
    r = run_cli("gate", "--image", scene["images"]["jinja"], "--policy", str(policy), "--vuln-db", str(scene["db"]),
                "--json")
    assert r.exit_code == 1, r.stderr
    (image,) = json.loads(r.stdout)["images"]
    assert {f["rule"] for f in image["findings"]} == {"SC-GATE-030"}
    assert any("PYSEC-2019-217" in f["message"] for f in image["findings"])
    r = run_cli("gate", "--image", scene["images"]["clean"], "--policy", str(policy),
                env={"SUPPLYCHAIN_VULN_DB": str(scene["db"])})
    assert r.exit_code == 0, r.stdout + r.stderr


def test_section_schema_is_the_one_shipped_for_editors() -> None:
    from supplychain.gate.rules import section_schemas
    from supplychain.gate.vuln_rules import SCHEMA

    shipped = json.loads((Path(__file__).resolve().parents[2] / "policies" / "policy.schema.json").read_text())
    assert section_schemas()["vulnerabilities"] == SCHEMA == shipped["properties"]["vulnerabilities"]


def test_release_policy_vulnerabilities_section_loads() -> None:
    from supplychain.gate import load_gate_policy

    gp = load_gate_policy(Path(__file__).resolve().parents[2] / "policies" / "release.yaml")
    section = gp.policy.sections["vulnerabilities"]
    assert section["max_db_age"] == "7d" and section["deny"][0]["severity"] == "high"


def test_policy_check_refuses_a_bad_vulnerabilities_section(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nvulnerabilities:\n  deny:\n    - severity: severe\n  allow:\n    - id: CVE-1\n")
    from supplychain.errors import InputError
    from supplychain.gate import load_gate_policy

    with pytest.raises(InputError) as exc:
        load_gate_policy(bad)
    assert "bad.yaml" in exc.value.message
    target = tmp_path / "Dockerfile"
    target.write_text("FROM scratch\n")
    r = run_cli("policy", "check", str(target), "--policy", str(bad))
    assert r.exit_code == 2 and "bad.yaml:4" in r.stderr and "severe" in r.stderr, r.stderr


def test_vex_attached_with_the_cli_openvex_type_is_honoured(scene: dict[str, Any]) -> None:
    from supplychain.oci.registry import RegistryClient

    ref = f"{scene['host']}/vg/clivex:1.0"
    digest = push_image(RegistryClient(), ref, build_image([[File("app/clivex", b"clivex")]]))
    key = str(scene["release"].private)
    (scene["dir"] / "jinja.cdx.json").write_bytes(_bom(JINJA))
    (scene["dir"] / "jinja.openvex.json").write_bytes(_vex())
    for args in (["sign", "image", ref, "--key", key],
                 ["attest", "image", ref, "--type", "cyclonedx", "--predicate", str(scene["dir"] / "jinja.cdx.json"),
                  "--key", key]):
        r = run_cli(*args, env=ENV)
        assert r.exit_code == 0, r.stderr
    policy = _policy(scene, "base", BASE)
    image = f"{ref}@{digest}"
    r = run_cli("gate", "--image", image, "--policy", str(policy), "--vuln-db", str(scene["db"]), "--json")
    assert r.exit_code == 1 and "PYSEC-2019-217" in r.stdout
    r = run_cli("attest", "image", ref, "--type", "openvex", "--predicate", str(scene["dir"] / "jinja.openvex.json"),
                "--key", key, env=ENV)
    assert r.exit_code == 0, r.stderr
    r = run_cli("gate", "--image", image, "--policy", str(policy), "--vuln-db", str(scene["db"]), "--json")
    assert r.exit_code == 0, r.stdout[-3000:] + r.stderr
