"""Composer projects on disk: which of composer.json, composer.lock and installed.json a path
holds, and reading them.

Part of :mod:`supplychain.sbom.composer` (which re-exports the public names).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.fileio import load_json
from supplychain.sbom.composer_packages import (
    _installed_sections,
)

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
