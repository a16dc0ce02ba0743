"""PEP 440 (PyPI) and SemVer 2.0 (npm, OSV ``SEMVER`` ranges) version ordering.

Part of :mod:`supplychain.vuln.versions` (which re-exports the public names).
"""

from __future__ import annotations

import re
from functools import lru_cache

from supplychain.vuln.versions_common import BadVersion, _cmp

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
