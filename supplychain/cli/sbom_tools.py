"""``supplychain sbom validate | inspect | diff``: SBOM tools for auditors."""

from __future__ import annotations

import json

import click


@click.command(
    "validate",
    epilog="""\b
Examples:
  supplychain sbom validate bom.cdx.json
  supplychain sbom validate bom.xml --json

Exit codes: 0 valid, 1 invalid (each error with its JSON pointer or XML line),
2 unreadable or not a CycloneDX SBOM.""",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def validate(file: str, as_json: bool) -> None:
    """Validate an SBOM against the official CycloneDX schema (JSON 1.2-1.7, XML 1.0-1.7).

    The format and spec version are detected from the file.
    """
    from supplychain.errors import VerificationError
    from supplychain.sbom.validate import validate_file

    report = validate_file(file)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    elif report.valid:
        click.echo(f"{file}: valid CycloneDX {report.spec_version} ({report.format.upper()})")
    else:
        for err in report.errors:
            click.echo(f"{err.location}: {err.message}")
        if report.truncated:
            click.echo(f"(only the first {len(report.errors)} errors are listed)")
    if not report.valid:
        n = len(report.errors)
        raise VerificationError(
            f"{file}: not valid CycloneDX {report.spec_version} ({report.format.upper()}): "
            f"{n}{'+' if report.truncated else ''} schema error{'s' if n != 1 else ''}"
        )


@click.command(
    "inspect",
    epilog="""\b
Examples:
  supplychain sbom inspect bom.cdx.json
  supplychain sbom inspect image.cdx.xml --json | jq .licenses""",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--limit", default=10, show_default=True, help="Names to show per 'missing' row (text).")
def inspect(file: str, as_json: bool, limit: int) -> None:
    """Summarise what an SBOM contains.

    Components by type and ecosystem (purl type), licenses with counts, components lacking a
    version / license / purl / hash, direct vs transitive dependencies of the root, and
    dev (scope "excluded" or isDevRequirement) vs required.
    """
    from supplychain.sbom.tools import format_inspect, inspect_bom, load_bom

    summary = inspect_bom(load_bom(file), limit=max(limit, 0) if not as_json else 1_000_000)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(format_inspect(summary, limit=limit), nl=False)


@click.command(
    "diff",
    epilog="""\b
Examples:
  supplychain sbom diff old.cdx.json new.cdx.json
  supplychain sbom diff release-1.0.cdx.xml release-1.1.cdx.json --json

Components are matched by purl without version (else by group/name). Always exits 0
when both files could be read.""",
)
@click.argument("old", type=click.Path(dir_okay=False, path_type=str))
@click.argument("new", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def diff(old: str, new: str, as_json: bool) -> None:
    """Compare two SBOMs: added, removed, version-changed and license-changed components."""
    from supplychain.sbom.tools import diff_boms, format_diff, load_bom

    result = diff_boms(load_bom(old), load_bom(new))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(format_diff(result), nl=False)
