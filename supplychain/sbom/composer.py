"""PHP Composer projects -> ``Package`` records, with the meaning of cyclonedx-php-composer.

Inputs: a project directory, ``composer.json``, ``composer.lock``, or
``vendor/composer/installed.json`` (Composer 1 list and Composer 2 ``{"packages": [...]}``).

Reusable pieces (the image cataloger calls these on files found inside an image):

* :func:`packages_from_lock` — the packages of a parsed ``composer.lock``
* :func:`packages_from_installed` — the packages of a parsed ``installed.json``
* :func:`composer_bom` — root component and packages of a project on disk

Every package gets: group (vendor) / name, version as written, description, authors,
licenses (several Composer licenses mean "any of them": an ``OR`` expression), a
``pkg:composer`` purl, external references (distribution + dist reference, vcs + source
reference, homepage, ``support.*``), properties ``cdx:composer:package:{distReference,
sourceReference,type,isDevRequirement}``, a SHA-1 hash only when ``dist.shasum`` has one,
and its dependencies (``require`` resolved by name, then by ``replace`` / ``provide``;
platform requirements such as ``php`` and ``ext-*`` left out). Dev packages carry
``scope: excluded`` and ``cdx:composer:package:isDevRequirement=true``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.fileio import load_json
from supplychain.sbom.package import ExternalRef, Package

__all__ = [
    "PROP_DEV",
    "PROP_DIST_REF",
    "PROP_SOURCE_REF",
    "PROP_TYPE",
    "ComposerProject",
    "composer_bom",
    "is_platform_requirement",
    "load_project",
    "packages_from_installed",
    "packages_from_lock",
    "purl_for",
    "root_package",
]

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
    except ValueError:
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


# --- projects on disk ---------------------------------------------------------------------


@dataclass
class ComposerProject:
    """What was found at a path: the manifest (if any) and the package source."""

    directory: Path
    manifest: dict[str, Any] | None = None
    manifest_path: Path | None = None
    lock: dict[str, Any] | None = None
    lock_path: Path | None = None
    installed: Any = None
    installed_path: Path | None = None
    notes: list[str] = field(default_factory=list)


def _is_lock(data: Any) -> bool:
    return isinstance(data, Mapping) and isinstance(data.get("packages"), list) and (
        "content-hash" in data or "packages-dev" in data or "_readme" in data or "hash" in data
    )


def _is_installed(data: Any) -> bool:
    return isinstance(data, list) or (
        isinstance(data, Mapping) and isinstance(data.get("packages"), list) and not _is_lock(data)
    )


def load_project(path: str | os.PathLike[str]) -> ComposerProject:
    """Find and parse the Composer files at ``path`` (directory or one of the files)."""
    p = Path(path)
    try:
        exists = p.exists()
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise InputError(f"{p}: cannot read: {exc.strerror}") from exc
    if not exists:
        raise InputError(f"{p}: no such file or directory")
    if p.is_dir():
        directory = p
        manifest_path = p / "composer.json"
        lock_path = p / "composer.lock"
        installed_path = p / "vendor" / "composer" / "installed.json"
        proj = ComposerProject(directory=directory)
        if manifest_path.is_file():
            proj.manifest, proj.manifest_path = _load_manifest(manifest_path), manifest_path
        if lock_path.is_file():
            proj.lock, proj.lock_path = _load_lock(lock_path), lock_path
        elif installed_path.is_file():
            proj.installed, proj.installed_path = load_json(installed_path), installed_path
            _installed_sections(proj.installed, source=str(installed_path))
        elif proj.manifest is not None:
            raise _no_lock(manifest_path)
        else:
            raise InputError(
                f"{p}: no composer.json, composer.lock or vendor/composer/installed.json here",
                hint="point at a Composer project directory or one of those files",
            )
        return proj
    data = load_json(p)
    name = p.name.lower()
    if name == "installed.json" or (not name.endswith(".lock") and _is_installed(data) and not _is_lock(data)):
        _installed_sections(data, source=str(p))
        directory = p.parent.parent.parent if p.parent.name == "composer" and p.parent.parent.name == "vendor" else p.parent
        proj = ComposerProject(directory=directory, installed=data, installed_path=p)
        manifest_path = directory / "composer.json"
        if manifest_path.is_file():
            proj.manifest, proj.manifest_path = _load_manifest(manifest_path), manifest_path
        return proj
    if name.endswith(".lock") or _is_lock(data):
        if not _is_lock(data) and not (isinstance(data, Mapping) and "packages" in data):
            raise InputError(f"{p}: not a composer.lock (no 'packages' list)")
        proj = ComposerProject(directory=p.parent, lock=data, lock_path=p)
        manifest_path = p.with_suffix(".json")
        if manifest_path.is_file():
            proj.manifest, proj.manifest_path = _load_manifest(manifest_path), manifest_path
        return proj
    # a manifest: composer.json (or another name, e.g. COMPOSER=composer-dev.json)
    manifest = _check_manifest(data, p)
    proj = ComposerProject(directory=p.parent, manifest=manifest, manifest_path=p)
    lock_path = p.with_suffix(".lock")
    if lock_path.is_file():
        proj.lock, proj.lock_path = _load_lock(lock_path), lock_path
        return proj
    installed_path = p.parent / "vendor" / "composer" / "installed.json"
    if installed_path.is_file():
        proj.installed, proj.installed_path = load_json(installed_path), installed_path
        _installed_sections(proj.installed, source=str(installed_path))
        return proj
    raise _no_lock(p)


def _no_lock(manifest_path: Path) -> InputError:
    return InputError(
        f"{manifest_path}: no {manifest_path.with_suffix('.lock').name} next to it, so the installed "
        "versions are unknown",
        hint=f"run `composer update` (or `composer install`) in {manifest_path.parent} to create the lock file",
    )


def _load_manifest(path: Path) -> dict[str, Any]:
    return _check_manifest(load_json(path), path)


def _check_manifest(data: Any, path: Path) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a composer.json (expected a JSON object)")
    return data


def _load_lock(path: Path) -> dict[str, Any]:
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("packages", None), list):
        raise InputError(f"{path}: not a composer.lock (no 'packages' list)")
    return data


def root_package(
    manifest: Mapping[str, Any] | None, *, directory: Path, root_version: str | None = None
) -> tuple[Package, str]:
    """The root component (type application) from composer.json; returns it and its Composer name."""
    m: Mapping[str, Any] = manifest or {}
    name = _str(m.get("name"))
    if not name:
        base = directory.resolve().name or "project"
        name = re.sub(r"[^a-z0-9_.-]+", "-", base.lower()).strip("-") or "project"
    version = root_version or _str(m.get("version"))
    pkg = _package({**m, "name": name, "dist": None, "source": None}, version=version, dev=False)
    pkg.type = "application"
    return pkg, name.lower()


def composer_bom(
    path: str | os.PathLike[str],
    *,
    omit_dev: bool = False,
    root_version: str | None = None,
    notes: list[str] | None = None,
) -> tuple[Package, list[Package]]:
    """Root component and packages for the Composer project at ``path``.

    ``path``: project directory, composer.json, composer.lock or installed.json. Dev packages
    are kept and flagged unless ``omit_dev``; then they (and whatever only they pull in) are
    left out. Warnings (e.g. requirements missing from the lock) are appended to ``notes``.
    """
    from supplychain.sbom.cyclonedx import no_gc

    with no_gc():
        try:
            return _composer_bom(path, omit_dev=omit_dev, root_version=root_version, notes=notes)
        except RecursionError as exc:
            raise InputError(f"{path}: nested too deeply to process") from exc


def _composer_bom(
    path: str | os.PathLike[str], *, omit_dev: bool, root_version: str | None, notes: list[str] | None
) -> tuple[Package, list[Package]]:
    proj = load_project(path)
    src_path = proj.lock_path or proj.installed_path
    assert src_path is not None
    source = str(src_path)
    if proj.lock is not None:
        sections = [
            ("packages", _entries(proj.lock.get("packages"), source=source, section="packages"), False),
            ("packages-dev", _entries(proj.lock.get("packages-dev"), source=source, section="packages-dev"), True),
        ]
        packages, graph = _build(sections, source=source)
        dev_known = True
    else:
        entries, dev_names = _installed_sections(proj.installed, source=source)
        packages, graph = _build([("packages", entries, False)], source=source, dev_names=dev_names or [])
        dev_known = dev_names is not None
    by_name = {_full_name(p): p for p in packages}
    root, root_name = root_package(proj.manifest, directory=proj.directory, root_version=root_version)

    manifest = proj.manifest or {}
    index = _virtual_index_from(proj, by_name)
    req = _resolve(_requires(manifest), by_name, index, exclude=root_name)
    req_dev = _resolve(_requires(manifest, "require-dev"), by_name, index, exclude=root_name)
    if proj.manifest is not None and notes is not None:
        for key in ("require", "require-dev"):
            table = manifest.get(key)
            if isinstance(table, Mapping):
                for target in table:
                    t = str(target).lower()
                    if is_platform_requirement(t) or t in by_name or t in index:
                        continue
                    if key == "require-dev" and proj.lock is not None and "packages-dev" not in proj.lock:
                        continue
                    notes.append(
                        f"{proj.manifest_path}: '{target}' ({key}) is not in {src_path.name}; "
                        "the lock file may be outdated (run `composer update`)"
                    )

    if not dev_known and proj.manifest is not None:
        # Composer 1 installed.json: dev = reachable from require-dev but not from require
        prod = _reach(req, graph)
        for name in _reach(req_dev, graph) - prod:
            _mark_dev(by_name[name])

    if proj.manifest is None:
        # no manifest: the root depends on what nothing else requires
        required = {t for deps in graph.values() for t in deps}
        req = sorted(n for n in by_name if n not in required and not _is_dev(by_name[n]))
        req_dev = sorted(n for n in by_name if n not in required and _is_dev(by_name[n]))

    if omit_dev:
        dropped = {n for n, p in by_name.items() if _is_dev(p)}
        kept_refs = {p.bom_ref for n, p in by_name.items() if n not in dropped}
        packages = [p for p in packages if _full_name(p) not in dropped]
        for p in packages:
            p.dependencies = [d for d in p.dependencies if d in kept_refs]
        root_deps = [n for n in req if n not in dropped]
    else:
        root_deps = req + [n for n in req_dev if n not in req]
    root.dependencies = [by_name[n].bom_ref for n in root_deps]
    return root, packages


def _full_name(p: Package) -> str:
    return (f"{p.group}/{p.name}" if p.group else p.name).lower()


def _is_dev(p: Package) -> bool:
    return p.scope == "excluded"


def _mark_dev(p: Package) -> None:
    if not _is_dev(p):
        p.scope = "excluded"
        p.properties.append((PROP_DEV, "true"))


def _virtual_index_from(proj: ComposerProject, by_name: Mapping[str, Package]) -> dict[str, list[str]]:
    if proj.lock is not None:
        raw: list[Any] = [*(proj.lock.get("packages") or []), *(proj.lock.get("packages-dev") or [])]
    else:
        inst = proj.installed
        raw = inst if isinstance(inst, list) else list(inst.get("packages") or [])
    return _virtual_index([(e, False) for e in raw if isinstance(e, Mapping)], by_name)


def _reach(start: Iterable[str], graph: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(graph.get(n, []))
    return seen
