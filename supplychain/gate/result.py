"""Typed results of the gate: one :class:`ImageDecision` per image, one :class:`GateResult` per run.

Decisions (:class:`~supplychain.policy.report.Decision`):

* an image **fails** when a finding of severity ``error`` remains after waivers (other than the
  "could not read the registry" one);
* otherwise it is **undecided** when its registry could not be read (persistent 5xx / 429, an HTML
  page instead of a manifest, a failing token service, a deadline): no answer is not a yes, and
  waiving SC-GATE-006 does not make it one;
* otherwise it **passes**.

The run fails when an image fails or a file finding of severity ``error`` remains (the answer is
already no: exit 1); otherwise it is undecided when an image is (exit 3); otherwise it passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from supplychain.policy.findings import Finding, Severity
from supplychain.policy.images import ImageRef
from supplychain.policy.report.model import Decision, Waived
from supplychain.signing.image import ImageVerification


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int
    column: int | None
    context: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "context": self.context}


@dataclass
class ImageDecision:
    """What the gate decided about one image (as written), and why."""

    image: str  # as written (after variable substitution)
    ref: ImageRef | None
    locations: list[Location] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    waived: list[Waived] = field(default_factory=list)
    verification: ImageVerification | None = None
    sbom_components: int | None = None
    undecided: str | None = None  # why the registry could not be read, when it could not

    @property
    def decision(self) -> Decision:
        if any(f.severity is Severity.ERROR and not f.extra.get("undecided") for f in self.findings):
            return Decision.FAIL
        if self.undecided is not None:
            return Decision.UNDECIDED
        return Decision.PASS

    @property
    def passed(self) -> bool:
        return self.decision is Decision.PASS

    @property
    def network_error(self) -> bool:
        return self.undecided is not None

    @property
    def reasons(self) -> list[str]:
        return [f"{f.rule}: {f.message}" for f in self.findings if f.severity is Severity.ERROR]

    @property
    def digest(self) -> str | None:
        v = self.verification
        return v.digest if v and v.digest else (self.ref.digest if self.ref else None)

    def to_dict(self) -> dict[str, Any]:
        v = self.verification
        return {
            "image": self.image,
            "name": self.ref.name if self.ref else None,
            "digest": self.digest,
            "decision": self.decision.value,
            "undecided": self.undecided,
            "reasons": self.reasons,
            "findings": [dict(f.to_dict(), image=self.image) for f in self.findings],
            "waived": [w.to_dict() for w in self.waived],
            "locations": [loc.to_dict() for loc in self.locations],
            "signatures": [s.as_dict() for s in v.signatures] if v else [],
            "attestations": [a.as_dict() for a in v.attestations] if v else [],
            "sbom_components": self.sbom_components,
        }


@dataclass
class GateResult:
    """The gate's answer for a run: per image, plus the findings about the files it read."""

    policy: str
    images: list[ImageDecision]
    file_findings: list[Finding] = field(default_factory=list)  # every other rule of the policy
    file_waived: list[Waived] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # about the policy itself (weaker than the default)

    @property
    def errors(self) -> list[str]:
        """File findings of severity error, one line each (they fail the run)."""
        return [f"{f.file}:{f.line}: {f.rule}: {f.message}" for f in self.file_findings
                if f.severity is Severity.ERROR]

    @property
    def decision(self) -> Decision:
        decisions = {d.decision for d in self.images}
        if Decision.FAIL in decisions or self.errors or not self.images:
            return Decision.FAIL
        if Decision.UNDECIDED in decisions:
            return Decision.UNDECIDED
        return Decision.PASS

    @property
    def passed(self) -> bool:
        return self.decision is Decision.PASS

    @property
    def network_failure(self) -> bool:
        """Some image could not be decided because its registry could not be read."""
        return any(d.undecided is not None for d in self.images)

    def passed_digests(self) -> list[tuple[str, str]]:
        """(name, sha256 digest) of every image that passed on its own evidence (what a gate receipt
        lists). An image that passed only because a waiver (a ``path:`` waiver, an inline ignore, an
        expiring ``vulnerabilities.allow`` entry) lifted a gate finding is left out: the receipt
        would carry that waiver to wherever the image is deployed (the admission webhook judges
        images under no file name a path waiver could match) and past its expiry; the webhook
        verifies such images in full. Waived reference findings (SC-IMG-*) do not count: the
        webhook applies the reference rules itself on every request."""
        return [(d.ref.name, d.digest) for d in self.by_decision(Decision.PASS)
                if d.ref is not None and d.digest and not any(not w.finding.rule.startswith("SC-IMG-")
                                                              for w in d.waived)]

    def by_decision(self, decision: Decision) -> list[ImageDecision]:
        return [d for d in self.images if d.decision is decision]

    def summary(self) -> dict[str, int]:
        return {
            "images": len(self.images),
            "passed": len(self.by_decision(Decision.PASS)),
            "failed": len(self.by_decision(Decision.FAIL)),
            "undecided": len(self.by_decision(Decision.UNDECIDED)),
        }
