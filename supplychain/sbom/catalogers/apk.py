"""apk: Alpine (and Wolfi / Chainguard) packages from ``/lib/apk/db/installed`` (or ``/usr/lib/apk/db/installed``).

- purl ``pkg:apk/<distro id>/<name>@<version>?arch=..&distro=<id>-<version_id>``;
- licenses from ``L:``: a valid SPDX expression is kept whole, otherwise the value is split on
  spaces and Alpine's legacy short names (``GPL2``, ``GPL2+``, ``LGPL2.1+`` ...) are mapped to SPDX ids;
- origin (source package), maintainer, URL, description;
- depends-on edges from ``D:`` resolved through package names, ``p:`` provides (``so:``, ``cmd:``,
  ``pc:``, paths such as ``/bin/sh``) and installed file paths;
- a stanza without ``V:`` (or ``P:``) is skipped with a note; a line that is not ``X:value`` is
  a corrupt database (InputError naming the file and line), never an invented package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from supplychain.errors import InputError
from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import clean_url, make_purl, make_refs_unique, text
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.package import ExternalRef, Package

INSTALLED = "/lib/apk/db/installed"
INSTALLED_USR = "/usr/lib/apk/db/installed"  # apk-tools 3 / merged-usr Alpine (/lib/apk a symlink)

# Alpine's legacy license names -> SPDX ids (the ones that occur in old aports).
_LEGACY = {
    "GPL": "GPL-2.0-or-later",
    "GPL2": "GPL-2.0-only",
    "GPL2+": "GPL-2.0-or-later",
    "GPL-2": "GPL-2.0-only",
    "GPL-2+": "GPL-2.0-or-later",
    "GPL3": "GPL-3.0-only",
    "GPL3+": "GPL-3.0-or-later",
    "GPL-3": "GPL-3.0-only",
    "GPL-3+": "GPL-3.0-or-later",
    "LGPL2": "LGPL-2.0-only",
    "LGPL2+": "LGPL-2.0-or-later",
    "LGPL2.1": "LGPL-2.1-only",
    "LGPL2.1+": "LGPL-2.1-or-later",
    "LGPL-2.1": "LGPL-2.1-only",
    "LGPL-2.1+": "LGPL-2.1-or-later",
    "LGPL3": "LGPL-3.0-only",
    "LGPL3+": "LGPL-3.0-or-later",
    "AGPL3": "AGPL-3.0-only",
    "AGPL3+": "AGPL-3.0-or-later",
    "MPL2": "MPL-2.0",
    "APACHE2": "Apache-2.0",
    "ASL-2.0": "Apache-2.0",
    "PUBLIC-DOMAIN": "LicenseRef-Public-Domain",
    "PUBLICDOMAIN": "LicenseRef-Public-Domain",
    "OPENSSL": "OpenSSL",
    "ZLIB": "Zlib",
}
_OPERATOR_RE = re.compile(r"(^|\s)(AND|OR|WITH)(\s|$)|[()]")
_CONSTRAINT_RE = re.compile(r"[<>=~]")


def split_licenses(value: str) -> tuple[list[str], str | None]:
    """(licenses, expression) for an ``L:`` value."""
    value = value.strip()
    if not value:
        return [], None
    if _OPERATOR_RE.search(value):
        return [], " ".join(value.split())
    out: list[str] = []
    for token in value.split():
        mapped = _LEGACY.get(token.upper(), token)
        if mapped not in out:
            out.append(mapped)
    return out, None


@dataclass
class ApkRecord:
    fields: dict[str, str]
    line: int
    files: list[str] = field(default_factory=list)


def parse_installed(data: str, *, source: str) -> list[ApkRecord]:
    """Parse the apk installed database. InputError (file and line) on a malformed line."""
    records: list[ApkRecord] = []
    cur: ApkRecord | None = None
    directory = ""
    for lineno, raw in enumerate(data.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            if cur is not None:
                records.append(cur)
            cur, directory = None, ""
            continue
        if len(line) < 2 or line[1] != ":" or not line[0].isascii() or not line[0].isalpha():
            raise InputError(
                f"{source}:{lineno}: not an apk database line ('X:value'): {line[:60]!r}",
                hint="the apk database is corrupt; compare it with the package manager's copy",
            )
        if cur is None:
            cur = ApkRecord({}, lineno)
        key, value = line[0], line[2:]
        if key == "F":
            directory = value.strip("/")
        elif key == "R":
            cur.files.append(f"/{directory}/{value}" if directory else f"/{value}")
        elif key not in cur.fields:
            cur.fields[key] = value
    if cur is not None:
        records.append(cur)
    return records


def _dep_name(token: str) -> str | None:
    token = token.strip()
    if not token or token.startswith("!"):
        return None
    m = _CONSTRAINT_RE.search(token)
    return token[: m.start()] if m else token


class ApkCataloger:
    name = "apk"

    def wants(self, path: str) -> Want:
        return Want.CONTENT if path in (INSTALLED, INSTALLED_USR) else Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        entry = tree.get(INSTALLED) or tree.get(INSTALLED_USR)
        if entry is None:
            return []
        source = entry.path
        if entry.data is None:
            ctx.notes.append(f"{source}: too large to read, skipped")
            return []
        namespace = ctx.distro.id or "alpine"
        distro_q = ctx.distro.qualifier
        found: list[tuple[Package, ApkRecord]] = []
        for rec in parse_installed(text(entry.data), source=source):
            f = rec.fields
            name, version = f.get("P", "").strip(), f.get("V", "").strip()
            if not name or not version:
                ctx.notes.append(
                    f"{source}:{rec.line}: package {name or '(no name)'!r} has no "
                    f"{'version' if name else 'name'} (V:/P:), skipped"
                )
                continue
            arch = f.get("A", "").strip() or None
            origin = f.get("o", "").strip() or None
            licenses, expression = split_licenses(f.get("L", ""))
            upstream = origin if origin and origin != name else None
            purl = make_purl("apk", namespace, name, version, {"arch": arch, "distro": distro_q, "upstream": upstream})
            props: list[tuple[str, str]] = []
            if origin:
                props.append(("supplychain:apk:origin", origin))
            if arch:
                props.append(("supplychain:apk:arch", arch))
            if f.get("c"):
                props.append(("supplychain:apk:commit", f["c"].strip()))
            if f.get("C"):
                props.append(("supplychain:apk:checksum", f["C"].strip()))
            url = clean_url(f.get("U"))
            refs = [ExternalRef("website", url)] if url else []
            pkg = Package(
                name=name,
                version=version,
                purl=purl,
                ecosystem="apk",
                description=f.get("T", "").strip() or None,
                licenses=licenses,
                license_expression=expression,
                supplier=f.get("m", "").strip() or None,
                external_refs=refs,
                properties=props,
                location=source,
                layer=entry.layer,
            )
            found.append((pkg, rec))
        make_refs_unique(p for p, _ in found)
        providers: dict[str, list[Package]] = {}
        for pkg, rec in found:
            providers.setdefault(pkg.name, []).append(pkg)
            for token in rec.fields.get("p", "").split():
                prov = _dep_name(token)
                if prov:
                    providers.setdefault(prov, []).append(pkg)
            for path in rec.files:
                providers.setdefault(path, []).append(pkg)
        for pkg, rec in found:
            deps: set[str] = set()
            for token in rec.fields.get("D", "").split():
                dep = _dep_name(token)
                if not dep:
                    continue
                for target in providers.get(dep, []):
                    if target is not pkg:
                        deps.add(target.bom_ref)
            pkg.dependencies = sorted(deps)
        return [p for p, _ in found]
