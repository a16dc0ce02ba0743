"""Composer version constraints (composer/semver's ``VersionParser::parseConstraints``).

Used for the FriendsOfPHP advisories, whose ``branches.<name>.versions`` are lists of constraints
such as ``['>=2.1', '<2.1.18']`` (all must hold; branches are alternatives). Supported: the
operators ``< <= > >= = == != <>``, ``,`` / space (and), ``|`` / ``||`` (or), ``*`` wildcards,
``~`` and ``^``, and hyphen ranges. Like composer/semver, a ``<`` or ``>=`` bound without a
stability suffix gets ``-dev`` (so ``<1.1.4`` excludes ``1.1.4-RC1``), and branches (``dev-x``)
never satisfy a range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from supplychain.vuln.versions import BadVersion, composer_normalize, is_composer_branch, php_version_compare

__all__ = ["ConstraintError", "parse_constraints", "satisfies", "satisfies_lists", "to_lists"]

_MODIFIER_TAIL = re.compile(
    r"-[._-]?(?:(stable|beta|b|rc|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?$", re.I
)


class ConstraintError(ValueError):
    """A constraint string composer/semver would reject."""


@dataclass(frozen=True)
class Bound:
    op: str  # "<", "<=", ">", ">=", "==", "!="
    version: str  # normalized


def _bump(parts: list[str], position: int) -> str:
    nums = [int(p) for p in parts]
    while len(nums) < 4:
        nums.append(0)
    nums[position] += 1
    for k in range(position + 1, 4):
        nums[k] = 0
    return ".".join(str(n) for n in nums) + "-dev"


def _single(c: str) -> list[Bound]:
    c = re.sub(r"@(stable|RC|beta|alpha|dev)$", "", c, flags=re.I)
    c = re.sub(r"^([^,\s]+) +as +[^,\s]+$", r"\1", c)
    if re.fullmatch(r"v?[xX*](\.[xX*])*", c):
        return []  # matches everything
    m = re.fullmatch(r"~>?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(" + r"[._-]?.*)?", c)
    if m and c.startswith("~"):
        nums = [g for g in m.groups()[:4] if g is not None]
        low = composer_normalize(".".join(nums) + (m.group(5) or ""))
        if not m.group(5):
            low += "-dev"
        position = max(len(nums) - 2, 0)
        return [Bound(">=", low), Bound("<", _bump(nums, position))]
    m = re.fullmatch(r"\^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(.*)", c)
    if m:
        nums = [g for g in m.groups()[:4] if g is not None]
        low = composer_normalize(".".join(nums) + (m.group(5) or ""))
        if not m.group(5):
            low += "-dev"
        ints = [int(n) for n in nums]
        if ints[0] != 0 or len(nums) < 2:
            position = 0
        elif ints[1] != 0 or len(nums) < 3:
            position = 1
        else:
            position = 2
        return [Bound(">=", low), Bound("<", _bump(nums, position))]
    m = re.fullmatch(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\.[xX*]", c)
    if m:
        nums = [g for g in m.groups() if g is not None]
        low = ".".join([*nums, *["0"] * (4 - len(nums))]) + "-dev"
        return [Bound(">=", low), Bound("<", _bump(nums, len(nums) - 1))]
    m = re.fullmatch(r"(<>|!=|>=?|<=?|==?)?\s*(.+)", c)
    if not m:
        raise ConstraintError(f"{c!r}: not a Composer constraint")
    op = m.group(1) or "="
    raw = m.group(2).strip()
    try:
        version = composer_normalize(raw)
    except BadVersion as exc:
        raise ConstraintError(f"{c!r}: {exc}") from exc
    if op in ("<", ">=") and not _MODIFIER_TAIL.search(raw.lower()) and not raw.lower().startswith("dev-"):
        if not version.endswith("-dev"):
            version += "-dev"
    op = {"=": "==", "<>": "!="}.get(op, op)
    return [Bound(op, version)]


def _hyphen(c: str) -> list[Bound] | None:
    m = re.fullmatch(r"(\S+)\s+-\s+(\S+)", c)
    if not m:
        return None
    low = composer_normalize(m.group(1))
    if not _MODIFIER_TAIL.search(m.group(1).lower()):
        low += "-dev"
    hi_raw = m.group(2)
    hm = re.fullmatch(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?", hi_raw)
    if hm and hm.group(3) is None:
        nums = [g for g in hm.groups() if g is not None]
        return [Bound(">=", low), Bound("<", _bump(nums, len(nums) - 1))]
    return [Bound(">=", low), Bound("<=", composer_normalize(hi_raw))]


@lru_cache(maxsize=16384)
def parse_constraints(text: str) -> tuple[tuple[Bound, ...], ...]:
    """``'>=1.0,<1.2 || ^2.0'`` -> alternatives, each a conjunction of bounds (empty = any)."""
    s = text.strip()
    if not s:
        raise ConstraintError("empty constraint")
    alternatives: list[tuple[Bound, ...]] = []
    for alt in re.split(r"\s*\|\|?\s*", s):
        if not alt:
            raise ConstraintError(f"{text!r}: empty alternative")
        hy = _hyphen(alt)
        if hy is not None:
            alternatives.append(tuple(hy))
            continue
        parts = [p for p in re.split(r"(?<!^)(?<![=><!~^ ,])\s*[, ]\s*(?!$)", alt) if p.strip()]
        bounds: list[Bound] = []
        for p in parts:
            p = p.strip().rstrip(",")
            bounds.extend(_single(p))
        alternatives.append(tuple(bounds))
    return tuple(alternatives)


def _holds(version: str, op: str, bound: str) -> bool:
    v_branch, c_branch = is_composer_branch(version), is_composer_branch(bound)
    if op == "!=" and (v_branch or c_branch):
        return version != bound
    if v_branch and c_branch:
        return op == "==" and version == bound
    if v_branch or c_branch:
        return False
    r = php_version_compare(version, bound)
    if op == "<":
        return r < 0
    if op == "<=":
        return r <= 0
    if op == ">":
        return r > 0
    if op == ">=":
        return r >= 0
    if op == "==":
        return r == 0
    if op == "!=":
        return r != 0
    raise KeyError(op)


def satisfies(version: str, constraints: str | tuple[tuple[Bound, ...], ...]) -> bool:
    """Does the installed ``version`` satisfy ``constraints`` (composer/semver ``Semver::satisfies``)?"""
    parsed = parse_constraints(constraints) if isinstance(constraints, str) else constraints
    v = composer_normalize(version)
    return any(all(_holds(v, b.op, b.version) for b in alt) for alt in parsed)


def to_lists(parsed: tuple[tuple[Bound, ...], ...]) -> list[list[list[str]]]:
    """A parsed constraint as plain lists (stored in the database, so scans do not parse again)."""
    return [[[b.op, b.version] for b in alt] for alt in parsed]


def satisfies_lists(version: str, parsed: list[list[list[str]]]) -> bool:
    """:func:`satisfies` for a constraint stored with :func:`to_lists`."""
    v = composer_normalize(version)
    return any(all(_holds(v, op, bound) for op, bound in alt) for alt in parsed)
