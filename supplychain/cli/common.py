"""Options and helpers shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

SPEC_VERSIONS = ("1.4", "1.5", "1.6")


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
            type=click.Choice(["json", "xml"]),
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
