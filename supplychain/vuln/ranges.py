"""Evaluating affected entries: is an installed version affected, and what fixes it.

:func:`affected_match` implements the OSV schema's evaluation on a stored document: a version is
affected when it is listed in ``versions`` or lies in an ``ECOSYSTEM`` / ``SEMVER`` range, whose
events are sorted by version ("0" first) and applied in order (``introduced`` opens, ``fixed``
closes at the version, ``last_affected`` closes after it, ``limit`` caps the range), or satisfies
one of FriendsOfPHP's Composer constraints. ``GIT`` ranges name commits, not versions, and are not
used for package versions.

:class:`SimpleAffected` is the column form the database (schema 2) keeps for the common shape of
entry, made by :func:`simple_form` at import and evaluated by :func:`simple_match` without a
document or sorting; the tests hold both paths to each other on real and generated entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple

from supplychain.vuln.composer_constraint import satisfies, satisfies_lists
from supplychain.vuln.versions import BadVersion, comparator_for

if TYPE_CHECKING:
    from supplychain.vuln.osv import AffectedEntry

__all__ = ["RangeMatch", "SimpleAffected", "affected_match", "simple_form", "simple_match"]


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
