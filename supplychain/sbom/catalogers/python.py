"""Python: installed distributions (``*.dist-info/METADATA``, ``*.egg-info/PKG-INFO`` or an
``*.egg-info`` file), in virtualenvs, site-packages and Debian's ``dist-packages`` alike.

- purl ``pkg:pypi/<PEP 503 normalised name>@<version>``; the component name is as written;
- licenses: ``License-Expression`` (PEP 639), else a short one-line ``License``, else the
  ``License ::`` trove classifiers (unambiguous ones mapped to SPDX ids);
- depends-on edges from ``Requires-Dist`` (or an egg's ``requires.txt``) to distributions found in
  the same directory first, then anywhere in the image; requirements that only apply to an
  extra (``extra == "..."``) are left out, other markers are kept (the interpreter is unknown).
"""

from __future__ import annotations

import posixpath
import re

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import clean_url, make_purl, make_refs_unique, text
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.package import ExternalRef, Package

_NORM_RE = re.compile(r"[-_.]+")
_REQ_NAME_RE = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_EXTRA_RE = re.compile(r"\bextra\s*==")

CLASSIFIER_SPDX = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "ISC License (ISCL)": "ISC",
    "Apache Software License": "Apache-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "The Unlicense (Unlicense)": "Unlicense",
    "Zope Public License": "ZPL-2.1",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Universal Permissive License (UPL)": "UPL-1.0",
}


def normalize(name: str) -> str:
    """PEP 503 name normalisation."""
    return _NORM_RE.sub("-", name).lower()


def parse_metadata(data: str) -> dict[str, list[str]]:
    """Core-metadata headers (RFC 822 style) up to the first blank line; every value kept."""
    out: dict[str, list[str]] = {}
    last: str | None = None
    for line in data.split("\n"):
        if not line.strip():
            break
        if line[0] in " \t" and last is not None:
            out[last][-1] += "\n" + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep or not key or " " in key.strip():
            last = None
            continue
        last = key.strip().lower()
        out.setdefault(last, []).append(value.strip())
    return out


def requirement_names(lines: list[str]) -> list[str]:
    """Normalised names of requirements that apply without any extra."""
    names: list[str] = []
    for req in lines:
        spec, _, marker = req.partition(";")
        if marker and _EXTRA_RE.search(marker):
            continue
        m = _REQ_NAME_RE.match(spec)
        if m:
            n = normalize(m.group(1))
            if n not in names:
                names.append(n)
    return names


def requires_txt(data: str) -> list[str]:
    """Requirements of an egg's requires.txt outside any ``[section]`` (sections are extras/markers)."""
    out: list[str] = []
    for line in data.split("\n"):
        line = line.strip()
        if line.startswith("["):
            break
        if line and not line.startswith("#"):
            out.append(line)
    return out


def licenses_of(meta: dict[str, list[str]]) -> tuple[list[str], str | None]:
    expr = (meta.get("license-expression") or [""])[0].strip()
    if expr:
        return [], expr
    lic = (meta.get("license") or [""])[0].strip()
    if lic and lic.upper() not in ("UNKNOWN", "NONE") and "\n" not in lic and len(lic) <= 100:
        return [lic], None
    out: list[str] = []
    for c in meta.get("classifier", []):
        parts = [p.strip() for p in c.split("::")]
        if len(parts) >= 2 and parts[0] == "License" and parts[-1] not in ("OSI Approved", "Other/Proprietary License"):
            value = CLASSIFIER_SPDX.get(parts[-1], parts[-1])
            if value not in out:
                out.append(value)
    return out, None


def _contacts(names: str, emails: str) -> list[tuple[str | None, str | None]]:
    """Core-metadata people: ``Author`` plus ``Author-email``, which may itself hold
    ``Name <addr>, Other <addr2>`` (PEP 621 tools write only that)."""
    from email.utils import getaddresses

    out: list[tuple[str | None, str | None]] = []
    parsed = [(n.strip(), e.strip()) for n, e in getaddresses([emails])] if emails else []
    parsed = [(n, e) for n, e in parsed if n or "@" in e]
    if names and names.upper() not in ("UNKNOWN", "NONE") and "\n" not in names:
        if len(parsed) == 1 and not parsed[0][0]:
            return [(names, parsed[0][1])]
        out.append((names, None))
    for n, e in parsed:
        contact = (n or None, e or None)
        if contact not in out:
            out.append(contact)
    return out


def people(meta: dict[str, list[str]]) -> list[tuple[str | None, str | None]]:
    """Authors (or, without any, maintainers) as (name, email) pairs."""
    def first(key: str) -> str:
        return (meta.get(key) or [""])[0].strip()

    return _contacts(first("author"), first("author-email")) or _contacts(
        first("maintainer"), first("maintainer-email")
    )


def _is_metadata(path: str) -> bool:
    return path.endswith(".dist-info/METADATA") or path.endswith(".egg-info/PKG-INFO") or path.endswith(".egg-info")


class PythonCataloger:
    name = "python"

    def wants(self, path: str) -> Want:
        if _is_metadata(path) or path.endswith(".egg-info/requires.txt"):
            return Want.CONTENT
        return Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        found: list[tuple[Package, list[str], str]] = []
        for path in tree.paths():
            if not _is_metadata(path):
                continue
            entry = tree.get(path)
            if entry is None or entry.data is None:
                continue
            meta = parse_metadata(text(entry.data))
            name = (meta.get("name") or [""])[0].strip()
            version = (meta.get("version") or [""])[0].strip()
            if not name or not version:
                ctx.notes.append(f"{path}: no Name or Version, skipped")
                continue
            if path.endswith(".dist-info/METADATA"):
                reqs = requirement_names(meta.get("requires-dist", []))
                site = posixpath.dirname(posixpath.dirname(path))
            elif path.endswith("/PKG-INFO"):
                egg = posixpath.dirname(path)
                req_entry = tree.get(egg + "/requires.txt")
                reqs = requirement_names(requires_txt(text(req_entry.data))) if req_entry and req_entry.data else []
                reqs = reqs or requirement_names(meta.get("requires-dist", []))
                site = posixpath.dirname(egg)
            else:
                reqs = requirement_names(meta.get("requires-dist", []))
                site = posixpath.dirname(path)
            licenses, expression = licenses_of(meta)
            refs = []
            home = clean_url((meta.get("home-page") or [""])[0])
            if home:
                refs.append(ExternalRef("website", home))
            for entry_url in meta.get("project-url", []):
                label, _, url = entry_url.partition(",")
                cleaned = clean_url(url)
                if cleaned:
                    kind = "vcs" if label.strip().lower() in ("source", "source code", "repository", "code") else "website"
                    refs.append(ExternalRef(kind, cleaned, comment=label.strip() or None))
            authors = people(meta)
            pkg = Package(
                name=name,
                version=version,
                purl=make_purl("pypi", None, normalize(name), version),
                ecosystem="pypi",
                description=(meta.get("summary") or [""])[0].strip() or None,
                licenses=licenses,
                license_expression=expression,
                authors=authors,
                supplier=next((n for n, _ in authors if n), None),  # the author publishes it (NTIA)
                external_refs=refs,
                location=path,
                layer=entry.layer,
            )
            found.append((pkg, reqs, site))
        make_refs_unique(p for p, _, _ in found)
        by_site: dict[tuple[str, str], Package] = {}
        anywhere: dict[str, Package] = {}
        for pkg, _, site in found:
            key = normalize(pkg.name)
            by_site.setdefault((site, key), pkg)
            anywhere.setdefault(key, pkg)
        for pkg, reqs, site in found:
            deps: set[str] = set()
            for r in reqs:
                target = by_site.get((site, r)) or anywhere.get(r)
                if target is not None and target is not pkg:
                    deps.add(target.bom_ref)
            pkg.dependencies = sorted(deps)
        return [p for p, _, _ in found]
