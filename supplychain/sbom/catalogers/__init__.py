"""Catalogers: one small module per ecosystem, each behind the Cataloger interface.

``default_catalogers()`` lists them in run order (os-release first: it sets the distro that OS
package purls carry). ``union_select`` combines their ``wants`` into the one ``select`` callable
the image squasher uses, so each layer is read once for all of them. ``run_catalogers`` runs
them over a FileTree.
"""

from __future__ import annotations

from supplychain.oci.fs import FileTree, Select, Want
from supplychain.sbom.catalogers.apk import ApkCataloger
from supplychain.sbom.catalogers.base import CatalogContext, Cataloger, Distro
from supplychain.sbom.catalogers.composer import ComposerCataloger
from supplychain.sbom.catalogers.dpkg import DpkgCataloger
from supplychain.sbom.catalogers.models import ModelCataloger
from supplychain.sbom.catalogers.npm import NpmCataloger
from supplychain.sbom.catalogers.osrelease import OsReleaseCataloger
from supplychain.sbom.catalogers.python import PythonCataloger
from supplychain.sbom.catalogers.rpm import RpmCataloger
from supplychain.sbom.package import Package

__all__ = [
    "CatalogContext",
    "Cataloger",
    "Distro",
    "default_catalogers",
    "run_catalogers",
    "union_select",
]


def default_catalogers() -> list[Cataloger]:
    return [
        OsReleaseCataloger(),
        DpkgCataloger(),
        ApkCataloger(),
        RpmCataloger(),
        ComposerCataloger(),
        PythonCataloger(),
        NpmCataloger(),
        ModelCataloger(),
    ]


def union_select(catalogers: list[Cataloger]) -> Select:
    """One select for all catalogers: CONTENT if any wants the bytes, else DIGEST if any wants
    the digest, else SKIP."""
    funcs = [c.wants for c in catalogers]

    def select(path: str) -> Want:
        best = Want.SKIP
        for f in funcs:
            w = f(path)
            if w == Want.CONTENT:
                return Want.CONTENT
            if w == Want.DIGEST:
                best = Want.DIGEST
        return best

    return select


def run_catalogers(
    tree: FileTree, catalogers: list[Cataloger] | None = None, ctx: CatalogContext | None = None
) -> tuple[list[Package], CatalogContext]:
    """Run every cataloger over ``tree``; InputError from a corrupt package database propagates."""
    cats = default_catalogers() if catalogers is None else catalogers
    context = ctx or CatalogContext()
    packages: list[Package] = []
    for c in cats:
        packages.extend(c.catalog(tree, context))
    return packages, context
