"""Composer: PHP packages from ``vendor/composer/installed.json`` (v1 and v2) and ``composer.lock``.

The parsing is :mod:`supplychain.sbom.composer` (the same code as ``sbom composer``); this module
only finds the files in an image. A ``composer.lock`` is used only where its project has no
``vendor/composer/installed.json`` (what is installed wins over what was locked). A file that is
not valid Composer metadata is skipped with a note: such files also occur as test fixtures
inside vendored packages, and one of them must not sink the SBOM of a whole image.
"""

from __future__ import annotations

import posixpath

from supplychain.errors import InputError
from supplychain.fileio import parse_json
from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import link_groups
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.composer import packages_from_installed, packages_from_lock
from supplychain.sbom.package import Package

INSTALLED_SUFFIX = "/composer/installed.json"
LOCK_NAME = "composer.lock"


class ComposerCataloger:
    name = "composer"

    def wants(self, path: str) -> Want:
        if path.endswith(INSTALLED_SUFFIX) or path.endswith("/" + LOCK_NAME):
            return Want.CONTENT
        return Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        installed = [p for p in tree.paths() if p.endswith(INSTALLED_SUFFIX)]
        locks = [p for p in tree.paths() if posixpath.basename(p) == LOCK_NAME]
        groups: list[list[Package]] = []
        for path in installed:
            groups.append(self._read(tree, ctx, path, lock=False))
        for path in locks:
            project = posixpath.dirname(path)
            if tree.get(posixpath.join(project, "vendor", "composer", "installed.json")) is not None:
                continue
            groups.append(self._read(tree, ctx, path, lock=True))
        return link_groups([g for g in groups if g])

    @staticmethod
    def _read(tree: FileTree, ctx: CatalogContext, path: str, *, lock: bool) -> list[Package]:
        entry = tree.get(path)
        if entry is None:
            return []
        if entry.data is None:
            ctx.notes.append(f"{path}: too large to read, skipped")
            return []
        try:
            data = parse_json(entry.data, source=path)
            pkgs = packages_from_lock(data, source=path) if lock else packages_from_installed(data, source=path)
        except InputError as exc:
            ctx.notes.append(f"{exc.message} (skipped)")
            return []
        for p in pkgs:
            p.location = path
            p.layer = entry.layer
        return pkgs
