"""The gate's result as the shared report model (text / JSON / SARIF writers of the policy layer)."""

from __future__ import annotations

from supplychain.errors import NetworkError, PolicyViolation, SupplychainError
from supplychain.gate.result import GateResult, ImageDecision
from supplychain.policy.findings import RULES
from supplychain.policy.report.model import Decision, OutputFormat, Report, Section, render
from supplychain.signing import attest as at
from supplychain.signing.policy import Signer


def _when(info: Signer) -> str:
    if info.time is None:
        return "; signing time not attested" if info.kind == "key" else ""
    return f" at {info.time.strftime('%Y-%m-%d %H:%M:%SZ')} ({info.time_source})"


def _image_section(d: ImageDecision) -> Section:
    v = d.verification
    digest = f" ({v.digest})" if v and v.digest and (d.ref is None or d.ref.digest is None) else ""
    notes: list[str] = []
    where = ", ".join(f"{loc.file}:{loc.line}" for loc in d.locations[:3])
    if where:
        notes.append(f"used at {where}" + (" ..." if len(d.locations) > 3 else ""))
    if d.undecided is not None:
        notes.append(f"no decision: {d.undecided}")
    if v and v.image:
        for s in v.signatures:
            if s.trusted and s.signer:
                notes.append(f"signed by {s.signer.describe()}" + _when(s.signer))
        for a in v.attestations:
            if a.trusted and a.predicate_type:
                notes.append(f"attestation {at.short_type(a.predicate_type)} by "
                             f"{a.signer.describe() if a.signer else '?'}")
    head = {Decision.PASS: "PASS", Decision.FAIL: "FAIL", Decision.UNDECIDED: "UNDECIDED"}[d.decision]
    return Section(f"{head}  {d.image}{digest}", list(d.findings), list(d.waived), notes)


def gate_report(result: GateResult) -> Report:
    """The report model of a gate run."""
    sections: dict[str, Section] = {}
    for f in result.file_findings:
        sections.setdefault(f.file, Section(f.file, in_file=True)).findings.append(f)
    for w in result.file_waived:
        sections.setdefault(w.finding.file, Section(w.finding.file, in_file=True)).waived.append(w)
    summary = result.summary()
    decision = result.decision
    verdict = f"gate: {decision.value.upper()} ({summary['passed']}/{summary['images']} images passed"
    if summary["undecided"]:
        verdict += f", {summary['undecided']} undecided"
    if result.errors:
        verdict += f", {len(result.errors)} file error(s)"
    verdict += ")"
    undecided = result.by_decision(Decision.UNDECIDED)
    return Report(
        tool="supplychain gate",
        findings=[*result.file_findings, *(f for d in result.images for f in d.findings)],
        waived=[*result.file_waived, *(w for d in result.images for w in d.waived)],
        summary=summary,
        verdict=verdict,
        passed=decision is Decision.PASS,
        decision=decision,
        sections=[*sections.values(), *(_image_section(d) for d in result.images)],
        document={
            "policy": result.policy,
            "warnings": result.warnings,
            "errors": result.errors,
            "undecided": [{"image": d.image, "reason": d.undecided} for d in undecided],
            "images": [d.to_dict() for d in result.images],
        },
        rule_ids=sorted(RULES),
    )


def render_gate(result: GateResult, fmt: OutputFormat | str, *, colour: bool = False) -> str:
    return render(gate_report(result), fmt, colour=colour)


def gate_error(result: GateResult) -> SupplychainError | None:
    """The error the run ends with: a violation (exit 1) wins over no decision (exit 3); None on pass.

    A failed image or file already answers "no", so the run is a violation even when other images
    were undecided; only a run with nothing failed but something undecided is "no decision".
    """
    decision = result.decision
    if decision is Decision.PASS:
        return None
    if decision is Decision.UNDECIDED:
        down = [d.image for d in result.by_decision(Decision.UNDECIDED)]
        return NetworkError(f"gate: no decision for {len(down)} image(s), registry could not be read: "
                            + ", ".join(down[:5]) + (" ..." if len(down) > 5 else ""),
                            hint="retry, or check the registry and network; nothing was judged to pass")
    failed = [d.image for d in result.by_decision(Decision.FAIL)]
    summary = f"{len(failed)} of {len(result.images)} images failed" if failed else "policy errors"
    if failed and result.errors:
        summary += f" and {len(result.errors)} file error(s)"
    elif result.errors:
        summary = f"{len(result.errors)} policy error(s) in the files read"
    return PolicyViolation(f"gate: {summary}" + (f": {', '.join(failed[:5])}" if failed else "")
                           + (" ..." if len(failed) > 5 else ""))
