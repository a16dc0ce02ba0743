"""OSV records (https://ossf.github.io/osv-schema/) and FriendsOfPHP advisories: validation,
normalisation into what the database stores, and range evaluation.

Records are hostile input. :func:`normalize_osv` and :func:`normalize_friendsofphp` keep only the
fields matching needs, check every type, bound every list, and raise :class:`RecordError` naming
the record and the field at fault. Arbitrary subtrees (``database_specific`` ...) are never copied,
so a YAML alias bomb cannot expand into the database.

:func:`affected_match` implements the OSV schema's evaluation: a version is affected when it is
listed in ``versions`` or lies in an ``ECOSYSTEM`` / ``SEMVER`` range, whose events are sorted by
version ("0" first) and applied in order (``introduced`` opens, ``fixed`` closes at the version,
``last_affected`` closes after it, ``limit`` caps the range). ``GIT`` ranges name commits, not
versions, and are not used for package versions.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any, NamedTuple

from supplychain.vuln.composer_constraint import (
    ConstraintError,
    parse_constraints,
    satisfies,
    satisfies_lists,
    to_lists,
)
from supplychain.vuln.versions import BadVersion, comparator_for

__all__ = ["AdvisoryRecord", "AffectedEntry", "RangeMatch", "RecordError", "SimpleAffected", "affected_match",
           "normalize_friendsofphp", "normalize_osv", "normalize_package_name", "simple_form", "simple_match"]

MAX_AFFECTED = 10_000
MAX_RANGES = 1_000
MAX_EVENTS = 10_000
MAX_VERSIONS_TOTAL = 500_000
MAX_STR = 4_096
MAX_TEXT = 65_536
MAX_REFERENCES = 1_000

WONT_FIX_WORDS = {"will-not-fix", "will_not_fix", "wont-fix", "wont_fix", "won't fix", "will not fix",
                  "ignored", "end-of-life", "eol", "deferred", "no-dsa", "not-fixed-wontfix"}

_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,255}$")


class RecordError(ValueError):
    """A record that is not a valid advisory; the message names the record and the field."""


@dataclass
class AffectedEntry:
    ecosystem: str
    package: str
    ranges: list[dict[str, Any]] = field(default_factory=list)  # {"type": T, "events": [[kind, version], ...]}
    versions: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)  # Composer constraints (FriendsOfPHP)
    parsed: list[list[list[list[str]]]] = field(default_factory=list)  # the same, parsed (to_lists)
    state: str | None = None  # "wont-fix" when the data says the vendor will not fix it
    severity: list[dict[str, str]] = field(default_factory=list)

    def doc(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.ranges:
            d["r"] = self.ranges
        if self.versions:
            d["v"] = self.versions
        if self.constraints:
            d["c"] = self.constraints
            d["cp"] = self.parsed
        if self.state:
            d["s"] = self.state
        if self.severity:
            d["sev"] = self.severity
        return d


class SimpleAffected(NamedTuple):
    """An affected entry of the common shape, as the database stores it in columns (schema 2).

    At most one range, of type ``rtype`` (``ECOSYSTEM`` or ``SEMVER``; None: no range), made of
    intervals in ascending order that do not touch: ``lo`` holds their ``introduced`` versions and
    ``hi`` their closing versions (each joined by newlines; "0" is the beginning and only first),
    ``hi_kind`` says how they close (``fixed``; ``last_affected`` for a single interval; None: no
    closing event), and the last interval may be open (one ``hi`` fewer than ``lo``).
    ``versions``: the listed versions joined by newlines (None: none); ``state`` as
    :attr:`AffectedEntry.state`. :func:`simple_form` checks all of that at import time, so
    :func:`simple_match` needs no sorting and no document."""

    rtype: str | None
    lo: str | None
    hi: str | None
    hi_kind: str | None
    versions: str | None
    state: str | None

    def doc(self) -> dict[str, Any]:
        """The same entry as :meth:`AffectedEntry.doc` gives it."""
        d: dict[str, Any] = {}
        if self.rtype is not None:
            los = (self.lo or "").split("\n")
            his = self.hi.split("\n") if self.hi is not None else []
            events: list[list[str]] = []
            for i, lo in enumerate(los):
                events.append(["introduced", lo])
                if i < len(his):
                    events.append([self.hi_kind or "fixed", his[i]])
            d["r"] = [{"type": self.rtype, "events": events}]
        if self.versions is not None:
            d["v"] = self.versions.split("\n")
        if self.state:
            d["s"] = self.state
        return d


def simple_form(entry: AffectedEntry) -> SimpleAffected | None:
    """``entry`` in the column form of :class:`SimpleAffected`, or None when it has any other shape
    (several ranges, events out of order, touching or overlapping intervals, ``limit`` events,
    bounds its ecosystem cannot order, Composer constraints, its own severity, a version with a
    newline): those are stored and evaluated as documents, exactly as before."""
    if entry.constraints or entry.severity or len(entry.ranges) > 1:
        return None
    if any("\n" in v or not v for v in entry.versions):
        return None
    rtype = lo = hi = hi_kind = None
    if entry.ranges:
        r = entry.ranges[0]
        events = r["events"]
        if r["type"] not in ("ECOSYSTEM", "SEMVER") or not events:
            return None
        cmp = comparator_for(entry.ecosystem, r["type"])
        if cmp is None:
            return None
        kinds = [k for k, _ in events]
        opens = kinds[0::2]
        closes = kinds[1::2]
        if any(k != "introduced" for k in opens) or (len(closes) > 1 and any(k != "fixed" for k in closes)):
            return None
        if any(k not in ("fixed", "last_affected") for k in closes):
            return None
        values = [v for _, v in events]
        if any("\n" in v for v in values) or "0" in values[1:]:
            return None
        try:  # every bound orderable, and strictly ascending: intervals in order that never touch
            for a, b in pairwise(values):
                if a != "0" and cmp(a, b) >= 0:
                    return None
            if values[-1] != "0":
                cmp(values[-1], values[-1])
        except BadVersion:
            return None
        rtype, lo = r["type"], "\n".join(values[0::2])
        if closes:
            hi, hi_kind = "\n".join(values[1::2]), closes[0]
    versions = "\n".join(entry.versions) if entry.versions else None
    return SimpleAffected(rtype, lo, hi, hi_kind, versions, entry.state)


@dataclass
class AdvisoryRecord:
    id: str
    modified: str | None
    withdrawn: str | None
    summary: str | None = None
    aliases: list[str] = field(default_factory=list)
    severity: list[dict[str, str]] = field(default_factory=list)  # [{"type": "CVSS_V3", "score": vector}]
    db_severity: str | None = None  # the record's own rating (GHSA "HIGH", Debian urgency ...)
    references: list[str] = field(default_factory=list)
    published: str | None = None
    affected: list[AffectedEntry] = field(default_factory=list)

    def doc(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id}
        for k in ("summary", "modified", "published", "db_severity"):
            v = getattr(self, k)
            if v:
                d[k] = v
        if self.aliases:
            d["aliases"] = self.aliases
        if self.severity:
            d["severity"] = self.severity
        if self.references:
            d["references"] = self.references
        return d


_PEP503 = re.compile(r"[-_.]+")


def normalize_package_name(ecosystem: str, name: str) -> str:
    """The lookup key of a package name: PEP 503 for PyPI, lowercase for Packagist."""
    base = ecosystem.split(":", 1)[0]
    if base == "PyPI":
        return _PEP503.sub("-", name).lower()
    if base == "Packagist":
        return name.lower()
    return name


def _str(value: Any, where: str, *, limit: int = MAX_STR, required: bool = False) -> str | None:
    if type(value) is str and len(value) <= limit and not _CTRL.search(value) and (not required or value.strip()):
        return value  # the common case, checked at C speed
    if value is None:
        if required:
            raise RecordError(f"{where}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | _dt.date):
        raise RecordError(f"{where}: expected a string, got {type(value).__name__}")
    s = value.isoformat() if isinstance(value, _dt.date) else str(value)
    if len(s) > limit:
        raise RecordError(f"{where}: longer than {limit} characters")
    if _CTRL.search(s):
        raise RecordError(f"{where}: contains control characters")
    if required and not s.strip():
        raise RecordError(f"{where}: empty")
    return s


def _list(value: Any, where: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{where}: expected a list, got {type(value).__name__}")
    if len(value) > limit:
        raise RecordError(f"{where}: more than {limit} entries")
    return value


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RecordError(f"{where}: expected an object, got {type(value).__name__}")
    return value


_RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z")


_YAML_TS = re.compile(r"(\d{4})-(\d\d?)-(\d\d?)(?:(?:[Tt]|[ \t]+)(\d\d?):(\d\d):(\d\d)(?:\.\d*)?"
                      r"(?:[ \t]*(Z|[-+]\d\d?(?::\d\d)?))?)?")


def _yaml_timestamp(s: str) -> _dt.datetime | None:
    m = _YAML_TS.fullmatch(s.strip())
    if not m:
        return None
    y, mo, d, h, mi, sec, tz = m.groups()
    try:
        t = _dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = -1 if tz[0] == "-" else 1
        hh, _, mm = tz[1:].partition(":")
        t = t.replace(tzinfo=_dt.timezone(sign * _dt.timedelta(hours=int(hh), minutes=int(mm or 0))))
    return t


def _time(value: Any, where: str) -> str | None:
    if type(value) is str and _RFC3339_Z.fullmatch(value):
        try:  # the common UTC form: checked, then cut to seconds without a datetime round trip
            _dt.datetime(int(value[:4]), int(value[5:7]), int(value[8:10]), int(value[11:13]),
                         int(value[14:16]), int(value[17:19]))
        except ValueError as exc:
            raise RecordError(f"{where}: not an RFC 3339 time: {value!r}") from exc
        return value[:19] + "Z"
    s = _str(value, where, limit=64)
    if s is None:
        return None
    t: _dt.datetime | None
    try:
        t = _dt.datetime.fromisoformat(s.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        t = _yaml_timestamp(s)  # YAML's timestamp form (single-digit hours, "Z", spaces)
    if t is None:
        raise RecordError(f"{where}: not an RFC 3339 time: {s!r}")
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _severity_list(value: Any, where: str) -> list[dict[str, str]]:
    out = []
    for i, s in enumerate(_list(value, where, 16)):
        s = _obj(s, f"{where}[{i}]")
        typ = _str(s.get("type"), f"{where}[{i}].type", required=True)
        score = _str(s.get("score"), f"{where}[{i}].score", required=True)
        assert typ is not None and score is not None
        out.append({"type": typ, "score": score})
    return out


def _specific_state(*docs: Any) -> tuple[str | None, str | None]:
    """(fix state, own severity) from ecosystem_specific / database_specific (only scalar keys read)."""
    state = rating = None
    for d in docs:
        if not isinstance(d, Mapping):
            continue
        for key in ("status", "fix_state", "fix-state", "state", "resolution"):
            v = d.get(key)
            if isinstance(v, str) and v.strip().lower() in WONT_FIX_WORDS:
                state = "wont-fix"
        for key in ("severity", "urgency", "ubuntu_priority", "priority"):
            v = d.get(key)
            if isinstance(v, str) and v.strip() and len(v) < 64 and rating is None:
                rating = v.strip()
    return state, rating


_EVENT_KINDS = ("introduced", "last_affected", "fixed", "limit")


def normalize_osv(doc: Any, *, name: str) -> AdvisoryRecord:
    """Validate one OSV record (parsed JSON/YAML) from ``name`` (file or zip member)."""
    d = _obj(doc, name)
    rid = _str(d.get("id"), f"{name}: id", limit=256, required=True)
    assert rid is not None
    if not _ID_RE.match(rid):
        raise RecordError(f"{name}: id {rid[:80]!r} is not a valid OSV id")
    where = f"{name} ({rid})"
    rec = AdvisoryRecord(
        id=rid,
        modified=_time(d.get("modified"), f"{where}: modified"),
        withdrawn=_time(d.get("withdrawn"), f"{where}: withdrawn"),
        published=_time(d.get("published"), f"{where}: published"),
    )
    summary = _str(d.get("summary"), f"{where}: summary", limit=MAX_TEXT)
    if not summary:
        details = _str(d.get("details"), f"{where}: details", limit=1 << 20)
        summary = details.strip().split("\n", 1)[0][:300] if details else None
    rec.summary = summary
    rec.aliases = [a for a in (_str(x, f"{where}: aliases[{i}]", limit=256)
                               for i, x in enumerate(_list(d.get("aliases"), f"{where}: aliases", 1000))) if a]
    rec.severity = _severity_list(d.get("severity"), f"{where}: severity")
    _, rec.db_severity = _specific_state(d.get("database_specific"))
    for i, ref in enumerate(_list(d.get("references"), f"{where}: references", MAX_REFERENCES)):
        ref = _obj(ref, f"{where}: references[{i}]")
        url = _str(ref.get("url"), f"{where}: references[{i}].url")
        if url:
            rec.references.append(url)
    total_versions = 0
    for i, a in enumerate(_list(d.get("affected"), f"{where}: affected", MAX_AFFECTED)):
        aw = f"{where}: affected[{i}]"
        a = _obj(a, aw)
        pkg = a.get("package")
        if pkg is None:
            continue  # OSV allows affected entries without a package (GIT-only); nothing to match
        pkg = _obj(pkg, f"{aw}.package")
        eco = _str(pkg.get("ecosystem"), f"{aw}.package.ecosystem", limit=256, required=True)
        pname = _str(pkg.get("name"), f"{aw}.package.name", limit=1024, required=True)
        assert eco is not None and pname is not None
        entry = AffectedEntry(ecosystem=eco.strip(), package=normalize_package_name(eco.strip(), pname.strip()))
        for j, r in enumerate(_list(a.get("ranges"), f"{aw}.ranges", MAX_RANGES)):
            rw = f"{aw}.ranges[{j}]"
            r = _obj(r, rw)
            rtype = _str(r.get("type"), f"{rw}.type", limit=32, required=True)
            assert rtype is not None
            events: list[list[str]] = []
            for k, ev in enumerate(_list(r.get("events"), f"{rw}.events", MAX_EVENTS)):
                ev = _obj(ev, f"{rw}.events[{k}]")
                kinds = [x for x in _EVENT_KINDS if x in ev]
                if len(kinds) != 1:
                    raise RecordError(f"{rw}.events[{k}]: must have exactly one of {', '.join(_EVENT_KINDS)}")
                v = _str(ev[kinds[0]], f"{rw}.events[{k}].{kinds[0]}", limit=1024, required=True)
                assert v is not None
                events.append([kinds[0], v])
            if rtype in ("ECOSYSTEM", "SEMVER"):
                entry.ranges.append({"type": rtype, "events": events})
        versions = _list(a.get("versions"), f"{aw}.versions", MAX_VERSIONS_TOTAL)
        total_versions += len(versions)
        if total_versions > MAX_VERSIONS_TOTAL:
            raise RecordError(f"{where}: more than {MAX_VERSIONS_TOTAL} listed versions in all")
        if all(type(v) is str and 0 < len(v) <= 1024 for v in versions) and not _CTRL.search("".join(versions)):
            entry.versions = list(versions)  # the common case, checked at C speed
        else:
            entry.versions = [s for s in (_str(v, f"{aw}.versions[{k}]", limit=1024)
                                          for k, v in enumerate(versions)) if s]
        entry.state, own = _specific_state(a.get("ecosystem_specific"), a.get("database_specific"))
        if own and not rec.db_severity:
            rec.db_severity = own
        entry.severity = _severity_list(a.get("severity"), f"{aw}.severity")
        rec.affected.append(entry)
    return rec


_GHSA_RE = re.compile(r"GHSA(-[23456789cfghjmpqrvwx]{4}){3}")


def normalize_friendsofphp(doc: Any, *, name: str, relpath: str) -> AdvisoryRecord:
    """One FriendsOfPHP advisory (``<vendor>/<package>/<file>.yaml``) as a Packagist record.

    Its id is ``FriendsOfPHP:<vendor>/<package>/<file>``; the CVE (and a GHSA id in ``link``)
    become aliases; each branch's ``versions`` list is one Composer constraint (all must hold),
    branches are alternatives. The newest branch ``time`` is the record's modification time.
    """
    d = _obj(doc, name)
    ref = _str(d.get("reference"), f"{name}: reference", required=True)
    assert ref is not None
    if not ref.startswith("composer://"):
        raise RecordError(f"{name}: reference {ref[:80]!r} is not composer://vendor/package")
    package = ref[len("composer://"):].strip().lower()
    if not re.fullmatch(r"[a-z0-9_.-]+/[a-z0-9_.-]+", package):
        raise RecordError(f"{name}: reference {ref[:80]!r} does not name a Composer package")
    stem = re.sub(r"\.ya?ml$", "", relpath)
    rid = "FriendsOfPHP:" + stem
    if not _ID_RE.match(rid):
        raise RecordError(f"{name}: file name does not give a usable advisory id")
    rec = AdvisoryRecord(id=rid, modified=None, withdrawn=None)
    rec.summary = _str(d.get("title"), f"{name}: title", limit=MAX_TEXT)
    link = _str(d.get("link"), f"{name}: link")
    if link:
        rec.references.append(link)
    cve = _str(d.get("cve"), f"{name}: cve", limit=64)
    if cve and cve.strip() and cve.strip() != "~":
        rec.aliases.append(cve.strip())
    if link:
        m = _GHSA_RE.search(link)
        if m:
            rec.aliases.append(m.group(0))
    branches = _obj(d.get("branches"), f"{name}: branches")
    if len(branches) > MAX_RANGES:
        raise RecordError(f"{name}: branches: more than {MAX_RANGES} entries")
    entry = AffectedEntry(ecosystem="Packagist", package=package)
    newest: str | None = None
    for bname, b in branches.items():
        bw = f"{name}: branches.{bname}"
        b = _obj(b, bw)
        t = b.get("time")
        if t is not None:
            ts = _time(t, f"{bw}.time")
            if ts and (newest is None or ts > newest):
                newest = ts
        parts = [_str(v, f"{bw}.versions[{k}]", limit=256, required=True)
                 for k, v in enumerate(_list(b.get("versions"), f"{bw}.versions", 64))]
        if not parts:
            raise RecordError(f"{bw}.versions: empty")
        constraint = ",".join(p.strip() for p in parts if p)
        try:
            parsed = parse_constraints(constraint)
        except ConstraintError as exc:
            raise RecordError(f"{bw}.versions: {exc}") from exc
        entry.constraints.append(constraint)
        entry.parsed.append(to_lists(parsed))
    rec.modified = newest
    rec.affected.append(entry)
    return rec


# --- evaluation ---------------------------------------------------------------------------------

_KIND_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}


@dataclass
class RangeMatch:
    """Why a version is affected: the fixed versions after it (empty: no fix yet), and the state."""

    fixed: list[str]
    state: str  # "fixed", "not-fixed", "wont-fix"
    notes: list[str] = field(default_factory=list)


def _sorted_events(events: Iterable[list[str]], cmp: Any) -> list[list[str]]:
    import functools

    def order(x: list[str], y: list[str]) -> int:
        xz, yz = x[0] == "introduced" and x[1] == "0", y[0] == "introduced" and y[1] == "0"
        if xz or yz:
            r = 0 if (xz and yz) else (-1 if xz else 1)
        else:
            r = cmp(x[1], y[1])
        return r if r else _KIND_ORDER[x[0]] - _KIND_ORDER[y[0]]

    return sorted(events, key=functools.cmp_to_key(order))


def _range_affects(version: str, events: list[list[str]], cmp: Any) -> tuple[bool, list[str]]:
    if len(events) == 2 and events[0][0] == "introduced" and events[1][0] in ("fixed", "last_affected"):
        # the common shape, already in order when introduced < the closing event
        (_, intro), (kind, end) = events
        if intro == "0" or cmp(intro, end) < 0:
            opened = intro == "0" or cmp(version, intro) >= 0
            c = cmp(version, end)
            if kind == "fixed":
                return (True, [end]) if opened and c < 0 else (False, [])
            return opened and c <= 0, []
    evs = _sorted_events(events, cmp)
    affected = False
    for kind, v in evs:
        if kind == "introduced":
            if v == "0" or cmp(version, v) >= 0:
                affected = True
        elif kind == "fixed":
            if cmp(version, v) >= 0:
                affected = False
        elif kind == "last_affected" and cmp(version, v) > 0:
            affected = False
    limits = [v for k, v in evs if k == "limit"]
    if affected and limits and not any(cmp(version, v) < 0 for v in limits):
        affected = False
    fixed: list[str] = []
    if affected:
        for kind, v in evs:
            if kind == "fixed" and cmp(v, version) > 0:
                fixed.append(v)
                break
    return affected, fixed


def _fop_fixed(constraint: str) -> str | None:
    m = re.search(r"(?:^|,)\s*<\s*([^,<>=\s]+)\s*$", constraint)
    return m.group(1) if m else None


@lru_cache(maxsize=16384)
def _check_version(cmp: Any, version: str) -> None:
    """BadVersion unless ``cmp`` orders ``version`` (remembered: a scan asks once per range)."""
    cmp(version, version)


def affected_match(ecosystem: str, version: str, entry: Mapping[str, Any]) -> RangeMatch | None:
    """Is ``version`` affected by one stored affected entry (a document)? None when not (or not
    decidable).

    Raises BadVersion when the installed version cannot be ordered by a range of the entry and
    nothing else in the entry (a listed version, another range) affects it: the caller reports the
    component as not comparable. A hit elsewhere in the entry stands, with a note.
    """
    notes: list[str] = []
    hit = False
    fixed: list[str] = []
    listed = entry.get("v") or []
    if version in listed:
        hit = True
    constraints = entry.get("c") or []
    parsed = entry.get("cp") or [None] * len(constraints)
    for constraint, cp in zip(constraints, parsed, strict=False):
        if satisfies_lists(version, cp) if cp is not None else satisfies(version, constraint):
            hit = True
            f = _fop_fixed(constraint)
            if f:
                fixed.append(f)
    unordered: BadVersion | None = None  # a range cannot order the installed version
    unevaluated: BadVersion | None = None  # a range has a bound the ecosystem cannot order
    unordered_fixed: list[str] = []  # the fixes of such a range: which one applies is unknown
    for r in entry.get("r") or []:
        cmp = comparator_for(ecosystem, r.get("type", "ECOSYSTEM"))
        if cmp is None:
            notes.append(f"no version ordering for {ecosystem}: range not evaluated")
            continue
        try:
            _check_version(cmp, version)
        except BadVersion as exc:  # this range cannot order the installed version: the others still count
            unordered = exc
            unordered_fixed.extend(v for k, v in r.get("events") or [] if k == "fixed")
            continue
        try:
            affects, fx = _range_affects(version, r.get("events") or [], cmp)
        except BadVersion as exc:  # a bound this ecosystem cannot order: affected or not is unknown
            notes.append(f"range not evaluated: {exc}")
            unevaluated = unevaluated or BadVersion(f"an advisory range cannot be evaluated: {exc}")
            continue
        if affects:
            hit = True
            fixed.extend(fx)
    if not hit:  # unknown: the caller reports the component as not comparable, never as clean
        if unordered is not None:
            raise unordered
        if unevaluated is not None:
            raise unevaluated
        return None
    if unordered is not None:
        notes.append(f"range not evaluated: {unordered}")
        fixed.extend(unordered_fixed)
    return _result(fixed, entry.get("s"), notes)


def _result(fixed: list[str], state: str | None, notes: list[str]) -> RangeMatch:
    uniq = list(dict.fromkeys(fixed)) if len(fixed) > 1 else fixed
    if state == "wont-fix" and not uniq:
        st = "wont-fix"
    else:
        st = "fixed" if uniq else "not-fixed"
    return RangeMatch(fixed=uniq, state=st, notes=notes)


def _listed(version: str, joined: str) -> bool:
    """Is ``version`` one of the newline-joined ``joined`` (none of which holds a newline)?"""
    if "\n" in version or not version:
        return False
    n, end = len(version), len(joined)
    i = joined.find(version)
    while i >= 0:
        j = i + n
        if (i == 0 or joined[i - 1] == "\n") and (j == end or joined[j] == "\n"):
            return True
        i = joined.find(version, i + 1)
    return False


def simple_match(ecosystem: str, version: str, entry: SimpleAffected) -> RangeMatch | None:
    """:func:`affected_match` for an entry in column form: the same answers (the tests hold the two
    to each other on every stored entry of the shared databases) without building a document or
    sorting events: :func:`simple_form` stored only ascending intervals that never touch, of
    bounds the ecosystem orders."""
    hit = entry.versions is not None and _listed(version, entry.versions)
    fixed: list[str] = []
    notes: list[str] = []
    rtype = entry.rtype
    if rtype is not None:
        cmp = comparator_for(ecosystem, rtype)
        if cmp is None:  # never stored in this form
            raise BadVersion(f"no version ordering for {ecosystem}")
        try:
            _check_version(cmp, version)
        except BadVersion as exc:  # a listed version is affected all the same (as in affected_match)
            if not hit:
                raise
            if entry.hi is not None and entry.hi_kind != "last_affected":
                fixed = entry.hi.split("\n")  # which one applies is unknown
            return _result(fixed, entry.state, [f"range not evaluated: {exc}"])
        if entry.lo is None:
            raise ValueError("an affected row with a range type and no introduced version")
        los = entry.lo.split("\n")
        his = entry.hi.split("\n") if entry.hi is not None else []
        last = entry.hi_kind == "last_affected"
        try:
            for i, lo in enumerate(los):
                if lo != "0" and cmp(version, lo) < 0:
                    break  # below this interval, and above the ones before it
                if i >= len(his):
                    hit = True  # in the open last interval: no fix
                    break
                c = cmp(version, his[i])
                if c < 0 or (last and c == 0):
                    hit = True
                    if not last:
                        fixed.append(his[i])
                    break
        except BadVersion as exc:  # not stored so by simple_form: a damaged or hand-made row
            if not hit:
                raise BadVersion(f"an advisory range cannot be evaluated: {exc}") from exc
            notes.append(f"range not evaluated: {exc}")
    if not hit:
        return None
    return _result(fixed, entry.state, notes)
