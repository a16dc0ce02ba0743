"""The deploy gate: for every image a deployment uses, policy + signatures + attestations + SBOM rules.

``run_gate(paths, policy_path)`` takes the images from Kubernetes manifests, compose files,
Dockerfiles and reference lists (the policy layer's parsers find them), and decides per image:

1. reference rules of the policy (trusted registry ``SC-IMG-001``, digest pin ``SC-IMG-002``,
   mutable tags ``SC-IMG-003``), with the policy's severities and waivers;
2. a valid signature by one of the signers the ``signers:`` section accepts for that image
   (``SC-GATE-001``; ``SC-GATE-005`` when no entry covers the image: the gate fails closed);
3. every attestation type the ``attestations:`` section requires for that image, signed by an
   accepted signer (``SC-GATE-002``);
4. ``sbom:`` rules on the attested CycloneDX SBOM: denied package purls (``SC-GATE-003``) and
   denied licenses (``SC-GATE-004``).

An image passes when no finding of severity ``error`` (after waivers) remains; the gate passes
when every image passes. Images are checked in parallel, registry answers are cached for the
run, and images from untrusted registries are never contacted.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from supplychain.errors import InputError, NetworkError, RegistryError, VerificationError
from supplychain.policy.config import Policy, load_policy
from supplychain.policy.findings import RULES, Finding, Rule, register_rule
from supplychain.policy.images import ImageRef, glob_match, normalize_glob, parse_image
from supplychain.signing import attest as at
from supplychain.signing import cosign as cs
from supplychain.signing.image import (
    ImageVerification,
    RegistryView,
    SignerRule,
    VerifyOptions,
    verify_image,
)
from supplychain.signing.specs import TrustSpec

# --- rules and policy sections --------------------------------------------------------------
for _rule in (
    Rule("SC-GATE-001", "ImageNotSigned", "error",
         "Image has no valid signature by a signer the policy accepts for it.",
         "Sign the image by digest (`supplychain sign image REF --key ...` or keyless in CI) with a "
         "signer listed for it under `signers:` in the policy.", "gate"),
    Rule("SC-GATE-002", "AttestationMissing", "error",
         "A required attestation (SBOM, provenance, ...) is missing or not validly signed.",
         "Attach it with `supplychain attest image REF --type TYPE --predicate FILE` (or "
         "`--sbom-from-image`), signed by an accepted signer.", "gate"),
    Rule("SC-GATE-003", "DeniedPackage", "error",
         "The attested SBOM contains a package the policy denies.",
         "Remove or upgrade the package, rebuild, and attest the new SBOM.", "gate"),
    Rule("SC-GATE-004", "DeniedLicense", "error",
         "The attested SBOM contains a component under a license the policy denies.",
         "Replace the component, or get the license approved and change `sbom.deny_licenses`.", "gate"),
    Rule("SC-GATE-005", "NoSignerPolicy", "error",
         "No entry of the policy's `signers:` section covers this image, so nothing can vouch for it.",
         "Add a `signers:` entry whose `images:` globs match the image.", "gate"),
    Rule("SC-GATE-006", "ImageUnavailable", "error",
         "The image could not be resolved or read from its registry.",
         "Check the reference and that the registry is reachable and the image pushed.", "gate"),
):
    if _rule.id not in RULES:
        register_rule(_rule)

# The `signers:`, `attestations:` and `sbom:` sections are described in the policy layer's
# policy.schema.json (one schema for editors, `policy check` and the gate).


# --- the gate policy ------------------------------------------------------------------------
def _globs(value: Any) -> tuple[str, ...]:
    if value is None:
        return ("**",)
    items = [value] if isinstance(value, str) else list(value)
    # "**" is every image (normalize_glob would read a bare glob as a Docker Hub short name)
    return tuple("**" if str(g).strip() == "**" else normalize_glob(str(g)) for g in items)


def _covers(globs: tuple[str, ...], ref: ImageRef) -> bool:
    return any(g == "**" or glob_match(g, ref) for g in globs)


@dataclass(frozen=True)
class SignerEntry:
    images: tuple[str, ...]
    rule: SignerRule


@dataclass(frozen=True)
class AttestationRequirement:
    images: tuple[str, ...]
    types: tuple[str, ...]  # predicate type URIs


@dataclass(frozen=True)
class SbomRules:
    images: tuple[str, ...]
    deny_packages: tuple[str, ...]
    deny_licenses: tuple[str, ...]


@dataclass
class GatePolicy:
    policy: Policy
    signers: list[SignerEntry] = field(default_factory=list)
    attestations: list[AttestationRequirement] = field(default_factory=list)
    sbom: SbomRules | None = None

    def signers_for(self, ref: ImageRef) -> list[SignerRule]:
        return [e.rule for e in self.signers if _covers(e.images, ref)]

    def attestations_for(self, ref: ImageRef) -> list[str]:
        out: list[str] = []
        for req in self.attestations:
            if _covers(req.images, ref):
                out.extend(t for t in req.types if t not in out)
        if self.sbom is not None and _covers(self.sbom.images, ref):
            cdx = at.PREDICATE_TYPES["cyclonedx"]
            if cdx not in out:
                out.append(cdx)
        return out


def load_gate_policy(path: str | Path) -> GatePolicy:
    """Load a policy file and its gate sections (keys resolved relative to the policy file)."""
    policy = load_policy(path)
    base = Path(path).resolve().parent
    sections = policy.sections
    gp = GatePolicy(policy)
    for i, entry in enumerate(sections.get("signers") or []):
        name = str(entry.get("name") or f"signers[{i}]")
        where = f"{path}: signers[{i}] ({name})"
        # contradictory fields are refused, as on the command line (--key with --cert-identity ...)
        keyless = [f"`{f}`" for f in ("subject", "subject_regexp", "issuer", "issuer_regexp") if entry.get(f)]
        if entry.get("key") and keyless:
            raise InputError(f"{where}: give `key` or {', '.join(keyless)} (keyless identity), not both")
        for exact in ("subject", "issuer"):
            if entry.get(exact) and entry.get(exact + "_regexp"):
                raise InputError(f"{where}: give `{exact}` or `{exact}_regexp`, not both")
        if entry.get("key"):
            value = str(entry["key"])
            try:
                if value.lstrip().startswith("-----BEGIN"):  # an inline PEM public key
                    key = cs.load_public_key(value.strip().encode() + b"\n", name=name)
                else:
                    key_path = Path(value)
                    if not key_path.is_absolute():
                        key_path = base / key_path
                    from supplychain.fileio import read_bytes

                    raw = read_bytes(key_path, what="public key")
                    key = cs.load_public_key(raw, name=name, path=str(key_path))
            except InputError as exc:
                raise InputError(f"{where}: {exc.message}") from exc
            rule = SignerRule(name=name, keys=(key,))
        else:
            if not (entry.get("issuer") or entry.get("issuer_regexp")):
                raise InputError(f"{where}: a keyless signer needs `issuer` or `issuer_regexp`")
            try:
                rule = SignerRule(name=name, identity=entry.get("subject"),
                                  identity_regexp=entry.get("subject_regexp"),
                                  issuer=entry.get("issuer"), issuer_regexp=entry.get("issuer_regexp"))
                from supplychain.signing.image import _compile

                _compile(rule.identity_regexp)
                _compile(rule.issuer_regexp)
            except InputError as exc:
                raise InputError(f"{where}: {exc.message}") from exc
        gp.signers.append(SignerEntry(_globs(entry.get("images")), rule))
    for i, entry in enumerate(sections.get("attestations") or []):
        try:
            types = tuple(at.predicate_type_for(str(t)) for t in entry["require"])
        except InputError as exc:
            raise InputError(f"{path}: attestations[{i}].require: {exc.message}", hint=exc.hint) from exc
        gp.attestations.append(AttestationRequirement(_globs(entry.get("images")), types))
    sb = sections.get("sbom")
    if sb:
        gp.sbom = SbomRules(_globs(sb.get("images")), tuple(str(p) for p in sb.get("deny_packages") or ()),
                            tuple(str(x) for x in sb.get("deny_licenses") or ()))
    return gp


# --- results --------------------------------------------------------------------------------
@dataclass
class Location:
    file: str
    line: int
    column: int | None
    context: str = ""


@dataclass
class ImageDecision:
    image: str  # as written (after variable substitution)
    ref: ImageRef | None
    locations: list[Location] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)
    verification: ImageVerification | None = None
    sbom_components: int | None = None
    network_error: bool = False  # the registry could not be reached

    @property
    def passed(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def reasons(self) -> list[str]:
        return [f"{f.rule}: {f.message}" for f in self.findings if f.severity == "error"]

    def as_dict(self) -> dict[str, Any]:
        v = self.verification
        return {
            "image": self.image,
            "name": self.ref.name if self.ref else None,
            "digest": v.digest if v else (self.ref.digest if self.ref else None),
            "decision": "pass" if self.passed else "fail",
            "reasons": self.reasons,
            "findings": [dict(f.as_json(), image=self.image) for f in self.findings],
            "waived": [f.as_json() for f in self.waived],
            "locations": [{"file": loc.file, "line": loc.line, "column": loc.column, "context": loc.context}
                          for loc in self.locations],
            "signatures": [s.as_dict() for s in v.signatures] if v else [],
            "attestations": [a.as_dict() for a in v.attestations] if v else [],
            "sbom_components": self.sbom_components,
        }


@dataclass
class GateResult:
    policy: str
    images: list[ImageDecision]
    errors: list[str] = field(default_factory=list)  # files that could not be read

    @property
    def passed(self) -> bool:
        return bool(self.images) and all(d.passed for d in self.images) and not self.errors

    @property
    def network_failure(self) -> bool:
        """Some image could not be decided because its registry was unreachable."""
        return any(d.network_error for d in self.images)

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": "pass" if self.passed else "fail",
            "policy": self.policy,
            "summary": {
                "images": len(self.images),
                "passed": sum(1 for d in self.images if d.passed),
                "failed": sum(1 for d in self.images if not d.passed),
            },
            "errors": self.errors,
            "images": [d.as_dict() for d in self.images],
        }


# --- collecting images ----------------------------------------------------------------------
@dataclass
class _Use:
    text: str
    location: Location
    findings: list[Finding]
    waived: list[Finding] = field(default_factory=list)


def collect_images(paths: Iterable[str], policy: Policy, *, today: date | None = None
                   ) -> tuple[list[_Use], list[Finding]]:
    """Image references (with the policy's SC-IMG findings for each) from files and directories.

    An argument that is not an existing path but parses as an image reference is taken as one.
    Returns the uses and the findings about no image in particular (expired waivers, ...).
    """
    uses: list[_Use] = []
    other: list[Finding] = []
    files: list[str] = []
    for p in paths:
        if os.path.exists(p):
            files.append(p)
            continue
        try:
            parse_image(p)
        except ValueError as exc:
            raise InputError(f"{p}: no such file or directory, and not an image reference ({exc})") from exc
        uses.append(_Use(p, Location("<command line>", 0, None, "argument"),
                         _reference_findings(policy, p, "<command line>", 0, None)))
    if files:
        from supplychain.policy.engine import check_paths

        report = check_paths(files, policy, today=today)
        by_key: dict[tuple[str, int, int | None], list[Finding]] = {}
        waived: dict[tuple[str, int, int | None], list[Finding]] = {}
        for f in report.findings:
            if f.rule.startswith("SC-IMG-"):
                by_key.setdefault((f.file, f.line, f.column), []).append(f)
            elif f.rule.startswith("SC-POL-"):
                other.append(f)
        for f, _w in report.waived:
            if f.rule.startswith("SC-IMG-"):
                waived.setdefault((f.file, f.line, f.column), []).append(f)
        other.extend(_skipped_template(policy, path, today or date.today()) for path in report.skipped)
        for use in report.images:
            key = (use.file, use.line, use.column)
            name = use.ref.name if use.ref else None
            found = [f for f in by_key.get(key, []) if f.image in (None, name)]
            gone = [f for f in waived.get(key, []) if f.image in (None, name)]
            uses.append(_Use(use.text, Location(use.file, use.line, use.column, use.context), found, gone))
    return uses, other


def _skipped_template(policy: Policy, path: str, today: date) -> Finding:
    """A walked template (Helm, Jinja) the policy layer skipped: its images were never checked, so
    the gate does not pass (fail closed) unless the policy lowers SC-GATE-006 or waives it by path."""
    severity = policy.severity_of("SC-GATE-006") or "note"
    if any(not w.expired(today) and w.matches_rule("SC-GATE-006") and w.image is None and w.path is not None
           and fnmatch.fnmatchcase(path, w.path) for w in policy.waivers):
        severity = "note"
    return Finding(rule="SC-GATE-006", severity=severity, file=path, line=1, column=None,
                   message="template (Helm, Jinja) skipped: the images it deploys cannot be checked",
                   fix="render it (e.g. `helm template`) and gate the rendered manifests")


def _reference_findings(policy: Policy, text: str, file: str, line: int, column: int | None) -> list[Finding]:
    from supplychain.policy.context import Collector, ImageUse

    col = Collector(policy=policy, file=file)
    col.image(ImageUse(file=file, line=line, column=column, text=text, literal=True, context="argument"))
    return list(col.findings)


# --- the gate -------------------------------------------------------------------------------
def run_gate(
    paths: Iterable[str],
    policy_path: str | Path,
    *,
    trust: TrustSpec | None = None,
    registry: RegistryView | None = None,
    workers: int = 8,
    today: date | None = None,
    extra_trusted: Iterable[str] = (),
    insecure_registries: Iterable[str] = (),
) -> GateResult:
    gp = load_gate_policy(policy_path)
    gp.policy = gp.policy.with_trusted(tuple(extra_trusted))
    day = today or date.today()
    uses, policy_findings = collect_images(paths, gp.policy, today=day)
    if not uses:
        raise InputError("no image references found in " + ", ".join(str(p) for p in paths),
                         hint="pass Kubernetes manifests, compose files, Dockerfiles, reference lists or references")
    decisions: dict[str, ImageDecision] = {}
    for use in uses:
        d = decisions.get(use.text)
        if d is None:
            try:
                ref: ImageRef | None = parse_image(use.text)
            except ValueError:
                ref = None
            d = decisions[use.text] = ImageDecision(use.text, ref)
        d.locations.append(use.location)
        d.findings.extend(f for f in use.findings if f.rule not in {x.rule for x in d.findings})
        d.waived.extend(f for f in use.waived if f.rule not in {x.rule for x in d.waived})
    view = registry or RegistryView(insecure=insecure_registries)
    trust = trust or TrustSpec()

    def check(d: ImageDecision) -> ImageDecision:
        # reference findings first: a waived SC-IMG-001 means "verify it anyway", never "skip it"
        _apply_waivers(d, gp.policy, day)
        _decide(d, gp, view, trust)
        _apply_waivers(d, gp.policy, day)
        return d

    todo = list(decisions.values())
    if len(todo) == 1 or workers <= 1:
        results = [check(d) for d in todo]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            results = list(pool.map(check, todo))
    errors = [f"{f.file}:{f.line}: {f.rule}: {f.message}" for f in policy_findings if f.severity == "error"]
    return GateResult(str(policy_path), results, errors)


def _finding(d: ImageDecision, rule_id: str, message: str, policy: Policy, fix: str | None = None) -> None:
    severity = policy.severity_of(rule_id)
    if severity is None or any(f.rule == rule_id and f.message == message for f in d.findings):
        return
    loc = d.locations[0] if d.locations else Location("<command line>", 0, None)
    d.findings.append(Finding(rule=rule_id, severity=severity, file=loc.file, line=max(1, loc.line),
                              column=loc.column, message=message, fix=fix or RULES[rule_id].help,
                              image=d.ref.name if d.ref else None))


def _decide(d: ImageDecision, gp: GatePolicy, view: RegistryView, trust: TrustSpec) -> None:
    ref = d.ref
    policy = gp.policy
    if ref is None:  # SC-IMG-004/005 come from the policy layer; fail closed even if they are lowered
        if not any(f.severity == "error" for f in d.findings):
            _finding(d, "SC-GATE-006", f"{d.image!r} is not a valid image reference: it cannot be verified",
                     policy)
        return
    if any(f.rule == "SC-IMG-001" and f.severity == "error" for f in d.findings):
        return  # an untrusted registry is never contacted
    signers = gp.signers_for(ref)
    if not signers:
        _finding(d, "SC-GATE-005", f"no `signers:` entry of the policy covers {ref.name}", policy)
        return
    required = gp.attestations_for(ref)
    options = VerifyOptions(signers=signers, trust=trust, require_attestations=required, legacy="auto")
    try:
        from supplychain.signing.image import parse_image_reference

        target = parse_image_reference(ref.normalized)
        verification = verify_image(target, options, registry=view)
    except NetworkError as exc:  # unreachable registry: no decision possible (exit 3 overall)
        d.network_error = True
        _finding(d, "SC-GATE-006", f"{ref.normalized}: {exc.message}", policy)
        return
    except (RegistryError, VerificationError) as exc:  # not found, denied, tampered
        _finding(d, "SC-GATE-006", f"{ref.normalized}: {exc.message}", policy)
        return
    d.verification = verification
    if verification.image is None:
        _finding(d, "SC-GATE-006", "; ".join(verification.errors) or "image could not be resolved", policy)
        return
    if not verification.signed:
        why = "; ".join(r for r in verification.reasons if r.startswith(("no signature", "no valid")))
        accepted = ", ".join(s.describe() for s in signers)
        _finding(d, "SC-GATE-001", f"{why} (accepted: {accepted})", policy)
    for ptype in required:
        if verification.trusted_attestation(ptype) is None:
            _finding(d, "SC-GATE-002",
                     f"{verification.image.digest_reference}: no valid {at.short_type(ptype)} attestation "
                     f"({ptype}) signed by an accepted signer", policy)
    if gp.sbom is not None and _covers(gp.sbom.images, ref):
        # every accepted SBOM of the digest: a denied package in any of them fails the image
        cdx = at.PREDICATE_TYPES["cyclonedx"]
        for sbom in verification.attestations:
            if sbom.trusted and sbom.predicate is not None and sbom.predicate_type \
                    and at.same_predicate_type(sbom.predicate_type, cdx):
                _check_sbom(d, sbom.predicate, gp.sbom, policy)


def _check_sbom(d: ImageDecision, document: bytes, rules: SbomRules, policy: Policy) -> None:
    try:
        bom = json.loads(document)
    except ValueError:
        _finding(d, "SC-GATE-002", "the attested CycloneDX SBOM is not JSON", policy)
        return
    components = list(_components(bom))
    d.sbom_components = len(components)
    for comp in components:
        purl = comp.get("purl")
        if isinstance(purl, str):
            forms = _purl_forms(purl)
            for pattern in rules.deny_packages:
                if any(fnmatch.fnmatchcase(form, pattern) for form in forms):
                    _finding(d, "SC-GATE-003", f"attested SBOM contains {purl} (denied by {pattern!r})", policy)
                    break
        for lic in _licenses(comp):
            # SPDX license identifiers are case-insensitive
            hit = next((p for p in rules.deny_licenses if fnmatch.fnmatchcase(lic.upper(), p.upper())), None)
            if hit is not None:
                name = comp.get("purl") or comp.get("name") or "?"
                _finding(d, "SC-GATE-004", f"attested SBOM: {name} is licensed {lic} (denied by {hit!r})", policy)
                break


def _purl_forms(purl: str) -> set[str]:
    """A purl as written, without qualifiers, percent-decoded (`%40scope` -> `@scope`), and with its
    case-insensitive `pkg:type` lowercased: a deny glob matches any of them."""
    from urllib.parse import unquote

    head, sep, rest = purl.partition("/")
    forms = {purl, head.lower() + sep + rest}
    for f in list(forms):
        forms.add(unquote(f))
    for f in list(forms):
        forms.add(f.split("?", 1)[0].split("#", 1)[0])
    return forms


def _components(bom: Any) -> Iterable[dict[str, Any]]:
    """Every component of a CycloneDX JSON document (nested ones too), tolerating junk."""
    if not isinstance(bom, dict):
        return
    stack: list[Any] = list(bom.get("components") or []) if isinstance(bom.get("components"), list) else []
    meta = bom.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("component"), dict):
        stack.append(meta["component"])
    seen = 0
    while stack and seen < 1_000_000:
        comp = stack.pop()
        seen += 1
        if isinstance(comp, dict):
            yield comp
            nested = comp.get("components")
            if isinstance(nested, list):
                stack.extend(nested)


def _licenses(comp: dict[str, Any]) -> list[str]:
    import re

    out: list[str] = []
    entries = comp.get("licenses")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        lic = entry.get("license")
        if isinstance(lic, dict):
            value = lic.get("id") or lic.get("name")
            if isinstance(value, str):
                out.append(value)
        expr = entry.get("expression")
        if isinstance(expr, str):
            out.extend(t for t in re.split(r"[\s()]+", expr) if t and t not in ("AND", "OR", "WITH"))
    return out


def _apply_waivers(d: ImageDecision, policy: Policy, today: date) -> None:
    if not policy.waivers or d.ref is None:
        return
    kept: list[Finding] = []
    for f in d.findings:
        # a gate finding is about the image wherever it is used: a path waiver must cover every use
        files = {f.file} if f.rule.startswith("SC-IMG-") or not d.locations else {x.file for x in d.locations}
        waiver = next((w for w in policy.waivers if not w.expired(today) and w.matches_rule(f.rule)
                       and (w.image is None or glob_match(w.image, d.ref))
                       and (w.path is None or all(fnmatch.fnmatchcase(x, w.path) for x in files))), None)
        (d.waived if waiver is not None else kept).append(f)
    d.findings = kept


# --- rendering ------------------------------------------------------------------------------
def render_text(result: GateResult) -> str:
    lines: list[str] = []
    for d in result.images:
        v = d.verification
        head = "PASS" if d.passed else "FAIL"
        digest = f" ({v.digest})" if v and v.digest and (d.ref is None or d.ref.digest is None) else ""
        lines.append(f"{head}  {d.image}{digest}")
        where = ", ".join(f"{loc.file}:{loc.line}" for loc in d.locations[:3])
        if where:
            lines.append(f"      used at {where}" + (" ..." if len(d.locations) > 3 else ""))
        if v and v.image:
            for s in v.signatures:
                if s.trusted and s.signer:
                    lines.append(f"      signed by {s.signer.describe()}" + _when(s.signer))
            for a in v.attestations:
                if a.trusted and a.predicate_type:
                    lines.append(f"      attestation {at.short_type(a.predicate_type)} by {a.signer.describe() if a.signer else '?'}")
        for f in d.findings:
            lines.append(f"      {f.severity}: {f.rule}: {f.message}")
        for f in d.waived:
            lines.append(f"      waived: {f.rule}: {f.message}")
    for e in result.errors:
        lines.append(f"error: {e}")
    total = len(result.images)
    passed = sum(1 for d in result.images if d.passed)
    lines.append("")
    lines.append(f"gate: {'PASS' if result.passed else 'FAIL'} ({passed}/{total} images passed)")
    return "\n".join(lines) + "\n"


def _when(info: cs.SignerInfo) -> str:
    if info.time is None:
        return ""
    stamp = info.time.strftime("%Y-%m-%d %H:%M:%SZ")
    return f" at {stamp}" + (" (claimed)" if info.time_source == "claimed" else "")


def render_json(result: GateResult) -> str:
    return json.dumps(result.as_dict(), indent=2) + "\n"


def render_sarif(result: GateResult) -> str:
    """SARIF 2.1.0: one result per failing finding, rule metadata from the catalogue."""
    from supplychain import __version__

    findings = [(d, f) for d in result.images for f in d.findings]
    rule_ids = sorted({f.rule for _, f in findings})
    rules = []
    for rid in rule_ids:
        rule = RULES.get(rid)
        rules.append({
            "id": rid,
            "name": rule.name if rule else rid,
            "shortDescription": {"text": rule.summary if rule else rid},
            "help": {"text": rule.help if rule else ""},
            "defaultConfiguration": {"level": _level(rule.severity if rule else "error")},
        })
    index = {rid: i for i, rid in enumerate(rule_ids)}
    results = []
    for d, f in findings:
        loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": f.file},
                                                    "region": {"startLine": max(1, f.line)}}}
        if f.column:
            loc["physicalLocation"]["region"]["startColumn"] = f.column
        results.append({
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _level(f.severity),
            "message": {"text": f"{d.image}: {f.message}. {f.fix}"},
            "locations": [loc],
            "properties": {"image": d.image, "decision": "pass" if d.passed else "fail"},
        })
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "supplychain gate", "version": __version__,
                                "informationUri": "https://github.com/supplychain/supplychain", "rules": rules}},
            "results": results,
            "properties": {"decision": "pass" if result.passed else "fail"},
        }],
    }
    return json.dumps(sarif, indent=2) + "\n"


def _level(severity: str) -> str:
    return {"error": "error", "warning": "warning", "note": "note"}.get(severity, "error")
