"""Scanning: real SBOMs and lock files (osv-scanner's fixtures and expected findings, the Composer
plugin's SBOMs), images built from real package databases, distro source-package mapping, honest
coverage, VEX, and every output format checked by an independent validator."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from supplychain.vuln.db import Database, open_db
from supplychain.vuln.match import Component, scan_sbom
from supplychain.vuln.output import render_cyclonedx, render_openvex, render_sarif
from supplychain.vuln.service import import_sources
from supplychain.vuln.severity import Severity
from supplychain.vuln.vex import apply_vex, parse_vex, vex_from_verified_statements
from tests.imagebuild import File, build_image, write_oci_layout
from tests.vuln.conftest import osv_zip

FIXTURES = "osv-scanner-fixtures/cmd/osv-scanner/scan/source"


def snapshot_rows(vulns: Path) -> list[dict[str, str]]:
    """The findings table osv-scanner printed for its lockfile fixtures (command_test.snap)."""
    text = (vulns / FIXTURES / "__snapshots__" / "command_test.snap").read_text()
    rows = []
    for line in text.splitlines():
        m = re.match(r"\| https://osv\.dev/(\S+)\s*\|\s*([\d.]*)\s*\|\s*(\S+)\s*\|\s*(\S+)\s*\|\s*(\S+)\s*\|\s*(\S+)\s*\|"
                     r"\s*(\S+)\s*\|", line)
        if m:
            rows.append(dict(zip(("id", "cvss", "ecosystem", "package", "version", "fixed", "source"), m.groups(),
                                 strict=True)))
    return rows


def test_composer_lock_findings_agree_with_osv_scanner(full_db: Database, vulns: Path) -> None:
    """Every finding osv-scanner reported for a composer.lock fixture that our data has an advisory
    for (same id or alias, same package) is found, with the same fixed version."""
    rows = [r for r in snapshot_rows(vulns) if r["source"].endswith("composer.lock")]
    assert rows, "snapshot table not found"
    checked = 0
    for r in rows:
        lock = vulns / FIXTURES / r["source"]
        known = [adv for adv, _ in full_db.lookup("Packagist", r["package"])
                 if r["id"] == adv["id"] or r["id"] in adv.get("aliases", [])]
        if not known:
            continue  # e.g. DRUPAL-* records from the Drupal feed: not in FriendsOfPHP
        from supplychain.vuln.target import load_target

        result = scan_sbom(load_target(str(lock)).bom, full_db, target=str(lock))
        hits = [f for f in result.findings if r["id"] in f.all_ids and f.component.name == r["package"]]
        assert hits, (r, [f.id for f in result.findings])
        assert hits[0].installed_version == r["version"]
        assert r["fixed"] in hits[0].fixed_versions
        checked += 1
    assert checked >= 2  # GHSA-9f46-5r25-5wfm (league/flysystem 1.0.8, fixed 1.1.4) in two lock files


def test_composer_plugin_sboms_json_and_xml(full_db: Database, external: Path, cli: Any, tmp_path: Path) -> None:
    results = external / "composer" / "cyclonedx-php-composer" / "laravel-7.12.0" / "results"
    env = {"SUPPLYCHAIN_VULN_DB": str(full_db.path)}
    r_json = cli("vuln", "scan", str(results / "bom.1.6.json"), "--json", env=env)
    r_xml = cli("vuln", "scan", str(results / "bom.1.5.xml"), "--json", env=env)
    assert r_json.exit_code == 0 and r_xml.exit_code == 0, r_json.stderr + r_xml.stderr
    a, b = json.loads(r_json.stdout), json.loads(r_xml.stdout)
    assert a["coverage"]["checked"] == {"Packagist": 62}
    ids = sorted((f["id"], f["component"]["purl"]) for f in a["findings"])
    assert ids and ids == sorted((f["id"], f["component"]["purl"]) for f in b["findings"])
    # a laravel 7.12.0 tree of 2020 has published advisories, e.g. for laravel/framework
    assert any(f["component"]["name"] == "laravel/framework" for f in a["findings"])
    # the CycloneDX report is the plugin's SBOM plus a vulnerabilities section, and schema-valid
    out = tmp_path / "vex.cdx.json"
    r = cli("vuln", "scan", str(results / "bom.1.6.json"), "--format", "cyclonedx", "-o", str(out), env=env)
    assert r.exit_code == 0, r.stderr
    v = cli("sbom", "validate", str(out))
    assert v.exit_code == 0, v.stdout + v.stderr
    doc = json.loads(out.read_text())
    refs = {c["bom-ref"] for c in doc["components"]}
    assert len(doc["vulnerabilities"]) == len(a["findings"])
    assert all(aff["ref"] in refs for vv in doc["vulnerabilities"] for aff in vv["affects"])
    old = cli("vuln", "scan", str(results / "bom.1.2.json"), "--format", "cyclonedx", "-o", str(tmp_path / "o.json"),
              env=env)
    assert old.exit_code == 0, old.stderr
    assert json.loads((tmp_path / "o.json").read_text())["specVersion"] == "1.4"
    assert cli("sbom", "validate", str(tmp_path / "o.json")).exit_code == 0


def test_pypi_requirements_via_sbom(full_db: Database) -> None:
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        {"type": "library", "name": "oslo.middleware", "version": "3.19.0", "purl": "pkg:pypi/oslo.middleware@3.19.0"},
        {"type": "library", "name": "oslo.middleware", "version": "3.19.1", "purl": "pkg:pypi/oslo-middleware@3.19.1"},
    ]}
    res = scan_sbom(bom, full_db)
    hits = {(f.component.version, f.id) for f in res.findings}
    assert ("3.19.0", "PYSEC-2018-104") in hits  # PEP 503 name normalisation: oslo.middleware == oslo-middleware
    assert all(v != "3.19.1" or i != "PYSEC-2018-104" for v, i in hits)
    f = next(f for f in res.findings if f.id == "PYSEC-2018-104")
    assert "CVE-2017-2592" in f.aliases and f.fixed_versions == ["3.19.1"] and f.state == "fixed"


def test_not_covered_is_never_clean(full_db: Database, vulns: Path) -> None:
    sbom = json.loads((vulns / FIXTURES / "testdata" / "sbom-insecure" / "alpine-zlib-16.cdx.json").read_text())
    sbom["components"].append({"type": "library", "name": "left-pad", "version": "1.0.0", "purl": "pkg:npm/left-pad@1.0.0"})
    sbom["components"].append({"type": "library", "name": "mystery", "version": "1"})
    res = scan_sbom(sbom, full_db)
    assert res.findings == []
    reasons = " | ".join(f"{k}: {v}" for k, v in res.coverage.not_covered.items())
    assert "Alpine:v3.22: no advisories" in reasons and "zlib" in reasons
    assert "npm: no advisories" in reasons and "no purl" in reasons
    assert res.coverage.checked == {}


def test_alpine_origin_and_release_from_purl(tmp_path: Path, vulns: Path) -> None:
    """osv-scanner's expected finding for its fixture: zlib 1.2.12-r1 on Alpine v3.22 is affected by
    ALPINE-CVE-2022-37434, fixed in 1.2.12-r2 (a record in that shape, imported as all.zip)."""
    z = tmp_path / "Alpine-v3.22.zip"
    z.write_bytes(osv_zip([{"id": "ALPINE-CVE-2022-37434", "aliases": ["CVE-2022-37434"], "modified": "2025-01-01T00:00:00Z",
                            "affected": [{"package": {"ecosystem": "Alpine:v3.22", "name": "zlib"},
                                          "ranges": [{"type": "ECOSYSTEM",
                                                      "events": [{"introduced": "0"}, {"fixed": "1.2.12-r2"}]}]}],
                            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}]))
    with open_db(tmp_path / "v.db", create=True) as db:
        import_sources(db, [str(z)])
        sbom = json.loads((vulns / FIXTURES / "testdata" / "sbom-insecure" / "alpine-zlib-16.cdx.json").read_text())
        res = scan_sbom(sbom, db)
    (f,) = res.findings
    assert (f.id, f.installed_version, f.fixed_versions, f.ecosystem) == (
        "ALPINE-CVE-2022-37434", "1.2.12-r1", ["1.2.12-r2"], "Alpine:v3.22")
    assert f.severity is Severity.CRITICAL and f.cvss[0].score == 9.8
    assert f.component.location == "lib/apk/db/installed"


def _debian_record() -> dict[str, Any]:
    return {"id": "DEBIAN-CVE-2024-22365", "aliases": ["CVE-2024-22365"], "modified": "2025-01-01T00:00:00Z",
            "summary": "pam: allowing unprivileged user to block another user namespace",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "pam"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5.2-6+deb12u2"}]}]}]}


@pytest.mark.slow
def test_image_scan_real_package_databases(tmp_path: Path, external: Path, distro_zips: dict[str, Path], cli: Any) -> None:
    """Images made of real package databases (syft's Debian 12 dpkg fixture, trivy's apk fixture):
    the SBOM is generated on the fly; Debian packages are matched via their *source* package."""
    deb_root = external / "os-packages" / "debian" / "syft-image-dpkg"
    files = [File(str(p.relative_to(deb_root)), p.read_bytes()) for p in sorted(deb_root.rglob("*")) if p.is_file()]
    deb_layout = write_oci_layout(tmp_path / "deb", build_image([files]), tag="v1")
    apk_db = (external / "os-packages" / "alpine" / "trivy-apk" / "lib" / "apk" / "db" / "installed").read_bytes()
    apk_layout = write_oci_layout(tmp_path / "apk", build_image([
        [File("etc/os-release", b'ID=alpine\nVERSION_ID=3.4.6\n')],
        [File("lib/apk/db/installed", apk_db)]]), tag="v1")
    recs = tmp_path / "debian.zip"
    recs.write_bytes(osv_zip([_debian_record()]))
    env = {"SUPPLYCHAIN_VULN_DB": str(tmp_path / "v.db")}
    assert cli("vuln", "db", "import", str(recs), str(distro_zips["alpine"]), env=env).exit_code == 0
    r = cli("vuln", "scan", f"oci:{deb_layout}:v1", "--json", env=env)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    (f,) = doc["findings"]
    assert f["id"] == "DEBIAN-CVE-2024-22365" and f["package"] == "pam"
    assert f["component"]["name"] == "libpam-runtime" and f["installed_version"] == "1.1.8-3.6"
    assert f["component"]["location"] == "/var/lib/dpkg/status" and f["component"]["layer"].startswith("sha256:")
    assert f["fix"] == "fixed in 1.5.2-6+deb12u2"
    r = cli("vuln", "scan", str(apk_layout), "--json", env=env)  # an OCI layout directory, detected
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    # CVE-2016-2176 (openssl, Alpine v3.4) was fixed in 1.0.2h-r0; libcrypto1.0 1.0.2h-r1 is not affected
    assert doc["findings"] == []
    assert doc["coverage"]["checked"] == {"Alpine:v3.4": 15}  # trivy expects 15 packages in this database
    r = cli("vuln", "scan", str(apk_layout), env=env)
    assert "0 vulnerabilities" in r.stdout


def test_debian_tracker_states(full_db: Database) -> None:
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        {"type": "library", "name": "libapparmor1", "version": "3.0.8-3",
         "purl": "pkg:deb/debian/libapparmor1@3.0.8-3?arch=amd64&distro=debian-12&upstream=apparmor"},
        {"type": "library", "name": "apparmor", "version": "2.13.6-10",
         "purl": "pkg:deb/debian/apparmor@2.13.6-10?arch=amd64&distro=bullseye"},
    ]}
    res = scan_sbom(bom, full_db)
    found = {(f.component.name, f.id, f.state) for f in res.findings}
    # the tracker: CVE-2016-1585 open in bookworm and bullseye (no fix yet); CVE-2014-1424 resolved "0" (not affected)
    assert ("libapparmor1", "DEBIAN-CVE-2016-1585", "not-fixed") in found
    assert ("apparmor", "DEBIAN-CVE-2016-1585", "not-fixed") in found
    assert not any(i == "DEBIAN-CVE-2014-1424" for _, i, _ in found)
    assert res.coverage.checked == {"Debian:12": 1, "Debian:11": 1}


def test_composer_branch_versions_are_not_comparable(full_db: Database) -> None:
    res = scan_sbom([Component("r", "league/flysystem", "dev-master", "pkg:composer/league/flysystem@dev-master")],
                    full_db)
    assert res.findings == [] and res.coverage.not_comparable[0][1] == "dev-master is a branch, not a release"


# --- VEX -----------------------------------------------------------------------------------------

FLY = "pkg:composer/league/flysystem@1.0.8"


def _fly_result(full_db: Database) -> Any:
    return scan_sbom([Component("fly", "league/flysystem", "1.0.8", FLY)], full_db, target="app")


def test_openvex_suppresses_by_alias_and_later_statement_wins(full_db: Database) -> None:
    doc: dict[str, Any] = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "sec team",
           "timestamp": "2025-01-01T00:00:00Z", "version": 1,
           "statements": [{"vulnerability": {"name": "CVE-2021-32708"}, "products": [{"@id": "pkg:composer/league/flysystem"}],
                           "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}
    res = _fly_result(full_db)
    assert len(res.findings) == 1
    apply_vex(res, parse_vex(doc, source="team.vex.json"))
    assert res.findings == [] and res.suppressed[0].suppressed_by is not None
    assert res.suppressed[0].suppressed_by.document == "team.vex.json"
    later = {**doc, "timestamp": "2025-02-01T00:00:00Z", "statements": [
        {"vulnerability": {"name": "GHSA-9f46-5r25-5wfm"}, "products": [{"@id": FLY}], "status": "affected",
         "action_statement": "upgrade"}]}
    res = _fly_result(full_db)
    apply_vex(res, parse_vex(doc, source="a") + parse_vex(later, source="b", base=1))
    assert len(res.findings) == 1 and res.suppressed == []
    other = {**doc, "statements": [{**doc["statements"][0], "products": [{"@id": "pkg:composer/league/flysystem@2.0.0"}]}]}
    res = _fly_result(full_db)
    apply_vex(res, parse_vex(other, source="c"))
    assert len(res.findings) == 1  # another version: not this component


def test_openvex_image_product_with_subcomponents_and_attestation(full_db: Database) -> None:
    image = "pkg:oci/app@sha256%3A" + "a" * 64
    stmt = {"vulnerability": {"name": "CVE-2021-32708"}, "status": "not_affected",
            "justification": "component_not_present",
            "products": [{"@id": image, "subcomponents": [{"@id": FLY}]}]}
    vex = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2025-01-01T00:00:00Z",
           "version": 1, "statements": [stmt]}
    res = _fly_result(full_db)
    apply_vex(res, parse_vex(vex, source="v"), target_ids=["pkg:oci/other@sha256%3A" + "b" * 64])
    assert len(res.findings) == 1  # a statement about another image does not apply
    intoto = {"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://openvex.dev/ns/v0.2.0",
              "subject": [{"name": "app", "digest": {"sha256": "a" * 64}}], "predicate": vex}
    apply_vex(res, vex_from_verified_statements([intoto], source="attestation of app"), target_ids=[image])
    assert res.findings == [] and res.suppressed[0].suppressed_by.document.startswith("attestation of app")


def test_cyclonedx_vex_by_bom_ref(full_db: Database) -> None:
    vex = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
           "vulnerabilities": [{"id": "CVE-2021-32708", "analysis": {"state": "not_affected",
                                                                     "justification": "code_not_reachable"},
                                "affects": [{"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#fly"}]}]}
    res = _fly_result(full_db)
    apply_vex(res, parse_vex(vex, source="cdx-vex.json"))
    assert res.findings == [] and res.suppressed[0].suppressed_by.justification == "code_not_reachable"


def test_bad_vex_is_an_input_error(tmp_path: Path, full_db: Database, cli: Any, vulns: Path) -> None:
    bad = tmp_path / "bad.vex.json"
    bad.write_text(json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
        {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": FLY}], "status": "not_affected"}]}))
    lock = vulns / FIXTURES / "testdata" / "locks-insecure" / "composer.lock"
    r = cli("vuln", "scan", str(lock), "--vex", str(bad), env={"SUPPLYCHAIN_VULN_DB": str(full_db.path)})
    assert r.exit_code == 2 and "statements[0]: not_affected needs a justification" in r.stderr
    assert "Traceback" not in r.stderr


# --- outputs and exit codes ------------------------------------------------------------------------


def test_outputs_and_exit_codes(full_db: Database, vulns: Path, cli: Any, tmp_path: Path) -> None:
    lock = vulns / FIXTURES / "testdata" / "locks-insecure" / "composer.lock"
    env = {"SUPPLYCHAIN_VULN_DB": str(full_db.path)}
    r = cli("vuln", "scan", str(lock), env=env)
    assert r.exit_code == 0 and "league/flysystem" in r.stdout and "fixed in 1.1.4" in r.stdout
    assert "snapshot sha256:" in r.stdout
    r = cli("vuln", "scan", str(lock), "--fail-on", "critical", env=env)
    assert r.exit_code == 1 and "meet --fail-on critical" in r.stderr  # unknown severity meets thresholds
    r = cli("vuln", "scan", str(lock), "--fail-on", "critical", "--ignore-unknown-severity", env=env)
    assert r.exit_code == 0
    r = cli("vuln", "scan", str(lock), "--max-db-age", "1d", env=env)
    assert r.exit_code == 1 and "older than the allowed" in r.stderr
    r = cli("vuln", "scan", str(tmp_path / "nope.json"), env=env)
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    r = cli("vuln", "scan", str(lock), "--format", "sarif", env=env)
    sarif = json.loads(r.stdout)
    import jsonschema  # type: ignore[import-untyped, unused-ignore]

    schema = json.loads((Path(__file__).resolve().parents[1] / "policy" / "data" / "sarif-2.1.0-rtm.5.json").read_text())
    assert [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(sarif)] == []
    assert sarif["runs"][0]["results"][0]["ruleId"] == "FriendsOfPHP:league/flysystem/CVE-2021-32708"
    r = cli("vuln", "scan", str(lock), "--output-format", "openvex", env=env)
    vex = json.loads(r.stdout)
    stmts = parse_vex(vex, source="ours")
    assert stmts[0].status == "affected" and "CVE-2021-32708" in stmts[0].vulnerabilities


def test_library_renderers_with_suppressions(full_db: Database) -> None:
    res = _fly_result(full_db)
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
           "components": [{"type": "library", "name": "flysystem", "group": "league", "version": "1.0.8", "purl": FLY}]}
    res = scan_sbom(bom, full_db)
    apply_vex(res, parse_vex({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
        {"vulnerability": {"name": "CVE-2021-32708"}, "products": [{"@id": FLY}], "status": "not_affected",
         "justification": "vulnerable_code_not_present"}]}, source="v.json"))
    from supplychain.sbom.validate import validate_bytes

    cdx = render_cyclonedx(res, bom)
    report = validate_bytes(cdx.encode(), source="out")
    assert report.valid, report
    v = json.loads(cdx)["vulnerabilities"][0]
    assert v["analysis"]["state"] == "not_affected" and v["analysis"]["justification"] == "code_not_present"
    assert v["affects"][0]["ref"] == "supplychain-vuln-component-0"
    ov = json.loads(render_openvex(res, product="pkg:oci/app@sha256%3Aabc"))
    assert ov["statements"][0]["status"] == "not_affected"
    assert ov["statements"][0]["products"][0]["subcomponents"][0]["@id"] == FLY
    assert json.loads(render_sarif(res))["runs"][0]["results"] == []


def test_lean_purl_reader_agrees_with_packageurl(external: Path) -> None:
    """The scan's purl reader against packageurl-python on every purl of real SBOMs."""
    from packageurl import PackageURL

    from supplychain.vuln.components import parse_purl

    purls: set[str] = {"pkg:npm/%40babel/core@7.0.0", "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&"
                       "distro=debian-12&upstream=openssl%403.0.11-1~deb12u2", "pkg:rpm/redhat/openssl@1.1.1k-7.el8?"
                       "epoch=1&arch=x86_64&distro=rhel-8.9", "pkg:golang/github.com/a/b@v1.2.3#sub/dir"}
    for f in (external / "composer").rglob("*.json"):
        if f.name.startswith("bom."):
            purls |= set(re.findall(r'"purl": "([^"]+)"', f.read_text()))
    assert len(purls) > 90
    for p in sorted(purls):
        a, b = parse_purl(p), PackageURL.from_string(p)
        assert a is not None
        assert (a.type, a.namespace, a.name, a.version, a.qualifiers) == (
            b.type, b.namespace, b.name, b.version, dict(b.qualifiers or {})), p


def test_only_fixed_hides_and_does_not_fail_on_unfixed(full_db: Database, cli: Any, tmp_path: Path) -> None:
    sbom = tmp_path / "deb.cdx.json"
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [
        {"type": "library", "name": "libapparmor1", "version": "3.0.8-3", "bom-ref": "a",
         "purl": "pkg:deb/debian/libapparmor1@3.0.8-3?arch=amd64&distro=debian-12&upstream=apparmor"}]}))
    env = {"SUPPLYCHAIN_VULN_DB": str(full_db.path)}
    r = cli("vuln", "scan", str(sbom), "--fail-on", "low", env=env)
    assert r.exit_code == 0  # the tracker's urgency "unimportant" rates negligible: below low
    assert "negligible" in r.stdout and "no fix yet" in r.stdout and "(source apparmor)" in r.stdout
    r = cli("vuln", "scan", str(sbom), "--fail-on", "negligible", env=env)
    assert r.exit_code == 1
    r = cli("vuln", "scan", str(sbom), "--fail-on", "negligible", "--only-fixed", "--format", "cyclonedx", env=env)
    assert r.exit_code == 0 and json.loads(r.stdout)["vulnerabilities"] == []


@pytest.mark.parametrize("purl,ecosystems,expected", [
    ("pkg:rpm/almalinux/openssl-libs@3.0.7-24.el9?arch=x86_64&epoch=1&distro=almalinux-9.3&upstream=openssl-3.0.7-24.el9.src.rpm",
     [], (("AlmaLinux:9",), ("openssl-libs", "openssl"), "1:3.0.7-24.el9")),
    ("pkg:rpm/rocky/bash@5.1.8-6.el9_1?distro=rocky-9.2", [], (("Rocky Linux:9",), ("bash",), "5.1.8-6.el9_1")),
    ("pkg:rpm/redhat/bash@5.1.8-6.el9?distro=rhel-9.2", ["Red Hat:enterprise_linux:9::baseos", "Red Hat:enterprise_linux:8::baseos"],
     (("Red Hat:enterprise_linux:9::baseos",), ("bash",), "5.1.8-6.el9")),
    ("pkg:rpm/sles/curl@8.0.1-150400.5.41.1?distro=sles-15.5", ["SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Server 15 SP4"],
     (("SUSE:Linux Enterprise Server 15 SP5",), ("curl",), "8.0.1-150400.5.41.1")),
    ("pkg:deb/ubuntu/libc6@2.35-0ubuntu3.8?distro=ubuntu-22.04&upstream=glibc", ["Ubuntu:22.04:LTS"],
     (("Ubuntu:22.04:LTS",), ("glibc",), "2.35-0ubuntu3.8")),
    ("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?distro=debian-12.5&upstream=glibc%402.36-9%2Bdeb12u4", [],
     (("Debian:12",), ("glibc",), "2.36-9+deb12u4")),
    ("pkg:apk/alpine/busybox-binsh@1.36.1-r15?distro=alpine-3.19.1&upstream=busybox", [],
     (("Alpine:v3.19",), ("busybox",), "1.36.1-r15")),
    ("pkg:npm/%40babel/core@7.0.0", [], (("npm",), ("@babel/core",), "7.0.0")),
    ("pkg:pypi/Django_Rest@1.0", [], (("PyPI",), ("django-rest",), "1.0")),
])
def test_purl_to_advisory_ecosystem(purl: str, ecosystems: list[str], expected: tuple[Any, ...]) -> None:
    from supplychain.vuln.components import query_for

    q = query_for(purl, None, ecosystems)
    assert not isinstance(q, str), q
    assert (q.ecosystems, q.packages, q.version) == expected


def test_purls_without_release_are_reported_not_guessed() -> None:
    from supplychain.vuln.components import query_for

    assert "distro" in str(query_for("pkg:deb/debian/bash@5.2-1", None, []))
    assert "Red Hat" in str(query_for("pkg:rpm/redhat/bash@5.1-1?distro=rhel-9.2", None, []))
    assert query_for("pkg:golang/github.com/a/b@v1.0.0", None, []) == "golang packages"
