"""SBOM tools for auditors: read any CycloneDX JSON/XML SBOM, summarise it, compare two.

* :func:`load_bom` — a CycloneDX file (JSON or XML, 1.2-1.7) as a :class:`Bom` view
* :func:`inspect_bom` — what it contains (types, ecosystems, licenses, gaps, graph, dev)
* :func:`diff_boms` — added / removed / version-changed / license-changed components
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from supplychain.errors import InputError
from supplychain.fileio import parse_json, read_bytes
from supplychain.sbom.cdxjson import iter_components, license_strings

__all__ = ["Bom", "Component", "diff_boms", "inspect_bom", "load_bom", "purl_key"]

DEV_PROPERTY = "cdx:composer:package:isDevRequirement"


@dataclass
class Component:
    ref: str
    type: str
    name: str
    group: str | None = None
    version: str | None = None
    purl: str | None = None
    licenses: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    scope: str | None = None
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def display(self) -> str:
        name = f"{self.group}/{self.name}" if self.group else self.name
        return f"{name}@{self.version}" if self.version else name

    @property
    def ecosystem(self) -> str:
        if self.purl and self.purl.startswith("pkg:"):
            return self.purl[4:].split("/", 1)[0].lower() or "(none)"
        return "(none)"

    @property
    def is_dev(self) -> bool:
        return self.scope == "excluded" or self.properties.get(DEV_PROPERTY) == "true"

    @property
    def license_text(self) -> str:
        return " AND ".join(self.licenses) if len(self.licenses) > 1 else (self.licenses[0] if self.licenses else "")


@dataclass
class Bom:
    source: str
    format: str
    spec_version: str
    root: Component | None
    components: list[Component]
    dependencies: dict[str, list[str]]
    has_dependencies: bool


# --- reading ----------------------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    """SBOMs are untrusted input: a field that should be a list but is not counts as empty."""
    return value if isinstance(value, list) else []


def _opt(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def _component_from_json(c: dict[str, Any], index: int) -> Component:
    hashes = [f"{h.get('alg')}:{h.get('content')}" for h in _list(c.get("hashes")) if isinstance(h, dict)]
    props = {
        str(p.get("name")): str(p.get("value"))
        for p in _list(c.get("properties"))
        if isinstance(p, dict) and p.get("name") is not None
    }
    return Component(
        ref=_opt(c.get("bom-ref")) or f"#{index}",
        type=_opt(c.get("type")) or "library",
        name=_opt(c.get("name")) or "",
        group=_opt(c.get("group")),
        version=_opt(c.get("version")),
        purl=_opt(c.get("purl")),
        licenses=license_strings(c.get("licenses")),
        hashes=hashes,
        scope=_opt(c.get("scope")),
        properties=props,
    )


def _from_json(doc: dict[str, Any], source: str) -> Bom:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    root = _component_from_json(meta["component"], -1) if isinstance(meta.get("component"), dict) else None
    raw = list(iter_components(doc))
    comps = [_component_from_json(c, i) for i, c in enumerate(raw)]
    deps: dict[str, list[str]] = {}
    has_deps = isinstance(doc.get("dependencies"), list)
    for d in _list(doc.get("dependencies")):
        if isinstance(d, dict) and isinstance(d.get("ref"), str):
            deps.setdefault(d["ref"], []).extend(str(x) for x in _list(d.get("dependsOn")))
    return Bom(source, "json", str(doc.get("specVersion")), root, comps, deps, has_deps)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el: Any, name: str) -> Any:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el: Any, name: str) -> str | None:
    c = _child(el, name)
    return c.text.strip() if c is not None and c.text and c.text.strip() else None


def _component_from_xml(el: Any, index: int) -> Component:
    licenses: list[str] = []
    lic_el = _child(el, "licenses")
    if lic_el is not None:
        for item in lic_el:
            if _local(item.tag) == "expression" and item.text:
                licenses.append(item.text.strip())
            elif _local(item.tag) == "license":
                v = _text(item, "id") or _text(item, "name")
                if v:
                    licenses.append(v)
    hashes: list[str] = []
    h_el = _child(el, "hashes")
    if h_el is not None:
        hashes = [f"{h.get('alg')}:{(h.text or '').strip()}" for h in h_el if _local(h.tag) == "hash"]
    props: dict[str, str] = {}
    p_el = _child(el, "properties")
    if p_el is not None:
        for p in p_el:
            if _local(p.tag) == "property" and p.get("name") is not None:
                props[str(p.get("name"))] = (p.text or "").strip()
    return Component(
        ref=str(el.get("bom-ref") or f"#{index}"),
        type=str(el.get("type") or "library"),
        name=_text(el, "name") or "",
        group=_text(el, "group"),
        version=_text(el, "version"),
        purl=_text(el, "purl"),
        licenses=licenses,
        hashes=hashes,
        scope=_text(el, "scope"),
        properties=props,
    )


def _from_xml(raw: bytes, source: str) -> Bom:
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_comments=True
    )
    try:
        root_el = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (0, 0)
        raise InputError(f"{source}: invalid XML at line {line}, column {col}: {exc.msg}") from exc
    if root_el.getroottree().docinfo.internalDTD is not None:
        raise InputError(f"{source}: XML with a DOCTYPE / entity declarations is not accepted in an SBOM")
    m = re.match(r"\{http://cyclonedx\.org/schema/bom/([\d.]+)\}bom$", str(root_el.tag))
    if not m:
        raise InputError(f"{source}: XML but not a CycloneDX BOM (root element {root_el.tag!r})")
    meta = _child(root_el, "metadata")
    root = None
    if meta is not None and _child(meta, "component") is not None:
        root = _component_from_xml(_child(meta, "component"), -1)
    comps: list[Component] = []

    def walk(parent: Any) -> None:
        if parent is None:
            return
        for el in parent:
            if _local(el.tag) == "component":
                comps.append(_component_from_xml(el, len(comps)))
                walk(_child(el, "components"))

    walk(_child(root_el, "components"))
    deps: dict[str, list[str]] = {}
    dep_el = _child(root_el, "dependencies")
    if dep_el is not None:
        for d in dep_el:
            if _local(d.tag) == "dependency" and d.get("ref"):
                deps.setdefault(str(d.get("ref")), []).extend(
                    str(x.get("ref")) for x in d if _local(x.tag) == "dependency" and x.get("ref")
                )
    return Bom(source, "xml", m.group(1), root, comps, deps, dep_el is not None)


def load_bom(path: str | Path) -> Bom:
    """Read a CycloneDX SBOM (JSON or XML). InputError when unreadable or not an SBOM."""
    raw = read_bytes(path, what="SBOM file")
    source = str(path)
    try:
        return _load(raw, source)
    except RecursionError as exc:
        raise InputError(f"{source}: nested too deeply to process") from exc


def _load(raw: bytes, source: str) -> Bom:
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return _from_xml(raw, source)
    if head == b"{":
        doc = parse_json(raw, source=source)
        if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
            raise InputError(f"{source}: JSON but not a CycloneDX BOM (no \"bomFormat\": \"CycloneDX\")")
        return _from_json(doc, source)
    raise InputError(f"{source}: not a CycloneDX SBOM (neither JSON nor XML)")


# --- inspect ----------------------------------------------------------------------------------


def _reach(start: list[str], graph: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(graph.get(n, []))
    return seen


def inspect_bom(bom: Bom, *, limit: int = 50) -> dict[str, Any]:
    """A JSON-ready summary of ``bom``. Lists of names are cut at ``limit`` (counts are exact)."""
    comps = bom.components
    by_type = Counter(c.type for c in comps)
    by_eco = Counter(c.ecosystem for c in comps)
    licenses: Counter[str] = Counter()
    for c in comps:
        if c.licenses:
            for lic in c.licenses:
                licenses[lic] += 1
        else:
            licenses["(none)"] += 1

    def gap(pred: Any) -> dict[str, Any]:
        names = sorted(c.display for c in comps if pred(c))
        return {"count": len(names), "components": names[:limit]}

    missing = {
        "version": gap(lambda c: not c.version),
        "license": gap(lambda c: not c.licenses),
        "purl": gap(lambda c: not c.purl),
        "hash": gap(lambda c: not c.hashes),
    }
    refs = {c.ref for c in comps}
    graph: dict[str, Any]
    if bom.root is not None and bom.has_dependencies and bom.root.ref in bom.dependencies:
        direct = {r for r in bom.dependencies.get(bom.root.ref, []) if r in refs}
        reachable = _reach(sorted(direct), bom.dependencies) & refs
        graph = {
            "known": True,
            "direct": len(direct),
            "transitive": len(reachable - direct),
            "unreachable": len(refs - reachable),
        }
    else:
        graph = {"known": False, "direct": None, "transitive": None, "unreachable": None}
    dev = sum(1 for c in comps if c.is_dev)
    optional = sum(1 for c in comps if not c.is_dev and c.scope == "optional")
    root = None
    if bom.root is not None:
        root = {"name": bom.root.display, "type": bom.root.type, "purl": bom.root.purl}
    return {
        "file": bom.source,
        "format": bom.format,
        "specVersion": bom.spec_version,
        "root": root,
        "components": len(comps),
        "byType": dict(sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
        "byEcosystem": dict(sorted(by_eco.items(), key=lambda kv: (-kv[1], kv[0]))),
        "licenses": dict(sorted(licenses.items(), key=lambda kv: (-kv[1], kv[0]))),
        "missing": missing,
        "dependencies": graph,
        "scope": {"required": len(comps) - dev - optional, "optional": optional, "dev": dev},
    }


def format_inspect(summary: dict[str, Any], *, limit: int = 10) -> str:
    """The summary as aligned text tables."""
    lines: list[str] = []
    root = summary["root"]
    lines.append(f"SBOM       {summary['file']} (CycloneDX {summary['specVersion']}, {summary['format'].upper()})")
    if root:
        lines.append(f"root       {root['name']} ({root['type']})" + (f"  {root['purl']}" if root["purl"] else ""))
    lines.append(f"components {summary['components']}")

    def table(title: str, rows: list[tuple[str, str]]) -> None:
        lines.append("")
        lines.append(title)
        if not rows:
            lines.append("  (none)")
            return
        width = max(len(r[0]) for r in rows)
        for k, v in rows:
            lines.append(f"  {k.ljust(width)}  {v.rjust(6)}")

    table("by type", [(k, str(v)) for k, v in summary["byType"].items()])
    table("by ecosystem", [(k, str(v)) for k, v in summary["byEcosystem"].items()])
    table("licenses", [(k, str(v)) for k, v in summary["licenses"].items()])
    g = summary["dependencies"]
    if g["known"]:
        table(
            "dependencies (from the root)",
            [("direct", str(g["direct"])), ("transitive", str(g["transitive"])), ("not reachable", str(g["unreachable"]))],
        )
    else:
        lines.append("")
        lines.append("dependencies (from the root)")
        lines.append("  unknown: the SBOM has no dependency graph for its root component")
    s = summary["scope"]
    table("scope", [("required", str(s["required"])), ("optional", str(s["optional"])), ("dev", str(s["dev"]))])
    lines.append("")
    lines.append("missing")
    for what, gap in summary["missing"].items():
        names = gap["components"][:limit]
        more = gap["count"] - len(names)
        shown = ", ".join(names) + (f", ... (+{more})" if more > 0 else "")
        lines.append(f"  {what.ljust(8)} {str(gap['count']).rjust(6)}" + (f"  {shown}" if names else ""))
    return "\n".join(lines) + "\n"


# --- diff -------------------------------------------------------------------------------------


def purl_key(purl: str) -> str | None:
    """``pkg:type/namespace/name`` without version, qualifiers or subpath (normalised case)."""
    if not purl.startswith("pkg:"):
        return None
    body = purl[4:].split("#", 1)[0].split("?", 1)[0]
    if "@" in body:
        # the version separator is the last '@' (namespaces such as npm scopes are %40-encoded)
        body = body.rsplit("@", 1)[0]
    parts = [unquote(p) for p in body.strip("/").split("/") if p]
    if len(parts) < 2:
        return None
    ptype = parts[0].lower()
    rest = parts[1:]
    if ptype in ("composer", "npm", "deb", "apk", "rpm", "pypi", "github", "golang", "maven", "gem"):
        rest = [r.lower() for r in rest] if ptype in ("composer", "deb", "apk", "pypi", "github") else rest
    if ptype == "pypi":
        rest = [re.sub(r"[-_.]+", "-", r) for r in rest]
    return "pkg:" + ptype + "/" + "/".join(rest)


def _key(c: Component) -> str:
    if c.purl:
        k = purl_key(c.purl)
        if k:
            return k
    return f"name:{(c.group or '').lower()}/{c.name.lower()}"


def _entry(c: Component) -> dict[str, Any]:
    return {"name": c.display, "version": c.version, "purl": c.purl, "licenses": c.licenses}


def diff_boms(old: Bom, new: Bom) -> dict[str, Any]:
    """Components added, removed, with another version, with other licenses (matched by purl
    without version, else group/name). A key present several times is paired by version first."""
    old_by: dict[str, list[Component]] = {}
    new_by: dict[str, list[Component]] = {}
    for c in old.components:
        old_by.setdefault(_key(c), []).append(c)
    for c in new.components:
        new_by.setdefault(_key(c), []).append(c)
    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    version_changed: list[dict[str, Any]] = []
    license_changed: list[dict[str, Any]] = []
    unchanged = 0
    for key in sorted(set(old_by) | set(new_by)):
        olds = sorted(old_by.get(key, []), key=lambda c: c.version or "")
        news = sorted(new_by.get(key, []), key=lambda c: c.version or "")
        pairs: list[tuple[Component, Component]] = []
        for o in list(olds):
            match = next((n for n in news if n.version == o.version), None)
            if match is not None:
                pairs.append((o, match))
                olds.remove(o)
                news.remove(match)
        while olds and news:
            pairs.append((olds.pop(0), news.pop(0)))
        removed.extend(_entry(o) for o in olds)
        added.extend(_entry(n) for n in news)
        for o, n in pairs:
            if o.version == n.version and sorted(o.licenses) == sorted(n.licenses):
                unchanged += 1
            if o.version != n.version:
                version_changed.append(
                    {"name": n.display, "key": key, "old": o.version, "new": n.version, "purl": n.purl}
                )
            if sorted(o.licenses) != sorted(n.licenses):
                license_changed.append(
                    {"name": n.display, "key": key, "old": o.licenses, "new": n.licenses}
                )
    return {
        "old": old.source,
        "new": new.source,
        "added": added,
        "removed": removed,
        "versionChanged": version_changed,
        "licenseChanged": license_changed,
        "unchanged": unchanged,
    }


def format_diff(d: dict[str, Any]) -> str:
    lines = [f"--- {d['old']}", f"+++ {d['new']}"]
    lines.append(
        f"{len(d['added'])} added, {len(d['removed'])} removed, {len(d['versionChanged'])} version changed, "
        f"{len(d['licenseChanged'])} license changed"
    )

    def lic(x: list[str]) -> str:
        return " AND ".join(x) if x else "(none)"

    if d["added"]:
        lines += ["", "added:"] + [f"  + {a['name']}  [{lic(a['licenses'])}]" for a in d["added"]]
    if d["removed"]:
        lines += ["", "removed:"] + [f"  - {r['name']}  [{lic(r['licenses'])}]" for r in d["removed"]]
    if d["versionChanged"]:
        lines += ["", "version changed:"] + [
            f"  ~ {v['key'].removeprefix('pkg:')}  {v['old']} -> {v['new']}" for v in d["versionChanged"]
        ]
    if d["licenseChanged"]:
        lines += ["", "license changed:"] + [
            f"  ~ {v['name']}  {lic(v['old'])} -> {lic(v['new'])}" for v in d["licenseChanged"]
        ]
    return "\n".join(lines) + "\n"
