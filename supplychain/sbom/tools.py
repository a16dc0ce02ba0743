"""SBOM tools for auditors: read any CycloneDX JSON/XML SBOM, summarise it, compare two.

* :func:`load_bom` — a CycloneDX file (JSON or XML, 1.2-1.7) as a :class:`Bom` view (here)
* :func:`inspect_bom` / :func:`format_inspect` — what it contains (:mod:`supplychain.sbom.inspect`)
* :func:`diff_boms` / :func:`format_diff` — what changed (:mod:`supplychain.sbom.diff`)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.fileio import parse_json, read_bytes
from supplychain.sbom.cdxjson import iter_components, license_strings

__all__ = ["Bom", "Component", "load_bom"]

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
    supplier: str | None = None
    authors: list[tuple[str | None, str | None]] = field(default_factory=list)  # (name, email)
    description: str | None = None
    cpe: str | None = None
    cpes: list[str] = field(default_factory=list)  # alternatives (supplychain:cpe23 / syft:cpe23)
    external_refs: list[tuple[str, str]] = field(default_factory=list)  # (type, url)
    # (kind "id" | "name" | "expression", value, acknowledgement "declared" | "concluded" | "")
    license_entries: list[tuple[str, str, str]] = field(default_factory=list)

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
    timestamp: str | None = None
    serial: str | None = None
    authors: list[tuple[str | None, str | None]] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)  # "name version"
    manufacturer: str | None = None
    supplier: str | None = None


# --- reading ----------------------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    """SBOMs are untrusted input: a field that should be a list but is not counts as empty."""
    return value if isinstance(value, list) else []


def _opt(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


CPE_PROPERTIES = ("supplychain:cpe23", "syft:cpe23")


def _entity_name(value: Any) -> str | None:
    return _opt(value.get("name")) if isinstance(value, dict) else None


def _json_license_entries(entries: Any) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for e in _list(entries):
        if not isinstance(e, dict):
            continue
        if isinstance(e.get("expression"), str) and e["expression"].strip():
            out.append(("expression", e["expression"].strip(), _opt(e.get("acknowledgement")) or ""))
        lic = e.get("license")
        if isinstance(lic, dict):
            ack = _opt(lic.get("acknowledgement")) or ""
            if _opt(lic.get("id")):
                out.append(("id", str(lic["id"]), ack))
            elif _opt(lic.get("name")):
                out.append(("name", str(lic["name"]), ack))
    return out


def _json_contacts(value: Any) -> list[tuple[str | None, str | None]]:
    return [
        (_opt(a.get("name")), _opt(a.get("email")))
        for a in _list(value)
        if isinstance(a, dict) and (_opt(a.get("name")) or _opt(a.get("email")))
    ]


def _component_from_json(c: dict[str, Any], index: int) -> Component:
    hashes = [f"{h.get('alg')}:{h.get('content')}" for h in _list(c.get("hashes")) if isinstance(h, dict)]
    props: dict[str, str] = {}
    cpes: list[str] = []
    for p in _list(c.get("properties")):
        if isinstance(p, dict) and p.get("name") is not None:
            props[str(p.get("name"))] = str(p.get("value"))
            if p.get("name") in CPE_PROPERTIES and _opt(p.get("value")):
                cpes.append(str(p.get("value")))
    authors = _json_contacts(c.get("authors"))
    if not authors and _opt(c.get("author")):
        authors = [(_opt(c.get("author")), None)]
    refs = [
        (str(r.get("type")), str(r.get("url")))
        for r in _list(c.get("externalReferences"))
        if isinstance(r, dict) and _opt(r.get("type")) and _opt(r.get("url"))
    ]
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
        supplier=_entity_name(c.get("supplier")),
        authors=authors,
        description=_opt(c.get("description")),
        cpe=_opt(c.get("cpe")),
        cpes=cpes,
        external_refs=refs,
        license_entries=_json_license_entries(c.get("licenses")),
    )


def _json_tools(tools: Any) -> list[str]:
    items = tools.get("components") if isinstance(tools, dict) else tools
    out = []
    for t in _list(items):
        if isinstance(t, dict) and _opt(t.get("name")):
            out.append(" ".join(x for x in (_opt(t.get("name")), _opt(t.get("version"))) if x))
    return out


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
    return Bom(
        source, "json", str(doc.get("specVersion")), root, comps, deps, has_deps,
        timestamp=_opt(meta.get("timestamp")),
        serial=_opt(doc.get("serialNumber")),
        authors=_json_contacts(meta.get("authors")),
        tools=_json_tools(meta.get("tools")),
        manufacturer=_entity_name(meta.get("manufacturer")) or _entity_name(meta.get("manufacture")),
        supplier=_entity_name(meta.get("supplier")),
    )


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


def _xml_contacts(parent: Any) -> list[tuple[str | None, str | None]]:
    if parent is None:
        return []
    out = []
    for a in parent:
        if _local(a.tag) in ("author", "contact"):
            name, email = _text(a, "name"), _text(a, "email")
            if name or email:
                out.append((name, email))
    return out


def _xml_entity(el: Any, name: str) -> str | None:
    c = _child(el, name)
    return _text(c, "name") if c is not None else None


def _component_from_xml(el: Any, index: int) -> Component:
    licenses: list[str] = []
    entries: list[tuple[str, str, str]] = []
    lic_el = _child(el, "licenses")
    if lic_el is not None:
        for item in lic_el:
            ack = str(item.get("acknowledgement") or "")
            if _local(item.tag) == "expression" and item.text and item.text.strip():
                licenses.append(item.text.strip())
                entries.append(("expression", item.text.strip(), ack))
            elif _local(item.tag) == "license":
                ident, name = _text(item, "id"), _text(item, "name")
                if ident or name:
                    licenses.append(ident or name or "")
                    entries.append(("id", ident, ack) if ident else ("name", name or "", ack))
    hashes: list[str] = []
    h_el = _child(el, "hashes")
    if h_el is not None:
        hashes = [f"{h.get('alg')}:{(h.text or '').strip()}" for h in h_el if _local(h.tag) == "hash"]
    props: dict[str, str] = {}
    cpes: list[str] = []
    p_el = _child(el, "properties")
    if p_el is not None:
        for p in p_el:
            if _local(p.tag) == "property" and p.get("name") is not None:
                props[str(p.get("name"))] = (p.text or "").strip()
                if p.get("name") in CPE_PROPERTIES and (p.text or "").strip():
                    cpes.append((p.text or "").strip())
    authors = _xml_contacts(_child(el, "authors"))
    if not authors and _text(el, "author"):
        authors = [(_text(el, "author"), None)]
    refs: list[tuple[str, str]] = []
    r_el = _child(el, "externalReferences")
    if r_el is not None:
        for r in r_el:
            url = _text(r, "url")
            if _local(r.tag) == "reference" and r.get("type") and url:
                refs.append((str(r.get("type")), url))
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
        supplier=_xml_entity(el, "supplier"),
        authors=authors,
        description=_text(el, "description"),
        cpe=_text(el, "cpe"),
        cpes=cpes,
        external_refs=refs,
        license_entries=entries,
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
    tools: list[str] = []
    t_el = _child(meta, "tools") if meta is not None else None
    if t_el is not None:
        items = list(t_el) if _child(t_el, "components") is None else list(_child(t_el, "components"))
        for t in items:
            if _local(t.tag) in ("tool", "component") and _text(t, "name"):
                tools.append(" ".join(x for x in (_text(t, "name"), _text(t, "version")) if x))
    return Bom(
        source, "xml", m.group(1), root, comps, deps, dep_el is not None,
        timestamp=_text(meta, "timestamp") if meta is not None else None,
        serial=str(root_el.get("serialNumber")) if root_el.get("serialNumber") else None,
        authors=_xml_contacts(_child(meta, "authors")) if meta is not None else [],
        tools=tools,
        manufacturer=(_xml_entity(meta, "manufacturer") or _xml_entity(meta, "manufacture")) if meta is not None else None,
        supplier=_xml_entity(meta, "supplier") if meta is not None else None,
    )


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
