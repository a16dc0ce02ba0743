"""``--registry-timeout``: the deadline of each registry operation, for every command that talks
to registries (``sbom image``, ``sign/attest/verify image``, ``pin``, ``gate``)."""

from __future__ import annotations

import os
from typing import Any

import click

TIMEOUT_ENV = "SUPPLYCHAIN_REGISTRY_TIMEOUT"  # read by supplychain.oci.deadline


def _set_timeout(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise click.BadParameter(f"{value!r} is not a positive number of seconds", ctx=ctx, param=param)
    # the registry client reads its default deadline from the environment of this process
    os.environ[TIMEOUT_ENV] = repr(seconds)


def registry_timeout_option(func: Any) -> Any:
    return click.option(
        "--registry-timeout", metavar="SECONDS", expose_value=False, callback=_set_timeout, is_eager=True,
        help=f"Deadline of each registry operation (connect, headers and body; each MiB of a layer) "
             f"[default: ${TIMEOUT_ENV}, else 120]. Exceeding it is exit 3 naming the registry.",
    )(func)
