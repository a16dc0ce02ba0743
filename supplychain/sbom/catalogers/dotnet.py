""".NET applications: ``*.deps.json`` files written by the .NET SDK beside every app.

``libraries`` names each dependency as ``"Name/Version"`` with a ``type`` (``package`` from NuGet,
``project`` for the app's own projects, ``reference``...) and, for packages, ``sha512`` (base64,
of the ``.nupkg``) and ``path``. Every ``package`` and ``project`` library is a component:
``pkg:nuget/<Name>@<Version>``, the SHA-512 as its hash; depends-on edges come from
``targets.<runtime target>.<Name/Version>.dependencies``. The runtime target (``.NETCoreApp,Version=v8.0``)
is a property.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import link_groups, make_purl, text
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.package import Package

SUFFIX = ".deps.json"
KINDS = ("package", "project")


def _sha512_hex(value: object) -> str | None:
    if not isinstance(value, str) or not value.startswith("sha512-"):
        return None
    try:
        raw = base64.b64decode(value[7:], validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 64 else None


def parse_deps_json(doc: Any, path: str, layer: str | None) -> list[Package]:
    if not isinstance(doc, dict) or not isinstance(doc.get("libraries"), dict):
        return []
    runtime = doc.get("runtimeTarget")
    target_name = runtime.get("name") if isinstance(runtime, dict) else None
    raw_targets = doc.get("targets")
    targets: dict[str, Any] = raw_targets if isinstance(raw_targets, dict) else {}
    target = targets.get(target_name) if isinstance(target_name, str) else None
    if not isinstance(target, dict):
        target = next((t for t in targets.values() if isinstance(t, dict)), {})
    pkgs: dict[str, Package] = {}
    for key, lib in doc["libraries"].items():
        if not isinstance(lib, dict) or lib.get("type") not in KINDS or "/" not in key:
            continue
        name, _, version = key.partition("/")
        if not name or not version:
            continue
        props = [("supplychain:dotnet:type", str(lib["type"]))]
        if isinstance(target_name, str):
            props.append(("supplychain:dotnet:runtime-target", target_name))
        if isinstance(lib.get("path"), str):
            props.append(("supplychain:dotnet:path", lib["path"]))
        sha = _sha512_hex(lib.get("sha512"))
        pkgs[name.lower()] = Package(
            name=name, version=version, purl=make_purl("nuget", None, name, version), ecosystem="nuget",
            type="application" if lib["type"] == "project" else "library",
            hashes={"SHA-512": sha} if sha else {}, properties=props, location=path, layer=layer,
        )
    for key, entry in target.items():
        name = key.partition("/")[0].lower() if isinstance(key, str) else ""
        pkg = pkgs.get(name)
        if pkg is None or not isinstance(entry, dict) or not isinstance(entry.get("dependencies"), dict):
            continue
        pkg.dependencies = sorted({pkgs[d.lower()].bom_ref for d in entry["dependencies"]
                                   if isinstance(d, str) and d.lower() in pkgs and pkgs[d.lower()] is not pkg})
    return list(pkgs.values())


class DotnetCataloger:
    name = "dotnet"
    path_suffixes = (SUFFIX,)

    def wants(self, path: str) -> Want:
        return Want.CONTENT if path.endswith(SUFFIX) else Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        groups: list[list[Package]] = []
        for path in tree.paths():
            if not path.endswith(SUFFIX):
                continue
            entry = tree.get(path)
            if entry is None or entry.data is None:
                continue
            try:
                doc = json.loads(text(entry.data))
            except (ValueError, RecursionError):
                ctx.notes.append(f"{path}: not valid JSON, skipped")
                continue
            found = parse_deps_json(doc, path, entry.layer)
            if found:
                groups.append(found)
        return link_groups(groups)
