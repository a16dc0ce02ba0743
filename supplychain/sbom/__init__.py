"""SBOM generation (Composer projects, container images, ML models) and SBOM tools.

Catalogers emit :class:`supplychain.sbom.package.Package` records; one module
(``supplychain.sbom.cyclonedx``) turns them into CycloneDX JSON or XML.
"""

from typing import Any

__all__ = ["composer_bom", "render_bom"]


def __getattr__(name: str) -> Any:
    """``from supplychain.sbom import composer_bom, render_bom`` (imported on first use)."""
    if name == "composer_bom":
        from supplychain.sbom.composer import composer_bom

        return composer_bom
    if name == "render_bom":
        from supplychain.sbom.cyclonedx import render_bom

        return render_bom
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
