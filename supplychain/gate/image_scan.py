"""The gate's ``image_scan:`` section: deny on the signed image-scan attestation's findings.

Release once, gate fast: ``supplychain attest image --scan`` checks the image as built (secrets in
every layer, config hardening: ``supplychain.policy.imagecheck``) and attaches the signed result,
an in-toto statement of predicate type :data:`PREDICATE_TYPE` about the image digest. At deploy
time the gate reads that attestation (no layer reads) and applies the policy to its findings::

    image_scan:
      images: ["registry.example.com/shop/**"]   # default: every image
      deny: error            # a finding at this severity or above fails the image (default: error)
      scan_when_missing: false   # true: without a valid attestation, scan the image itself
      min_ruleset: "2026.12.1"   # optional: older scans count as missing

The severity of each finding is the gate policy's own (``rules:`` may lower, raise or turn off an
``IMG-*`` rule), and the policy's waivers apply to it by rule, path inside the image and image.
Rules: SC-GATE-020 (no valid scan attestation), SC-GATE-021 (a finding of the scan).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from supplychain.gate.decide import add_finding, register_image_check
from supplychain.gate.policy import GatePolicy, covers, image_globs
from supplychain.gate.result import ImageDecision
from supplychain.policy.findings import RULES, Finding, Rule, Severity, register_rule
from supplychain.policy.imagecheck import PREDICATE_TYPE
from supplychain.policy.imagecheck import register as register_image_rules
from supplychain.signing import attest as at
from supplychain.signing.image import ImageVerification

SECTION = "image_scan"

GATE_RULES = (
    Rule("SC-GATE-020", "ImageScanMissing", Severity.ERROR,
         "The image has no valid image-scan attestation (secrets in layers, config) signed by an accepted signer.",
         "Attach one at release: `supplychain attest image REF --scan --key ...` (or set "
         "`image_scan.scan_when_missing: true` to let the gate scan the image itself).", "gate"),
    Rule("SC-GATE-021", "ImageScanFinding", Severity.ERROR,
         "The image's signed scan reports a finding at or above the policy's `image_scan.deny` severity.",
         "Fix the finding (rebuild without the secret, set a non-root USER, ...), scan and attest again; or "
         "waive its IMG-* rule for the path / image with a reason and an expiry date.", "gate"),
)

_done = False


def register() -> None:
    """Register the section, the SC-GATE-02x rules, the IMG-* rules and the per-image check."""
    global _done
    if _done:
        return
    register_image_rules()
    for rule in GATE_RULES:
        register_rule(rule)
    # the image_scan: section's schema is in policy_sections.json (registered by gate.rules.register)
    register_image_check(check_image_scan)
    _done = True


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split("."))
    except ValueError:
        return ()


def _predicate(doc: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(doc)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list) \
            or not isinstance(data.get("scanner"), dict):
        return None
    return data


def check_image_scan(d: ImageDecision, gp: GatePolicy, verification: ImageVerification) -> None:
    """The per-image check the gate runs once signatures and attestations are verified."""
    section = gp.policy.sections.get(SECTION)
    if not isinstance(section, dict) or d.ref is None or verification.image is None:
        return
    if not covers(image_globs(section.get("images")), d.ref):
        return
    deny = Severity.parse(str(section.get("deny") or "error"))
    minimum = _version(str(section.get("min_ruleset") or "0"))
    digest = verification.image.digest
    best: tuple[str, dict[str, Any]] | None = None
    problems: list[str] = []
    for att in verification.attestations:
        if not (att.trusted and att.predicate is not None and att.predicate_type
                and at.same_predicate_type(att.predicate_type, PREDICATE_TYPE)):
            continue
        doc = _predicate(att.predicate)
        if doc is None:
            problems.append(f"attestation {att.location}: not an image-scan predicate")
            continue
        image_doc = doc.get("image")
        scanned: dict[str, Any] = image_doc if isinstance(image_doc, dict) else {}
        if scanned.get("digest") not in (None, digest):
            problems.append(f"attestation {att.location}: scan of {scanned.get('digest')}, not {digest}")
            continue
        ruleset = str(doc["scanner"].get("ruleset") or "")
        if _version(ruleset) < minimum:
            problems.append(f"attestation {att.location}: rule set {ruleset or '?'} older than "
                            f"{section.get('min_ruleset')}")
            continue
        when = str(doc.get("scannedAt") or "")
        if best is None or when > best[0]:
            best = (when, doc)
    if best is None:
        if section.get("scan_when_missing"):
            _scan_directly(d, gp, verification, deny, int(section.get("base_layers", 1)))
            return
        why = "; ".join(problems) or "none found"
        add_finding(d, gp, "SC-GATE-020", f"{verification.image.digest_reference}: no valid image-scan attestation "
                                          f"({PREDICATE_TYPE}) signed by an accepted signer: {why}")
        return
    doc = best[1]
    findings: list[Finding] = []
    for item in doc["findings"]:
        if not isinstance(item, dict) or not isinstance(item.get("rule"), str):
            add_finding(d, gp, "SC-GATE-020", f"{digest}: the image-scan attestation has a malformed finding")
            return
        rule = item["rule"]
        recorded = item.get("severity")
        severity = gp.policy.severity_of(rule) if rule in RULES else None
        if severity is None and rule not in RULES:
            try:
                severity = Severity.parse(str(recorded))
            except ValueError:
                severity = Severity.ERROR  # unknown severity of an unknown rule: fail closed
        if severity is None:
            continue  # the policy turns this rule off
        path = item.get("path")
        findings.append(Finding(rule=rule, severity=severity, file=d.locations[0].file if d.locations else "-", line=1,
                                column=None, message=str(item.get("message") or rule)[:500], fix="",
                                image=d.ref.normalized, extra={"path": path} if isinstance(path, str) else {}))
    _deny(d, gp, findings, deny, source=f"signed scan ({doc['scanner'].get('ruleset')})")


def _deny(d: ImageDecision, gp: GatePolicy, findings: list[Finding], deny: Severity, *, source: str) -> None:
    from supplychain.policy.imagecheck.scan import waive
    from supplychain.policy.report.model import Waived

    kept, waived = waive(findings, gp.policy.waivers, datetime.date.today())
    for f, w in waived:
        d.waived.append(Waived(f, w.reason, w.expires))
    for f in kept:
        if f.severity.rank >= deny.rank:
            add_finding(d, gp, "SC-GATE-021", f"{source}: {f.rule} ({f.severity.value}): {f.message}")


def _scan_directly(d: ImageDecision, gp: GatePolicy, verification: ImageVerification, deny: Severity,
                   base_layers: int) -> None:
    from supplychain.errors import InputError, RegistryError
    from supplychain.oci.image import open_image
    from supplychain.policy.imagecheck.scan import scan_image

    assert verification.image is not None
    ref = verification.image.digest_reference
    try:
        with open_image(ref) as image:
            scan = scan_image(image, gp.policy, base_layers=base_layers)
    except RegistryError as exc:
        add_finding(d, gp, "SC-GATE-020", f"{ref}: no scan attestation, and the image could not be read to scan "
                                          f"it: {exc.message}", undecided=True)
        return
    except InputError as exc:
        add_finding(d, gp, "SC-GATE-020", f"{ref}: no scan attestation, and scanning the image failed: {exc.message}")
        return
    _deny(d, gp, scan.findings(d.locations[0].file if d.locations else ref), deny, source="scanned by the gate")
