"""CycloneDX XML writer: :class:`~supplychain.sbom.cyclonedx.Prepared` components -> bytes.

Called by :func:`supplychain.sbom.cyclonedx.render_bom`. Element order follows the XSD
sequences of each spec version (supplier, manufacturer, authors | author, group, name, ...,
licenses, cpe, purl, externalReferences, properties).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from supplychain import __version__

if TYPE_CHECKING:
    from supplychain.sbom.cyclonedx import Document, Prepared

__all__ = ["render_xml"]

_XMLNS = "http://cyclonedx.org/schema/bom/"
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_SPECIAL = re.compile("[&<>\"\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: str) -> str:
    """Escape character data / attribute values; drop characters XML 1.0 cannot carry."""
    if not _XML_SPECIAL.search(text):
        return text  # the common case: nothing to do (one scan instead of five replaces)
    if _XML_BAD.search(text):
        text = _XML_BAD.sub("", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        .replace("\r", "&#13;")
    )


@lru_cache(maxsize=4096)
def _x_name(text: str) -> str:
    """:func:`_x` for the few distinct property names of a BOM (memoised)."""
    return _x(text)


def _contacts_xml(tag: str, item: str, contacts: list[tuple[str | None, str | None]], ind: str,
                  out: list[str]) -> None:
    out.append(f"{ind}<{tag}>")
    for name, email in contacts:
        out.append(f"{ind}  <{item}>")
        if name:
            out.append(f"{ind}    <name>{_x(name)}</name>")
        if email:
            out.append(f"{ind}    <email>{_x(email)}</email>")
        out.append(f"{ind}  </{item}>")
    out.append(f"{ind}</{tag}>")


def _entity_xml(tag: str, name: str, ind: str, out: list[str]) -> None:
    out.append(f"{ind}<{tag}>")
    out.append(f"{ind}  <name>{_x(name)}</name>")
    out.append(f"{ind}</{tag}>")


def _same(text: str) -> str:
    return text


def _needs_escape(c: Prepared) -> bool:
    """Whether any text of the component needs XML escaping (one scan instead of one per value)."""
    p = c.pkg
    parts = [c.ref, p.name, p.group or "", p.version or "", p.description or "", c.cpe or "", p.purl or "",
             c.author or "", c.supplier or "", c.manufacturer or "", c.ctype]
    parts += [v for _, v in c.licenses]
    parts += [f"{n}{e}" for n, e in c.authors if n or e] if c.authors else []
    parts += [f"{er.type}{er.url}{er.comment or ''}" for er in c.extrefs]
    parts += [f"{n}{v}" for n, v in c.properties]
    return _XML_SPECIAL.search("".join(parts)) is not None


def _component_xml(c: Prepared, spec: str, out: list[str], tag: str = "component", ind: str = "    ") -> None:
    p = c.pkg
    x = _x if _needs_escape(c) else _same
    i2 = ind + "  "
    i3 = i2 + "  "
    out.append(f'{ind}<{tag} type="{x(c.ctype)}" bom-ref="{x(c.ref)}">')
    if c.supplier:
        _entity_xml("supplier", c.supplier, i2, out)
    if spec == "1.6":
        if c.manufacturer:
            _entity_xml("manufacturer", c.manufacturer, i2, out)
        if c.authors:
            _contacts_xml("authors", "author", c.authors, i2, out)
    elif c.author:
        out.append(f"{i2}<author>{x(c.author)}</author>")
    if p.group:
        out.append(f"{i2}<group>{x(p.group)}</group>")
    out.append(f"{i2}<name>{x(p.name)}</name>")
    if p.version is not None and p.version != "":
        out.append(f"{i2}<version>{x(p.version)}</version>")
    if p.description:
        out.append(f"{i2}<description>{x(p.description)}</description>")
    if c.scope:
        out.append(f"{i2}<scope>{c.scope}</scope>")
    if c.hashes:
        out.append(f"{i2}<hashes>")
        for a, h in c.hashes:
            out.append(f'{i3}<hash alg="{a}">{h}</hash>')
        out.append(f"{i2}</hashes>")
    if c.licenses:
        ack = ' acknowledgement="declared"' if spec == "1.6" else ""
        out.append(f"{i2}<licenses>")
        for kind, value in c.licenses:
            if kind == "expression":
                out.append(f"{i3}<expression{ack}>{x(value)}</expression>")
            else:
                out.append(f"{i3}<license{ack}><{kind}>{x(value)}</{kind}></license>")
        out.append(f"{i2}</licenses>")
    if c.cpe:
        out.append(f"{i2}<cpe>{x(c.cpe)}</cpe>")
    if p.purl:
        out.append(f"{i2}<purl>{x(p.purl)}</purl>")
    if c.extrefs:
        out.append(f"{i2}<externalReferences>")
        for er in c.extrefs:
            out.append(f'{i3}<reference type="{x(er.type)}">')
            out.append(f"{i3}  <url>{x(er.url)}</url>")
            if er.comment:
                out.append(f"{i3}  <comment>{x(er.comment)}</comment>")
            if er.hashes:
                out.append(f"{i3}  <hashes>")
                for a, h in sorted(er.hashes.items()):
                    out.append(f'{i3}    <hash alg="{a}">{h.lower()}</hash>')
                out.append(f"{i3}  </hashes>")
            out.append(f"{i3}</reference>")
        out.append(f"{i2}</externalReferences>")
    if c.properties:
        out.append(f"{i2}<properties>")
        xn = _x_name
        out.extend([f'{i3}<property name="{xn(n)}">{x(v)}</property>' for n, v in c.properties])
        out.append(f"{i2}</properties>")
    out.append(f"{ind}</{tag}>")


def render_xml(root: Prepared, comps: list[Prepared], doc: Document) -> bytes:
    spec = doc.spec
    out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>']
    serial_attr = f' serialNumber="{doc.serial}"' if doc.serial else ""
    out.append(f'<bom xmlns="{_XMLNS}{spec}"{serial_attr} version="1">')
    out.append("  <metadata>")
    if doc.timestamp:
        out.append(f"    <timestamp>{doc.timestamp}</timestamp>")
    out.append("    <tools>")
    if spec == "1.4":
        out.append("      <tool>")
        out.append(f"        <name>{_x(doc.tool_name)}</name>")
        out.append(f"        <version>{_x(__version__)}</version>")
        out.append("      </tool>")
    else:
        out.append("      <components>")
        out.append('        <component type="application">')
        out.append(f"          <name>{_x(doc.tool_name)}</name>")
        out.append(f"          <version>{_x(__version__)}</version>")
        out.append("        </component>")
        out.append("      </components>")
    out.append("    </tools>")
    if doc.authors:
        _contacts_xml("authors", "author", doc.authors, "    ", out)
    _component_xml(root, spec, out, ind="    ")
    if doc.manufacturer:  # the XSD puts manufacturer (1.6) after component, unlike the JSON schema
        _entity_xml("manufacturer" if spec == "1.6" else "manufacture", doc.manufacturer, "    ", out)
    if doc.supplier:
        _entity_xml("supplier", doc.supplier, "    ", out)
    if doc.properties:
        out.append("    <properties>")
        for n, v in doc.properties:
            out.append(f'      <property name="{_x(n)}">{_x(v)}</property>')
        out.append("    </properties>")
    out.append("  </metadata>")
    if comps:
        out.append("  <components>")
        for c in comps:
            _component_xml(c, spec, out)
        out.append("  </components>")
    out.append("  <dependencies>")
    for c in (root, *comps):
        if c.deps:
            out.append(f'    <dependency ref="{_x(c.ref)}">')
            for d in c.deps:
                out.append(f'      <dependency ref="{_x(d)}"/>')
            out.append("    </dependency>")
        else:
            out.append(f'    <dependency ref="{_x(c.ref)}"/>')
    out.append("  </dependencies>")
    out.append("</bom>")
    return ("\n".join(out) + "\n").encode("utf-8")
