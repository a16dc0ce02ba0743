"""``--author`` / ``--manufacturer`` / ``--supplier``: who made an SBOM and the software in it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from supplychain.sbom.cyclonedx import BomMetadata

F = TypeVar("F", bound=Callable[..., Any])


def sbom_metadata_options(func: F) -> F:
    """Adds ``authors``, ``manufacturer`` and ``supplier`` parameters to a command."""
    decorators = [
        click.option("--author", "authors", multiple=True, metavar="'NAME <EMAIL>'",
                     help="Author of the SBOM (metadata.authors; repeatable), e.g. 'Release Team <rel@example.com>'."),
        click.option("--manufacturer", default=None, metavar="NAME",
                     help="Organisation that made the software (metadata.manufacturer; 'manufacture' before 1.6)."),
        click.option("--supplier", default=None, metavar="NAME",
                     help="Organisation that supplies the software (metadata.supplier and the root component's supplier)."),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


def bom_metadata(authors: tuple[str, ...], manufacturer: str | None, supplier: str | None) -> BomMetadata:
    """The option values as :class:`BomMetadata` (``Name <email>`` split; a bare e-mail is an e-mail)."""
    import re

    from supplychain.errors import InputError
    from supplychain.sbom.cyclonedx import BomMetadata

    people: list[tuple[str | None, str | None]] = []
    for a in authors:
        text = a.strip()
        if not text:
            raise InputError("--author: empty value", hint="give a name, optionally with '<email>'")
        m = re.fullmatch(r"(.*?)\s*<([^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)>", text)
        if m:
            people.append((m.group(1).strip() or None, m.group(2)))
        elif "<" in text or ">" in text:
            raise InputError(f"--author {a!r}: cannot read the e-mail address", hint="write 'Name <user@example.com>'")
        elif re.fullmatch(r"[^\s@]+@[^\s@]+\.[^\s@]+", text):
            people.append((None, text))
        else:
            people.append((text, None))
    for opt, value in (("--manufacturer", manufacturer), ("--supplier", supplier)):
        if value is not None and not value.strip():
            raise InputError(f"{opt}: empty value")
    return BomMetadata(authors=people, manufacturer=manufacturer, supplier=supplier)
