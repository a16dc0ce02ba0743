"""SARIF 2.1.0 writer (GitHub code scanning and other SARIF consumers).

One run; ``tool.driver.rules`` describes every rule the run applied (``shortDescription``,
``fullDescription``, ``help`` text and markdown, ``helpUri``, default level); every result has a
``ruleIndex``, a location, and ``partialFingerprints`` (rule, file, image and message, not the
line) so re-uploads track the same finding when lines above it move.
Waived findings are results with an external ``suppressions`` entry carrying the waiver's reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from supplychain import __version__
from supplychain.policy.findings import RULES, Finding, Rule, Severity
from supplychain.policy.report.model import Report, Waived

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/supplychain/supplychain/blob/main/docs/policy.md"
GATE_URI = "https://github.com/supplychain/supplychain/blob/main/docs/gate.md"

# A finding's identity without its line number: the same finding after lines above it moved keeps
# it, so code scanning tracks it instead of closing one alert and opening another.
FINGERPRINT = "supplychainFinding/v1"


def fingerprint(f: Finding) -> str:
    basis = "\0".join((f.rule, f.file, f.image or "", f.message))
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# SARIF levels are the same words as our severities
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def _uri(path: str) -> str:
    """Relative paths stay relative (to %SRCROOT%); absolute ones become file:// URIs."""
    p = path.replace("\\", "/")
    if p.startswith("/"):
        return "file://" + quote(p, safe="/._-~")
    return quote(p, safe="/._-~")


def _rule(rid: str) -> Rule:
    # a rule id the catalogue does not know (a waived or configured id of a layer not loaded)
    return RULES.get(rid) or Rule(rid, rid.replace("-", ""), Severity.ERROR, f"Rule {rid}.",
                                  "See the documentation of the command that reported it.", "unknown")


def sarif_rules(rule_ids: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for rid in rule_ids:
        rule = _rule(rid)
        base = GATE_URI if rule.kind == "gate" else INFO_URI
        out.append({
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": f"{rule.summary} {rule.help}"},
            "help": {"text": rule.help, "markdown": f"**{rule.id} {rule.name}**: {rule.summary}\n\n{rule.help}"},
            "helpUri": f"{base}#{rule.id.lower()}",
            "defaultConfiguration": {"level": _LEVEL[rule.severity]},
            "properties": {"tags": ["security", "supply-chain", rule.kind]},
        })
    return out


def _result(f: Finding, index: dict[str, int], waived: Waived | None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(1, f.line)}
    if f.column:
        region["startColumn"] = f.column
    artifact: dict[str, Any] = {"uri": _uri(f.file)}
    if not f.file.startswith("/"):
        artifact["uriBaseId"] = "%SRCROOT%"
    subject = f"{f.image}: " if f.image and f.image not in f.message else ""
    res: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": _LEVEL[f.severity],
        "message": {"text": f"{subject}{f.message}. Fix: {f.fix}"},
        "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": region}}],
        "partialFingerprints": {FINGERPRINT: fingerprint(f)},
    }
    if f.image:
        res["properties"] = {"image": f.image}
    if waived is not None:
        res["suppressions"] = [{"kind": "inSource" if waived.inline else "external", "status": "accepted",
                                "justification": f"{waived.reason} ({waived.until})"}]
    return res


def render_sarif(report: Report) -> str:
    """SARIF 2.1.0 log with one run."""
    ids = list(dict.fromkeys(sorted(report.rule_ids)))
    for f in [*report.findings, *(w.finding for w in report.waived)]:
        if f.rule not in ids:
            ids.append(f.rule)
    index = {rid: i for i, rid in enumerate(ids)}
    results = [_result(f, index, None) for f in report.findings]
    results += [_result(w.finding, index, w) for w in report.waived]
    properties: dict[str, Any] = {"summary": report.summary}
    if report.decision is not None:
        properties["decision"] = report.decision.value
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": report.tool,
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFO_URI,
                "rules": sarif_rules(ids),
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": properties,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"
