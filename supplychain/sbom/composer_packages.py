"""Composer package entries (``composer.lock``, ``installed.json``) -> ``Package`` records:
purl, licenses, authors, external references, properties, hashes, and the dependency graph
(``require`` resolved by name, then by ``replace`` / ``provide``).

Part of :mod:`supplychain.sbom.composer` (which re-exports the public names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from supplychain.errors import InputError
from supplychain.sbom.package import ExternalRef, Package

PROP_TYPE = "cdx:composer:package:type"
PROP_DIST_REF = "cdx:composer:package:distReference"
PROP_SOURCE_REF = "cdx:composer:package:sourceReference"
PROP_DEV = "cdx:composer:package:isDevRequirement"

# Composer's PlatformRepository::PLATFORM_PACKAGE_REGEX
_PLATFORM_RE = re.compile(
    r"^(?:php(?:-64bit|-ipv6|-zts|-debug)?|hhvm|(?:ext|lib)-[a-z0-9](?:[_.-]?[a-z0-9]+)*"
    r"|composer(?:-(?:plugin|runtime)-api)?)$",
    re.IGNORECASE,
)
_SHA1_RE = re.compile(r"^[0-9a-fA-F]{40}$")

_SUPPORT_TYPES = {
    "chat": "chat",
    "irc": "chat",
    "docs": "documentation",
    "issues": "issue-tracker",
    "source": "vcs",
}


def is_platform_requirement(name: str) -> bool:
    """True for ``php``, ``ext-*``, ``lib-*``, ``composer-plugin-api`` and friends."""
    return bool(_PLATFORM_RE.match(name))


def _str(value: Any) -> str | None:
    """A non-empty string, or None (lock files are untrusted input: ignore odd types)."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _split_name(name: str) -> tuple[str | None, str]:
    if "/" in name:
        group, _, short = name.partition("/")
        return group, short
    return None, name


def purl_for(name: str, version: str | None) -> str | None:
    """``pkg:composer/vendor/name@version`` built by packageurl-python (None if it cannot be)."""
    from packageurl import PackageURL

    group, short = _split_name(name)
    if not short:
        return None
    try:
        return str(PackageURL(type="composer", namespace=group or None, name=short, version=version).to_string())
    except (ValueError, TypeError):  # packageurl raises TypeError for names that encode to nothing ("\r")
        return None


def _licenses(value: Any) -> tuple[list[str], str | None]:
    """Composer ``license``: a string or a list; several mean 'any of them' (OR)."""
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list):
        items = [v for v in value if isinstance(v, str)]
    else:
        items = []
    items = [v.strip() for v in items if v.strip()]
    seen: list[str] = []
    for v in items:
        if v not in seen:
            seen.append(v)
    if len(seen) > 1:
        from supplychain.sbom.cyclonedx import classify_license

        parts: list[str] = []
        for v in seen:
            kind, norm = classify_license(v)
            if kind == "name":
                # an unknown license cannot be part of an SPDX expression: keep the list
                return seen, None
            parts.append(norm if kind == "id" else f"({norm})")
        return seen, " OR ".join(parts)
    return seen, None


def _authors(value: Any) -> list[tuple[str | None, str | None]]:
    out: list[tuple[str | None, str | None]] = []
    if isinstance(value, list):
        for a in value:
            if isinstance(a, Mapping):
                name, email = _str(a.get("name")), _str(a.get("email"))
                if name or email:
                    out.append((name, email))
    return out


def _external_refs(entry: Mapping[str, Any]) -> list[ExternalRef]:
    refs: list[ExternalRef] = []
    dist = entry.get("dist")
    if isinstance(dist, Mapping):
        url = _str(dist.get("url"))
        if url:
            ref = _str(dist.get("reference"))
            refs.append(ExternalRef("distribution", url, f"dist reference: {ref}" if ref else None))
    source = entry.get("source")
    if isinstance(source, Mapping):
        url = _str(source.get("url"))
        if url:
            ref = _str(source.get("reference"))
            refs.append(ExternalRef("vcs", url, f"source reference: {ref}" if ref else None))
    homepage = _str(entry.get("homepage"))
    if homepage:
        refs.append(ExternalRef("website", homepage, "as detected from Composer manifest 'homepage'"))
    support = entry.get("support")
    if isinstance(support, Mapping):
        for key, val in support.items():
            url = _str(val)
            if url and isinstance(key, str):
                refs.append(
                    ExternalRef(
                        _SUPPORT_TYPES.get(key, "other"),
                        url,
                        f"as detected from Composer manifest 'support.{key}'",
                    )
                )
    return refs


def _package(entry: Mapping[str, Any], *, version: str | None, dev: bool) -> Package:
    name = str(entry["name"])
    group, short = _split_name(name)
    licenses, expression = _licenses(entry.get("license"))
    props: list[tuple[str, str]] = []
    dist = entry.get("dist") if isinstance(entry.get("dist"), Mapping) else {}
    source = entry.get("source") if isinstance(entry.get("source"), Mapping) else {}
    assert isinstance(dist, Mapping) and isinstance(source, Mapping)
    dist_ref, source_ref = _str(dist.get("reference")), _str(source.get("reference"))
    if dist_ref:
        props.append((PROP_DIST_REF, dist_ref))
    if source_ref:
        props.append((PROP_SOURCE_REF, source_ref))
    props.append((PROP_TYPE, _str(entry.get("type")) or "library"))
    if dev:
        props.append((PROP_DEV, "true"))
    hashes: dict[str, str] = {}
    shasum = _str(dist.get("shasum"))
    if shasum and _SHA1_RE.match(shasum):
        hashes["SHA-1"] = shasum.lower()
    authors = _authors(entry.get("authors"))
    return Package(
        name=short,
        version=version,
        purl=purl_for(name, version),
        type="library",
        ecosystem="composer",
        group=group,
        description=_str(entry.get("description")),
        licenses=licenses,
        license_expression=expression,
        hashes=hashes,
        authors=authors,
        # NTIA supplier: the first author, else the vendor (the namespace's owner on Packagist)
        supplier=next((n for n, _ in authors if n), None) or group,
        external_refs=_external_refs(entry),
        properties=props,
        scope="excluded" if dev else None,
    )


def _requires(entry: Mapping[str, Any], key: str = "require") -> list[str]:
    req = entry.get(key)
    if not isinstance(req, Mapping):
        return []
    return [k.lower() for k in req if isinstance(k, str) and k.strip() and not is_platform_requirement(k)]


def _entries(raw: Any, *, source: str, section: str) -> list[Mapping[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InputError(f"{source}: '{section}' is not a list of packages")
    out: list[Mapping[str, Any]] = []
    for i, entry in enumerate(raw):
        where = f"{source}: {section}[{i}]"
        if not isinstance(entry, Mapping):
            raise InputError(f"{where} is not a package object")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{where} has no package name", hint="regenerate the file with `composer update`")
        version = entry.get("version")
        if not isinstance(version, str) or not version.strip():
            raise InputError(
                f"{where} ({name}) has no version", hint="regenerate the file with `composer update`"
            )
        out.append(entry)
    return out


def _build(
    sections: list[tuple[str, list[Mapping[str, Any]], bool]],
    *,
    source: str,
    dev_names: Iterable[str] = (),
) -> tuple[list[Package], dict[str, list[str]]]:
    """Packages from (section, entries, is_dev) lists, dependencies resolved among themselves.

    Returns the packages and, per lowercase package name, its resolved require names (used to
    compute reachability).
    """
    dev_set = {n.lower() for n in dev_names if isinstance(n, str)}
    seen: dict[str, str] = {}
    flat: list[tuple[Mapping[str, Any], bool]] = []
    for section, entries, is_dev in sections:
        for i, entry in enumerate(entries):
            key = str(entry["name"]).strip().lower()
            where = f"{section}[{i}]"
            if key in seen:
                raise InputError(
                    f"{source}: package '{entry['name']}' is listed twice ({seen[key]} and {where})",
                    hint="a lock file lists each package once; regenerate it with `composer update --lock`",
                )
            seen[key] = where
            flat.append((entry, is_dev or key in dev_set))
    packages: list[Package] = []
    by_name: dict[str, Package] = {}
    for entry, is_dev in flat:
        pkg = _package(entry, version=str(entry["version"]).strip(), dev=is_dev)
        packages.append(pkg)
        by_name[str(entry["name"]).strip().lower()] = pkg
    index = _virtual_index(flat, by_name)
    graph: dict[str, list[str]] = {}
    for (entry, _), pkg in zip(flat, packages, strict=True):
        me = str(entry["name"]).strip().lower()
        targets = _resolve(_requires(entry), by_name, index, exclude=me)
        graph[me] = targets
        pkg.dependencies = [by_name[t].bom_ref for t in targets]
    return packages, graph


def _virtual_index(
    flat: list[tuple[Mapping[str, Any], bool]], by_name: Mapping[str, Package]
) -> dict[str, list[str]]:
    """Names a package ``replace``s or ``provide``s -> the real package names that do so."""
    index: dict[str, list[str]] = {}
    for entry, _ in flat:
        real = str(entry["name"]).strip().lower()
        for key in ("replace", "provide"):
            table = entry.get(key)
            if isinstance(table, Mapping):
                for virtual in table:
                    if isinstance(virtual, str) and virtual.lower() not in by_name:
                        index.setdefault(virtual.lower(), [])
                        if real not in index[virtual.lower()]:
                            index[virtual.lower()].append(real)
    return index


def _resolve(
    names: Iterable[str], by_name: Mapping[str, Package], index: Mapping[str, list[str]], *, exclude: str = ""
) -> list[str]:
    out: list[str] = []
    for name in names:
        if name in by_name:
            targets = [name]
        else:
            targets = sorted(index.get(name, []))
        for t in targets:
            if t != exclude and t not in out:
                out.append(t)
    return out


def packages_from_lock(data: dict[str, Any], *, source: str) -> list[Package]:
    """Every package of a parsed ``composer.lock`` (``packages`` and ``packages-dev``).

    Dev packages carry ``scope="excluded"`` and the isDevRequirement property; dependencies
    are resolved among the returned packages. ``source`` names the file in error messages and
    becomes ``Package.location``. Raises InputError for entries without name or version and
    for packages listed twice.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("packages", []), list):
        raise InputError(f"{source}: not a composer.lock (no 'packages' list)")
    sections = [
        ("packages", _entries(data.get("packages"), source=source, section="packages"), False),
        ("packages-dev", _entries(data.get("packages-dev"), source=source, section="packages-dev"), True),
    ]
    return _build(sections, source=source)[0]


def _installed_sections(data: Any, *, source: str) -> tuple[list[Mapping[str, Any]], list[str] | None]:
    if isinstance(data, list):  # Composer 1
        return _entries(data, source=source, section="packages"), None
    if isinstance(data, Mapping) and isinstance(data.get("packages"), list):  # Composer 2
        dev_names = data.get("dev-package-names")
        names = [n for n in dev_names if isinstance(n, str)] if isinstance(dev_names, list) else []
        return _entries(data["packages"], source=source, section="packages"), names
    raise InputError(
        f"{source}: not a Composer installed.json (expected a list or an object with 'packages')"
    )


def packages_from_installed(data: Any, *, source: str) -> list[Package]:
    """Every package of a parsed ``vendor/composer/installed.json`` (Composer 1 or 2 form).

    Composer 2 files name their dev packages in ``dev-package-names``; those are flagged as
    dev. Composer 1 files carry no dev information (use :func:`composer_bom` with the
    project's composer.json to work it out).
    """
    entries, dev_names = _installed_sections(data, source=source)
    return _build([("packages", entries, False)], source=source, dev_names=dev_names or [])[0]
