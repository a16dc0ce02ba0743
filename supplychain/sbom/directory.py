"""CycloneDX SBOM of a directory tree: a project checkout or an unpacked root filesystem.

The same catalogers as for images (OS package databases, Composer, Python, npm, ML models,
...) run over the tree, like syft's ``dir:`` and trivy's ``rootfs`` sources. The tree is walked
without following symbolic links; links are recorded and resolved *inside* the directory (an
absolute target or a ``..`` that climbs above the top is taken relative to the directory, as in
a chroot), so nothing outside PATH is ever read. Only the files some cataloger asks for are
read; model weights are hashed while read, never kept in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from supplychain.errors import InputError
from supplychain.oci.fs import DirectoryTree
from supplychain.sbom.catalogers import default_catalogers, run_catalogers, union_analyze, union_select
from supplychain.sbom.catalogers.base import CatalogContext, Cataloger
from supplychain.sbom.package import Package

__all__ = ["directory_bom", "is_root_filesystem"]

PREFIX = "supplychain:dir:"


def is_root_filesystem(path: str) -> bool:
    """True for a directory that is not an OCI image layout (so: files to catalog)."""
    return os.path.isdir(path) and not os.path.isfile(os.path.join(path, "oci-layout"))


def directory_bom(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    version: str | None = None,
    catalogers: list[Cataloger] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> tuple[Package, list[Package]]:
    """Root component (the directory) and the packages found under ``path``.

    InputError when ``path`` is not a readable directory or a package database in it is corrupt.
    """
    root_dir = Path(path)
    if not root_dir.exists():
        raise InputError(f"{root_dir}: no such directory")
    if not root_dir.is_dir():
        raise InputError(f"{root_dir}: not a directory", hint="give a directory (a project or an unpacked root filesystem)")
    cats = catalogers if catalogers is not None else default_catalogers()
    try:
        tree = DirectoryTree(root_dir, union_select(cats), analyze=union_analyze(cats))
    except PermissionError as exc:
        raise InputError(f"{exc.filename or root_dir}: cannot read: permission denied") from exc
    except OSError as exc:
        raise InputError(f"{exc.filename or root_dir}: cannot read: {exc.strerror or exc}") from exc
    packages, ctx = run_catalogers(tree, cats, CatalogContext())
    if on_warning is not None:
        for note in [*tree.skipped(), *ctx.notes]:
            on_warning(note)
    absolute = root_dir.resolve()
    props = [(PREFIX + "path", str(absolute))]
    if ctx.distro.qualifier:
        props.append((PREFIX + "distro", ctx.distro.qualifier))
    if ctx.distro.pretty_name:
        props.append((PREFIX + "os", ctx.distro.pretty_name))
    root = Package(
        name=name or absolute.name or str(absolute),
        version=version,
        type="application",
        ecosystem="dir",
        properties=props,
        bom_ref=f"dir:{absolute}",
    )
    root.dependencies = sorted({p.bom_ref for p in packages})
    return root, packages
