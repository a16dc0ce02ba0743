"""Schema 2 stores affected entries of the common shape in columns (ranges.SimpleAffected) and matches
them with ranges.simple_match instead of decoding a document for ranges.affected_match. These tests hold
the two paths to each other on every entry of the real databases (FriendsOfPHP, PyPA, converted
Debian and Alpine records) and on crafted shapes, so the fast path can never answer differently."""

from __future__ import annotations

from typing import Any

import pytest

from supplychain.vuln.db import Database
from supplychain.vuln.osv import AffectedEntry, normalize_osv
from supplychain.vuln.ranges import RangeMatch, SimpleAffected, affected_match, simple_form, simple_match
from supplychain.vuln.versions import BadVersion

PROBES = ["0", "0.0.1", "0.9", "1.0", "1.0.0", "1.2.3", "2.0", "10.0", "99.0", "1:1.0-1", "1.0-1", "1.0~rc1",
          "1.0-r0", "1.0_rc1", "2.0.0-beta.1", "v1.0.0", "dev-main", "not a version", "1.0\n1.1", ""]


def _outcome(fn: Any, *args: Any) -> RangeMatch | str | None:
    try:
        m: RangeMatch | None = fn(*args)
    except BadVersion:
        return "BadVersion"
    return m


def _variants(v: str) -> list[str]:
    return [v, v + ".1", v + "-1", v + "~1", v + "-r1", v + "a", "1:" + v]


def _check(eco: str, e: SimpleAffected) -> int:
    versions = list(PROBES)
    for bound in (e.lo, e.hi):
        if bound:
            versions += _variants(bound)
    if e.versions:
        listed = e.versions.split("\n")
        versions += listed[:5] + [x + ".0" for x in listed[:2]]
    doc = e.doc()
    for v in versions:
        fast = _outcome(simple_match, eco, v, e)
        slow = _outcome(affected_match, eco, v, doc)
        assert fast == slow, f"{eco} {e} at {v!r}: column form {fast}, document {slow}"
    return len(versions)


def test_column_form_matches_like_the_document_on_all_real_entries(full_db: Database) -> None:
    keys = full_db.conn.execute("SELECT DISTINCT ecosystem, package FROM affected").fetchall()
    rows = full_db.lookup_affected(keys)
    simple = docs = checks = 0
    ecosystems = set()
    for (eco, _pkg), found in rows.items():
        for _aid, e in found:
            if isinstance(e, str):
                docs += eco != "Packagist"  # FriendsOfPHP's Composer constraints are always documents
                continue
            simple += 1
            ecosystems.add(eco.split(":")[0])
            checks += _check(eco, e)
    # nearly all real OSV entries take the fast path, in every ecosystem of the data; the others
    # (unsorted or touching intervals, bounds that cannot be ordered) stay documents
    assert simple > 20 * docs > 0, (simple, docs)
    assert {"PyPI", "Debian", "Alpine"} <= ecosystems
    assert checks > 50_000


def _entry(eco: str, *events: tuple[str, str], versions: tuple[str, ...] = (), rtype: str = "ECOSYSTEM",
           state: str | None = None) -> AffectedEntry:
    return AffectedEntry(eco, "pkg", ranges=[{"type": rtype, "events": [list(x) for x in events]}] if events else [],
                         versions=list(versions), state=state)


@pytest.mark.parametrize("entry", [
    _entry("PyPI", ("introduced", "0"), ("fixed", "1.2")),
    _entry("PyPI", ("introduced", "1.0"), ("last_affected", "1.4"), state="wont-fix"),
    _entry("PyPI", ("introduced", "1.0")),
    _entry("PyPI", versions=("1.0", "1.1rc1")),
    _entry("npm", ("introduced", "0"), ("fixed", "2.0.0-beta.1"), rtype="SEMVER"),
    _entry("Debian:12", ("introduced", "0"), ("fixed", "1:1.0-1+deb12u1"), state="wont-fix"),
    _entry("Alpine:v3.20", ("introduced", "1.0-r0"), ("fixed", "1.0.1_rc1-r0")),
    _entry("PyPI", ("introduced", "0"), ("fixed", "1.2"), ("introduced", "2.0"), ("fixed", "2.3.1"),
           ("introduced", "3.0rc1"), ("fixed", "3.0.2"), versions=("1.0", "2.1")),
    _entry("PyPI", ("introduced", "1.0"), ("fixed", "1.2"), ("introduced", "2.0")),  # the last one open
    _entry("npm", ("introduced", "0"), ("fixed", "1.0.0"), ("introduced", "2.0.0-rc.1"), ("fixed", "2.0.1"),
           rtype="SEMVER"),
    _entry("Packagist", ("introduced", "1.0"), ("fixed", "1.2")),
])
def test_column_form_round_trips_and_matches(entry: AffectedEntry) -> None:
    e = simple_form(entry)
    assert e is not None
    assert e.doc() == entry.doc()
    _check(entry.ecosystem, e)


@pytest.mark.parametrize("entry", [
    _entry("PyPI", ("introduced", "2.0"), ("fixed", "1.0")),  # out of order: sorted at match time
    _entry("PyPI", ("introduced", "1.0"), ("fixed", "1.0")),
    _entry("PyPI", ("introduced", "0"), ("limit", "2.0")),
    _entry("PyPI", ("introduced", "2.0"), ("fixed", "3.0"), ("introduced", "0"), ("fixed", "1.0")),  # unsorted
    _entry("PyPI", ("introduced", "0"), ("fixed", "2.0"), ("introduced", "2.0"), ("fixed", "3.0")),  # touching
    _entry("PyPI", ("introduced", "0"), ("fixed", "2.0"), ("introduced", "1.5"), ("fixed", "3.0")),  # overlapping
    _entry("PyPI", ("introduced", "0"), ("last_affected", "1.0"), ("introduced", "2.0"), ("fixed", "3.0")),
    _entry("PyPI", ("introduced", "1.0"), ("introduced", "2.0")),
    _entry("PyPI", ("introduced", "not a version")),
    _entry("PyPI", ("introduced", "0"), ("fixed", "not a version")),  # the bound cannot be ordered
    _entry("PyPI", ("introduced", "0"), ("fixed", "1.0"), rtype="GIT"),
    _entry("Mystery:1", ("introduced", "0"), ("fixed", "1.0")),  # no ordering for the ecosystem
    _entry("PyPI", versions=("1.0\n1.1",)),  # a listed version with a newline cannot be joined
    AffectedEntry("Packagist", "a/b", constraints=["<1.2"], parsed=[[[["<", "1.2.0.0-dev"]]]]),
    AffectedEntry("PyPI", "pkg", severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]),
])
def test_other_shapes_stay_documents(entry: AffectedEntry) -> None:
    assert simple_form(entry) is None


def test_newline_in_a_listed_version_never_matches_across_entries() -> None:
    e = simple_form(_entry("PyPI", versions=("1.0", "1.1")))
    assert e is not None and e.versions == "1.0\n1.1"
    assert simple_match("PyPI", "1.0\n1.1", e) is None  # not a PEP 440 version either way
    assert simple_match("PyPI", "1.1", e) == RangeMatch(fixed=[], state="not-fixed")
    assert simple_match("PyPI", "1.", e) is None and simple_match("PyPI", ".1", e) is None


def test_real_osv_record_takes_the_column_form() -> None:
    rec = normalize_osv({"id": "PYSEC-X", "modified": "2024-01-01T00:00:00Z", "affected": [
        {"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]}],
         "versions": ["1.0", "1.1"]}]}, name="PYSEC-X.json")
    e = simple_form(rec.affected[0])
    assert e == SimpleAffected("ECOSYSTEM", "0", "1.2.0", "fixed", "1.0\n1.1", None)


# --- generated entries: the column form and the document agree on every version -----------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_VERSIONS = {
    "PyPI": st.sampled_from(["0", "0.1", "1.0", "1.0rc1", "1.0.post1", "1.1", "1.2.3", "2.0", "2.0.dev1", "3",
                             "10.0", "1!0.5", "bad version"]),
    "npm": st.sampled_from(["0.0.1", "1.0.0", "1.0.0-rc.1", "1.2.3", "2.0.0", "2.0.0-alpha", "10.0.0", "1.0",
                            "v1.0.0"]),
    "Debian:12": st.sampled_from(["0", "1.0-1", "1.0-1+deb12u1", "1.0~rc1-1", "1:0.9-1", "1.0", "1.0-2", "2.0-1",
                                  "1.10-1", "a1"]),
    "Alpine:v3.20": st.sampled_from(["0", "1.0-r0", "1.0-r1", "1.0_rc1-r0", "1.0_p1-r0", "1.0.1-r0", "1.1-r0",
                                     "2.0-r0", "1.0a-r0", "x-r0"]),
}


@st.composite
def _generated(draw: st.DrawFn) -> tuple[AffectedEntry, list[str]]:
    eco = draw(st.sampled_from(sorted(_VERSIONS)))
    ver = _VERSIONS[eco]
    n = draw(st.integers(0, 5))
    events: list[list[str]] = []
    for i in range(n):
        kind = "introduced" if i % 2 == 0 else draw(st.sampled_from(["fixed", "fixed", "last_affected", "limit"]))
        events.append([kind, draw(ver)])
    rtype = draw(st.sampled_from(["ECOSYSTEM", "ECOSYSTEM", "SEMVER"]))
    entry = AffectedEntry(eco, "pkg", ranges=[{"type": rtype, "events": events}] if events else [],
                          versions=draw(st.lists(ver, max_size=3)),
                          state=draw(st.sampled_from([None, "wont-fix"])))
    return entry, draw(st.lists(ver, min_size=1, max_size=6))


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_generated())
def test_column_form_agrees_with_the_document_on_generated_entries(case: tuple[AffectedEntry, list[str]]) -> None:
    entry, probes = case
    e = simple_form(entry)
    if e is None:
        return
    assert e.doc() == entry.doc()
    for v in probes:
        fast = _outcome(simple_match, entry.ecosystem, v, e)
        slow = _outcome(affected_match, entry.ecosystem, v, entry.doc())
        assert fast == slow, f"{entry} at {v!r}: column form {fast}, document {slow}"
