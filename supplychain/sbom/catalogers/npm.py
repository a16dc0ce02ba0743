"""npm: JavaScript packages from ``package.json`` files and ``package-lock.json`` (v1, v2, v3).

Which ``package.json`` files count: every one that has a string ``name`` and ``version`` --
installed packages under ``node_modules/``, Debian's ``node-*`` packages under
``/usr/share/nodejs`` (syft counts those as npm too) and applications' own manifests. Files
without a name and version (``{"type": "module"}`` markers inside packages) are not packages.

A ``package-lock.json`` is used only for a project that has no installed ``node_modules`` next
to it (an image that ships the lock file but not what it locks): where packages are installed,
they are the truth (a package deleted in a later layer must not come back from the lock).
Lock entries flagged ``dev`` get scope ``excluded``.

Depends-on edges (``dependencies`` and ``optionalDependencies``) are resolved like Node does:
``<dir>/node_modules/<dep>`` from the package's directory upwards, then a sibling in the same
module root (``/usr/share/nodejs/<dep>``).
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
from typing import Any

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import clean_url, make_purl, make_refs_unique, text
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.package import ExternalRef, Package

MANIFEST = "package.json"
LOCK = "package-lock.json"


def _load(data: bytes | None) -> Any:
    try:
        return json.loads(text(data))
    except (ValueError, RecursionError):
        return None


def split_name(name: str) -> tuple[str | None, str]:
    if name.startswith("@") and "/" in name:
        scope, _, rest = name.partition("/")
        return scope, rest
    return None, name


def npm_purl(name: str, version: str) -> str | None:
    scope, base = split_name(name)
    if not base:
        return None
    try:
        return make_purl("npm", scope, base, version)
    except ValueError:
        return None


def licenses_of(doc: dict[str, Any]) -> tuple[list[str], str | None]:
    lic = doc.get("license")
    if isinstance(lic, str) and lic.strip():
        value = lic.strip()
        if value.startswith("(") or " OR " in value or " AND " in value:
            return [], value
        return [value], None
    if isinstance(lic, dict) and isinstance(lic.get("type"), str):
        return [lic["type"].strip()], None
    out: list[str] = []
    items = doc.get("licenses")
    if isinstance(lic, list):
        items = lic
    if isinstance(items, list):
        for item in items:
            kind: Any = item.get("type") if isinstance(item, dict) else item
            if isinstance(kind, str) and kind.strip() and kind.strip() not in out:
                out.append(kind.strip())
    return out, None


def _dep_names(doc: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for key in ("dependencies", "optionalDependencies"):
        deps = doc.get(key)
        if isinstance(deps, dict):
            names.extend(n for n in deps if isinstance(n, str) and n not in names)
    return names


def _integrity(value: Any) -> dict[str, str]:
    """``sha512-<base64>`` -> {"SHA-512": hex} (the first recognised SRI entry)."""
    if not isinstance(value, str):
        return {}
    algs = {"sha512": "SHA-512", "sha384": "SHA-384", "sha256": "SHA-256", "sha1": "SHA-1"}
    for part in value.split():
        alg, _, b64 = part.partition("-")
        if alg in algs:
            try:
                return {algs[alg]: base64.b64decode(b64, validate=True).hex()}
            except (binascii.Error, ValueError):
                continue
    return {}


def _author(value: Any) -> list[tuple[str | None, str | None]]:
    if isinstance(value, str) and value.strip():
        name, _, rest = value.partition("<")
        email = rest.split(">", 1)[0].strip() if rest else None
        return [(name.strip() or None, email or None)]
    if isinstance(value, dict):
        n, e = value.get("name"), value.get("email")
        n = n.strip() if isinstance(n, str) and n.strip() else None
        e = e.strip() if isinstance(e, str) and e.strip() else None
        return [(n, e)] if n or e else []
    return []


def _package(doc: dict[str, Any], name: str, version: str, location: str, layer: str | None) -> Package | None:
    purl = npm_purl(name, version)
    if purl is None:
        return None
    scope, base = split_name(name)
    licenses, expression = licenses_of(doc)
    refs: list[ExternalRef] = []
    home = clean_url(doc.get("homepage"))
    if home:
        refs.append(ExternalRef("website", home))
    repo = doc.get("repository")
    url = clean_url(repo.get("url") if isinstance(repo, dict) else repo)
    if url:
        refs.append(ExternalRef("vcs", url))
    resolved = clean_url(doc.get("resolved"))
    if resolved and resolved.startswith(("http://", "https://")):
        refs.append(ExternalRef("distribution", resolved))
    desc = doc.get("description")
    authors = _author(doc.get("author"))
    maintainers = doc.get("maintainers")
    for m in maintainers if isinstance(maintainers, list) else []:
        for contact in _author(m):
            if contact not in authors:
                authors.append(contact)
    return Package(
        name=base,
        group=scope,
        version=version,
        purl=purl,
        ecosystem="npm",
        description=desc.strip() if isinstance(desc, str) and desc.strip() else None,
        licenses=licenses,
        license_expression=expression,
        hashes=_integrity(doc.get("integrity")),
        authors=authors,
        # NTIA supplier: the author (or a maintainer) publishes it, else the scope's owner (@babel -> babel)
        supplier=next((n for n, _ in authors if n), None) or (scope.lstrip("@") if scope else None),
        external_refs=refs,
        location=location,
        layer=layer,
    )


def _lock_entries(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(install path relative to the lock's directory, entry) for a v1/v2/v3 lock."""
    packages = doc.get("packages")
    if isinstance(packages, dict):
        out = []
        for key, entry in packages.items():
            if isinstance(key, str) and key and isinstance(entry, dict) and "node_modules/" in key:
                if entry.get("link") is True:
                    continue
                out.append((key, entry))
        return out
    result: list[tuple[str, dict[str, Any]]] = []

    def walk(deps: Any, prefix: str, depth: int) -> None:
        if not isinstance(deps, dict) or depth > 64:
            return
        for name, entry in deps.items():
            if isinstance(name, str) and isinstance(entry, dict):
                path = f"{prefix}node_modules/{name}"
                result.append((path, entry))
                walk(entry.get("dependencies"), path + "/", depth + 1)

    walk(doc.get("dependencies"), "", 0)
    return result


class NpmCataloger:
    name = "npm"

    def wants(self, path: str) -> Want:
        base = path.rsplit("/", 1)[-1]
        return Want.CONTENT if base == MANIFEST or base == LOCK else Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        by_dir: dict[str, Package] = {}
        deps_of: list[tuple[Package, str, list[str]]] = []
        locks: list[str] = []
        for path in tree.paths():
            base = path.rsplit("/", 1)[-1]
            if base == LOCK:
                locks.append(path)
                continue
            if base != MANIFEST:
                continue
            entry = tree.get(path)
            if entry is None or entry.data is None:
                continue
            doc = _load(entry.data)
            if not isinstance(doc, dict):
                continue
            name, version = doc.get("name"), doc.get("version")
            if not isinstance(name, str) or not isinstance(version, str) or not name.strip() or not version.strip():
                continue
            pkg = _package(doc, name.strip(), version.strip(), path, entry.layer)
            if pkg is None:
                continue
            pkg_dir = posixpath.dirname(path)
            by_dir[pkg_dir] = pkg
            deps_of.append((pkg, pkg_dir, _dep_names(doc)))
        installed_roots = {d.split("/node_modules/", 1)[0] for d in by_dir if "/node_modules/" in d}
        for lock in locks:
            if posixpath.dirname(lock) in installed_roots:
                continue  # node_modules is there: what is installed is the truth, not the lock
            self._from_lock(tree, ctx, lock, by_dir, deps_of)
        packages = [p for p, _, _ in deps_of]
        make_refs_unique(packages)
        for pkg, pkg_dir, names in deps_of:
            deps: set[str] = set()
            for n in names:
                target = resolve(by_dir, pkg_dir, pkg.group, n)
                if target is not None and target is not pkg:
                    deps.add(target.bom_ref)
            pkg.dependencies = sorted(deps)
        return packages

    @staticmethod
    def _from_lock(
        tree: FileTree,
        ctx: CatalogContext,
        lock: str,
        by_dir: dict[str, Package],
        deps_of: list[tuple[Package, str, list[str]]],
    ) -> None:
        entry = tree.get(lock)
        if entry is None or entry.data is None:
            return
        doc = _load(entry.data)
        if not isinstance(doc, dict):
            ctx.notes.append(f"{lock}: not a JSON object, skipped")
            return
        root = posixpath.dirname(lock)
        v1 = not isinstance(doc.get("packages"), dict)
        for rel, item in _lock_entries(doc):
            install_dir = posixpath.normpath(posixpath.join(root, rel))
            if install_dir in by_dir or not install_dir.startswith(root):
                continue
            name = item.get("name")
            if not isinstance(name, str):
                name = rel.rsplit("node_modules/", 1)[-1]
            version = item.get("version")
            if not isinstance(version, str) or not version or version.startswith(("file:", "link:")):
                continue
            pkg = _package(item, name, version, lock, entry.layer)
            if pkg is None:
                continue
            if item.get("dev") is True:
                pkg.scope = "excluded"
            elif item.get("optional") is True:
                pkg.scope = "optional"
            by_dir[install_dir] = pkg
            requires = item.get("requires")
            if v1 and isinstance(requires, dict):  # v1: "requires" names ranges, "dependencies" nests
                names = [n for n in requires if isinstance(n, str)]
            else:
                names = _dep_names(item)
            deps_of.append((pkg, install_dir, names))


def resolve(by_dir: dict[str, Package], pkg_dir: str, scope: str | None, dep: str) -> Package | None:
    """Node's lookup: ``<ancestor>/node_modules/<dep>`` upwards, then a sibling in the module root."""
    cur = pkg_dir
    while True:
        if posixpath.basename(cur) != "node_modules":
            hit = by_dir.get(posixpath.join(cur, "node_modules", dep))
            if hit is not None:
                return hit
        if cur in ("/", ""):
            break
        cur = posixpath.dirname(cur)
    module_root = posixpath.dirname(pkg_dir)
    if scope:
        module_root = posixpath.dirname(module_root)
    return by_dir.get(posixpath.join(module_root, dep))
