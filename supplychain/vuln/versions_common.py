"""What every version ordering shares: :class:`BadVersion` and the three-way comparison.

Part of :mod:`supplychain.vuln.versions` (which re-exports the public names).
"""

from __future__ import annotations

from typing import Any


class BadVersion(ValueError):
    """A version string the ecosystem's ordering does not accept."""


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)
