"""What ``vuln scan`` scans: a CycloneDX SBOM file (ours, syft's, cdxgen's, the Composer plugin's),
a Composer project or lock file, or a container image (registry reference, OCI layout or archive;
its SBOM is generated with supplychain.sbom.image). Every target becomes a CycloneDX JSON document,
so the CycloneDX report is always "the scanned SBOM plus a vulnerabilities section"."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.fileio import parse_json, read_bytes

__all__ = ["ScanTarget", "load_target"]

MAX_SBOM_BYTES = 512 << 20
KINDS = ("auto", "sbom", "composer", "image")


@dataclass
class ScanTarget:
    name: str
    kind: str  # "sbom", "composer", "image"
    bom: dict[str, Any]
    ids: list[str] = field(default_factory=list)  # root purl and image digests (VEX products)
    warnings: list[str] = field(default_factory=list)
    format: str = "json"  # "xml" when the SBOM was CycloneDX XML (no CycloneDX JSON report then)


def _root_ids(bom: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    meta = bom.get("metadata")
    root = meta.get("component") if isinstance(meta, dict) else None
    if isinstance(root, dict):
        if isinstance(root.get("purl"), str):
            ids.append(root["purl"])
        for p in root.get("properties") or []:
            if isinstance(p, dict) and p.get("name") in ("supplychain:image:manifest-digest",
                                                          "supplychain:image:index-digest",
                                                          "supplychain:image:reference"):
                if isinstance(p.get("value"), str):
                    ids.append(p["value"])
        if isinstance(root.get("version"), str) and root["version"].startswith("sha256:"):
            ids.append(root["version"])
    return list(dict.fromkeys(ids))


def _xml_to_json(path: Path) -> dict[str, Any]:
    """A CycloneDX XML SBOM as the minimal JSON shape matching needs (components with purls)."""
    from supplychain.sbom.tools import load_bom

    bom = load_bom(path)
    comps = []
    for c in bom.components:
        d: dict[str, Any] = {"type": c.type, "name": c.name, "bom-ref": c.ref}
        if c.group:
            d["group"] = c.group
        if c.version:
            d["version"] = c.version
        if c.purl:
            d["purl"] = c.purl
        if c.properties:
            d["properties"] = [{"name": k, "value": v} for k, v in c.properties.items()]
        comps.append(d)
    return {"bomFormat": "CycloneDX", "specVersion": bom.spec_version, "components": comps}


def _sbom_file(path: Path, raw: bytes) -> ScanTarget:
    head = raw.lstrip()[:1]
    if head == b"<":
        doc = _xml_to_json(path)
        return ScanTarget(str(path), "sbom", doc, [], [], "xml")
    else:
        doc = parse_json(raw, source=str(path))
        if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
            raise InputError(f"{path}: not a CycloneDX SBOM (no \"bomFormat\": \"CycloneDX\")")
    return ScanTarget(str(path), "sbom", doc, _root_ids(doc))


def _composer(path: str) -> ScanTarget:
    from supplychain.sbom.composer import composer_bom
    from supplychain.sbom.cyclonedx import render_bom

    notes: list[str] = []
    root, packages = composer_bom(path, notes=notes)
    doc = json.loads(render_bom(root, packages))
    return ScanTarget(path, "composer", doc, _root_ids(doc), notes)


def _image(ref: str, platform: str, insecure: Iterable[str],
           progress: Callable[[int, int, str], None] | None) -> ScanTarget:
    from supplychain.sbom.cyclonedx import render_bom
    from supplychain.sbom.image import image_bom

    warnings: list[str] = []
    root, packages = image_bom(ref, platform=platform, insecure_registries=insecure, progress=progress,
                               on_warning=warnings.append)
    doc = json.loads(render_bom(root, packages))
    return ScanTarget(ref, "image", doc, _root_ids(doc), warnings)


_COMPOSER_NAMES = ("composer.json", "composer.lock", "installed.json")


def load_target(target: str, *, kind: str = "auto", platform: str = "linux/amd64",
                insecure_registries: Iterable[str] = (),
                progress: Callable[[int, int, str], None] | None = None) -> ScanTarget:
    """Turn TARGET into a CycloneDX JSON document to scan (see the module docstring)."""
    if kind not in KINDS:
        raise InputError(f"unknown target type {kind!r} (use {', '.join(KINDS)})")
    if kind == "image":
        return _image(target, platform, insecure_registries, progress)
    if kind == "composer":
        return _composer(target)
    p = Path(target)
    try:
        is_dir, is_file = p.is_dir(), p.is_file()
    except OSError as exc:
        raise InputError(f"{target}: cannot read: {exc.strerror}") from exc
    if kind == "sbom":
        return _sbom_file(p, read_bytes(p, what="SBOM", limit=MAX_SBOM_BYTES))
    if is_dir:
        if (p / "oci-layout").is_file():
            return _image(f"oci:{target}", platform, insecure_registries, progress)
        if any((p / n).is_file() for n in ("composer.json", "composer.lock")) or \
                (p / "vendor" / "composer" / "installed.json").is_file():
            return _composer(target)
        raise InputError(f"{target}: a directory with neither composer.json/composer.lock nor an OCI layout",
                         hint="give an SBOM file, a Composer project or an image reference")
    if is_file:
        if p.name.lower() in _COMPOSER_NAMES or p.suffix.lower() == ".lock":
            return _composer(target)
        raw = read_bytes(p, what="SBOM", limit=MAX_SBOM_BYTES)
        if raw[:262].find(b"ustar") >= 0 or raw[:2] == b"\x1f\x8b":
            return _image(target, platform, insecure_registries, progress)
        return _sbom_file(p, raw)
    if p.suffix.lower() in (".json", ".xml", ".lock", ".cdx") and not p.exists():
        raise InputError(f"{target}: no such file")
    if target.startswith(("oci:", "oci-archive:", "docker-archive:")) or "/" in target or ":" in target:
        return _image(target, platform, insecure_registries, progress)
    raise InputError(f"{target}: no such file, directory or image reference",
                     hint="give an SBOM file, a Composer project, or a registry reference such as registry/repo:tag")
