"""``supplychain sbom convert``: CycloneDX -> SPDX 2.3 JSON."""

from __future__ import annotations

import click


@click.command(
    "convert",
    epilog="""\b
Examples:
  supplychain sbom convert bom.cdx.json --to spdx-json -o bom.spdx.json
  supplychain sbom convert image.cdx.xml --to spdx-json | ntia-checker --file /dev/stdin

Carries what both formats hold: suppliers, originators (authors), declared and concluded
licenses (non-SPDX names as LicenseRefs with their text), checksums, purls and CPEs as
external refs, homepage and download location, and the dependency graph (DEPENDS_ON;
components not reachable from the root are CONTAINS of it). Properties and scopes have no
SPDX 2.3 place and are left out. Exit codes: 0 ok, 2 unreadable or not a CycloneDX SBOM.""",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--to", "to", type=click.Choice(["spdx-json"]), required=True, help="Target format (SPDX 2.3 JSON).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the result to this file (atomically) instead of stdout.")
def convert(file: str, to: str, output: str | None) -> None:
    """Convert a CycloneDX SBOM (JSON or XML) to SPDX 2.3 JSON."""
    from supplychain.fileio import read_bytes, write_output
    from supplychain.sbom.spdx import to_spdx_json
    from supplychain.sbom.tools import load_bom

    raw = read_bytes(file, what="SBOM file")
    write_output(to_spdx_json(load_bom(file), raw), output)
