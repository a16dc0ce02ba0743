"""Catalogers: one small module per ecosystem, each behind the Cataloger interface.

``default_catalogers()`` lists them in run order (os-release first: it sets the distro that OS
package purls carry). ``union_select`` combines their ``wants`` into the one ``select`` callable
the image squasher uses, so each layer is read once for all of them. ``run_catalogers`` runs
them over a FileTree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from supplychain.oci.fs import Analyze, Analyzer, FileTree, Select, Want
from supplychain.sbom.catalogers.apk import ApkCataloger
from supplychain.sbom.catalogers.base import CatalogContext, Cataloger, Distro, FileAnalyzer
from supplychain.sbom.catalogers.binary import BinaryCataloger
from supplychain.sbom.catalogers.composer import ComposerCataloger
from supplychain.sbom.catalogers.dotnet import DotnetCataloger
from supplychain.sbom.catalogers.dpkg import DpkgCataloger
from supplychain.sbom.catalogers.golang import GoCataloger
from supplychain.sbom.catalogers.java import JavaCataloger
from supplychain.sbom.catalogers.models import ModelCataloger
from supplychain.sbom.catalogers.npm import NpmCataloger
from supplychain.sbom.catalogers.osrelease import OsReleaseCataloger
from supplychain.sbom.catalogers.python import PythonCataloger
from supplychain.sbom.catalogers.rpm import RpmCataloger
from supplychain.sbom.catalogers.ruby import RubyCataloger
from supplychain.sbom.catalogers.rust import RustCataloger
from supplychain.sbom.package import Package

__all__ = [
    "CatalogContext",
    "Cataloger",
    "Distro",
    "default_catalogers",
    "run_catalogers",
    "union_analyze",
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
        BinaryCataloger(),
        GoCataloger(),
        RustCataloger(),
        JavaCataloger(),
        RubyCataloger(),
        DotnetCataloger(),
    ]


def union_select(catalogers: list[Cataloger]) -> Select:
    """One select for all catalogers: CONTENT if any wants the bytes, else DIGEST if any wants
    the digest, else SKIP."""
    funcs = []
    gated = []  # catalogers that want only paths with given endings: asked only for those
    for c in catalogers:
        if not getattr(c, "reads_paths", True):
            continue
        suffixes = getattr(c, "path_suffixes", None)
        if suffixes:
            gated.append((tuple(suffixes), c.wants))
        else:
            funcs.append(c.wants)
    any_suffix = tuple(s for sfx, _ in gated for s in sfx)

    def select(path: str) -> Want:
        best = Want.SKIP
        for f in funcs:
            w = f(path)
            if w == Want.CONTENT:
                return Want.CONTENT
            if w == Want.DIGEST:
                best = Want.DIGEST
        if any_suffix and path.endswith(any_suffix):
            for sfx, f in gated:
                if path.endswith(sfx):
                    w = f(path)
                    if w == Want.CONTENT:
                        return Want.CONTENT
                    if w == Want.DIGEST:
                        best = Want.DIGEST
        return best

    return select


def union_analyze(catalogers: list[Cataloger]) -> Analyze | None:
    """One ``analyze`` for the layer pass from the catalogers' ``analyzers`` (each shared analyzer
    once); a file gets ``facts = {analyzer.key: result}`` from the first analyzer that probes it."""
    analyzers: list[FileAnalyzer] = []
    for c in catalogers:
        for a in getattr(c, "analyzers", ()):
            if all(a is not b for b in analyzers):
                analyzers.append(a)
    if not analyzers:
        return None

    def analyze(path: str, mode: int, size: int) -> Analyzer | None:
        for a in analyzers:
            if a.probe(path, mode, size):
                return _keyed(a, path, size)
        return None

    return analyze


def _keyed(a: FileAnalyzer, path: str, size: int) -> Analyzer:
    def run(chunks: Iterator[bytes]) -> Any:
        result = a.analyze(path, size, chunks)
        return None if result is None else {a.key: result}

    return run


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
