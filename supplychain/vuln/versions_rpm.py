"""Red Hat / SUSE / AlmaLinux / Rocky version ordering (rpm).

Part of :mod:`supplychain.vuln.versions` (which re-exports the public names).
"""

from __future__ import annotations

from functools import lru_cache

from supplychain.vuln.versions_common import BadVersion, _cmp

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
