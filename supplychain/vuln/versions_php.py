"""PHP ``version_compare`` and Composer version normalization and ordering (Packagist).

Part of :mod:`supplychain.vuln.versions` (which re-exports the public names).
"""

from __future__ import annotations

import re
from functools import lru_cache

from supplychain.vuln.versions_common import BadVersion, _cmp

# --- PHP version_compare and Composer ---------------------------------------------------------
# PHP's ext/standard/versioning.c, and composer/semver's VersionParser::normalize().

_SPECIAL_FORMS = (("dev", 0), ("alpha", 1), ("a", 1), ("beta", 2), ("b", 2), ("RC", 3), ("rc", 3),
                  ("#", 4), ("pl", 5), ("p", 5))


def _special_form(form: str) -> int:
    for name, order in _SPECIAL_FORMS:
        if form.startswith(name):
            return order
    return -1


@lru_cache(maxsize=65536)
def _php_canonicalize(v: str) -> str:
    out = [v[0]]
    lp = v[0]
    for c in v[1:]:
        isdig_lp = lp.isascii() and lp.isdigit()
        isdig_c = c.isascii() and c.isdigit()
        isndig_lp = not isdig_lp and lp != "."
        isndig_c = not isdig_c and c != "."
        if c in "-_+":
            if out[-1] != ".":
                out.append(".")
        elif (isndig_lp and isdig_c) or (isdig_lp and isndig_c):
            if out[-1] != ".":
                out.append(".")
            out.append(c)
        elif not (c.isascii() and c.isalnum()):
            if out[-1] != ".":
                out.append(".")
        else:
            out.append(c)
        lp = c
    return "".join(out)


_DIGITS = re.compile(r"\d+")


def _strtol(s: str) -> int:
    if s.isascii() and s.isdigit():
        return int(s)
    m = _DIGITS.match(s)
    return int(m.group(0)) if m else 0


@lru_cache(maxsize=262144)
def php_version_compare(v1: str, v2: str) -> int:
    """PHP's ``version_compare($v1, $v2)``."""
    if not v1 or not v2:
        if not v1 and not v2:
            return 0
        return 1 if v1 else -1
    a = v1 if v1[0] == "#" else _php_canonicalize(v1)
    b = v2 if v2[0] == "#" else _php_canonicalize(v2)
    pa, pb = a.split("."), b.split(".")
    compare = 0
    k = 0
    n = min(len(pa), len(pb))
    while k < n:
        p1, p2 = pa[k], pb[k]
        d1 = bool(p1) and p1[0].isascii() and p1[0].isdigit()
        d2 = bool(p2) and p2[0].isascii() and p2[0].isdigit()
        if d1 and d2:
            compare = _cmp(_strtol(p1), _strtol(p2))
        elif not d1 and not d2:
            compare = _cmp(_special_form(p1), _special_form(p2))
        elif d1:
            compare = _cmp(_special_form("#N#"), _special_form(p2))
        else:
            compare = _cmp(_special_form(p1), _special_form("#N#"))
        if compare != 0:
            return compare
        k += 1
    if len(pa) > n:
        rest = ".".join(pa[n:])
        return 1 if rest[:1].isdigit() else php_version_compare(rest, "#N#")
    if len(pb) > n:
        rest = ".".join(pb[n:])
        return -1 if rest[:1].isdigit() else php_version_compare("#N#", rest)
    return 0


_MODIFIER = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
_CLASSICAL = re.compile(r"^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?" + _MODIFIER + "$", re.I)
_DATE = re.compile(r"^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})" + _MODIFIER + "$", re.I)
_BRANCH_DEV = re.compile(r"^(.*?)[.-]?dev$", re.I)
_STABILITY = {"a": "alpha", "alpha": "alpha", "b": "beta", "beta": "beta", "p": "patch", "pl": "patch",
              "patch": "patch", "rc": "RC", "stable": "stable"}


@lru_cache(maxsize=65536)
def composer_normalize(version: str) -> str:
    """composer/semver's ``VersionParser::normalize`` (``v1.2`` -> ``1.2.0.0``, ``1.0-b2`` -> ``1.0.0.0-beta2``).

    Branches become ``dev-<name>``; ``1.x-dev`` becomes ``1.9999999.9999999.9999999-dev``.
    """
    v = version.strip()
    m = re.match(r"^([^,\s]+) +as +([^,\s]+)$", v)
    if m:
        v = m.group(1)
    if re.match(r"^(?:dev-)?(?:master|trunk|default)$", v, re.I):
        return "dev-" + (v[4:] if v.lower().startswith("dev-") else v)
    if v.lower().startswith("dev-"):
        return "dev-" + v[4:]
    m = re.match(r"^([^,\s+]+)\+\S+$", v)
    if m:
        v = m.group(1)
    m = _CLASSICAL.match(v)
    if m:
        out = m.group(1) + (m.group(2) or ".0") + (m.group(3) or ".0") + (m.group(4) or ".0")
        idx = 5
    else:
        m = _DATE.match(v)
        if not m:
            b = _BRANCH_DEV.match(v)
            if b and b.group(1):
                return _normalize_branch(b.group(1))
            raise BadVersion(f"{version!r}: not a Composer version")
        out = re.sub(r"\D", ".", m.group(1))
        idx = 2
    stab, num, dev = m.group(idx), m.group(idx + 1), m.group(idx + 2)
    if stab:
        s = _STABILITY[stab.lower()]
        if s == "stable":
            return out
        out += "-" + s + (num.lstrip(".-") if num else "")
    if dev:
        out += "-dev"
    return out


def _normalize_branch(name: str) -> str:
    m = re.match(r"^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$", name.strip())
    if m:
        parts = []
        for k in range(1, 5):
            g = m.group(k)
            parts.append((g or ".x").lstrip("."))
        return ".".join("9999999" if p in ("x", "X", "*") else p for p in parts) + "-dev"
    return "dev-" + name


def is_composer_branch(normalized: str) -> bool:
    return normalized.startswith("dev-")


def composer_compare(a: str, b: str) -> int:
    """Order two Composer versions (normalized first). Branches (``dev-x``) are not ordered."""
    na, nb = composer_normalize(a), composer_normalize(b)
    if is_composer_branch(na) or is_composer_branch(nb):
        if na == nb:
            return 0
        raise BadVersion(f"{a!r} / {b!r}: a Composer branch is not ordered against versions")
    return php_version_compare(na, nb)
