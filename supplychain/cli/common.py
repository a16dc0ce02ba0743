"""Options and helpers shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from supplychain.vocab import CYCLONEDX_OUTPUT_VERSIONS, OutputFormat, SbomFormat

F = TypeVar("F", bound=Callable[..., Any])

SPEC_VERSIONS = CYCLONEDX_OUTPUT_VERSIONS


def sbom_output_options(func: F) -> F:
    """--spec-version, --output-format, -o/--output, --output-reproducible."""
    decorators = [
        click.option(
            "--spec-version",
            type=click.Choice(SPEC_VERSIONS),
            default="1.6",
            show_default=True,
            help="CycloneDX specification version.",
        ),
        click.option(
            "--output-format",
            type=click.Choice([f.value for f in SbomFormat]),
            default="json",
            show_default=True,
            help="CycloneDX serialization.",
        ),
        click.option(
            "-o",
            "--output",
            "output",
            type=click.Path(dir_okay=False, writable=True),
            default=None,
            help="Write the SBOM to this file (atomically) instead of stdout.",
        ),
        click.option(
            "--output-reproducible",
            is_flag=True,
            help="Leave out serial number and timestamp so two runs give identical bytes "
            "(SOURCE_DATE_EPOCH, when set, is used as the timestamp instead).",
        ),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


FORMATS = tuple(f.value for f in OutputFormat)


def report_format_options(func: F) -> F:
    """--format text|json|sarif and its alias --json (reports of policy check, gate, ...)."""
    func = click.option("--json", "as_json", is_flag=True, help="Same as --format json.")(func)
    func = click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                        help="Report format (default: text).")(func)
    return func


def report_format(fmt: str | None, as_json: bool) -> OutputFormat:
    """The chosen format; --json with another --format is a usage error."""
    from supplychain.errors import InputError

    if as_json and fmt not in (None, "json"):
        raise InputError(f"give --json or --format {fmt}, not both")
    return OutputFormat("json" if as_json else (fmt or "text"))


def print_warnings(warnings: list[str] | tuple[str, ...]) -> None:
    for w in warnings:
        click.echo(f"warning: {w}", err=True)


def register_layers() -> None:
    """Give the policy layer the sections and rule ids of the layers above it (the gate)."""
    from supplychain.gate.rules import register

    register()
