"""OSV range semantics (introduced / fixed / last_affected / limit, versions lists, SEMVER vs
ECOSYSTEM vs GIT) and record validation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.vuln.osv import RecordError, normalize_friendsofphp, normalize_osv
from supplychain.vuln.ranges import affected_match


def entry(*events: tuple[str, str], rtype: str = "ECOSYSTEM", versions: list[str] | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"r": [{"type": rtype, "events": [list(e) for e in events]}]}
    if versions:
        d["v"] = versions
    return d


def hit(eco: str, v: str, e: dict[str, Any]) -> list[str] | None:
    m = affected_match(eco, v, e)
    return None if m is None else m.fixed


def test_introduced_fixed() -> None:
    e = entry(("introduced", "0"), ("fixed", "1.2.3"))
    assert hit("PyPI", "1.2.2", e) == ["1.2.3"]
    assert hit("PyPI", "1.2.3", e) is None
    assert hit("PyPI", "0.0.1", e) == ["1.2.3"]


def test_unsorted_events_are_sorted_first() -> None:
    # the shape of PYSEC-2018-104 (oslo-middleware): several introduced/fixed pairs, unsorted
    e = entry(("introduced", "3.9.0"), ("fixed", "3.19.1"), ("introduced", "0"), ("fixed", "3.8.1"),
              ("introduced", "3.20.0"), ("fixed", "3.23.1"))
    assert hit("PyPI", "3.8.0", e) == ["3.8.1"]
    assert hit("PyPI", "3.8.1", e) is None
    assert hit("PyPI", "3.9.0", e) == ["3.19.1"]
    assert hit("PyPI", "3.19.5", e) is None
    assert hit("PyPI", "3.22.0", e) == ["3.23.1"]
    assert hit("PyPI", "3.24", e) is None


def test_last_affected_is_inclusive_and_no_fix() -> None:
    e = entry(("introduced", "1.0"), ("last_affected", "1.4"))
    m = affected_match("PyPI", "1.4", e)
    assert m is not None and m.fixed == [] and m.state == "not-fixed"
    assert hit("PyPI", "1.4.1", e) is None
    assert hit("PyPI", "0.9", e) is None


def test_limit_caps_the_range() -> None:
    e = entry(("introduced", "0"), ("limit", "2.0"))
    assert hit("PyPI", "1.9", e) == []
    assert hit("PyPI", "2.0", e) is None


def test_versions_list_matches_exactly() -> None:
    e: dict[str, Any] = {"v": ["1.0", "1.1"]}
    assert hit("PyPI", "1.1", e) == []
    assert hit("PyPI", "1.2", e) is None


def test_git_ranges_do_not_match_versions() -> None:
    raw = {"id": "PYSEC-0000-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"},
                                                "ranges": [{"type": "GIT", "repo": "https://example.org/x",
                                                            "events": [{"introduced": "0"}, {"fixed": "abc"}]}]}]}
    rec = normalize_osv(raw, name="t")
    assert rec.affected[0].ranges == []
    assert affected_match("PyPI", "1.0", rec.affected[0].doc()) is None


def test_semver_range_uses_semver_order_in_any_ecosystem() -> None:
    e = entry(("introduced", "1.0.0-alpha"), ("fixed", "1.0.0"), rtype="SEMVER")
    assert hit("npm", "1.0.0-rc.1", e) == ["1.0.0"]
    assert hit("npm", "1.0.0", e) is None


def test_distro_orders() -> None:
    deb = entry(("introduced", "0"), ("fixed", "3.0.11-1~deb12u2"))
    assert hit("Debian:12", "3.0.11-1~deb12u1", deb) == ["3.0.11-1~deb12u2"]
    assert hit("Debian:12", "3.0.11-1", deb) is None  # 3.0.11-1 > 3.0.11-1~deb12u2
    apk = entry(("introduced", "0"), ("fixed", "1.2.12-r2"))
    assert hit("Alpine:v3.16", "1.2.12-r1", apk) == ["1.2.12-r2"]
    assert hit("Alpine:v3.16", "1.2.12_p1-r0", apk) is None


def test_wont_fix_state_from_ecosystem_specific() -> None:
    raw = {"id": "DEBIAN-CVE-2000-1", "affected": [{"package": {"ecosystem": "Debian:12", "name": "x"},
                                                     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                                                     "ecosystem_specific": {"status": "will-not-fix"}}]}
    rec = normalize_osv(raw, name="t")
    m = affected_match("Debian:12", "1.0-1", rec.affected[0].doc())
    assert m is not None and m.state == "wont-fix"


def test_friendsofphp_branches() -> None:
    doc = {"title": "t", "link": "https://github.com/advisories/GHSA-9f46-5r25-5wfm", "cve": "CVE-2021-32708",
           "reference": "composer://League/Flysystem",
           "branches": {"1.x": {"time": "2021-06-23 23:56:59", "versions": ["<1.1.4"]},
                        "2.x": {"time": "2021-06-24 00:07:59", "versions": [">=2.0.0", "<2.1.1"]}}}
    rec = normalize_friendsofphp(doc, name="f.yaml", relpath="league/flysystem/CVE-2021-32708.yaml")
    assert rec.id == "FriendsOfPHP:league/flysystem/CVE-2021-32708"
    assert rec.aliases == ["CVE-2021-32708", "GHSA-9f46-5r25-5wfm"]
    assert rec.modified == "2021-06-24T00:07:59Z"
    a = rec.affected[0].doc()
    assert hit("Packagist", "1.0.8", a) == ["1.1.4"]
    assert hit("Packagist", "v2.1.0", a) == ["2.1.1"]
    assert hit("Packagist", "2.1.1", a) is None
    assert hit("Packagist", "1.1.4-RC1", a) is None  # composer: <1.1.4 means <1.1.4.0-dev


@pytest.mark.parametrize("raw,fragment", [
    ([], "expected an object"),
    ({"affected": []}, "id: missing"),
    ({"id": "../../etc/passwd"}, "not a valid OSV id"),
    ({"id": "X-1", "affected": {"a": 1}}, "affected: expected a list"),
    ({"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI"}}]}, "package.name: missing"),
    ({"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"},
                                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1"}]}]}]},
     "exactly one of"),
    ({"id": "X-1", "modified": "yesterday"}, "not an RFC 3339 time"),
    ({"id": "X-1", "summary": "a\x00b"}, "control characters"),
])
def test_invalid_records_name_the_field(raw: Any, fragment: str) -> None:
    with pytest.raises(RecordError) as ei:
        normalize_osv(raw, name="rec.json")
    assert fragment in str(ei.value)
    assert "rec.json" in str(ei.value)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(
                        st.sampled_from(["id", "affected", "package", "ranges", "events", "versions", "name",
                                         "ecosystem", "type", "introduced", "fixed", "aliases", "modified"]),
                        c, max_size=5), max_leaves=30))
def test_hostile_records_never_crash(doc: Any) -> None:
    try:
        rec = normalize_osv(doc, name="fuzz.json")
    except RecordError:
        return
    for a in rec.affected:
        try:
            affected_match(a.ecosystem, "1.0", a.doc())
        except ValueError:
            pass
