"""The report model shared by every check: findings, waived findings, sections, summary, verdict."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from supplychain.policy.findings import Finding, Severity
from supplychain.vocab import OutputFormat as OutputFormat  # re-exported (defined once in supplychain.vocab)


class Decision(StrEnum):
    """A yes / no answer, or none: a check that could not look (registry down) did not decide."""

    PASS = "pass"
    FAIL = "fail"
    UNDECIDED = "undecided"


@dataclass(frozen=True, slots=True)
class Waived:
    """A finding a waiver of the policy accepted, with the waiver's reason and expiry."""

    finding: Finding
    reason: str
    expires: datetime.date  # datetime.date.max: an inline ignore comment, which has no expiry

    @property
    def inline(self) -> bool:
        return self.expires == datetime.date.max

    @property
    def until(self) -> str:
        """`until DATE` for a policy waiver, `inline ignore` for a comment in the file."""
        return "inline ignore" if self.inline else f"until {self.expires.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        return {**self.finding.to_dict(), "waiver": {
            "reason": self.reason, "expires": None if self.inline else self.expires.isoformat(),
            "inline": self.inline}}


@dataclass(slots=True)
class Section:
    """A heading of the text report (a file, an image) with the findings about it.

    ``in_file`` is True when every finding is in the file the title names (lines only are shown);
    otherwise each finding shows ``file:line``.
    """

    title: str
    findings: list[Finding] = field(default_factory=list)
    waived: list[Waived] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    in_file: bool = False


@dataclass(slots=True)
class Report:
    """What a check found, ready for any writer.

    ``findings`` are after waivers; ``waived`` what waivers accepted; ``summary`` goes into JSON and
    the SARIF run's properties; ``document`` holds check-specific JSON fields (written before the
    findings); ``sections`` and ``verdict`` make the text report; ``rule_ids`` are the rules the run
    applied (SARIF describes each; used ones are always added).
    """

    tool: str
    findings: list[Finding]
    summary: dict[str, Any]
    verdict: str
    passed: bool
    waived: list[Waived] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    rule_ids: list[str] = field(default_factory=list)
    decision: Decision | None = None

    def worst(self) -> Severity | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)


def render(report: Report, fmt: OutputFormat | str, *, colour: bool = False) -> str:
    """The report in ``fmt`` (text, json, sarif)."""
    kind = OutputFormat(fmt)
    if kind is OutputFormat.JSON:
        from supplychain.policy.report.json import render_json

        return render_json(report)
    if kind is OutputFormat.SARIF:
        from supplychain.policy.report.sarif import render_sarif

        return render_sarif(report)
    from supplychain.policy.report.text import render_text

    return render_text(report, colour=colour)
