"""Scan reports: a table, JSON, SARIF 2.1.0, CycloneDX (the input SBOM with a ``vulnerabilities``
section) and OpenVEX v0.2.0 (the scan's decisions as VEX statements)."""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import orjson

from supplychain import __version__
from supplychain.vuln.match import Finding, ScanResult
from supplychain.vuln.severity import Severity

__all__ = ["render_cyclonedx", "render_json", "render_openvex", "render_sarif", "render_table"]

_CDX_SEVERITY = {Severity.CRITICAL: "critical", Severity.HIGH: "high", Severity.MEDIUM: "medium",
                 Severity.LOW: "low", Severity.NEGLIGIBLE: "info", Severity.UNKNOWN: "unknown"}
_CDX_METHOD = {"4.0": "CVSSv4", "3.1": "CVSSv31", "3.0": "CVSSv3", "2.0": "CVSSv2"}
_OPENVEX_TO_CDX = {"component_not_present": "code_not_present", "vulnerable_code_not_present": "code_not_present",
                   "vulnerable_code_not_in_execute_path": "code_not_reachable",
                   "vulnerable_code_cannot_be_controlled_by_adversary": "protected_by_mitigating_control",
                   "inline_mitigations_already_exist": "protected_by_mitigating_control"}
_CDX_JUSTIFICATIONS = {"code_not_present", "code_not_reachable", "requires_configuration", "requires_dependency",
                       "requires_environment", "protected_by_compiler", "protected_at_runtime",
                       "protected_at_perimeter", "protected_by_mitigating_control"}
_SARIF_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
                Severity.LOW: "note", Severity.NEGLIGIBLE: "note", Severity.UNKNOWN: "warning"}


def _dump(doc: dict[str, Any]) -> str:
    """Indented JSON at C-encoder speed (the SBOM writer's encoder)."""
    from supplychain.sbom.cyclonedx_json import dump_json

    return dump_json(doc).decode("utf-8")


def _advisory_url(vid: str) -> str:
    if vid.startswith("FriendsOfPHP:"):
        return "https://github.com/FriendsOfPHP/security-advisories/blob/master/" + vid.split(":", 1)[1] + ".yaml"
    return "https://osv.dev/vulnerability/" + vid


def _pkg_label(f: Finding) -> str:
    return f.component.name + (f" (source {f.package})" if f.package != f.component.name.lower() and
                               f.package != f.component.name and f.ecosystem not in ("Packagist", "PyPI", "npm")
                               else "")


def render_table(result: ScanResult, *, only_fixed: bool = False) -> str:
    rows = [("SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIX", "LOCATION")]
    for f in result.visible(only_fixed=only_fixed):
        score = max((c.score for c in f.cvss), default=None)
        sev = f.severity.label + (f" {score:.1f}" if score is not None else "")
        ident = f.id + (f" ({', '.join(a for a in f.aliases if a.startswith('CVE-'))})"
                        if any(a.startswith("CVE-") for a in f.aliases) and not f.id.startswith("CVE-") else "")
        loc = f.component.location or ""
        if f.component.layer:
            loc += f" [layer {f.component.layer[:19]}]"
        rows.append((sev, ident, _pkg_label(f), f.installed_version, f.fix_text, loc))
    widths = [min(max(len(r[i]) for r in rows), 60) for i in range(len(rows[0]))]
    lines = []
    if len(rows) > 1:
        for r in rows:
            lines.append("  ".join(c[:60].ljust(widths[i]) for i, c in enumerate(r)).rstrip())
    visible = result.visible(only_fixed=only_fixed)
    counts: dict[str, int] = {}
    for f in visible:
        counts[f.severity.label] = counts.get(f.severity.label, 0) + 1
    order = ["critical", "high", "medium", "low", "negligible", "unknown"]
    summary = ", ".join(f"{counts[k]} {k}" for k in order if k in counts) or "none"
    lines.append("")
    lines.append(f"{len(visible)} vulnerabilities ({summary}) in {result.components} components of {result.target}")
    fixable = sum(1 for f in visible if f.state == "fixed")
    if visible:
        lines.append(f"{fixable} can be fixed by updating")
    for f in result.suppressed:
        s = f.suppressed_by
        assert s is not None
        lines.append(f"suppressed: {f.id} in {f.component.name} {f.installed_version}: {s.status}"
                     + (f" ({s.justification})" if s.justification else "") + f" by {s.document}")
    cov = result.coverage
    for reason, items in sorted(cov.not_covered.items()):
        lines.append(f"NOT COVERED ({len(items)} components): {reason}; e.g. {items[0]}")
    for comp, reason in cov.not_comparable[:20]:
        lines.append(f"NOT COMPARABLE: {comp}: {reason}")
    if len(cov.not_comparable) > 20:
        lines.append(f"NOT COMPARABLE: ... and {len(cov.not_comparable) - 20} more")
    db = result.database
    lines.append(f"database: {db.path} snapshot {db.snapshot[:19]} data as of {db.data_time or 'unknown'}")
    return "\n".join(lines) + "\n"


def render_json(result: ScanResult, *, only_fixed: bool = False) -> str:
    """The report as JSON indented by two spaces (orjson: the standard library's encoder took a
    fifth of a 2,500-component scan to write 3,000 findings)."""
    return orjson.dumps(result.as_dict(only_fixed=only_fixed), option=orjson.OPT_INDENT_2).decode() + "\n"


def render_sarif(result: ScanResult, *, only_fixed: bool = False, artifact: str | None = None) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in result.visible(only_fixed=only_fixed):
        if f.id not in rules:
            score = max((c.score for c in f.cvss), default=None)
            props: dict[str, Any] = {"tags": ["security", "vulnerability"], "severity": f.severity.label}
            if score is not None:
                props["security-severity"] = f"{score:.1f}"
            rules[f.id] = {
                "id": f.id,
                "name": f.id.replace(":", "_").replace("/", "_"),
                "shortDescription": {"text": (f.summary or f.id)[:1000]},
                "helpUri": f.references[0] if f.references else _advisory_url(f.id),
                "properties": props,
            }
        uri = f.component.location or artifact or result.target
        msg = (f"{f.component.name} {f.installed_version} is affected by {f.id}"
               + (f" ({', '.join(f.aliases)})" if f.aliases else "") + f": {f.fix_text}.")
        results.append({
            "ruleId": f.id,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": msg},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri.lstrip("/") or "sbom"}},
                           "logicalLocations": [{"name": f.component.purl or f.component.name,
                                                 "kind": "package"}]}],
            "partialFingerprints": {"vulnerability/component": hashlib.sha256(
                f"{f.id}|{f.component.purl or f.component.ref}".encode()).hexdigest()},
            "properties": {"purl": f.component.purl, "installedVersion": f.installed_version,
                           "fixedVersions": f.fixed_versions, "state": f.state, "layer": f.component.layer},
        })
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "supplychain", "version": __version__,
                                "informationUri": "https://github.com/supplychain/supplychain",
                                "rules": list(rules.values())}},
            "results": results,
            "properties": {"database": result.database.snapshot, "dataTime": result.database.data_time},
        }],
    }
    return _dump(doc)


def _cdx_vuln(f: Finding, ref: str, n: int) -> dict[str, Any]:
    v: dict[str, Any] = {"bom-ref": f"vuln-{n}-{f.id}", "id": f.id,
                         "source": {"name": "FriendsOfPHP" if f.id.startswith("FriendsOfPHP:") else "OSV",
                                    "url": _advisory_url(f.id)}}
    refs = [{"id": a, "source": {"url": _advisory_url(a)}} for a in f.aliases]
    if refs:
        v["references"] = refs
    ratings = [{"score": c.score, "severity": _CDX_SEVERITY[Severity.from_score(c.score)],
                "method": _CDX_METHOD.get(c.version, "other"), "vector": c.vector} for c in f.cvss]
    if not ratings:
        ratings = [{"severity": _CDX_SEVERITY[f.severity], "method": "other"}]
    v["ratings"] = ratings
    if f.summary:
        v["description"] = f.summary
    adv = [{"url": u} for u in f.references if u.startswith(("http://", "https://"))]
    if adv:
        v["advisories"] = adv
    if f.fixed_versions:
        v["recommendation"] = "Update to " + " or ".join(f.fixed_versions)
    v["affects"] = [{"ref": ref, "versions": [{"version": f.installed_version, "status": "affected"}]}]
    if f.suppressed_by is not None:
        s = f.suppressed_by
        a: dict[str, Any] = {"state": "not_affected" if s.status == "not_affected" else "resolved"}
        j = _OPENVEX_TO_CDX.get(s.justification or "", s.justification)
        if j in _CDX_JUSTIFICATIONS:
            a["justification"] = j
        a["detail"] = f"VEX {s.document}" + (f": {s.statement}" if s.statement else "")
        v["analysis"] = a
        v["affects"][0]["versions"][0]["status"] = "unaffected"
    elif f.state == "wont-fix":
        v["analysis"] = {"state": "exploitable", "response": ["will_not_fix"]}
    return v


def render_cyclonedx(result: ScanResult, bom: Mapping[str, Any]) -> str:
    """``bom`` (the scanned CycloneDX JSON) with a ``vulnerabilities`` section; specVersion < 1.4
    is raised to 1.4, the first with vulnerabilities. Components without a bom-ref get one."""
    doc = copy.deepcopy(dict(bom))
    if str(doc.get("specVersion")) in ("1.0", "1.1", "1.2", "1.3"):
        doc["specVersion"] = "1.4"
        doc["$schema"] = "http://cyclonedx.org/schema/bom-1.4.schema.json"
    from supplychain.sbom.cdxjson import iter_components

    for i, c in enumerate(iter_components(doc)):
        if not isinstance(c.get("bom-ref"), str) or not c.get("bom-ref"):
            c["bom-ref"] = f"supplychain-vuln-component-{i}"
    vulns = []
    n = 0
    for f in [*result.findings, *result.suppressed]:
        ref = f.component.ref
        if ref.startswith("#") and ref[1:].isdigit():
            ref = f"supplychain-vuln-component-{ref[1:]}"
        n += 1
        vulns.append(_cdx_vuln(f, ref, n))
    doc["vulnerabilities"] = vulns
    return _dump(doc)


def render_openvex(result: ScanResult, *, product: str | None = None, author: str = "supplychain vuln scan") -> str:
    """The scan's decisions as OpenVEX v0.2.0: ``affected`` for each finding (with the fix as the
    action statement), and the VEX-suppressed ones with their status and justification."""
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    statements = []
    for f in [*result.findings, *result.suppressed]:
        sub = f.component.purl or f.component.ref
        prod: dict[str, Any] = {"@id": product, "subcomponents": [{"@id": sub}]} if product else {"@id": sub}
        st: dict[str, Any] = {"vulnerability": {"name": f.id, **({"aliases": f.aliases} if f.aliases else {})},
                              "products": [prod], "timestamp": now}
        if f.suppressed_by is not None:
            s = f.suppressed_by
            st["status"] = s.status
            if s.status == "not_affected":
                if s.justification:
                    st["justification"] = s.justification
                st["impact_statement"] = s.statement or f"per VEX {s.document}"
        else:
            st["status"] = "affected"
            st["action_statement"] = (f"Update {f.component.name} to {' or '.join(f.fixed_versions)}"
                                      if f.fixed_versions else
                                      ("The vendor will not fix this" if f.state == "wont-fix" else "No fix is available yet"))
        statements.append(st)
    body = json.dumps(statements, sort_keys=True).encode()
    doc = {"@context": "https://openvex.dev/ns/v0.2.0",
           "@id": "https://openvex.dev/docs/public/supplychain-" + hashlib.sha256(body).hexdigest()[:32],
           "author": author, "timestamp": now, "version": 1, "tooling": f"supplychain {__version__}",
           "statements": statements}
    return _dump(doc)
