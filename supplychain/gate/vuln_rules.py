"""The gate's ``vulnerabilities:`` section: deny images on known vulnerabilities in their attested SBOM.

For each image a ``deny`` entry covers, the gate scans every CycloneDX SBOM attested for the image
digest by an accepted signer (or, only when ``generate_sbom: true`` and there is none, an SBOM it
generates from the image) against the offline advisory database (:mod:`supplychain.vuln`)::

    vulnerabilities:
      database: /var/lib/supplychain/vuln.db   # optional; else `gate --vuln-db`, $SUPPLYCHAIN_VULN_DB, cache dir
      max_db_age: 7d                 # older data (or none) cannot judge the image: it fails (default 7d)
      generate_sbom: false           # true: no attested SBOM -> generate one from the image
      deny:
        - images: ["registry.example.com/shop/**"]   # default: every image
          severity: high             # deny at or above (unknown severity counts as meeting it)
          only_fixed: true           # only when a fixed version exists
      allow:                         # accepted advisories (an id or any of its aliases)
        - id: CVE-2024-1234
          images: "registry.example.com/shop/api"    # default: every image
          reason: "not reachable: we never parse untrusted templates (SEC-42)"
          expires: 2027-03-31        # through this day; afterwards it stops applying (SC-GATE-032)

A signed OpenVEX attestation of the image (``attest image --type openvex``) whose signer the
policy accepts for the image suppresses the findings it says are ``not_affected`` / ``fixed``; an
OpenVEX attestation that did not verify against the policy's signers is ignored (SC-GATE-034).

Rules: SC-GATE-030 (a denied vulnerability), SC-GATE-031 (the database is missing, unreadable or
too old: the image cannot be judged and fails; no waiver or severity change lifts it), SC-GATE-032
(an allow-list entry expired), SC-GATE-033 (no attested SBOM to scan; fails like SC-GATE-031),
SC-GATE-034 (an untrusted VEX was ignored), SC-GATE-035 (components the data does not cover; a
warning unless the policy raises it to error).
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supplychain.errors import InputError, PolicyViolation, RegistryError
from supplychain.gate.decide import COMMAND_LINE, add_finding, register_image_check
from supplychain.gate.policy import GatePolicy, covers, image_globs
from supplychain.gate.result import ImageDecision, Location
from supplychain.policy.config import register_section
from supplychain.policy.findings import RULES, Finding, Rule, Severity, register_rule
from supplychain.policy.report.model import Waived
from supplychain.signing import attest as at
from supplychain.signing.image import ImageVerification

if TYPE_CHECKING:
    from supplychain.vuln import Coverage, VexStatement
    from supplychain.vuln import Finding as VulnFinding
    from supplychain.vuln import Severity as VulnSeverity

SECTION = "vulnerabilities"
DEFAULT_MAX_DB_AGE = "7d"
SEVERITIES = ("negligible", "low", "medium", "high", "critical")

GATE_RULES = (
    Rule("SC-GATE-030", "VulnerabilityDenied", Severity.ERROR,
         "The image's attested SBOM holds a package with a known vulnerability the policy's "
         "`vulnerabilities.deny` denies.",
         "Upgrade the package to a fixed version, rebuild and attest the new SBOM; or attach a signed OpenVEX "
         "statement (not_affected, with a justification), or allow-list the advisory with a reason and an expiry.",
         "gate"),
    Rule("SC-GATE-031", "VulnerabilityDataUnusable", Severity.ERROR,
         "The vulnerability database is missing, unreadable or older than `vulnerabilities.max_db_age`: "
         "the image cannot be judged, so it fails.",
         "Import fresh advisories (`supplychain vuln db import SOURCE`) and point the gate at the database "
         "(`--vuln-db`, $SUPPLYCHAIN_VULN_DB or `vulnerabilities.database`).", "gate"),
    Rule("SC-GATE-032", "VulnerabilityAllowExpired", Severity.WARNING,
         "An entry of `vulnerabilities.allow` has expired and no longer applies.",
         "Fix the vulnerability, or renew the entry with a new reason and expiry date.", "gate"),
    Rule("SC-GATE-033", "VulnerabilitySbomMissing", Severity.ERROR,
         "The image has no readable CycloneDX SBOM attested by an accepted signer to scan for vulnerabilities.",
         "Attach one: `supplychain attest image REF --sbom-from-image --key ...` (or set "
         "`vulnerabilities.generate_sbom: true` to let the gate generate one).", "gate"),
    Rule("SC-GATE-035", "VulnerabilityNotCovered", Severity.WARNING,
         "Components of the attested SBOM could not be checked for vulnerabilities: the database has no "
         "advisories for their ecosystem, they have no purl, or their version cannot be ordered.",
         "Import advisories for that ecosystem (`supplychain vuln db import ...`); to fail such images, raise "
         "the rule to error under `rules:`.", "gate"),
    Rule("SC-GATE-034", "UntrustedVexIgnored", Severity.WARNING,
         "An OpenVEX attestation of the image did not verify against the policy's signers (or could not be "
         "read) and was ignored.",
         "Sign the VEX with a signer the policy accepts for the image: "
         "`supplychain attest image REF --type openvex --predicate vex.json --key ...`.", "gate"),
)

_IMAGES = {"anyOf": [{"type": "string", "minLength": 1},
                     {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}]}

SCHEMA: dict[str, Any] = {  # copied to policy_sections.json and policies/policy.schema.json (a test compares)
    "$comment": "Registered by the deploy gate (supplychain.gate.vuln_rules).",
    "description": "Deny images on known vulnerabilities in their attested CycloneDX SBOM, from the offline "
                   "advisory database (supplychain vuln db import); see docs/gate.md.",
    "type": "object",
    "additionalProperties": False,
    "required": ["deny"],
    "properties": {
        "database": {"type": "string", "minLength": 1,
                     "description": "The advisory database file (relative to the policy file). `gate --vuln-db` "
                                    "overrides it; default $SUPPLYCHAIN_VULN_DB, else the user cache dir."},
        "max_db_age": {"type": "string", "pattern": "^\\s*[0-9]+\\s*[smhdwSMHDW]\\s*$",
                       "description": "Maximum age of the advisory data, e.g. 36h, 7d, 2w (default 7d). Older "
                                      "or no data: the image fails (SC-GATE-031)."},
        "generate_sbom": {"type": "boolean",
                          "description": "Without an attested SBOM, generate one from the image (default false: "
                                         "SC-GATE-033)."},
        "deny": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object", "additionalProperties": False, "required": ["severity"],
                "properties": {
                    "images": _IMAGES,
                    "severity": {"enum": list(SEVERITIES),
                                 "description": "Deny at or above this severity (unknown severity meets it)."},
                    "only_fixed": {"type": "boolean", "description": "Deny only when a fixed version exists."},
                },
            },
        },
        "allow": {
            "type": "array",
            "items": {
                "type": "object", "additionalProperties": False, "required": ["id", "reason", "expires"],
                "properties": {
                    "id": {"type": "string", "minLength": 1,
                           "description": "Advisory id or alias (CVE-..., GHSA-..., PYSEC-...)."},
                    "images": _IMAGES,
                    "reason": {"type": "string", "minLength": 1},
                    "expires": {"type": "string", "format": "date",
                                "description": "YYYY-MM-DD; the entry applies through this day."},
                },
            },
        },
    },
}

_done = False
_db_override: str | None = None


def register() -> None:
    """Register the section, the SC-GATE-03x rules and the per-image check (idempotent)."""
    global _done
    if _done:
        return
    for rule in GATE_RULES:
        register_rule(rule)
    register_section(SECTION, SCHEMA)
    register_image_check(check_vulnerabilities)
    _done = True


def set_database(path: str | None) -> None:
    """Use this advisory database for every image (``gate --vuln-db``; None: back to the policy / default)."""
    global _db_override
    _db_override = path


@dataclass(frozen=True)
class _Allow:
    id: str
    images: tuple[str, ...]
    reason: str
    expires: datetime.date


def _date(value: Any, where: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{where}: expires {value!r} is not a date (YYYY-MM-DD)") from None


def database_path(section: dict[str, Any], policy_source: str) -> Path:
    """The advisory database the gate uses: --vuln-db, else the policy's, else the vuln default."""
    if _db_override:
        return Path(_db_override)
    if section.get("database"):
        p = Path(str(section["database"]))
        if not p.is_absolute():
            p = Path(policy_source).resolve().parent / p
        return p
    from supplychain.vuln import default_db_path

    return default_db_path()


def _fail_closed(d: ImageDecision, rule_id: str, message: str) -> None:
    """A finding that says the image could not be judged: an error whatever the policy's severities and
    waivers say (``unverified`` keeps the gate's waiver pass off it)."""
    if any(f.rule == rule_id and f.message == message for f in d.findings):
        return
    loc = d.locations[0] if d.locations else Location(COMMAND_LINE, 0, None)
    d.findings.append(Finding(rule=rule_id, severity=Severity.ERROR, file=loc.file, line=max(1, loc.line),
                              column=loc.column, message=message, fix=RULES[rule_id].help,
                              image=d.ref.normalized if d.ref else None, extra={"unverified": True}))


def _sboms(d: ImageDecision, gp: GatePolicy, verification: ImageVerification,
           section: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """(where, parsed CycloneDX JSON) of every trusted SBOM attestation; generated when asked and none."""
    assert verification.image is not None
    cdx = at.PREDICATE_TYPES["cyclonedx"]
    out: list[tuple[str, Any]] = []
    problems: list[str] = []
    for att in verification.attestations:
        if not (att.trusted and att.predicate is not None and att.predicate_type
                and at.same_predicate_type(att.predicate_type, cdx)):
            continue
        try:
            bom = json.loads(att.predicate)
        except (ValueError, UnicodeDecodeError, RecursionError):
            problems.append(f"attestation {att.location}: the SBOM is not JSON")
            continue
        out.append((f"SBOM attestation {att.location}", bom))
    if out or not section.get("generate_sbom"):
        if not out:
            why = "; ".join(problems) or "none found"
            _fail_closed(d, "SC-GATE-033", f"{verification.image.digest_reference}: no CycloneDX SBOM attested by "
                                           f"an accepted signer to scan for vulnerabilities: {why}")
        return out
    from supplychain.gate.workflows import image_sbom_document

    ref = verification.image.digest_reference
    try:
        doc = image_sbom_document(ref)
    except RegistryError as exc:  # no answer is not a yes: the image is undecided
        add_finding(d, gp, "SC-GATE-033", f"{ref}: no attested SBOM, and the image could not be read to "
                                          f"generate one: {exc.message}", undecided=True)
        return None
    except InputError as exc:
        _fail_closed(d, "SC-GATE-033", f"{ref}: no attested SBOM, and generating one failed: {exc.message}")
        return None
    out.append(("SBOM generated by the gate", json.loads(doc)))
    return out


def _vex(d: ImageDecision, gp: GatePolicy, verification: ImageVerification) -> list[VexStatement]:
    """Statements of the OpenVEX attestations signed by a signer the policy accepts; the others are
    ignored, and said so (SC-GATE-034)."""
    from supplychain.vuln import vex_from_verified_statements

    vex_type = at.PREDICATE_TYPES["openvex"]
    out: list[VexStatement] = []
    for att in verification.attestations:
        if not (att.predicate_type and at.same_predicate_type(att.predicate_type, vex_type)):
            continue
        if not att.trusted or att.predicate is None:
            add_finding(d, gp, "SC-GATE-034", f"OpenVEX attestation {att.location} ignored: "
                                              f"{att.reason or 'not signed by an accepted signer'}")
            continue
        signer = att.signer.describe() if att.signer else "an accepted signer"
        try:
            statement = {"predicateType": att.predicate_type, "predicate": json.loads(att.predicate)}
            out.extend(vex_from_verified_statements([statement], source=f"OpenVEX {att.location} signed by {signer}"))
        except (ValueError, UnicodeDecodeError, RecursionError, InputError) as exc:
            why = exc.message if isinstance(exc, InputError) else "not JSON"
            add_finding(d, gp, "SC-GATE-034", f"OpenVEX attestation {att.location} ignored: {why}")
    return out


def _denies(f: VulnFinding, rules: list[tuple[VulnSeverity, bool]]) -> bool:
    return any(f.severity.meets(sev) and (f.state == "fixed" or not only_fixed) for sev, only_fixed in rules)


def describe(f: VulnFinding) -> str:
    """One denying finding as a gate reason: advisory (aliases), package, installed and fixed version, severity."""
    aliases = [a for a in f.aliases if a != f.id][:4]
    ids = f.id + (f" ({', '.join(aliases)})" if aliases else "")
    what = f.component.purl or f.component.name
    return (f"{ids}: {f.package} {f.installed_version} is vulnerable ({f.fix_text}), severity "
            f"{f.severity.label}{' ' + what if what else ''}" + (f": {f.summary[:160]}" if f.summary else ""))


def check_vulnerabilities(d: ImageDecision, gp: GatePolicy, verification: ImageVerification,
                          *, today: datetime.date | None = None) -> None:
    """The per-image check the gate runs once signatures and attestations are verified."""
    section = gp.policy.sections.get(SECTION)
    if not isinstance(section, dict) or d.ref is None or verification.image is None:
        return
    if not gp.applies("SC-GATE-030"):
        return
    from supplychain.vuln import Severity as VSeverity
    from supplychain.vuln import apply_vex, check_db_age, open_db, scan_sbom
    from supplychain.vuln.service import parse_age

    rules = [(VSeverity.parse(str(e["severity"])), bool(e.get("only_fixed")))
             for e in section.get("deny") or [] if covers(image_globs(e.get("images")), d.ref)]
    if not rules:
        return
    day = today or datetime.date.today()
    where = f"{gp.policy.source}: {SECTION}"
    allows = [_Allow(str(a["id"]), image_globs(a.get("images")), str(a["reason"]),
                     _date(a["expires"], f"{where}.allow[{i}]"))
              for i, a in enumerate(section.get("allow") or [])]
    allows = [a for a in allows if covers(a.images, d.ref)]
    for a in allows:
        if a.expires < day:
            add_finding(d, gp, "SC-GATE-032", f"{where}.allow entry for {a.id} expired on {a.expires.isoformat()} "
                                              f"and no longer applies ({a.reason})")
    digest_ref = verification.image.digest_reference
    path = database_path(section, gp.policy.source)
    try:
        max_age = parse_age(str(section.get("max_db_age") or DEFAULT_MAX_DB_AGE))
        db = open_db(os.fspath(path))
    except InputError as exc:
        _fail_closed(d, "SC-GATE-031", f"{digest_ref}: cannot be judged for vulnerabilities: {exc.message}")
        return
    try:
        try:
            status = db.status()
        except sqlite3.Error as exc:
            _fail_closed(d, "SC-GATE-031", f"{digest_ref}: cannot be judged for vulnerabilities: {path}: {exc}")
            return
        try:
            check_db_age(status, max_age)
        except PolicyViolation as exc:
            _fail_closed(d, "SC-GATE-031", f"{digest_ref}: cannot be judged for vulnerabilities: {exc.message}")
            return
        sboms = _sboms(d, gp, verification, section)
        if not sboms:
            return
        statements = _vex(d, gp, verification)
        digest = verification.image.digest
        for source, bom in sboms:
            try:
                result = scan_sbom(bom, db, target=f"{digest_ref} ({source})")
            except InputError as exc:
                _fail_closed(d, "SC-GATE-033", f"{digest_ref}: {source} cannot be scanned: {exc.message}")
                continue
            except sqlite3.Error as exc:  # a damaged database file: no answer is never a pass
                _fail_closed(d, "SC-GATE-031", f"{digest_ref}: cannot be judged for vulnerabilities: {path}: {exc}")
                return
            if statements:
                targets = [digest, digest_ref, f"{d.ref.name}@{digest}"]
                meta = bom.get("metadata") if isinstance(bom, dict) else None
                root = meta.get("component") if isinstance(meta, dict) else None
                if isinstance(root, dict) and isinstance(root.get("purl"), str):
                    targets.append(root["purl"])
                apply_vex(result, statements, target_ids=targets)
            _judge(d, gp, result.findings, rules, allows, day)
            _coverage(d, gp, result.coverage, source)
    finally:
        db.close()


def _coverage(d: ImageDecision, gp: GatePolicy, coverage: Coverage, source: str) -> None:
    """SC-GATE-035: what the scan could not check is said, never taken as clean."""
    parts = [f"{reason}: {len(what)} ({', '.join(what[:3])}{', ...' if len(what) > 3 else ''})"
             for reason, what in sorted(coverage.not_covered.items())]
    if coverage.not_comparable:
        parts.append(f"version not comparable: {len(coverage.not_comparable)} "
                     f"({', '.join(f'{c} ({why})' for c, why in coverage.not_comparable[:3])})")
    if parts:
        add_finding(d, gp, "SC-GATE-035", f"{source}: components not checked for vulnerabilities: "
                                          + "; ".join(parts))


def _judge(d: ImageDecision, gp: GatePolicy, findings: list[VulnFinding], rules: list[tuple[VulnSeverity, bool]],
           allows: list[_Allow], day: datetime.date) -> None:
    for f in findings:
        if not _denies(f, rules):
            continue
        ids = {i.upper() for i in f.all_ids}
        matching = [a for a in allows if a.id.upper() in ids]
        active = next((a for a in matching if a.expires >= day), None)
        message = describe(f)
        if active is not None:
            loc = d.locations[0] if d.locations else Location(COMMAND_LINE, 0, None)
            waived = Finding(rule="SC-GATE-030", severity=gp.policy.severity_of("SC-GATE-030") or Severity.ERROR,
                             file=loc.file, line=max(1, loc.line), column=loc.column, message=message,
                             fix=RULES["SC-GATE-030"].help, image=d.ref.normalized if d.ref else None,
                             extra={"allowed": active.id})
            if not any(w.finding.message == message for w in d.waived):
                d.waived.append(Waived(waived, f"vulnerabilities.allow {active.id}: {active.reason}", active.expires))
            continue
        if matching:
            message += f" (allow-list entry {matching[0].id} expired on {matching[0].expires.isoformat()})"
        add_finding(d, gp, "SC-GATE-030", message)
