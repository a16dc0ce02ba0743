"""OSV records (https://ossf.github.io/osv-schema/) and FriendsOfPHP advisories: validation and
normalisation into what the database stores (evaluation: :mod:`supplychain.vuln.ranges`).

Records are hostile input. :func:`normalize_osv` and :func:`normalize_friendsofphp` keep only the
fields matching needs, check every type, bound every list, and raise :class:`RecordError` naming
the record and the field at fault. Arbitrary subtrees (``database_specific`` ...) are never copied,
so a YAML alias bomb cannot expand into the database.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supplychain.vuln.composer_constraint import (
    ConstraintError,
    parse_constraints,
    to_lists,
)

__all__ = ["AdvisoryRecord", "AffectedEntry", "RecordError", "normalize_friendsofphp", "normalize_osv",
           "normalize_package_name"]

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
