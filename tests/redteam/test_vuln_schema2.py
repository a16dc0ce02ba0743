"""Red team of the schema-2 advisory database and the matcher (issue 12): crafted OSV records,
SBOMs and database files through the real commands (`vuln db import`, `vuln scan`), looking for a
false "not vulnerable": a missed finding, a lost fix, a component wrongly taken as checked."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

CRITICAL = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]


def _record(rid: str, affected: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": rid, "modified": "2024-01-01T00:00:00Z", "affected": affected, **extra}


def _affected(eco: str, name: str, events: list[dict[str, str]] | None = None, *, rtype: str = "ECOSYSTEM",
              versions: list[str] | None = None) -> dict[str, Any]:
    a: dict[str, Any] = {"package": {"ecosystem": eco, "name": name}}
    if events is not None:
        a["ranges"] = [{"type": rtype, "events": events}]
    if versions is not None:
        a["versions"] = versions
    return a


def _bom(*purls: str) -> dict[str, Any]:
    comps = []
    for i, purl in enumerate(purls):
        name, _, version = purl.split("?")[0].rpartition("/")[2].partition("@")
        comps.append({"type": "library", "bom-ref": f"c{i}", "name": name, "version": version, "purl": purl})
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps}


def _scan(tmp_path: Path, records: list[dict[str, Any]], *purls: str) -> tuple[int, dict[str, Any]]:
    """Import ``records`` (a directory of OSV JSON files) into a fresh database, scan an SBOM of
    ``purls`` with --fail-on high: (exit code, JSON report)."""
    recs = tmp_path / "records"
    recs.mkdir()
    for r in records:
        (recs / f"{r['id']}.json").write_text(json.dumps(r))
    db = tmp_path / "vuln.db"
    imp = run_cli("vuln", "db", "import", "--db", str(db), str(recs))
    assert imp.exit_code == 0, imp.stderr
    (tmp_path / "bom.json").write_text(json.dumps(_bom(*purls)))
    r = run_cli("vuln", "scan", "--db", str(db), str(tmp_path / "bom.json"), "--json", "--fail-on", "high")
    assert r.exit_code in (0, 1), r.stderr
    return r.exit_code, json.loads(r.stdout)


OPENSSL = "pkg:deb/debian/libssl3@3.0.9-1~deb12u1?distro=debian-12&upstream=openssl"
DSA = _record("DSA-1", [_affected("Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}])],
              severity=CRITICAL)


def test_an_odd_record_does_not_hide_another_records_finding(tmp_path: Path) -> None:
    # A second record on the same package with a SEMVER range (which cannot order a Debian version
    # with '~') made the whole component "not comparable": DSA-1's critical finding vanished, exit 0,
    # and the gate only warns (SC-GATE-035). The finding must stand; the component is flagged too.
    odd = _record("ODD-1", [_affected("Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "0.0.1"}],
                                      rtype="SEMVER")])
    code, doc = _scan(tmp_path, [DSA, odd], OPENSSL)
    assert [(f["id"], f["severity"], f["fixed_versions"]) for f in doc["findings"]] == \
        [("DSA-1", "critical", ["3.0.11-1~deb12u2"])]
    assert code == 1
    assert [c["component"] for c in doc["coverage"]["not_comparable"]] == [OPENSSL]


def test_a_withdrawn_odd_record_does_not_hide_another_records_finding(tmp_path: Path) -> None:
    odd = _record("ODD-2", [_affected("Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "0.0.1"}],
                                      rtype="SEMVER")], withdrawn="2024-02-01T00:00:00Z")
    code, doc = _scan(tmp_path, [DSA, odd], OPENSSL)
    assert code == 1 and [f["id"] for f in doc["findings"]] == ["DSA-1"]


def test_a_listed_version_the_range_cannot_order_is_a_finding(tmp_path: Path) -> None:
    # PyPI records list legacy versions PEP 440 cannot parse ("2004d"): the exact listing says the
    # installed version is affected; it was reported "not comparable" (no finding, exit 0).
    # Column form (one range) and document form (a second range) alike; the range's fix is kept.
    simple = _record("PYSEC-1", [_affected("PyPI", "pytz", [{"introduced": "0"}, {"fixed": "2014.1"}],
                                           versions=["2004d", "2013.9"])], severity=CRITICAL)
    doc_form = _record("PYSEC-2", [{"package": {"ecosystem": "PyPI", "name": "oldpkg"}, "versions": ["2004d"],
                                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]},
                                               {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]}],
                       severity=CRITICAL)
    code, doc = _scan(tmp_path, [simple, doc_form], "pkg:pypi/pytz@2004d", "pkg:pypi/oldpkg@2004d")
    got = sorted((f["id"], f["package"], f["state"], f["fixed_versions"]) for f in doc["findings"])
    assert got == [("PYSEC-1", "pytz", "fixed", ["2014.1"]), ("PYSEC-2", "oldpkg", "fixed", ["2.0", "2.0.0"])]
    assert code == 1


def test_a_range_one_type_cannot_order_leaves_the_other_range_of_the_entry(tmp_path: Path) -> None:
    # One affected entry with an ECOSYSTEM and a SEMVER range: a Debian version with '~' is not
    # SemVer, and the SEMVER range's BadVersion threw away the ECOSYSTEM range's hit.
    both = _record("DSA-2", [{"package": {"ecosystem": "Debian:12", "name": "openssl"}, "ranges": [
        {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "3.0.11"}]},
        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}]}], severity=CRITICAL)
    code, doc = _scan(tmp_path, [both], OPENSSL)
    assert code == 1
    assert [(f["id"], f["state"]) for f in doc["findings"]] == [("DSA-2", "fixed")]
    assert "3.0.11-1~deb12u2" in doc["findings"][0]["fixed_versions"]


def test_a_range_with_a_bound_the_ecosystem_cannot_order_is_not_taken_as_clean(tmp_path: Path) -> None:
    # fixed "1.5-custom" is not PEP 440: whether 1.0 is affected is unknown. The component was
    # counted as checked and clean (no finding, no note, no warning for the gate).
    bad_bound = _record("PYSEC-9", [_affected("PyPI", "foo", [{"introduced": "0"}, {"fixed": "1.5-custom"}])],
                        severity=CRITICAL)
    _, doc = _scan(tmp_path, [bad_bound], "pkg:pypi/foo@1.0")
    assert doc["findings"] == []
    assert [c["component"] for c in doc["coverage"]["not_comparable"]] == ["pkg:pypi/foo@1.0"]
    assert "1.5-custom" in doc["coverage"]["not_comparable"][0]["reason"]
    assert doc["coverage"]["checked"] == {}


def _damaged(tmp_path: Path, sql: str) -> tuple[int, str]:
    """A database imported by us, then changed by hand with ``sql``; scanned."""
    code, doc = _scan(tmp_path, [DSA], OPENSSL)
    assert code == 1 and [f["id"] for f in doc["findings"]] == ["DSA-1"]
    with sqlite3.connect(tmp_path / "vuln.db") as conn:
        conn.execute(sql)
    r = run_cli("vuln", "scan", "--db", str(tmp_path / "vuln.db"), str(tmp_path / "bom.json"), "--json",
                "--fail-on", "high")
    return r.exit_code, r.stderr


def test_a_column_row_without_its_introduced_versions_is_a_damaged_database_not_a_clean_scan(tmp_path: Path) -> None:
    code, err = _damaged(tmp_path, "UPDATE affected SET lo = NULL")
    assert code == 2, err  # was: exit 0, no finding
    assert "vuln.db: damaged vulnerability database" in err and "Traceback" not in err


def test_a_stored_document_that_is_not_json_is_a_clear_error(tmp_path: Path) -> None:
    code, err = _damaged(tmp_path, "UPDATE affected SET rtype = NULL, doc = 'not json'")
    assert code == 2, err  # was: internal error (exit 70)
    assert "vuln.db: damaged vulnerability database" in err


def test_components_that_are_not_a_list_of_objects_are_bad_input_not_a_clean_sbom(tmp_path: Path) -> None:
    # The component reader skips what is not an object: a map of components, purl strings, or a
    # nested map made a vulnerable SBOM "0 vulnerabilities in 0 components" (exit 0; the gate too).
    _scan(tmp_path, [DSA], OPENSSL)  # the database
    foo = {"type": "library", "name": "libssl3", "version": "3.0.9-1~deb12u1", "purl": OPENSSL}
    for components in ({"libssl3": foo}, [OPENSSL], [{"type": "application", "name": "app", "components": {"x": foo}}]):
        (tmp_path / "odd.json").write_text(json.dumps(
            {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": components}))
        r = run_cli("vuln", "scan", "--db", str(tmp_path / "vuln.db"), str(tmp_path / "odd.json"), "--fail-on", "high")
        assert r.exit_code == 2, (components, r.stdout, r.stderr)
        assert "odd.json" in r.stderr and "'components' is not a list of component objects" in r.stderr


def test_a_yaml_record_nested_tens_of_thousands_deep_is_refused_not_a_crash(tmp_path: Path) -> None:
    # libyaml's composer recursed once per level and the import died of a segmentation fault
    # (exit -11, no message) on a 60 kB record; a FriendsOfPHP tree or an OSV directory is hostile input.
    recs = tmp_path / "records"
    recs.mkdir()
    depth = 60_000
    (recs / "deep.yaml").write_text("id: OSV-DEEP\nmodified: 2024-01-01T00:00:00Z\n"
                                    f"database_specific: {'[' * depth}{']' * depth}\n")
    r = run_cli("vuln", "db", "import", "--db", str(tmp_path / "vuln.db"), str(recs))
    assert r.exit_code == 2, (r.exit_code, r.stderr)
    assert "deep.yaml: invalid YAML: collections nested deeper than 1000 levels" in r.stderr


def test_a_record_dated_in_the_future_does_not_keep_the_data_fresh_for_ever(tmp_path: Path) -> None:
    # data_time was the newest record's `modified`: one record dated 2099 in an import made the data
    # "as of 2099", so --max-db-age (and the gate's max_db_age, SC-GATE-031) never failed again.
    old = _record("OSV-OLD", [_affected("PyPI", "foo", [{"introduced": "0"}, {"fixed": "2.0"}])],
                  modified="2020-01-01T00:00:00Z")
    future = _record("OSV-2099", [_affected("PyPI", "bar", [{"introduced": "0"}, {"fixed": "2.0"}])],
                     modified="2099-01-01T00:00:00Z")
    _scan(tmp_path, [old, future], "pkg:pypi/baz@1.0")
    with sqlite3.connect(tmp_path / "vuln.db") as conn:  # as if imported in June 2020 (the file is ours)
        conn.execute("UPDATE imports SET imported_at = '2020-06-01T00:00:00Z'")
    r = run_cli("vuln", "scan", "--db", str(tmp_path / "vuln.db"), str(tmp_path / "bom.json"), "--max-db-age", "30d")
    assert r.exit_code == 1, (r.stdout, r.stderr)
    assert "as of 2020-06-01T00:00:00Z" in r.stderr, r.stderr


@pytest.mark.registry
def test_the_gate_denies_the_finding_an_odd_record_used_to_hide(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The first hole end to end: a signed image whose attested SBOM holds libssl3 with DSA-1
    # (critical); a second record with a SEMVER range on openssl made the gate PASS it with only
    # the SC-GATE-035 warning.
    from supplychain.gate import decide_image, load_gate_policy
    from supplychain.gate.vuln_rules import set_database
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.specs import SignerSpec, TrustSpec
    from tests.image_signing.conftest import ENV, make_keypair
    from tests.imagebuild import File, build_image, push_image

    odd = _record("ODD-1", [_affected("Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "0.0.1"}],
                                      rtype="SEMVER")])
    _scan(tmp_path, [DSA, odd], OPENSSL)  # the database, and the CLI's answer (covered above)
    release = make_keypair(tmp_path, "release")
    client = RegistryClient()
    view = RegistryView(client)
    ref = f"{registry.host}/rt/odd:1.0"
    digest = push_image(client, ref, build_image([[File("app/odd", b"odd")]]))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
        sign_image(ref, SignerSpec(key_path=str(release.private)), registry=view)
        attest_image(ref, json.dumps(_bom(OPENSSL)).encode(), "https://cyclonedx.org/bom",
                     SignerSpec(key_path=str(release.private)), registry=view)
    policy = tmp_path / "gate.yaml"
    policy.write_text(f"""version: 1
trusted_registries: ["{registry.host}/rt/**"]
signers:
  - name: release
    images: ["{registry.host}/rt/**"]
    key: {release.public}
vulnerabilities:
  max_db_age: 36500d
  deny:
    - severity: high
""")
    set_database(str(tmp_path / "vuln.db"))
    try:
        d = decide_image(f"{ref}@{digest}", load_gate_policy(policy), registry=RegistryView(RegistryClient()),
                         trust=TrustSpec())
    finally:
        set_database(None)
    assert d.decision.value == "fail", d.reasons
    denied = [f.message for f in d.findings if f.rule == "SC-GATE-030"]
    assert len(denied) == 1 and denied[0].startswith("DSA-1") and "fixed in 3.0.11-1~deb12u2" in denied[0]
