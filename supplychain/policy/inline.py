"""Inline ignores: ``# supplychain:ignore RULE-ID[,RULE-ID...] reason: why`` next to a finding.

A comment waives the findings of the named rules on its own line (a trailing comment) or, when
the comment stands on a line of its own, on the next line that is not a comment (so it can sit
above a Dockerfile instruction or a YAML key). The reason is required. Inline ignores are
reported as waived in every output, with the reason and ``inline ignore at FILE:LINE``; a policy
with ``inline_ignores: forbid`` makes them waive nothing (the findings stand, and say why). A
malformed comment (no rule id, an unknown rule, no reason) is itself a finding, SC-POL-002.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from supplychain.policy.config import Policy, Waiver
from supplychain.policy.findings import RULES, Finding

MARKER = "supplychain:ignore"
_COMMENT_RE = re.compile(r"#\s*supplychain:ignore\b(.*)$")
_RULE_ID_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$")
NO_EXPIRY = datetime.date.max  # an inline ignore lasts as long as the comment


@dataclass(frozen=True)
class InlineIgnore:
    line: int  # where the comment is
    applies_to: int  # the first line whose findings it waives
    until: int  # the last one (an instruction continued with backslashes spans several)
    rules: tuple[str, ...]
    reason: str


def parse(text: str, file: str, policy: Policy) -> tuple[list[InlineIgnore], list[Finding]]:
    """The inline ignores of a file's text, and SC-POL-002 findings for malformed ones."""
    ignores: list[InlineIgnore] = []
    problems: list[Finding] = []
    if MARKER not in text:
        return ignores, problems
    lines = text.splitlines()
    for idx, line in enumerate(lines):
        m = _COMMENT_RE.search(line)
        if not m:
            continue
        lineno = idx + 1
        body = m.group(1).strip()
        head, sep, reason = body.partition("reason:")
        ids = [r for r in re.split(r"[\s,]+", head.strip()) if r]
        unknown = [r for r in ids if not _RULE_ID_RE.match(r) or r not in RULES]
        problem = None
        if not ids:
            problem = "names no rule id"
        elif unknown:
            problem = f"names unknown rule id(s) {', '.join(unknown)}"
        elif not sep or not reason.strip():
            problem = "gives no reason (write `reason: ...`)"
        if problem:
            sev = policy.severity_of("SC-POL-002")
            if sev is not None:
                problems.append(Finding(
                    rule="SC-POL-002", severity=sev, file=file, line=lineno, column=line.index("#") + 1,
                    message=f"inline ignore {problem}; it waives nothing", fix=RULES["SC-POL-002"].help))
            continue
        own_line = line[:m.start()].strip() == ""
        target = until = lineno
        if own_line:
            nxt = idx + 1
            while nxt < len(lines) and (not lines[nxt].strip() or lines[nxt].lstrip().startswith("#")):
                nxt += 1
            target = until = nxt + 1
            while until - 1 < len(lines) and lines[until - 1].rstrip().endswith("\\"):
                until += 1
        ignores.append(InlineIgnore(lineno, target, until, tuple(ids), reason.strip()))
    return ignores, problems


def forbidden(policy: Policy) -> bool:
    return str(policy.sections.get("inline_ignores", "allow")) == "forbid"


def waiver_for(finding: Finding, ignores: list[InlineIgnore]) -> Waiver | None:
    """The waiver an inline ignore gives ``finding`` (never for SC-POL-* findings), or None."""
    if finding.rule.startswith("SC-POL-"):
        return None
    for ig in ignores:
        if ig.applies_to <= finding.line <= ig.until and finding.rule in ig.rules:
            return Waiver(rule=finding.rule, reason=f"{ig.reason} (inline ignore at {finding.file}:{ig.line})",
                          expires=NO_EXPIRY, path=finding.file, line=ig.line)
    return None
