"""os-release: which distribution the image is (the purl ``distro`` qualifier for OS packages)."""

from __future__ import annotations

import shlex

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers.base import CatalogContext, Distro
from supplychain.sbom.package import Package

PATHS = ("/etc/os-release", "/usr/lib/os-release")


def parse_os_release(text: str) -> Distro:
    """Parse os-release(5) ``KEY=value`` lines (shell-style quoting); junk lines are ignored."""
    values: dict[str, str] = {}
    for line in text.split("\n"):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        key = key.strip()
        if not key.isidentifier():
            continue
        try:
            parts = shlex.split(raw, comments=False, posix=True)
        except ValueError:
            parts = [raw.strip().strip("\"'")]
        values[key] = " ".join(parts)
    ident = values.get("ID", "").strip().lower() or None
    version = values.get("VERSION_ID", "").strip() or None
    like = [v for v in values.get("ID_LIKE", "").lower().split() if v]
    return Distro(id=ident, version_id=version, pretty_name=values.get("PRETTY_NAME") or None, id_like=like)


class OsReleaseCataloger:
    """Reads /etc/os-release (or /usr/lib/os-release) into ``ctx.distro``; emits no packages."""

    name = "os-release"

    def wants(self, path: str) -> Want:
        return Want.CONTENT if path in PATHS else Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        for path in PATHS:
            entry = tree.get(path)
            if entry is None or entry.data is None:
                continue
            distro = parse_os_release(entry.data.decode("utf-8", "replace"))
            if distro.id:
                ctx.distro = distro
                return []
        return []
