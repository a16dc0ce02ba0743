"""Decide one image: reference rules, signature, attestations, SBOM rules, waivers.

:func:`decide_image` is the reusable unit (``gate`` runs it per image in parallel; an admission
webhook or a vulnerability check calls it the same way)::

    from supplychain.gate import decide_image, load_gate_policy
    from supplychain.signing.image import RegistryView
    from supplychain.signing.specs import TrustSpec

    gp = load_gate_policy("policies/release.yaml")
    d = decide_image("ghcr.io/acme/app@sha256:...", gp, registry=RegistryView(), trust=TrustSpec())
    d.decision   # Decision.PASS / FAIL / UNDECIDED;  d.findings, d.waived, d.verification

More checks per image (vulnerabilities, image contents) plug in with :func:`register_image_check`:
a function ``(decision, gate_policy, verification)`` called once the image is resolved and its
signatures verified, which records findings with :func:`add_finding` (its rules registered with
``register_rule``, its policy section with ``register_section``, both from an explicit
registration function, as :func:`supplychain.gate.rules.register` does).

Registry failures never become a yes or a no: a registry that cannot be read (network, persistent
5xx / 429, an HTML page, a failing token service, a deadline) makes the image *undecided*
(``d.undecided`` says why); an image the registry says does not exist fails (SC-GATE-006).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from supplychain.errors import RegistryError, VerificationError
from supplychain.gate.conditions import Condition, activation
from supplychain.gate.policy import GatePolicy, covers
from supplychain.gate.result import ImageDecision, Location
from supplychain.gate.sbom_rules import check_sbom, check_sbom_document
from supplychain.oci.registry import RegistryNotFound
from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.findings import RULES, Finding, Severity
from supplychain.policy.images import parse_image
from supplychain.policy.report.model import Waived
from supplychain.policy.waivers import find_waiver
from supplychain.signing import attest as at
from supplychain.signing.image import (
    ImageVerification,
    RegistryView,
    VerifyOptions,
    parse_image_reference,
    verify_image,
)
from supplychain.signing.policy import SignerPolicy
from supplychain.signing.specs import TrustSpec

COMMAND_LINE = "<command line>"

ImageCheck = Callable[[ImageDecision, GatePolicy, ImageVerification], None]
_IMAGE_CHECKS: list[ImageCheck] = []


def _distinct_signers(entries: Iterable[SignerPolicy], signatures: Iterable[Any]) -> list[str]:
    """Names of the threshold's signer entries each matched to a different verified signer (one key,
    or one certificate identity + issuer): one signer never counts for two entries (two entries
    with the same key, or a regular expression that also matches another entry's identity), however
    many copies of its signature the image has. A maximum bipartite matching (entries are few)."""
    who: dict[tuple[Any, ...], Any] = {}
    for sig in signatures:
        s = sig.signer
        if sig.verified and s is not None:
            who.setdefault((s.kind, s.key_fingerprint, s.identity, s.issuer), s)
    signers = list(who.values())
    entries = list(entries)
    taken: dict[int, int] = {}  # signer index -> entry index

    def assign(e: int, seen: set[int]) -> bool:
        for i, s in enumerate(signers):
            if i in seen or not entries[e].matches(s):
                continue
            seen.add(i)
            if i not in taken or assign(taken[i], seen):
                taken[i] = e
                return True
        return False

    for e in range(len(entries)):
        assign(e, set())
    return [entries[e].name for e in sorted(set(taken.values()))]


def register_image_check(check: ImageCheck) -> None:
    """Run ``check`` for every resolved image (idempotent; call it from a registration function)."""
    if check not in _IMAGE_CHECKS:
        _IMAGE_CHECKS.append(check)


def reference_findings(gp: GatePolicy, text: str, location: Location) -> list[Finding]:
    """The policy's image reference rules (SC-IMG-*) for a reference given outside any file."""
    col = Collector(policy=gp.policy, file=location.file)
    col.image(ImageUse(file=location.file, line=location.line, column=location.column, text=text, literal=True,
                       context=location.context))
    return [f for f in col.findings if gp.applies(f.rule)]


def decide_image(image: str, gp: GatePolicy, *, registry: RegistryView, trust: TrustSpec,
                 locations: Iterable[Location] = (), findings: Iterable[Finding] | None = None,
                 waived: Iterable[Waived] = (), today: datetime.date | None = None) -> ImageDecision:
    """Decide one image (a reference as written, ideally pinned by digest).

    ``findings`` / ``waived`` are the reference findings the policy layer already made where the
    image is used (``gate`` passes them); when None they are computed here (``--image``, webhook).
    """
    try:
        ref = parse_image(image)
    except ValueError:
        ref = None
    d = ImageDecision(image, ref, list(locations) or [Location(COMMAND_LINE, 0, None, "--image")])
    day = today or datetime.date.today()
    if findings is None:
        d.findings = reference_findings(gp, image, d.locations[0])
        _waive(d, gp, day, lambda f: (f.file,))
    else:
        d.findings = list(findings)
        d.waived = list(waived)
    _verify(d, gp, registry, trust)
    # a gate finding is about the image wherever it is used: a path waiver must cover every use
    _waive(d, gp, day, lambda f: tuple(sorted({loc.file for loc in d.locations})), only_gate=True)
    return d


def _waive(d: ImageDecision, gp: GatePolicy, day: datetime.date, files: Callable[[Finding], tuple[str, ...]], *,
           only_gate: bool = False) -> None:
    kept: list[Finding] = []
    for f in d.findings:
        w = None
        if f.extra.get("unverified"):
            pass  # an image that was not verified never passes: no waiver lifts that
        elif not only_gate or f.rule.startswith("SC-GATE-"):
            w = find_waiver(gp.policy.waivers, f.rule, files=files(f), image=d.ref, today=day)
        if w is None:
            kept.append(f)
        else:
            d.waived.append(Waived(f, w.reason, w.expires))
    d.findings = kept


def add_finding(d: ImageDecision, gp: GatePolicy, rule_id: str, message: str, *, undecided: bool = False) -> None:
    """Record a finding of ``rule_id`` on the image, at the policy's severity (none when the policy
    turns the rule off or the gate's scope leaves it out). ``undecided``: the finding says the check
    could not look (its severity is never lowered below error, and the image is undecided)."""
    if undecided and d.undecided is None:
        d.undecided = message
    _add(d, gp, rule_id, message, undecided=undecided)


def _add(d: ImageDecision, gp: GatePolicy, rule_id: str, message: str, *, undecided: bool = False,
         unverified: bool = False) -> None:
    severity = gp.policy.severity_of(rule_id)
    if unverified:  # the image could not be verified at all: an error whatever the policy says
        severity = Severity.ERROR
    elif not gp.applies(rule_id):
        return
    if undecided:
        severity = severity or Severity.ERROR  # no answer is never lowered into a yes
    if severity is None or any(f.rule == rule_id and f.message == message for f in d.findings):
        return
    loc = d.locations[0] if d.locations else Location(COMMAND_LINE, 0, None)
    d.findings.append(Finding(rule=rule_id, severity=severity, file=loc.file, line=max(1, loc.line),
                              column=loc.column, message=message, fix=RULES[rule_id].help,
                              image=d.ref.normalized if d.ref else None,
                              extra={"undecided": True} if undecided else {"unverified": True} if unverified else {}))


def _verify(d: ImageDecision, gp: GatePolicy, view: RegistryView, trust: TrustSpec) -> None:
    ref = d.ref
    if ref is None:  # SC-IMG-004/005 come from the policy layer; fail closed even if they are lowered
        if not any(f.severity is Severity.ERROR for f in d.findings):
            d.findings.append(Finding("SC-GATE-006", Severity.ERROR, d.locations[0].file, max(1, d.locations[0].line),
                                      d.locations[0].column,
                                      f"{d.image!r} is not a valid image reference: it cannot be verified",
                                      RULES["SC-GATE-006"].help))
        return
    if any(f.rule == "SC-IMG-001" and f.severity is Severity.ERROR for f in d.findings):
        return  # an untrusted registry is never contacted
    signers = gp.signers_for(ref)
    thresholds = gp.thresholds_for(ref)
    for th in thresholds:  # the named signers' signatures must be checked to be counted
        signers.extend(s for s in th.signers if s not in signers)
    if not signers:
        _add(d, gp, "SC-GATE-005", f"no `signers:` entry of the policy covers {ref.name}")
        return
    required = gp.attestations_for(ref)
    options = VerifyOptions(signers=signers, trust=trust, require_attestations=required, legacy="auto")
    try:
        verification = verify_image(parse_image_reference(ref.normalized), options, registry=view)
    except RegistryNotFound as exc:  # the registry says it does not exist: a definite no
        _add(d, gp, "SC-GATE-006", f"{ref.normalized}: {exc.message}", unverified=True)
        return
    except RegistryError as exc:  # could not read the registry: no decision (exit 3)
        d.undecided = f"{ref.normalized}: {exc.message}"
        _add(d, gp, "SC-GATE-006", d.undecided, undecided=True)
        return
    except VerificationError as exc:  # tampered manifest, digest mismatch
        _add(d, gp, "SC-GATE-006", f"{ref.normalized}: {exc.message}", unverified=True)
        return
    d.verification = verification
    if verification.image is None:
        _add(d, gp, "SC-GATE-006", "; ".join(verification.errors) or "image could not be resolved", unverified=True)
        return
    if not verification.signed:
        why = "; ".join(r for r in verification.reasons if r.startswith(("no signature", "no valid")))
        accepted = ", ".join(s.describe() for s in signers)
        _add(d, gp, "SC-GATE-001", f"{why} (accepted: {accepted})")
    for ptype in required:
        if verification.trusted_attestation(ptype) is None:
            causes = sorted({a.reason or "not signed by an accepted signer" for a in verification.attestations
                             if a.predicate_type and at.same_predicate_type(a.predicate_type, ptype)})
            cause = f": {'; '.join(causes)}" if causes else ": none found"
            _add(d, gp, "SC-GATE-002",
                 f"{verification.image.digest_reference}: no valid {at.short_type(ptype)} attestation "
                 f"({ptype}) signed by an accepted signer{cause}")
    for th in thresholds:
        signed_by = _distinct_signers(th.signers, verification.signatures)
        if len(signed_by) < th.need:
            _add(d, gp, "SC-GATE-010",
                 f"{verification.image.digest_reference}: signatures required by {th.text}; valid signatures by "
                 f"{', '.join(signed_by) if signed_by else 'none of them'}")
    for ptype in required:
        conditions = gp.conditions_for(ref, ptype)
        if conditions and verification.trusted_attestation(ptype) is not None:
            _check_conditions(d, gp, verification, ptype, conditions)
    if gp.sbom is not None and covers(gp.sbom.images, ref):
        # every accepted SBOM of the digest: a denied package in any of them fails the image
        cdx = at.PREDICATE_TYPES["cyclonedx"]
        for sbom in verification.attestations:
            if sbom.trusted and sbom.has_predicate and sbom.predicate_type \
                    and at.same_predicate_type(sbom.predicate_type, cdx):
                parsed, document = sbom.parsed_predicate()
                if parsed:  # in-band: as signed, without a JSON round trip
                    _count_sbom(d, check_sbom_document(document, gp.sbom, lambda rid, msg: _add(d, gp, rid, msg)))
                else:
                    check_image_sbom(d, sbom.predicate or b"", gp)
    for check in list(_IMAGE_CHECKS):
        check(d, gp, verification)


def _check_conditions(d: ImageDecision, gp: GatePolicy, verification: ImageVerification, ptype: str,
                      conditions: list[Condition]) -> None:
    """SC-GATE-011 unless one trusted attestation of ``ptype`` meets every CEL condition."""
    assert verification.image is not None
    failures: list[str] = []
    for att in verification.attestations:
        if not (att.trusted and att.predicate is not None and att.predicate_type
                and at.same_predicate_type(att.predicate_type, ptype)):
            continue
        env = activation(att.predicate, att.predicate_type, att.signer.as_dict() if att.signer else None,
                         verification.image.digest_reference)
        why = [w for w in (c.evaluate(env) for c in conditions) if w is not None]
        if not why:
            return
        failures.append("; ".join(why))
    detail = " | ".join(sorted(set(failures))[:3]) if failures else "no attestation predicate to evaluate"
    _add(d, gp, "SC-GATE-011",
         f"{verification.image.digest_reference}: no trusted {at.short_type(ptype)} attestation meets the "
         f"policy's conditions: {detail}")


def check_image_sbom(d: ImageDecision, document: bytes, gp: GatePolicy) -> None:
    """Apply the policy's ``sbom:`` rules to one attested SBOM of the image ``d``."""
    if gp.sbom is None:
        return
    _count_sbom(d, check_sbom(document, gp.sbom, lambda rid, msg: _add(d, gp, rid, msg)))


def _count_sbom(d: ImageDecision, count: int | None) -> None:
    if count is not None:
        d.sbom_components = count
