"""``supplychain sbom dir``: CycloneDX SBOM of a directory (project or unpacked root filesystem)."""

from __future__ import annotations

import click

from supplychain.cli.common import sbom_output_options
from supplychain.cli.sbom_meta import bom_metadata, sbom_metadata_options


@click.command(
    "dir",
    epilog="""\b
Examples:
  supplychain sbom dir . -o app.cdx.json
  supplychain sbom dir /mnt/rootfs --name shop-api --version 1.4 --output-format xml
  supplychain sbom dir build/rootfs --author 'Release Team <rel@example.com>' --supplier 'Example Ltd'

Runs the image catalogers (dpkg/apk/rpm, Composer, Python, npm, ML models, ...) over the
tree, like syft's dir: and trivy's rootfs. Symbolic links are never followed outside PATH:
they resolve inside it, as in a chroot. Exit codes: 0 ok, 2 bad input.""",
)
@click.argument("path", type=click.Path(path_type=str))
@click.option("--name", default=None, help="Name of the root component (default: the directory's name).")
@click.option("--version", "root_version", default=None, metavar="VERSION", help="Version of the root component.")
@sbom_metadata_options
@sbom_output_options
def sbom_dir(
    path: str,
    name: str | None,
    root_version: str | None,
    authors: tuple[str, ...],
    manufacturer: str | None,
    supplier: str | None,
    spec_version: str,
    output_format: str,
    output: str | None,
    output_reproducible: bool,
) -> None:
    """CycloneDX SBOM of a directory tree (a project or an unpacked root filesystem)."""
    from supplychain.fileio import write_output
    from supplychain.sbom.cyclonedx import render_bom
    from supplychain.sbom.directory import directory_bom

    meta = bom_metadata(authors, manufacturer, supplier)
    warnings: list[str] = []
    root, packages = directory_bom(path, name=name, version=root_version, on_warning=warnings.append)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    data = render_bom(root, packages, spec_version=spec_version, fmt=output_format,
                      reproducible=output_reproducible, metadata=meta)
    write_output(data, output)
