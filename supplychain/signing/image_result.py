"""What image verification found, and its human-readable rendering.

Part of :mod:`supplychain.signing.image` (which re-exports the public names): one
:class:`Finding` per signature or attestation next to the image, the :class:`ImageVerification`
that decides from them (``reasons`` empty means it passes), and :func:`render_verification`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from supplychain.signing import attest as at
from supplychain.signing.dsse import Statement
from supplychain.signing.image_registry import ResolvedImage
from supplychain.signing.policy import Signer

_NOTHING: Any = object()  # no in-band predicate kept (None is a JSON value)


@dataclass
class Finding:
    """One signature or attestation found next to the image, and what verification said."""

    kind: str  # "signature" | "attestation"
    source: str  # "referrer" | "legacy .sig" | "legacy .att"
    location: str  # referrer manifest digest, or tag#layer
    predicate_type: str | None = None
    signer: Signer | None = None
    verified: bool = False  # cryptographically valid and for this digest
    trusted: bool = False  # verified and signed by an accepted signer
    reason: str | None = None
    unreachable: bool = False  # the registry could not be read (5xx, network, bare 404): no answer
    statement: Statement | None = None
    # the verified predicate (attestations): bytes, or an in-band one kept parsed (see .predicate)
    _predicate: bytes | None = field(default=None, init=False, repr=False)
    _document: Any = field(default=_NOTHING, init=False, repr=False)

    @property
    def predicate(self) -> bytes | None:
        """The verified predicate document (attestations). An in-band predicate is kept parsed as
        signed and rendered (:func:`supplychain.signing.attest.render_predicate`) when first asked
        for: deciding from the parsed form costs no JSON round trip."""
        if self._predicate is None and self._document is not _NOTHING:
            self._predicate = at.render_predicate(self._document)
        return self._predicate

    @predicate.setter
    def predicate(self, value: bytes | None) -> None:
        self._predicate = value
        self._document = _NOTHING

    def keep_predicate(self, document: Any) -> None:
        """The verified in-band predicate of the statement, parsed."""
        self._predicate = None
        self._document = document

    @property
    def has_predicate(self) -> bool:
        return self._predicate is not None or self._document is not _NOTHING

    def parsed_predicate(self) -> tuple[bool, Any]:
        """``(True, document)`` for an in-band predicate kept parsed; ``(False, None)`` otherwise
        (read :attr:`predicate`)."""
        if self._document is not _NOTHING:
            return True, self._document
        return False, None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "location": self.location,
            "predicate_type": self.predicate_type,
            "type": at.short_type(self.predicate_type) if self.predicate_type else None,
            "signer": self.signer.as_dict() if self.signer else None,
            "verified": self.verified,
            "trusted": self.trusted,
            "reason": self.reason,
        }


@dataclass
class ImageVerification:
    reference: str
    image: ResolvedImage | None
    findings: list[Finding] = field(default_factory=list)
    required_attestations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str | None:
        return self.image.digest if self.image else None

    @property
    def signatures(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "signature"]

    @property
    def attestations(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "attestation"]

    def trusted_attestation(self, predicate_type: str) -> Finding | None:
        for f in self.attestations:
            if f.trusted and f.predicate_type and at.same_predicate_type(f.predicate_type, predicate_type):
                return f
        return None

    @property
    def signed(self) -> bool:
        return any(f.trusted for f in self.signatures)

    @property
    def reasons(self) -> list[str]:
        """Why this image fails (empty when it passes)."""
        out = list(self.errors)
        if self.image is None:
            return out
        if not self.signed:
            if not self.signatures:
                out.append(f"no signature found for {self.image.digest_reference}")
            else:
                detail = "; ".join(sorted({f.reason or "not signed by an accepted signer"
                                           for f in self.signatures}))
                out.append(f"no valid signature by an accepted signer ({detail})")
        for ptype in self.required_attestations:
            if self.trusted_attestation(ptype) is None:
                bad = [f for f in self.attestations
                       if f.predicate_type and at.same_predicate_type(f.predicate_type, ptype)]
                detail = f" ({'; '.join(sorted({f.reason or '?' for f in bad}))})" if bad else ""
                out.append(f"required attestation {at.short_type(ptype)} ({ptype}) missing or not valid{detail}")
        return out

    @property
    def passed(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "digest_reference": self.image.digest_reference if self.image else None,
            "verified": self.passed,
            "reasons": self.reasons,
            "signatures": [f.as_dict() for f in self.signatures],
            "attestations": [f.as_dict() for f in self.attestations],
            "required_attestations": self.required_attestations,
        }


def render_verification(result: ImageVerification) -> str:
    """Human-readable summary: digest, signatures (who, when), attestations, verdict."""
    lines: list[str] = []
    if result.image is None:
        lines.append(f"{result.reference}: not verified")
        lines.extend(f"  {e}" for e in result.errors)
        return "\n".join(lines) + "\n"
    img = result.image
    lines.append(f"image:   {img.digest_reference}")
    if img.reference.tag and not img.reference.digest:
        lines.append(f"         (tag {img.reference.tag} resolved to this digest)")
    lines.append(f"verdict: {'VERIFIED' if result.passed else 'NOT VERIFIED'}")
    lines.append(f"signatures ({len(result.signatures)} found):")
    for f in result.signatures:
        lines.append("  " + _finding_line(f))
    if not result.signatures:
        lines.append("  none")
    lines.append(f"attestations ({len(result.attestations)} found):")
    for f in result.attestations:
        lines.append("  " + _finding_line(f))
    if not result.attestations:
        lines.append("  none")
    for reason in result.reasons:
        lines.append(f"reason:  {reason}")
    return "\n".join(lines) + "\n"


def _finding_line(f: Finding) -> str:
    mark = "ok  " if f.trusted else "FAIL"
    what = at.short_type(f.predicate_type) if f.kind == "attestation" and f.predicate_type else f.kind
    who = f" by {f.signer.describe()}" if f.signer else ""
    when = ""
    if f.signer and f.signer.time:
        when = f" at {f.signer.time.strftime('%Y-%m-%dT%H:%M:%SZ')} ({f.signer.time_source})"
    elif f.signer and f.signer.kind == "key":
        when = "; signing time not attested"
    why = f" — {f.reason}" if f.reason and not f.trusted else ""
    return f"{mark} {what}{who}{when} [{f.source} {f.location[:19] + '…' if len(f.location) > 20 else f.location}]{why}"
