"""Shared helpers for the cataloger tests: trees from disk or from bytes."""

from __future__ import annotations

import csv
from pathlib import Path

from supplychain.oci.fs import DirectoryTree, FileEntry, MemoryTree
from supplychain.sbom.catalogers import default_catalogers, run_catalogers, union_select
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.package import Package


def tree_from_dir(root: Path) -> DirectoryTree:
    return DirectoryTree(root, union_select(default_catalogers()))


def tree_from_files(files: dict[str, bytes], layer: str | None = None) -> MemoryTree:
    tree = MemoryTree()
    for path, data in files.items():
        tree.files[path] = FileEntry(path=path, size=len(data), data=data, layer=layer)
    return tree


def catalog(tree: MemoryTree) -> tuple[list[Package], CatalogContext]:
    return run_catalogers(tree)


def catalog_dir(root: Path) -> tuple[list[Package], CatalogContext]:
    return run_catalogers(tree_from_dir(root))


def read_tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_text("utf-8").splitlines()
    header = lines[0].lstrip("# ").split("\t")
    return [dict(zip(header, row, strict=False)) for row in csv.reader(lines[1:], delimiter="\t")]


def by_name(packages: list[Package]) -> dict[str, Package]:
    return {p.name if not p.group else f"{p.group}/{p.name}": p for p in packages}
