"""``supplychain sbom composer``: CycloneDX SBOM of a PHP Composer project."""

from __future__ import annotations

import click

from supplychain.cli.common import sbom_output_options
from supplychain.cli.sbom_meta import bom_metadata, sbom_metadata_options


@click.command(
    "composer",
    epilog="""\b
Examples:
  supplychain sbom composer                       # project in the current directory, JSON to stdout
  supplychain sbom composer path/to/app -o bom.cdx.json
  supplychain sbom composer composer.lock --omit dev --spec-version 1.5
  supplychain sbom composer vendor/composer/installed.json --output-format xml -o bom.xml
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) supplychain sbom composer --output-reproducible
  supplychain sbom composer --author 'Release Team <rel@example.com>' --supplier 'Example Ltd'

Dev packages are kept (scope "excluded", property cdx:composer:package:isDevRequirement)
unless --omit dev. Exit codes: 0 ok, 2 bad input.""",
)
@click.argument("path", required=False, default=".", type=click.Path(path_type=str))
@click.option(
    "--omit",
    "omit",
    type=click.Choice(["dev"]),
    multiple=True,
    help="Leave out dev packages and everything only they pull in.",
)
@click.option("--root-version", default=None, metavar="VERSION", help="Version of the root component.")
@sbom_metadata_options
@sbom_output_options
def composer(
    path: str,
    omit: tuple[str, ...],
    root_version: str | None,
    authors: tuple[str, ...],
    manufacturer: str | None,
    supplier: str | None,
    spec_version: str,
    output_format: str,
    output: str | None,
    output_reproducible: bool,
) -> None:
    """CycloneDX SBOM of a PHP Composer project (no PHP needed).

    PATH is a project directory, a composer.json, a composer.lock or a
    vendor/composer/installed.json (Composer 1 or 2); default: the current directory.
    """
    from supplychain.fileio import write_output
    from supplychain.sbom.composer import composer_bom
    from supplychain.sbom.cyclonedx import render_bom

    meta = bom_metadata(authors, manufacturer, supplier)
    notes: list[str] = []
    root, packages = composer_bom(path, omit_dev="dev" in omit, root_version=root_version, notes=notes)
    data = render_bom(
        root,
        packages,
        spec_version=spec_version,
        fmt=output_format,
        reproducible=output_reproducible,
        metadata=meta,
    )
    for note in notes:
        click.echo(f"warning: {note}", err=True)
    write_output(data, output)
