"""``sbom inspect``: what an SBOM contains, what it lacks, and its NTIA minimum-element coverage.

Licenses are grouped by their SPDX form (deprecated ids and Debian short names normalised, see
:mod:`supplychain.sbom.licenses`); a license that is not SPDX (often a whole license text carried
as a name) is shown by its first line, cut at :data:`NAME_WIDTH` characters, so a row stays
readable whatever the SBOM holds.

NTIA minimum elements (per component unless noted): supplier, name, version, unique identifier
(purl, CPE or SWID), dependency relationship (the component takes part in the dependency
graph: it depends on something or something depends on it), SBOM author (document: authors,
manufacturer or the tool that wrote it) and timestamp (document).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from supplychain.sbom.licenses import is_spdx_expression, normalize_license
from supplychain.sbom.tools import Bom, Component

__all__ = ["NAME_WIDTH", "format_inspect", "inspect_bom", "ntia_coverage", "short"]

NAME_WIDTH = 80


def short(text: str, width: int = NAME_WIDTH) -> str:
    """First non-empty line of ``text``, cut at ``width`` characters (with an ellipsis)."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if len(line) > width:
        return line[: width - 1] + "…"
    return line + " …" if line != text.strip() else line


def _license_key(value: str) -> str:
    norm = normalize_license(value)
    return norm if _is_spdx(norm) else short(value)


def _is_spdx(value: str) -> bool:
    return is_spdx_expression(value)


def _reach(start: list[str], graph: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(graph.get(n, []))
    return seen


def ntia_coverage(bom: Bom) -> dict[str, Any]:
    """Per NTIA minimum element: how many components carry it (and whether the document does)."""
    comps = bom.components
    in_graph: set[str] = set()
    for ref, targets in bom.dependencies.items():
        if targets:
            in_graph.add(ref)
            in_graph.update(targets)

    def count(pred: Any) -> dict[str, int]:
        n = sum(1 for c in comps if pred(c))
        return {"with": n, "without": len(comps) - n}

    def ident(c: Component) -> bool:
        return bool(c.purl or c.cpe or c.properties.get("swid"))

    return {
        "components": len(comps),
        "supplier": count(lambda c: bool(c.supplier)),
        "name": count(lambda c: bool(c.name)),
        "version": count(lambda c: bool(c.version)),
        "identifier": count(ident),
        "dependency": count(lambda c: c.ref in in_graph),
        "author": bool(bom.authors or bom.manufacturer or bom.tools),
        "timestamp": bool(bom.timestamp),
    }


def inspect_bom(bom: Bom, *, limit: int = 50) -> dict[str, Any]:
    """A JSON-ready summary of ``bom``. Lists of names are cut at ``limit`` (counts are exact)."""
    comps = bom.components
    by_type = Counter(c.type for c in comps)
    by_eco = Counter(c.ecosystem for c in comps)
    licenses: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for c in comps:
        if c.licenses:
            keys = {_license_key(lic) for lic in c.licenses}
            for k in keys:
                licenses[k] += 1
            kinds["spdx" if all(_is_spdx(k) for k in keys) else "name"] += 1
        else:
            licenses["(none)"] += 1
            kinds["none"] += 1

    def gap(pred: Any) -> dict[str, Any]:
        names = sorted(short(c.display) for c in comps if pred(c))
        return {"count": len(names), "components": names[:limit]}

    missing = {
        "version": gap(lambda c: not c.version),
        "license": gap(lambda c: not c.licenses),
        "purl": gap(lambda c: not c.purl),
        "hash": gap(lambda c: not c.hashes),
        "supplier": gap(lambda c: not c.supplier),
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
        root = {"name": short(bom.root.display), "type": bom.root.type, "purl": bom.root.purl}
    return {
        "file": bom.source,
        "format": bom.format,
        "specVersion": bom.spec_version,
        "root": root,
        "components": len(comps),
        "byType": dict(sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
        "byEcosystem": dict(sorted(by_eco.items(), key=lambda kv: (-kv[1], kv[0]))),
        "licenses": dict(sorted(licenses.items(), key=lambda kv: (-kv[1], kv[0]))),
        "licenseKinds": {k: kinds.get(k, 0) for k in ("spdx", "name", "none")},
        "missing": missing,
        "dependencies": graph,
        "scope": {"required": len(comps) - dev - optional, "optional": optional, "dev": dev},
        "ntia": ntia_coverage(bom),
    }


def format_inspect(summary: dict[str, Any], *, limit: int = 10) -> str:
    """The summary as aligned text tables (license rows cut at ``2 * limit``)."""
    lines: list[str] = []
    root = summary["root"]
    lines.append(f"SBOM       {summary['file']} (CycloneDX {summary['specVersion']}, {summary['format'].upper()})")
    if root:
        lines.append(f"root       {root['name']} ({root['type']})" + (f"  {root['purl']}" if root["purl"] else ""))
    lines.append(f"components {summary['components']}")

    def table(title: str, rows: list[tuple[str, str]], max_rows: int | None = None) -> None:
        lines.append("")
        lines.append(title)
        if not rows:
            lines.append("  (none)")
            return
        shown = rows if max_rows is None else rows[:max_rows]
        width = min(max(len(r[0]) for r in shown), NAME_WIDTH)
        for k, v in shown:
            lines.append(f"  {short(k).ljust(width)}  {v.rjust(6)}")
        if len(shown) < len(rows):
            rest = sum(int(v) for _, v in rows[len(shown):] if v.isdigit())
            lines.append(f"  ... {len(rows) - len(shown)} more ({rest} uses; --json lists all)")

    table("by type", [(k, str(v)) for k, v in summary["byType"].items()])
    table("by ecosystem", [(k, str(v)) for k, v in summary["byEcosystem"].items()])
    kinds = summary["licenseKinds"]
    table(f"licenses (components: {kinds['spdx']} SPDX, {kinds['name']} with a non-SPDX name, {kinds['none']} none)",
          [(k, str(v)) for k, v in summary["licenses"].items()], max_rows=max(limit, 1) * 2)
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
    n = summary["ntia"]
    total = n["components"]
    lines.append("")
    lines.append("NTIA minimum elements")
    lines.append(f"  {'element'.ljust(24)} {'with'.rjust(7)} {'without'.rjust(8)}")
    for key, label in (("supplier", "supplier"), ("name", "component name"), ("version", "version"),
                       ("identifier", "unique identifier"), ("dependency", "dependency relationship")):
        c = n[key]
        pct = f"{100 * c['with'] / total:.0f}%" if total else "-"
        lines.append(f"  {label.ljust(24)} {str(c['with']).rjust(7)} {str(c['without']).rjust(8)}  {pct}")
    lines.append(f"  {'SBOM author'.ljust(24)} {'yes' if n['author'] else 'no'}")
    lines.append(f"  {'timestamp'.ljust(24)} {'yes' if n['timestamp'] else 'no'}")
    lines.append("")
    lines.append("missing")
    for what, gap in summary["missing"].items():
        names = gap["components"][:limit]
        more = gap["count"] - len(names)
        shown = ", ".join(names) + (f", ... (+{more})" if more > 0 else "")
        lines.append(f"  {what.ljust(8)} {str(gap['count']).rjust(6)}" + (f"  {shown}" if names else ""))
    return "\n".join(lines) + "\n"
