"""Version ordering per ecosystem, as each package manager orders versions.

``compare(ecosystem, a, b)`` returns <0, 0 or >0. Every comparator is checked in the tests against
the real tool (``dpkg --compare-versions``, ``rpm.labelCompare``, PHP's ``version_compare`` and
composer/semver, npm's ``semver``, ``packaging``). Libraries are used where a good one exists:
PEP 440 is ``packaging``. dpkg, rpm, apk and Composer are small, exactly specified algorithms that
no PyPI package implements correctly for our needs, so they are ported here from the reference
implementations' algorithms; SemVer 2.0 precedence (npm, OSV ``SEMVER`` ranges) is the spec's
grammar and rules, because the correct ``semver`` package costs ~70 ms to import (its __init__
pulls in argparse) on every scan (see docs/vuln.md).

A version a comparator cannot parse raises :class:`BadVersion`; matching reports such a component
as "version not comparable" rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

__all__ = [
    "BadVersion",
    "apk_compare",
    "comparator_for",
    "compare",
    "composer_compare",
    "composer_normalize",
    "dpkg_compare",
    "pep440_compare",
    "php_version_compare",
    "rpm_compare",
    "rpmvercmp",
    "semver_compare",
]


class BadVersion(ValueError):
    """A version string the ecosystem's ordering does not accept."""


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


# --- dpkg (Debian, Ubuntu) --------------------------------------------------------------------
# Port of dpkg's lib/dpkg/version.c: verrevcmp() and dpkg_version_compare().

_DPKG_UPSTREAM_OK = re.compile(r"^[0-9A-Za-z.+~:-]*$")


def _dpkg_order(c: str) -> int:
    if "0" <= c <= "9":
        return 0
    if ("A" <= c <= "Z") or ("a" <= c <= "z"):
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        first_diff = 0
        while (i < la and not ("0" <= a[i] <= "9")) or (j < lb and not ("0" <= b[j] <= "9")):
            ac = _dpkg_order(a[i]) if i < la else 0
            bc = _dpkg_order(b[j]) if j < lb else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < la and a[i] == "0":
            i += 1
        while j < lb and b[j] == "0":
            j += 1
        while i < la and "0" <= a[i] <= "9" and j < lb and "0" <= b[j] <= "9":
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < la and "0" <= a[i] <= "9":
            return 1
        if j < lb and "0" <= b[j] <= "9":
            return -1
        if first_diff:
            return first_diff
    return 0


@lru_cache(maxsize=65536)
def _dpkg_parse(v: str) -> tuple[int, str, str]:
    s = v.strip()
    if not s or any(c.isspace() for c in s):
        raise BadVersion(f"{v!r}: not a Debian version")
    epoch = 0
    if ":" in s:
        e, s = s.split(":", 1)
        if not e.isascii() or not e.isdigit():
            raise BadVersion(f"{v!r}: epoch is not a number")
        epoch = int(e)
    upstream, _, revision = s.rpartition("-") if "-" in s else (s, "", "")
    if not upstream or not ("0" <= upstream[0] <= "9") or not _DPKG_UPSTREAM_OK.match(upstream):
        raise BadVersion(f"{v!r}: not a Debian version (upstream part must start with a digit)")
    return epoch, upstream, revision


def dpkg_compare(a: str, b: str) -> int:
    ea, ua, ra = _dpkg_parse(a)
    eb, ub, rb = _dpkg_parse(b)
    if ea != eb:
        return _cmp(ea, eb)
    r = _verrevcmp(ua, ub)
    if r:
        return 1 if r > 0 else -1
    r = _verrevcmp(ra, rb)
    return (r > 0) - (r < 0)


# --- rpm (Red Hat, SUSE, AlmaLinux, Rocky) ------------------------------------------------------
# Port of rpm's rpmio/rpmvercmp.c (with '~' and '^') and labelCompare's epoch:version-release.


def _isalnum(c: str) -> bool:
    return ("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")


def rpmvercmp(a: str, b: str) -> int:
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        while i < la and not _isalnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < lb and not _isalnum(b[j]) and b[j] not in "~^":
            j += 1
        if (i < la and a[i] == "~") or (j < lb and b[j] == "~"):
            if i >= la or a[i] != "~":
                return 1
            if j >= lb or b[j] != "~":
                return -1
            i += 1
            j += 1
            continue
        if (i < la and a[i] == "^") or (j < lb and b[j] == "^"):
            if i >= la:
                return -1
            if j >= lb:
                return 1
            if a[i] != "^":
                return 1
            if b[j] != "^":
                return -1
            i += 1
            j += 1
            continue
        if not (i < la and j < lb):
            break
        si, sj = i, j
        if "0" <= a[i] <= "9":
            while i < la and "0" <= a[i] <= "9":
                i += 1
            while j < lb and "0" <= b[j] <= "9":
                j += 1
            isnum = True
        else:
            while i < la and (("a" <= a[i] <= "z") or ("A" <= a[i] <= "Z")):
                i += 1
            while j < lb and (("a" <= b[j] <= "z") or ("A" <= b[j] <= "Z")):
                j += 1
            isnum = False
        seg1, seg2 = a[si:i], b[sj:j]
        if not seg2:
            return 1 if isnum else -1
        if isnum:
            seg1 = seg1.lstrip("0")
            seg2 = seg2.lstrip("0")
            if len(seg1) != len(seg2):
                return 1 if len(seg1) > len(seg2) else -1
        if seg1 != seg2:
            return 1 if seg1 > seg2 else -1
    if i >= la and j >= lb:
        return 0
    return -1 if i >= la else 1


@lru_cache(maxsize=65536)
def _rpm_parse(v: str) -> tuple[int, str, str]:
    s = v.strip()
    if not s or any(c.isspace() for c in s):
        raise BadVersion(f"{v!r}: not an RPM version")
    epoch = 0
    if ":" in s:
        e, s = s.split(":", 1)
        if e:
            if not e.isascii() or not e.isdigit():
                raise BadVersion(f"{v!r}: epoch is not a number")
            epoch = int(e)
    version, _, release = s.rpartition("-") if "-" in s else (s, "", "")
    return epoch, version, release


def rpm_compare(a: str, b: str) -> int:
    """``[epoch:]version[-release]`` as rpm.labelCompare orders them (a missing epoch is 0)."""
    ea, va, ra = _rpm_parse(a)
    eb, vb, rb = _rpm_parse(b)
    if ea != eb:
        return _cmp(ea, eb)
    r = rpmvercmp(va, vb)
    if r:
        return r
    if ra and rb:  # like rpm: a missing release matches any release
        return rpmvercmp(ra, rb)
    return 0


# --- apk (Alpine) ---------------------------------------------------------------------------
# Port of apk-tools 2.x src/version.c (the tokenizer and apk_version_compare_blob).

_T_INVALID, _T_DIGIT_OR_ZERO, _T_DIGIT, _T_LETTER, _T_SUFFIX, _T_SUFFIX_NO, _T_REVISION_NO, _T_END = (
    -1, 0, 1, 2, 3, 4, 5, 6,
)
_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")
_POST_SUFFIXES = ("cvs", "svn", "git", "hg", "p")


class _ApkCursor:
    __slots__ = ("pos", "s", "type")

    def __init__(self, s: str) -> None:
        self.s = s
        self.pos = 0
        self.type = _T_DIGIT

    def _next_token(self) -> None:
        s, p, t = self.s, self.pos, self.type
        n = _T_INVALID
        if p >= len(s):
            n = _T_END
        elif t in (_T_DIGIT, _T_DIGIT_OR_ZERO) and "a" <= s[p] <= "z":
            n = _T_LETTER
        elif t == _T_LETTER and "0" <= s[p] <= "9":
            n = _T_DIGIT
        elif t == _T_SUFFIX and "0" <= s[p] <= "9":
            n = _T_SUFFIX_NO
        else:
            c = s[p]
            if c == ".":
                n = _T_DIGIT_OR_ZERO
            elif c == "_":
                n = _T_SUFFIX
            elif c == "-":
                if p + 1 < len(s) and s[p + 1] == "r":
                    n = _T_REVISION_NO
                    p += 1
            p += 1
        if n < t and not (
            (n == _T_DIGIT_OR_ZERO and t == _T_DIGIT)
            or (n == _T_SUFFIX and t == _T_SUFFIX_NO)
            or (n == _T_DIGIT and t == _T_LETTER)
        ):
            n = _T_INVALID
        self.pos = p
        self.type = n

    def get(self) -> int:
        s, p = self.s, self.pos
        rest = len(s) - p
        if rest <= 0:
            self.type = _T_END
            return 0
        v = 0
        i = 0
        nt = _T_INVALID
        t = self.type
        if t == _T_DIGIT_OR_ZERO and s[p] == "0":
            while i < rest and s[p + i] == "0":
                i += 1
            nt = _T_DIGIT
            v = -i
        elif t in (_T_DIGIT_OR_ZERO, _T_DIGIT, _T_SUFFIX_NO, _T_REVISION_NO):
            while i < rest and "0" <= s[p + i] <= "9":
                v = v * 10 + ord(s[p + i]) - 48
                i += 1
        elif t == _T_LETTER:
            v = ord(s[p])
            i = 1
        elif t == _T_SUFFIX:
            for k, suf in enumerate(_PRE_SUFFIXES):
                if s.startswith(suf, p):
                    v, i = k - len(_PRE_SUFFIXES), len(suf)
                    break
            else:
                for k, suf in enumerate(_POST_SUFFIXES):
                    if s.startswith(suf, p):
                        v, i = k, len(suf)
                        break
                else:
                    self.type = _T_INVALID
                    return -1
        else:
            self.type = _T_INVALID
            return -1
        self.pos = p + i
        if self.pos >= len(s):
            self.type = _T_END
        elif nt != _T_INVALID:
            self.type = nt
        else:
            self._next_token()
        return v


def _apk_valid(v: str) -> bool:
    c = _ApkCursor(v)
    while c.type not in (_T_END, _T_INVALID):
        c.get()
    return c.type == _T_END


@lru_cache(maxsize=65536)
def _apk_check(v: str) -> str:
    if not v or not _apk_valid(v):
        raise BadVersion(f"{v!r}: not an Alpine package version")
    return v


def apk_compare(a: str, b: str) -> int:
    """apk-tools' ordering (``1.2.3_rc1-r0 < 1.2.3-r0 < 1.2.3_p1-r0 < 1.2.3-r1``)."""
    _apk_check(a)
    _apk_check(b)
    ca, cb = _ApkCursor(a), _ApkCursor(b)
    av = bv = 0
    while ca.type == cb.type and ca.type not in (_T_END, _T_INVALID) and av == bv:
        av = ca.get()
        bv = cb.get()
    if av < bv:
        return -1
    if av > bv:
        return 1
    if ca.type == cb.type:
        return 0
    if ca.type == _T_SUFFIX:
        probe = _ApkCursor(a)
        probe.pos, probe.type = ca.pos, ca.type
        if probe.get() < 0:
            return -1
    if cb.type == _T_SUFFIX:
        probe = _ApkCursor(b)
        probe.pos, probe.type = cb.pos, cb.type
        if probe.get() < 0:
            return 1
    if ca.type > cb.type:
        return -1
    if cb.type > ca.type:
        return 1
    return 0


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


def _strtol(s: str) -> int:
    m = re.match(r"\d+", s)
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


# --- PEP 440 and SemVer -------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _pep440(v: str) -> object:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(v)
    except InvalidVersion as exc:
        raise BadVersion(f"{v!r}: not a PEP 440 version") from exc


def pep440_compare(a: str, b: str) -> int:
    return _cmp(_pep440(a), _pep440(b))


# The SemVer 2.0.0 grammar (semver.org's recommended regular expression).
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?")


@lru_cache(maxsize=65536)
def _semver(v: str) -> tuple[int, int, int, tuple[tuple[int, int, str], ...] | None]:
    s = v.strip()
    if s[:1] in ("v", "V", "="):
        s = s[1:]
    m = _SEMVER.fullmatch(s)
    if not m:
        raise BadVersion(f"{v!r}: not a SemVer version")
    pre = None
    if m.group(4) is not None:
        # numeric identifiers sort before alphanumeric ones, numerically; others in ASCII order
        pre = tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in m.group(4).split("."))
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), pre


def semver_compare(a: str, b: str) -> int:
    """SemVer 2.0 precedence (npm's order; build metadata is ignored). Hand-written: the `semver`
    package costs ~70 ms to import (its __init__ pulls in argparse); checked against npm's semver."""
    ma, mi, pa, xa = _semver(a)
    mb, mj, pb, xb = _semver(b)
    r = _cmp((ma, mi, pa), (mb, mj, pb))
    if r or xa == xb:
        return r
    if xa is None:
        return 1  # a release is above its pre-releases
    if xb is None:
        return -1
    return _cmp(xa, xb)  # identifier by identifier; a shorter list sorts first when all else is equal


# --- dispatch -----------------------------------------------------------------------------------

Comparator = Callable[[str, str], int]

_BY_PREFIX: tuple[tuple[str, Comparator], ...] = (
    ("Debian", dpkg_compare),
    ("Ubuntu", dpkg_compare),
    ("Alpine", apk_compare),
    ("Red Hat", rpm_compare),
    ("AlmaLinux", rpm_compare),
    ("Rocky Linux", rpm_compare),
    ("SUSE", rpm_compare),
    ("openSUSE", rpm_compare),
    ("Mageia", rpm_compare),
    ("openEuler", rpm_compare),
    ("Packagist", composer_compare),
    ("PyPI", pep440_compare),
    ("npm", semver_compare),
)


@lru_cache(maxsize=1024)
def comparator_for(ecosystem: str, range_type: str = "ECOSYSTEM") -> Comparator | None:
    """The ordering for an OSV ecosystem (or for a ``SEMVER`` range); None if we have none."""
    if range_type == "SEMVER":
        return semver_compare
    base = ecosystem.split(":", 1)[0]
    for prefix, fn in _BY_PREFIX:
        if base == prefix:
            return fn
    return None


def compare(ecosystem: str, a: str, b: str) -> int:
    fn = comparator_for(ecosystem)
    if fn is None:
        raise BadVersion(f"no version ordering known for ecosystem {ecosystem!r}")
    return fn(a, b)
