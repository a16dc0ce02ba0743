"""CycloneDX JSON writer: :class:`~supplychain.sbom.cyclonedx.Prepared` components -> bytes.

Called by :func:`supplychain.sbom.cyclonedx.render_bom`; field order follows the schema's.
"""

from __future__ import annotations

import json
import json.encoder
from typing import TYPE_CHECKING, Any

from supplychain import __version__

if TYPE_CHECKING:
    from supplychain.sbom.cyclonedx import Document, Prepared

__all__ = ["render_json"]

_JSON_SCHEMA = "http://cyclonedx.org/schema/bom-{v}.schema.json"
_ENC = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
_ESTR = json.encoder.encode_basestring  # what _ENC does for a str, without its Python-level call


class _Raw(str):
    """Text already laid out by :func:`_component_text`; :func:`dump_json` copies it as is."""

    __slots__ = ()


def _contact(name: str | None, email: str | None) -> dict[str, str]:
    d: dict[str, str] = {}
    if name:
        d["name"] = name
    if email:
        d["email"] = email
    return d


def _component_json(c: Prepared, spec: str) -> dict[str, Any]:
    p = c.pkg
    d: dict[str, Any] = {"type": c.ctype, "bom-ref": c.ref}
    if c.supplier:
        d["supplier"] = {"name": c.supplier}
    if spec == "1.6":
        if c.manufacturer:
            d["manufacturer"] = {"name": c.manufacturer}
        if c.authors:
            d["authors"] = [_contact(n, e) for n, e in c.authors]
    elif c.author:
        d["author"] = c.author
    if p.group:
        d["group"] = p.group
    d["name"] = p.name
    if p.version is not None and p.version != "":
        d["version"] = p.version
    if p.description:
        d["description"] = p.description
    if c.scope:
        d["scope"] = c.scope
    if c.hashes:
        d["hashes"] = [{"alg": a, "content": h} for a, h in c.hashes]
    if c.licenses:
        ack = spec == "1.6"
        lics: list[dict[str, Any]] = []
        for kind, value in c.licenses:
            if kind == "expression":
                e: dict[str, Any] = {"expression": value}
                if ack:
                    e["acknowledgement"] = "declared"
                lics.append(e)
            else:
                lic: dict[str, Any] = {kind: value}
                if ack:
                    lic["acknowledgement"] = "declared"
                lics.append({"license": lic})
        d["licenses"] = lics
    if c.cpe:
        d["cpe"] = c.cpe
    if p.purl:
        d["purl"] = p.purl
    if c.extrefs:
        refs: list[dict[str, Any]] = []
        for er in c.extrefs:
            r: dict[str, Any] = {"type": er.type, "url": er.url}
            if er.comment:
                r["comment"] = er.comment
            if er.hashes:
                r["hashes"] = [{"alg": a, "content": h.lower()} for a, h in sorted(er.hashes.items())]
            refs.append(r)
        d["externalReferences"] = refs
    if c.properties:
        d["properties"] = [{"name": n, "value": v} for n, v in c.properties]
    return d


def _component_text(c: Prepared, spec: str) -> _Raw:
    """A component laid out exactly as :func:`dump_json` would (fields one per line, 6-space
    indent, values compact), without its generic walk: components are most of an SBOM."""
    fields = ",\n      ".join(
        f"{_ESTR(k)}: {_ESTR(v) if type(v) is str else _ENC(v)}" for k, v in _component_json(c, spec).items()
    )
    return _Raw("{\n      " + fields + "\n    }")


def render_json(root: Prepared, comps: list[Prepared], doc: Document) -> bytes:
    spec = doc.spec
    meta: dict[str, Any] = {}
    if doc.timestamp:
        meta["timestamp"] = doc.timestamp
    tool = {"name": doc.tool_name, "version": __version__}
    if spec == "1.4":
        meta["tools"] = [tool]
    else:
        meta["tools"] = {"components": [{"type": "application", **tool}]}
    if doc.manufacturer and spec == "1.6":
        meta["manufacturer"] = {"name": doc.manufacturer}
    if doc.authors:
        meta["authors"] = [_contact(n, e) for n, e in doc.authors]
    meta["component"] = _component_text(root, spec)
    if doc.manufacturer and spec != "1.6":
        meta["manufacture"] = {"name": doc.manufacturer}
    if doc.supplier:
        meta["supplier"] = {"name": doc.supplier}
    if doc.properties:
        meta["properties"] = [{"name": n, "value": v} for n, v in doc.properties]
    out: dict[str, Any] = {
        "$schema": _JSON_SCHEMA.format(v=spec),
        "bomFormat": "CycloneDX",
        "specVersion": spec,
    }
    if doc.serial:
        out["serialNumber"] = doc.serial
    out["version"] = 1
    out["metadata"] = meta
    out["components"] = [_component_text(c, spec) for c in comps]
    # laid out as dump_json would, directly (one entry per component)
    out["dependencies"] = [
        _Raw("{\n      \"ref\": " + _ESTR(c.ref)
             + (",\n      \"dependsOn\": " + _ENC(c.deps) if c.deps else "") + "\n    }")
        for c in (root, *comps)
    ]
    return dump_json(out)


def dump_json(doc: dict[str, Any]) -> bytes:
    """Pretty JSON at C-encoder speed.

    ``json.dumps(indent=...)`` falls back to the pure-Python encoder, which is several times
    slower. Here the structure is indented by hand down to each component's fields (one
    field per line), and every field value is encoded compactly by the C encoder.
    """
    enc, estr = _ENC, _ESTR

    def obj(d: dict[str, Any], ind: str, depth: int) -> str:
        if not d:
            return "{}"
        inner = ind + "  "
        lines = [f"{inner}{estr(k)}: {value(v, inner, depth - 1)}" for k, v in d.items()]
        return "{\n" + ",\n".join(lines) + "\n" + ind + "}"

    def value(v: Any, ind: str, depth: int) -> str:
        if type(v) is _Raw:
            return v
        if isinstance(v, str):
            return estr(v)
        if depth > 0 and isinstance(v, dict):
            return obj(v, ind, depth)
        if depth > 0 and isinstance(v, list) and v:
            inner = ind + "  "
            items = [inner + value(x, inner, depth - 1) for x in v]
            return "[\n" + ",\n".join(items) + "\n" + ind + "]"
        return enc(v)

    return (obj(doc, "", 3) + "\n").encode("utf-8")
