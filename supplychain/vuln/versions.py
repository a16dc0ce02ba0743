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

The orderings live in modules per ecosystem family; this module dispatches by ecosystem and
re-exports their public names:

- :mod:`supplychain.vuln.versions_dpkg`: Debian, Ubuntu
- :mod:`supplychain.vuln.versions_rpm`: Red Hat, SUSE, AlmaLinux, Rocky, ...
- :mod:`supplychain.vuln.versions_apk`: Alpine
- :mod:`supplychain.vuln.versions_php`: PHP ``version_compare`` and Composer (Packagist)
- :mod:`supplychain.vuln.versions_semver`: PEP 440 (PyPI) and SemVer (npm)
- :mod:`supplychain.vuln.versions_common`: :class:`BadVersion`
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from supplychain.vuln.versions_apk import apk_compare
from supplychain.vuln.versions_common import BadVersion
from supplychain.vuln.versions_dpkg import dpkg_compare
from supplychain.vuln.versions_php import (
    composer_compare,
    composer_normalize,
    php_version_compare,
)
from supplychain.vuln.versions_php import is_composer_branch as is_composer_branch
from supplychain.vuln.versions_rpm import rpm_compare, rpmvercmp
from supplychain.vuln.versions_semver import pep440_compare, semver_compare

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
