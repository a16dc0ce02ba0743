"""``supplychain sbom validate | inspect | diff``: SBOM tools for auditors."""

from __future__ import annotations

import json

import click

_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default=None,
                       help="Output format (default: text); --json is the same as --format json.")


def _as_json(fmt: str | None, as_json: bool) -> bool:
    from supplychain.cli.common import report_format

    return report_format(fmt, as_json).value == "json"


@click.command(
    "validate",
    epilog="""\b
Examples:
  supplychain sbom validate bom.cdx.json
  supplychain sbom validate bom.xml --json

Besides the schema, checks what the specification requires and a schema cannot
express: every bom-ref unique, every dependencies ref / dependsOn naming a component
or service of the BOM. Exit codes: 0 valid, 1 invalid (each error with its JSON
pointer or XML line), 2 unreadable or not a CycloneDX SBOM.""",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_FORMAT
def validate(file: str, as_json: bool, fmt: str | None) -> None:
    """Validate an SBOM against the official CycloneDX schema (JSON 1.2-1.7, XML 1.0-1.7).

    The format and spec version are detected from the file.
    """
    from supplychain.errors import VerificationError
    from supplychain.fileio import read_bytes
    from supplychain.sbom.semantic import check_bytes
    from supplychain.sbom.validate import SchemaError, validate_file

    as_json = _as_json(fmt, as_json)
    report = validate_file(file)
    schema_errors = len(report.errors)
    # what the schema cannot say: unique bom-refs, dependencies that resolve ("-" is read once)
    report.errors.extend(SchemaError(i.location, i.message)
                         for i in check_bytes(read_bytes(file, what="SBOM file"), source=file))
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
        n = schema_errors
        other = len(report.errors) - schema_errors
        parts = [f"{n}{'+' if report.truncated else ''} schema error{'s' if n != 1 else ''}"] if n else []
        if other:
            parts.append(f"{other} reference error{'s' if other != 1 else ''} (duplicate bom-ref or dangling dependency)")
        raise VerificationError(
            f"{file}: not valid CycloneDX {report.spec_version} ({report.format.upper()}): " + ", ".join(parts)
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
@_FORMAT
@click.option("--limit", default=10, show_default=True, help="Names to show per 'missing' row (text).")
def inspect(file: str, as_json: bool, fmt: str | None, limit: int) -> None:
    """Summarise what an SBOM contains.

    Components by type and ecosystem (purl type), licenses grouped by SPDX id (deprecated
    ids and Debian names normalised; other names by their first line, cut), components
    lacking a version / license / purl / hash / supplier, direct vs transitive dependencies
    of the root, dev (scope "excluded" or isDevRequirement) vs required, and NTIA minimum
    element coverage (per element: how many components have it).
    """
    from supplychain.sbom.inspect import format_inspect, inspect_bom
    from supplychain.sbom.tools import load_bom

    as_json = _as_json(fmt, as_json)
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
  supplychain sbom diff prev.cdx.json next.cdx.json --fail-on added --fail-on license

Components are matched by purl without version (else by group/name). Shows added and
removed components with their purls, purl changes (same name, another package), version,
license, hash and scope changes, and dependency edges added or removed. Exit codes: 0, or
1 when a --fail-on kind of change is present; 2 when a file cannot be read.""",
)
@click.argument("old", type=click.Path(dir_okay=False, path_type=str))
@click.argument("new", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@_FORMAT
@click.option("--fail-on", "fail_on", multiple=True, type=click.Choice(["added", "removed", "license", "version"]),
              help="Exit 1 when components were added / removed or changed license / version (repeatable).")
def diff(old: str, new: str, as_json: bool, fmt: str | None, fail_on: tuple[str, ...]) -> None:
    """Compare two SBOMs: what was added, removed or changed, and how the graph moved."""
    from supplychain.errors import VerificationError
    from supplychain.sbom.diff import diff_boms, fail_on_changes, format_diff
    from supplychain.sbom.tools import load_bom

    as_json = _as_json(fmt, as_json)
    result = diff_boms(load_bom(old), load_bom(new))
    reasons = fail_on_changes(result, list(dict.fromkeys(fail_on)))
    if as_json:
        click.echo(json.dumps({**result, "failOn": list(dict.fromkeys(fail_on)), "failed": reasons}, indent=2))
    else:
        click.echo(format_diff(result), nl=False)
    if reasons:
        raise VerificationError(f"{new}: changes that --fail-on refuses: " + ", ".join(reasons))
