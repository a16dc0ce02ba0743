"""JSON writer: the check's own fields, then findings, waived findings and the summary."""

from __future__ import annotations

import json
from typing import Any

from supplychain.policy.report.model import Report


def report_dict(report: Report) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if report.decision is not None:
        doc["decision"] = report.decision.value
    doc.update(report.document)
    doc["findings"] = [f.to_dict() for f in report.findings]
    doc["waived"] = [w.to_dict() for w in report.waived]
    doc["summary"] = report.summary
    return doc


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"
