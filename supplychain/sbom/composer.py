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

The code lives in modules by concern; this module builds the project's BOM (root component, dev
packages, ``omit_dev``) and re-exports the public names:

- :mod:`supplychain.sbom.composer_packages`: package entries -> ``Package`` records and the graph
- :mod:`supplychain.sbom.composer_project`: finding and reading the Composer files of a project
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.sbom.composer_packages import (
    PROP_DEV,
    PROP_DIST_REF,
    PROP_SOURCE_REF,
    PROP_TYPE,
    _build,
    _entries,
    _installed_sections,
    _package,
    _requires,
    _resolve,
    _str,
    _virtual_index,
    is_platform_requirement,
    packages_from_installed,
    packages_from_lock,
    purl_for,
)
from supplychain.sbom.composer_project import (
    ComposerProject,
    load_project,
)
from supplychain.sbom.package import Package

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
