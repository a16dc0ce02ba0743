"""Reading CycloneDX JSON documents as untrusted input: the one walk over their components.

Used by ``sbom inspect`` / ``sbom diff`` (:mod:`supplychain.sbom.tools`) and by the deploy gate's
SBOM rules. A field that should be a list or a mapping but is not counts as empty; nesting is
walked without recursion (``components`` inside components), in document order, with a bound on
the number of components visited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from supplychain.errors import InputError

MAX_COMPONENTS = 1_000_000


def iter_components(bom: Any, *, include_metadata: bool = False,
                    limit: int = MAX_COMPONENTS) -> Iterator[dict[str, Any]]:
    """Every component mapping of a CycloneDX JSON document, nested ones included (pre-order).

    ``include_metadata`` yields ``metadata.component`` first (the subject of the SBOM). More than
    ``limit`` components raise :class:`InputError` (a caller never judges part of an SBOM).
    """
    if not isinstance(bom, dict):
        return
    seen = 0
    if include_metadata:
        meta = bom.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("component"), dict):
            seen += 1
            yield meta["component"]
    top = bom.get("components")
    stack: list[Any] = list(reversed(top)) if isinstance(top, list) else []
    while stack:
        comp = stack.pop()
        if not isinstance(comp, dict):
            continue
        if seen >= limit:  # never a silently truncated SBOM: what is past the bound is unchecked
            raise InputError(f"more than {limit:,} components: refusing to read only part of the SBOM")
        seen += 1
        yield comp
        nested = comp.get("components")
        if isinstance(nested, list):
            stack.extend(reversed(nested))


def license_strings(entries: Any) -> list[str]:
    """The licenses of a component's ``licenses`` array: expressions and license ids or names."""
    out: list[str] = []
    if not isinstance(entries, list):
        return out
    for e in entries:
        if not isinstance(e, dict):
            continue
        if isinstance(e.get("expression"), str):
            out.append(e["expression"])
        lic = e.get("license")
        if isinstance(lic, dict):
            value = lic.get("id") or lic.get("name")
            if isinstance(value, str) and value:
                out.append(value)
    return out
