"""Ruby gems: installed ``specifications/**/*.gemspec`` files and ``Gemfile.lock``.

Installed gems (``/usr/local/bundle/specifications``, ``/usr/lib/ruby/gems/3.1.0/specifications``
and its ``default/``, Debian's ``/usr/share/rubygems-integration/*/specifications``) carry a
generated Ruby gemspec; it is read with patterns, never evaluated: ``s.name``, ``s.version``,
``s.licenses`` / ``s.license``, ``s.authors``, ``s.homepage``, ``s.summary`` and runtime
dependencies (``add_runtime_dependency`` / ``add_dependency``; development ones are left out).
A ``Gemfile.lock`` gives the gems its ``GEM`` / ``GIT`` / ``PATH`` ``specs:`` sections lock (name and
exact version, four-space indent) with edges from their six-space dependency lines. purl
``pkg:gem/<name>@<version>`` (a platform suffix such as ``-x86_64-linux`` stays in the version
as Bundler writes it).
"""

from __future__ import annotations

import posixpath
import re

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import clean_url, link_groups, make_purl, make_refs_unique, text
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.package import ExternalRef, Package

LOCK = "Gemfile.lock"
_STR = r"""(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|%q<([^>]*)>|%q\{([^}]*)\}|%q\(([^)]*)\))(?:\.freeze)?"""
_FIELD_RE = re.compile(r"^\s*\w+\.(name|version|license|homepage|summary|email)\s*=\s*" + _STR, re.MULTILINE)
_LIST_RE = re.compile(r"^\s*\w+\.(licenses|authors)\s*=\s*\[([^\]]*)\]", re.MULTILINE)
_ITEM_RE = re.compile(_STR)
_VERSION_OBJ_RE = re.compile(r"^\s*\w+\.version\s*=\s*Gem::Version\.new\(" + _STR, re.MULTILINE)
_DEP_RE = re.compile(r"\.add_(runtime_dependency|dependency|development_dependency)\(\s*" + _STR)
_LOCK_SPEC_RE = re.compile(r"^    ([^\s(][^\s(]*) \(([^)]+)\)\s*$")
_LOCK_DEP_RE = re.compile(r"^      ([^\s(!]+)")


def _s(m: re.Match[str], first: int) -> str:
    return next((g for g in m.groups()[first:] if g is not None), "")


def parse_gemspec(data: str) -> dict[str, object]:
    """Fields of a generated gemspec (strings; ``licenses``/``authors``/``depends`` as lists)."""
    out: dict[str, object] = {}
    for m in _FIELD_RE.finditer(data):
        out.setdefault(m.group(1), _s(m, 1))
    if "version" not in out:
        vm = _VERSION_OBJ_RE.search(data)
        if vm:
            out["version"] = _s(vm, 0)
    for m in _LIST_RE.finditer(data):
        out.setdefault(m.group(1), [_s(i, 0) for i in _ITEM_RE.finditer(m.group(2))])
    deps: list[str] = []
    for m in _DEP_RE.finditer(data):
        name = _s(m, 1)
        if m.group(1) != "development_dependency" and name and name not in deps:
            deps.append(name)
    out["depends"] = deps
    return out


def parse_gemfile_lock(data: str) -> list[tuple[str, str, list[str]]]:
    """(name, version, dependency names) of every locked gem."""
    out: list[tuple[str, str, list[str]]] = []
    section = ""
    in_specs = False
    for line in data.splitlines():
        if line and not line.startswith(" "):
            section, in_specs = line.strip(), False
            continue
        if line.strip() == "specs:":
            in_specs = section in ("GEM", "GIT", "PATH", "PLUGIN SOURCE")
            continue
        if not in_specs:
            continue
        m = _LOCK_SPEC_RE.match(line)
        if m:
            out.append((m.group(1), m.group(2).strip(), []))
            continue
        d = _LOCK_DEP_RE.match(line)
        if d and out:
            out[-1][2].append(d.group(1))
    return out


def _is_gemspec(path: str) -> bool:
    return path.endswith(".gemspec") and "/specifications/" in path


class RubyCataloger:
    name = "ruby"
    path_suffixes = (".gemspec", "/" + LOCK)

    def wants(self, path: str) -> Want:
        if path.endswith(".gemspec"):
            return Want.CONTENT if "/specifications/" in path else Want.SKIP
        return Want.CONTENT if path.endswith("/" + LOCK) else Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        installed: list[tuple[Package, list[str]]] = []
        locks: list[list[Package]] = []
        for path in tree.paths():
            entry = tree.get(path)
            if entry is None or entry.data is None:
                continue
            if _is_gemspec(path):
                spec = parse_gemspec(text(entry.data))
                name, version = spec.get("name"), spec.get("version")
                if not isinstance(name, str) or not name or not isinstance(version, str) or not version:
                    ctx.notes.append(f"{path}: no name or version in the gemspec, skipped")
                    continue
                lic = spec.get("licenses")
                licenses = [x for x in lic if x] if isinstance(lic, list) else []
                if not licenses and isinstance(spec.get("license"), str) and spec["license"]:
                    licenses = [str(spec["license"])]
                authors = spec.get("authors")
                refs = []
                home = clean_url(spec.get("homepage"))
                if home:
                    refs.append(ExternalRef("website", home))
                summary = spec.get("summary")
                depends = spec.get("depends")
                dep_names = [d for d in depends if isinstance(d, str)] if isinstance(depends, list) else []
                installed.append((Package(
                    name=name, version=version, purl=make_purl("gem", None, name, version), ecosystem="gem",
                    licenses=licenses, description=summary if isinstance(summary, str) and summary else None,
                    authors=[(a, None) for a in authors if a] if isinstance(authors, list) else [],
                    external_refs=refs, location=path, layer=entry.layer,
                ), dep_names))
            elif posixpath.basename(path) == LOCK:
                group: list[Package] = []
                by_name: dict[str, Package] = {}
                edges: list[tuple[Package, list[str]]] = []
                for name, version, deps in parse_gemfile_lock(text(entry.data)):
                    pkg = Package(name=name, version=version, purl=make_purl("gem", None, name, version),
                                  ecosystem="gem", location=path, layer=entry.layer)
                    if pkg.bom_ref in {p.bom_ref for p in group}:
                        continue
                    group.append(pkg)
                    by_name.setdefault(name, pkg)
                    edges.append((pkg, deps))
                for pkg, deps in edges:
                    pkg.dependencies = sorted({by_name[d].bom_ref for d in deps if d in by_name and by_name[d] is not pkg})
                if group:
                    locks.append(group)
        make_refs_unique(p for p, _ in installed)
        names: dict[str, Package] = {}
        for p, _ in installed:
            names.setdefault(p.name, p)
        for p, deps in installed:
            p.dependencies = sorted({names[d].bom_ref for d in deps if d in names and names[d] is not p})
        gem_pkgs = [p for p, _ in installed]
        return link_groups([gem_pkgs, *locks]) if locks else gem_pkgs
