"""Severity of an advisory: CVSS (v4, v3, v2 vectors scored with the ``cvss`` library) when the
record has one, else the record's own rating (GHSA ``MODERATE``, Debian urgency ...), else unknown.

``Severity`` is ordered NEGLIGIBLE < LOW < MEDIUM < HIGH < CRITICAL. UNKNOWN is kept apart: for a
threshold (``--fail-on``, the gate) an unknown severity *meets* every threshold unless the caller
says otherwise, so data without ratings (FriendsOfPHP, most PyPI records) never passes silently.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["Cvss", "Severity", "rate"]


class Severity(enum.IntEnum):
    UNKNOWN = 0
    NEGLIGIBLE = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5

    @classmethod
    def parse(cls, text: str) -> Severity:
        key = text.strip().upper()
        aliases = {"MODERATE": "MEDIUM", "IMPORTANT": "HIGH", "UNIMPORTANT": "NEGLIGIBLE", "NONE": "NEGLIGIBLE",
                   "NOT YET ASSIGNED": "UNKNOWN", "UNTRIAGED": "UNKNOWN"}
        key = aliases.get(key, key)
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use low, medium, high, critical)") from None

    @property
    def label(self) -> str:
        return self.name.lower()

    def meets(self, threshold: Severity, *, unknown_meets: bool = True) -> bool:
        if self is Severity.UNKNOWN:
            return unknown_meets
        return self >= threshold

    @classmethod
    def from_score(cls, score: float) -> Severity:
        if score >= 9.0:
            return cls.CRITICAL
        if score >= 7.0:
            return cls.HIGH
        if score >= 4.0:
            return cls.MEDIUM
        if score > 0.0:
            return cls.LOW
        return cls.NEGLIGIBLE


@dataclass(frozen=True)
class Cvss:
    version: str  # "4.0", "3.1", "3.0", "2.0"
    vector: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "vector": self.vector, "score": self.score}


@lru_cache(maxsize=4096)
def _score(kind: str, vector: str) -> Cvss | None:
    import cvss as cvsslib  # type: ignore[import-untyped]

    try:
        if kind == "CVSS_V4" or vector.startswith("CVSS:4.0/"):
            c4 = cvsslib.CVSS4(vector)
            return Cvss("4.0", vector, float(c4.base_score))
        if kind == "CVSS_V3" or vector.startswith("CVSS:3."):
            c3 = cvsslib.CVSS3(vector)
            return Cvss(vector.split("/", 1)[0].split(":", 1)[1], vector, float(c3.scores()[0]))
        if kind == "CVSS_V2":
            c2 = cvsslib.CVSS2(vector)
            return Cvss("2.0", vector, float(c2.scores()[0]))
    except (cvsslib.CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


_PREFERENCE = {"3.1": 0, "3.0": 1, "4.0": 2, "2.0": 3}


def rate(severity: list[dict[str, str]], own: str | None) -> tuple[Severity, list[Cvss], str]:
    """(severity, scored CVSS entries, where the rating came from: "cvss:3.1", "record" or "none")."""
    scored = [c for c in (_score(s.get("type", ""), s.get("score", "")) for s in severity) if c is not None]
    if scored:
        best = sorted(scored, key=lambda c: _PREFERENCE.get(c.version, 9))[0]
        return Severity.from_score(best.score), scored, f"cvss:{best.version}"
    if own:
        try:
            sev = Severity.parse(own)
        except ValueError:
            sev = Severity.UNKNOWN
        if sev is not Severity.UNKNOWN:
            return sev, [], "record"
    return Severity.UNKNOWN, [], "none"
