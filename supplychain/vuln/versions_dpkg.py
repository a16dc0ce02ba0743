"""Debian / Ubuntu version ordering (dpkg).

Part of :mod:`supplychain.vuln.versions` (which re-exports the public names).
"""

from __future__ import annotations

import re
from functools import lru_cache

from supplychain.vuln.versions_common import BadVersion, _cmp

# --- dpkg (Debian, Ubuntu) --------------------------------------------------------------------
# Port of dpkg's lib/dpkg/version.c: verrevcmp() and dpkg_version_compare().

_DPKG_UPSTREAM_OK = re.compile(r"^[0-9A-Za-z.+~:-]*$")
_SPACE = re.compile(r"\s")


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
    if not s or _SPACE.search(s):
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
