"""Report renderers: human text (grouped by file, coloured on a terminal), JSON and SARIF 2.1.0.

The renderers take plain :class:`~supplychain.policy.findings.Finding` lists so other layers (the
deploy gate) can reuse them: :func:`render_text`, :func:`render_json`, :func:`render_sarif`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from supplychain import __version__
from supplychain.policy.findings import RULES, SEVERITY_RANK, Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/supplychain/supplychain/blob/main/docs/policy.md"

_COLOURS = {"error": "\033[31;1m", "warning": "\033[33;1m", "note": "\033[36m"}
_RESET = "\033[0m"
_BOLD = "\033[1m"
_DIM = "\033[2m"


def render_text(findings: list[Finding], summary: dict[str, Any], *, colour: bool = False) -> str:
    def c(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    out: list[str] = []
    current: str | None = None
    for f in findings:
        if f.file != current:
            if current is not None:
                out.append("")
            out.append(c(_BOLD, f.file))
            current = f.file
        loc = f"{f.line}:{f.column}" if f.column else f"{f.line}"
        sev = c(_COLOURS.get(f.severity, ""), f"{f.severity:<7}")
        out.append(f"  {loc:>7}  {sev} {f.rule:<10} {f.message}")
        out.append(c(_DIM, f"{'':>9}  fix: {f.fix}"))
    if findings:
        out.append("")
    counts = summary.get("by_severity", {})
    parts = [f"{counts.get(s, 0)} {s}{'s' if counts.get(s, 0) != 1 else ''}" for s in ("error", "warning", "note")]
    waived = summary.get("waived", 0)
    verdict = "passed" if summary.get("passed", True) else "FAILED"
    verdict_c = c("\033[32;1m" if summary.get("passed", True) else "\033[31;1m", verdict)
    out.append(
        f"{verdict_c}: {summary.get('files', 0)} file(s), {summary.get('images', 0)} image reference(s); "
        + ", ".join(parts)
        + (f"; {waived} waived" if waived else "")
        + (f"; {summary['skipped_templates']} template file(s) skipped"
           if summary.get("skipped_templates") else "")
        + f" (fail-on: {summary.get('fail_on', 'error')})"
    )
    return "\n".join(out) + "\n"


def render_json(findings: list[Finding], summary: dict[str, Any]) -> str:
    doc = {"findings": [f.as_json() for f in findings], "summary": summary}
    return json.dumps(doc, indent=2) + "\n"


def _sarif_level(severity: str) -> str:
    return {"error": "error", "warning": "warning", "note": "note"}.get(severity, "warning")


def _uri(path: str) -> str:
    """Relative paths stay relative (to %SRCROOT%); absolute ones become file:// URIs."""
    p = path.replace("\\", "/")
    if p.startswith("/"):
        return "file://" + quote(p, safe="/._-~")
    return quote(p, safe="/._-~")


def sarif_rules(rule_ids: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for rid in rule_ids:
        rule = RULES.get(rid)
        if rule is None:
            out.append({"id": rid, "shortDescription": {"text": rid}})
            continue
        out.append({
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": f"{rule.summary} {rule.help}"},
            "help": {"text": rule.help, "markdown": f"**{rule.id} {rule.name}**: {rule.summary}\n\n{rule.help}"},
            "helpUri": f"{INFO_URI}#{rule.id.lower()}",
            "defaultConfiguration": {"level": _sarif_level(rule.severity)},
            "properties": {"tags": ["security", "supply-chain", rule.kind]},
        })
    return out


def render_sarif(findings: list[Finding], summary: dict[str, Any], *, tool_name: str = "supplychain",
                 all_rules: bool = True) -> str:
    """SARIF 2.1.0 log with one run; rule metadata for every known rule (or only the used ones)."""
    used = sorted({f.rule for f in findings})
    ids = sorted(RULES) if all_rules else used
    for rid in used:
        if rid not in ids:
            ids.append(rid)
    index = {rid: i for i, rid in enumerate(ids)}
    results = []
    for f in findings:
        region: dict[str, Any] = {"startLine": max(1, f.line)}
        if f.column:
            region["startColumn"] = f.column
        results.append({
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _sarif_level(f.severity),
            "message": {"text": f"{f.message}. Fix: {f.fix}"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(f.file), **({} if f.file.startswith("/") else {"uriBaseId": "%SRCROOT%"})},
                    "region": region,
                }
            }],
            "partialFingerprints": {"primaryLocationLineHash": f"{f.rule}:{f.file}:{f.line}:{f.column or 0}"},
        })
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": tool_name,
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFO_URI,
                "rules": sarif_rules(ids),
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": {"summary": summary},
        }],
    }
    return json.dumps(doc, indent=2) + "\n"


def worst(findings: list[Finding]) -> str | None:
    if not findings:
        return None
    return max(findings, key=lambda f: SEVERITY_RANK[f.severity]).severity
