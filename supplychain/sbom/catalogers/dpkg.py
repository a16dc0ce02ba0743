"""dpkg: Debian / Ubuntu packages from ``/var/lib/dpkg/status`` and distroless ``status.d/*``.

- purl ``pkg:deb/<distro id>/<name>@<version>?arch=..&distro=<id>-<version_id>``, plus
  ``upstream=<source>[@<source version>]`` when the source package differs (as syft does);
- licenses from machine-readable (DEP-5) ``/usr/share/doc/<pkg>/copyright`` files;
- depends-on edges from ``Depends`` and ``Pre-Depends`` (every installed alternative, virtual
  packages through ``Provides``);
- only installed packages (``deinstall ok config-files`` and friends are left out);
- the layer of a package is the layer that wrote ``/var/lib/dpkg/info/<pkg>.list`` (the layer
  that installed it), else the layer of the status file.

A stanza line that is neither ``Field: value`` nor a continuation is a corrupt database:
InputError naming the file and line.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from supplychain.errors import InputError
from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import make_purl, make_refs_unique, text
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.package import Package

STATUS = "/var/lib/dpkg/status"
STATUS_D = "/var/lib/dpkg/status.d/"
INFO = "/var/lib/dpkg/info/"
DOC = "/usr/share/doc/"

_FIELD_RE = re.compile(r"^([!-9;-~][!-9;-~]*):(.*)$")  # RFC 822-ish field name: printable, no colon
_INSTALLED_STATES = frozenset({"installed", "half-configured", "triggers-awaited", "triggers-pending"})


@dataclass
class DpkgEntry:
    """One package stanza, as parsed."""

    fields: dict[str, str]
    line: int  # line number of the stanza's first line

    def get(self, key: str) -> str:
        return self.fields.get(key.lower(), "").strip()


def parse_control(data: str, *, source: str) -> list[DpkgEntry]:
    """Parse deb822 stanzas. Raises InputError (file and line) on a line that is not a field."""
    entries: list[DpkgEntry] = []
    fields: dict[str, str] = {}
    start = 0
    last: str | None = None
    for lineno, raw in enumerate(data.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            if fields:
                entries.append(DpkgEntry(fields, start))
            fields, last = {}, None
            continue
        if line[0] in " \t":
            if last is None:
                raise InputError(
                    f"{source}:{lineno}: continuation line without a field",
                    hint="the dpkg database is corrupt; compare it with the package manager's copy",
                )
            fields[last] += "\n" + line[1:]
            continue
        m = _FIELD_RE.match(line)
        if m is None:
            raise InputError(
                f"{source}:{lineno}: not a 'Field: value' line: {line[:60]!r}",
                hint="the dpkg database is corrupt; compare it with the package manager's copy",
            )
        if not fields:
            start = lineno
        last = m.group(1).lower()
        fields[last] = m.group(2).strip()
    if fields:
        entries.append(DpkgEntry(fields, start))
    return entries


def parse_depends(value: str) -> list[list[str]]:
    """``a (>= 1) | b:any, c [amd64]`` -> [["a", "b"], ["c"]] (names only)."""
    groups: list[list[str]] = []
    for group in value.split(","):
        alts: list[str] = []
        for alt in group.split("|"):
            token = alt.strip().split(" ", 1)[0].split("(", 1)[0].split("[", 1)[0].strip()
            name = token.split(":", 1)[0]
            if name:
                alts.append(name)
        if alts:
            groups.append(alts)
    return groups


_LICENSE_RE = re.compile(r"^License:[ \t]*(\S+)", re.MULTILINE | re.IGNORECASE)
_COMMON_RE = re.compile(r"/usr/share/common-licenses/([0-9A-Za-z_.+\-]+)")


def parse_copyright(data: str) -> list[str]:
    """License names from a Debian copyright file (DEP-5 ``License:`` fields, common-licenses refs).

    Names are kept as written (``GPL-2``, ``LGPL-2.1+``, ``public-domain``), sorted and
    de-duplicated; a trailing ``.`` or ``,`` from prose is dropped.
    """
    found: set[str] = set()
    for m in _LICENSE_RE.finditer(data):
        found.add(m.group(1).rstrip(".,;"))
    for m in _COMMON_RE.finditer(data):
        name = m.group(1).rstrip(".,;")
        if name:
            found.add(name)
    return sorted(n for n in found if n)


@dataclass
class _Found:
    pkg: Package
    provides: list[str] = field(default_factory=list)
    depends: list[list[str]] = field(default_factory=list)


class DpkgCataloger:
    name = "dpkg"

    def wants(self, path: str) -> Want:
        if path == STATUS:
            return Want.CONTENT
        if path.startswith(STATUS_D):
            return Want.SKIP if path.endswith(".md5sums") else Want.CONTENT
        if path.startswith(DOC) and path.endswith("/copyright") and path.count("/") == 5:
            return Want.CONTENT
        if path.startswith(INFO) and path.endswith(".list"):
            return Want.DIGEST  # only its layer matters: the layer that installed the package
        return Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        sources: list[str] = []
        if tree.get(STATUS) is not None:
            sources.append(STATUS)
        sources.extend(
            p for p in tree.paths() if p.startswith(STATUS_D) and not p.endswith(".md5sums")
            and "/" not in p[len(STATUS_D):]
        )
        found: list[_Found] = []
        distro = ctx.distro
        namespace = distro.id or "debian"
        for src in sources:
            entry = tree.get(src)
            if entry is None:
                continue
            if entry.data is None:
                ctx.notes.append(f"{src}: too large to read, skipped")
                continue
            for stanza in parse_control(text(entry.data), source=src):
                name = stanza.get("package")
                if not name:
                    continue
                status = stanza.get("status").split()
                if status and status[-1] not in _INSTALLED_STATES:
                    continue
                if len(status) >= 1 and status[0] == "purge":
                    continue
                version = stanza.get("version")
                if not version:
                    ctx.notes.append(f"{src}:{stanza.line}: package {name!r} has no Version, skipped")
                    continue
                found.append(self._package(tree, stanza, name, version, src, entry.layer, namespace, distro.qualifier))
        packages = [f.pkg for f in found]
        make_refs_unique(packages)
        self._edges(found)
        return packages

    def _package(
        self,
        tree: FileTree,
        stanza: DpkgEntry,
        name: str,
        version: str,
        src: str,
        layer: str | None,
        namespace: str,
        distro_q: str | None,
    ) -> _Found:
        arch = stanza.get("architecture") or None
        source_field = stanza.get("source")
        source_name = source_version = None
        if source_field:
            source_name = source_field.split(" ", 1)[0].strip() or None
            m = re.search(r"\(([^)]+)\)", source_field)
            source_version = m.group(1).strip() if m else None
        upstream = None
        if source_name and (source_name != name or source_version):
            upstream = f"{source_name}@{source_version}" if source_version else source_name
        purl = make_purl(
            "deb", namespace, name, version, {"arch": arch, "distro": distro_q, "upstream": upstream}
        )
        props: list[tuple[str, str]] = []
        if source_name:
            props.append(("supplychain:deb:source", source_name))
        if source_version:
            props.append(("supplychain:deb:source-version", source_version))
        if arch:
            props.append(("supplychain:deb:arch", arch))
        size = stanza.get("installed-size")
        if size.isdigit():
            props.append(("supplychain:deb:installed-size-kib", size))
        licenses: list[str] = []
        copyright_entry = tree.get(posixpath.join(DOC, name, "copyright"))
        if copyright_entry is not None and copyright_entry.data is not None:
            licenses = parse_copyright(text(copyright_entry.data))
        pkg_layer = layer
        for info in (f"{INFO}{name}:{arch}.list", f"{INFO}{name}.list"):
            info_entry = tree.get(info)
            if info_entry is not None and info_entry.layer:
                pkg_layer = info_entry.layer
                break
        maintainer = stanza.get("maintainer") or None
        desc = stanza.get("description").split("\n", 1)[0].strip() or None
        pkg = Package(
            name=name,
            version=version,
            purl=purl,
            ecosystem="deb",
            description=desc,
            licenses=licenses,
            supplier=maintainer,
            properties=props,
            location=src,
            layer=pkg_layer,
        )
        provides = [g[0] for g in parse_depends(stanza.get("provides"))]
        depends = parse_depends(stanza.get("pre-depends")) + parse_depends(stanza.get("depends"))
        return _Found(pkg, provides, depends)

    @staticmethod
    def _edges(found: list[_Found]) -> None:
        by_name: dict[str, list[Package]] = {}
        for f in found:
            by_name.setdefault(f.pkg.name, []).append(f.pkg)
        for f in found:
            for virtual in f.provides:
                by_name.setdefault(virtual, []).append(f.pkg)
        for f in found:
            deps: set[str] = set()
            for alternatives in f.depends:
                for alt in alternatives:
                    for target in by_name.get(alt, []):
                        if target is not f.pkg:
                            deps.add(target.bom_ref)
            f.pkg.dependencies = sorted(deps)
