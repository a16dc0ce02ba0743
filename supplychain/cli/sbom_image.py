"""``supplychain sbom image``: CycloneDX SBOM of a container image (no Docker engine)."""

from __future__ import annotations

import sys
from typing import Any

import click

from supplychain.cli.common import sbom_output_options
from supplychain.cli.registryopts import registry_timeout_option
from supplychain.cli.sbom_meta import bom_metadata, sbom_metadata_options


@click.command(
    "image",
    epilog="""\b
Examples:
  supplychain sbom image docker.io/library/debian:bookworm -o debian.cdx.json
  supplychain sbom image ghcr.io/org/app@sha256:3f1c... --platform linux/arm64
  supplychain sbom image oci:build/layout:v1 --output-format xml -o bom.xml
  supplychain sbom image docker-archive:app.tar --output-reproducible
  supplychain sbom image 127.0.0.1:5000/app:v1 --insecure-registry 127.0.0.1:5000
  supplychain sbom image ./rootfs --supplier 'Example Ltd'    # an unpacked root filesystem

Finds dpkg, apk and rpm packages, Composer, Python and npm packages and ML model
files, each with the path it was found at and the layer that added it. Exit codes:
0 ok, 2 bad input (unreadable image, corrupt package database), 3 registry failure.""",
)
@click.argument("source")
@click.option("--platform", default="linux/amd64", show_default=True,
              help="Platform to pick from a multi-platform image (os/arch[/variant]).")
@click.option("--insecure-registry", "insecure_registries", multiple=True, metavar="HOST",
              help="Allow plain HTTP / unverified TLS for this registry host (repeatable). "
              "Loopback registries are always allowed over HTTP.")
@sbom_metadata_options
@registry_timeout_option
@sbom_output_options
def image(
    source: str,
    platform: str,
    insecure_registries: tuple[str, ...],
    authors: tuple[str, ...],
    manufacturer: str | None,
    supplier: str | None,
    spec_version: str,
    output_format: str,
    output: str | None,
    output_reproducible: bool,
) -> None:
    """CycloneDX SBOM of a container image.

    SOURCE is a registry reference (registry/repo:tag, repo@sha256:...), oci:DIR[:TAG],
    oci-archive:FILE[:TAG], docker-archive:FILE (docker save output), a bare path, or a
    directory holding an unpacked root filesystem (cataloged as `sbom dir` does; symbolic
    links never leave it).
    Layers are streamed once and never extracted; deleted files (whiteouts) are honoured.
    """
    from supplychain.fileio import write_output
    from supplychain.sbom.cyclonedx import render_bom
    from supplychain.sbom.directory import directory_bom, is_root_filesystem
    from supplychain.sbom.image import image_bom

    meta = bom_metadata(authors, manufacturer, supplier)
    if is_root_filesystem(source):
        notes: list[str] = []
        root, packages = directory_bom(source, on_warning=notes.append)
        for w in notes:
            click.echo(f"warning: {w}", err=True)
        write_output(render_bom(root, packages, spec_version=spec_version, fmt=output_format,
                                reproducible=output_reproducible, metadata=meta), output)
        return
    bar: Any = None
    progress = None
    if sys.stderr.isatty():
        state: dict[str, Any] = {"shown": 0}

        def progress(done: int, total: int, label: str) -> None:
            nonlocal bar
            if bar is None:
                bar = click.progressbar(length=max(total, 1), label="reading layers", file=sys.stderr,
                                        show_eta=True, show_percent=True)
                bar.__enter__()
            step = min(done, total) - state["shown"]
            if step > 0:
                bar.update(step)
                state["shown"] += step

    warnings: list[str] = []
    try:
        root, packages = image_bom(
            source,
            platform=platform,
            insecure_registries=insecure_registries,
            progress=progress,
            on_warning=warnings.append,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    data = render_bom(
        root,
        packages,
        spec_version=spec_version,
        fmt=output_format,
        reproducible=output_reproducible,
        metadata=meta,
    )
    write_output(data, output)
