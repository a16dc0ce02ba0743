"""Rust binaries built with cargo-auditable: the ``.dep-v0`` ELF section.

cargo-auditable (https://github.com/rust-secure-code/cargo-auditable, format in its
``auditable-serde`` crate) links a section ``.dep-v0`` holding zlib-compressed JSON::

    {"packages": [{"name": "serde", "version": "1.0.197", "source": "crates.io",
                   "kind": "runtime", "dependencies": [3, 7], "root": false}, ...]}

``dependencies`` are indices into ``packages``; ``root`` marks the binary's own crate; ``kind``
is ``runtime`` (the default) or ``build`` (build-time only: scope ``excluded``). Each package is
``pkg:cargo/<name>@<version>`` with its source as a property, depends-on edges from the indices.
The section is read in the one layer pass (``elf.ExecutableAnalyzer``); decompression is
bounded (``MAX_JSON``), and a corrupt section is a note, not an error.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import make_purl
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.catalogers.binary import EXEC_ANALYZER, exec_facts
from supplychain.sbom.package import Package

MAX_JSON = 16 * 1024 * 1024
MAX_PACKAGES = 100_000


def decode_dep_v0(blob: bytes) -> dict[str, Any]:
    """The JSON document of a ``.dep-v0`` section. ValueError when corrupt or too large."""
    d = zlib.decompressobj()
    try:
        raw = d.decompress(blob, MAX_JSON + 1)
    except zlib.error as exc:
        raise ValueError(f"not zlib data ({exc})") from None
    if len(raw) > MAX_JSON or d.unconsumed_tail:
        raise ValueError(f"decompresses to more than {MAX_JSON} bytes")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("packages"), list):
        raise ValueError("no 'packages' list")
    return doc


class RustCataloger:
    name = "rust"
    analyzers = (EXEC_ANALYZER,)
    reads_paths = False  # facts come from the analyzer only: left out of the path selection

    def wants(self, path: str) -> Want:
        return Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        out: list[Package] = []
        for path in tree.paths():
            entry = tree.get(path)
            if entry is None:
                continue
            facts = exec_facts(entry)
            if facts is None or not facts.dep_v0:
                continue
            try:
                doc = decode_dep_v0(facts.dep_v0)
            except ValueError as exc:
                ctx.notes.append(f"{path}: cargo-auditable .dep-v0 section unreadable ({exc}), skipped")
                continue
            out.extend(self._packages(doc, path, entry.layer))
        return out

    @staticmethod
    def _packages(doc: dict[str, Any], path: str, layer: str | None) -> list[Package]:
        items = doc["packages"][:MAX_PACKAGES]
        pkgs: list[Package | None] = []
        edges: list[list[int]] = []
        for item in items:
            if not isinstance(item, dict):
                pkgs.append(None)
                edges.append([])
                continue
            name, version = item.get("name"), item.get("version")
            if not isinstance(name, str) or not name or not isinstance(version, str) or not version:
                pkgs.append(None)
                edges.append([])
                continue
            source = item.get("source") if isinstance(item.get("source"), str) else None
            props = [("supplychain:cargo:source", source)] if source else []
            if item.get("root") is True:
                props.append(("supplychain:cargo:root", "true"))
            purl = make_purl("cargo", None, name, version)
            pkgs.append(Package(
                name=name, version=version, purl=purl, ecosystem="cargo",
                type="application" if item.get("root") is True else "library",
                scope="excluded" if item.get("kind") == "build" else None,
                properties=props, location=path, layer=layer, bom_ref=f"{purl}#{path}",
            ))
            deps = item.get("dependencies")
            edges.append([d for d in deps if isinstance(d, int) and not isinstance(d, bool)]
                         if isinstance(deps, list) else [])
        found = [p for p in pkgs if p is not None]
        for pkg, idx in zip(pkgs, edges, strict=True):
            if pkg is None:
                continue
            refs = {t.bom_ref for i in idx if 0 <= i < len(pkgs) and (t := pkgs[i]) is not None and t is not pkg}
            pkg.dependencies = sorted(refs)
        seen: set[str] = set()
        unique = []
        for p in found:
            if p.bom_ref not in seen:
                seen.add(p.bom_ref)
                unique.append(p)
        return unique
