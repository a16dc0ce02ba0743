"""The internal package record every cataloger emits.

Catalogers never touch CycloneDX objects: they return ``Package`` records, and
``supplychain.sbom.cyclonedx`` serialises them. A new ecosystem is one small module.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExternalRef:
    """A CycloneDX external reference (type is a CycloneDX externalReference type)."""

    type: str  # "distribution", "vcs", "website", "issue-tracker", "documentation", "chat", ...
    url: str
    comment: str | None = None
    hashes: dict[str, str] = field(default_factory=dict)


@dataclass
class Package:
    """One component found in a project or an image.

    ``licenses`` holds SPDX ids, SPDX expressions or free-text names; the serializer
    decides which CycloneDX form each becomes. ``hashes`` maps a CycloneDX algorithm
    name ("SHA-1", "SHA-256", ...) to a lowercase hex digest; never invent one.
    ``dependencies`` holds the ``bom_ref`` values of the packages this one depends on.
    ``scope`` is "required", "optional" or "excluded" (dev-only).
    """

    name: str
    version: str | None
    purl: str | None = None
    type: str = "library"  # CycloneDX component type
    ecosystem: str = ""  # "composer", "deb", "apk", "rpm", "pypi", "npm", "model", ...
    group: str | None = None
    description: str | None = None
    licenses: list[str] = field(default_factory=list)
    license_expression: str | None = None  # a single SPDX expression, if the source gives one
    hashes: dict[str, str] = field(default_factory=dict)
    authors: list[tuple[str | None, str | None]] = field(default_factory=list)  # (name, email)
    supplier: str | None = None
    external_refs: list[ExternalRef] = field(default_factory=list)
    properties: list[tuple[str, str]] = field(default_factory=list)
    location: str | None = None  # path where it was found
    layer: str | None = None  # digest of the image layer that added it
    scope: str | None = None
    dependencies: list[str] = field(default_factory=list)
    bom_ref: str = ""

    def __post_init__(self) -> None:
        if not self.bom_ref:
            self.bom_ref = self.purl or f"{self.ecosystem}:{self.group + '/' if self.group else ''}{self.name}@{self.version or ''}"
