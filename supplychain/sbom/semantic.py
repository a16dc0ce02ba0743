"""Checks the CycloneDX schemas cannot express: unique ``bom-ref`` values, and ``dependencies``
that point at something the BOM declares.

The specification requires every ``bom-ref`` to be unique within the BOM and every
``dependencies[].ref`` / ``dependsOn[]`` / ``provides[]`` to reference a component or service of
it; a JSON Schema cannot say either. Locations are JSON pointers (``/components/4/bom-ref``)
for JSON and ``line N`` for XML, like schema errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["SemanticIssue", "check_bytes", "check_json"]

MAX_ISSUES = 1000


@dataclass(frozen=True)
class SemanticIssue:
    location: str
    message: str


def _json_refs(doc: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(pointer to the bom-ref, value) of every component and service, nested ones included."""
    meta = doc.get("metadata")
    stack: list[tuple[str, Any]] = []
    if isinstance(meta, dict) and isinstance(meta.get("component"), dict):
        stack.append(("/metadata/component", meta["component"]))
    for key in ("components", "services"):
        items = doc.get(key)
        if isinstance(items, list):
            stack.extend((f"/{key}/{i}", c) for i, c in reversed(list(enumerate(items))))
    while stack:
        ptr, item = stack.pop()
        if not isinstance(item, dict):
            continue
        if "bom-ref" in item:
            yield ptr + "/bom-ref", item["bom-ref"]
        for key in ("components", "services"):
            nested = item.get(key)
            if isinstance(nested, list):
                stack.extend((f"{ptr}/{key}/{i}", c) for i, c in reversed(list(enumerate(nested))))


def check_json(doc: Any) -> list[SemanticIssue]:
    """Duplicate bom-refs and dangling dependency references of a parsed CycloneDX JSON document."""
    issues: list[SemanticIssue] = []
    if not isinstance(doc, dict):
        return issues
    first: dict[str, str] = {}
    for ptr, ref in _json_refs(doc):
        if not isinstance(ref, str):
            continue
        if ref in first:
            issues.append(SemanticIssue(ptr, f"duplicate bom-ref {ref!r} (first at {first[ref]})"))
        else:
            first[ref] = ptr
    deps = doc.get("dependencies")
    seen_dep: dict[str, str] = {}
    for i, d in enumerate(deps if isinstance(deps, list) else []):
        if not isinstance(d, dict):
            continue
        ref = d.get("ref")
        if isinstance(ref, str):
            if ref not in first:
                issues.append(SemanticIssue(f"/dependencies/{i}/ref", f"{ref!r} is not the bom-ref of any component or service"))
            if ref in seen_dep:
                issues.append(SemanticIssue(f"/dependencies/{i}/ref",
                                            f"{ref!r} has a second dependencies entry (first at {seen_dep[ref]})"))
            else:
                seen_dep[ref] = f"/dependencies/{i}"
        for key in ("dependsOn", "provides"):
            targets = d.get(key)
            for j, t in enumerate(targets if isinstance(targets, list) else []):
                if isinstance(t, str) and t not in first:
                    issues.append(SemanticIssue(f"/dependencies/{i}/{key}/{j}",
                                                f"{t!r} is not the bom-ref of any component or service"))
        if len(issues) >= MAX_ISSUES:
            break
    return issues[:MAX_ISSUES]


def _check_xml(raw: bytes) -> list[SemanticIssue]:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        root = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError:
        return []  # the schema check reports it
    ns = root.tag.split("}", 1)[0] + "}" if root.tag.startswith("{") else ""
    issues: list[SemanticIssue] = []
    first: dict[str, int] = {}
    for el in root.iter(f"{ns}component", f"{ns}service"):
        ref = el.get("bom-ref")
        if ref is None:
            continue
        if ref in first:
            issues.append(SemanticIssue(f"line {el.sourceline}", f"duplicate bom-ref {ref!r} (first at line {first[ref]})"))
        else:
            first[ref] = el.sourceline or 0
    deps = root.find(f"{ns}dependencies")
    seen_dep: dict[str, int] = {}
    for d in deps if deps is not None else []:
        if d.tag != f"{ns}dependency":
            continue
        ref = d.get("ref")
        if ref is not None:
            if ref not in first:
                issues.append(SemanticIssue(f"line {d.sourceline}", f"{ref!r} is not the bom-ref of any component or service"))
            if ref in seen_dep:
                issues.append(SemanticIssue(f"line {d.sourceline}",
                                            f"{ref!r} has a second dependency entry (first at line {seen_dep[ref]})"))
            else:
                seen_dep[ref] = d.sourceline or 0
        for t in d:
            tref = t.get("ref")
            if t.tag in (f"{ns}dependency", f"{ns}provides") and tref is not None and tref not in first:
                issues.append(SemanticIssue(f"line {t.sourceline}", f"{tref!r} is not the bom-ref of any component or service"))
        if len(issues) >= MAX_ISSUES:
            break
    return issues[:MAX_ISSUES]


def check_bytes(raw: bytes, *, source: str = "<bytes>") -> list[SemanticIssue]:
    """The issues of a CycloneDX document (JSON or XML) given as bytes; [] for what is not one."""
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return _check_xml(raw)
    from supplychain.errors import InputError
    from supplychain.fileio import parse_json

    try:
        doc = parse_json(raw, source=source)
    except InputError:
        return []  # the schema check reports it
    return check_json(doc)
