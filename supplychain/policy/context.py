"""What every file checker shares: the finding collector and the image reference rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from supplychain.policy.config import Policy
from supplychain.policy.findings import RULES, Finding
from supplychain.policy.images import ImageRef, is_trusted, parse_image


@dataclass(slots=True)
class ImageUse:
    """One image reference found in a file.

    ``text`` is the reference after variable substitution; ``literal`` is True when it is written
    literally in the file at (``line``, ``column``) -- 1-based, ``column`` pointing at the
    reference's first character -- so that ``pin`` can edit it in place.
    """

    file: str
    line: int
    column: int | None
    text: str
    literal: bool
    context: str  # e.g. "FROM", "services.web.image", "Deployment/web containers[0]"
    ref: ImageRef | None = None
    unresolved: str | None = None  # name of the variable that has no value, when not resolvable


@dataclass
class Collector:
    """Collects findings for one file, applying the policy's per-rule severity/enable settings."""

    policy: Policy
    file: str
    findings: list[Finding] = field(default_factory=list)
    images: list[ImageUse] = field(default_factory=list)

    def add(self, rule_id: str, line: int, column: int | None, message: str,
            *, fix: str | None = None, image: str | None = None) -> None:
        severity = self.policy.severity_of(rule_id)
        if severity is None:
            return
        self.findings.append(Finding(
            rule=rule_id, severity=severity, file=self.file, line=max(1, line), column=column,
            message=message, fix=fix or RULES[rule_id].help, image=image,
        ))

    def image(self, use: ImageUse) -> None:
        """Record an image reference and apply the image rules (SC-IMG-*)."""
        self.images.append(use)
        check_image(self, use)


def check_image(col: Collector, use: ImageUse) -> None:
    where = f" ({use.context})" if use.context else ""
    if use.unresolved is not None:
        col.add("SC-IMG-004", use.line, use.column,
                f"image reference {use.text!r}{where} uses ${{{use.unresolved}}} which has no value; "
                "it cannot be checked",
                fix=f"give {use.unresolved} a default that is a pinned reference, e.g. "
                    f"{use.unresolved}=registry/image:1.2.3@sha256:<digest>")
        return
    try:
        ref = parse_image(use.text)
    except ValueError as exc:
        col.add("SC-IMG-005", use.line, use.column, f"invalid image reference {use.text!r}{where}: {exc}")
        return
    use.ref = ref
    policy = col.policy
    if not is_trusted(ref, policy.trusted_registries):
        trusted = ", ".join(policy.trusted_registries) or "(none)"
        col.add("SC-IMG-001", use.line, use.column,
                f"image {ref.name}{where} is not from a trusted registry (trusted: {trusted})",
                fix=f"use an image from a trusted registry, or trust it with "
                    f"--trusted-registry {ref.registry}/{ref.repository.rsplit('/', 1)[0] + '/*' if '/' in ref.repository else ref.repository}",
                image=ref.normalized)
    if policy.require_digest and ref.digest is None:
        tag = ref.tag or "latest"
        col.add("SC-IMG-002", use.line, use.column,
                f"image {use.text}{where} is not pinned by digest",
                fix=f"pin it as {use.text if ref.tag else use.text + ':' + tag}@sha256:<digest> "
                    "(`supplychain pin` does this)",
                image=ref.normalized)
    if policy.forbid_mutable_tags and ref.digest is None and (ref.tag is None or ref.tag == "latest"):
        what = "the mutable tag `latest`" if ref.tag else "no tag (implicitly `latest`)"
        col.add("SC-IMG-003", use.line, use.column,
                f"image {use.text}{where} uses {what}",
                fix="use an explicit version tag pinned by digest, e.g. "
                    f"{ref.name}:1.2.3@sha256:<digest>",
                image=ref.normalized)
