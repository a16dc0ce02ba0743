"""VEX: OpenVEX v0.2.0 and CycloneDX VEX documents that say a product is not affected by (or is
fixed for) a vulnerability, applied to scan findings.

* A statement applies to a finding when its vulnerability name or one of its aliases is the
  finding's id or one of the finding's aliases, and one of its products is the component (purl),
  or is the scanned image / root component (by purl or digest) with either no subcomponents or a
  subcomponent that is the component. purls match on type, namespace, name and (when the
  statement gives one) version; qualifiers in the statement must be present on the component.
* Statements are ordered by their timestamp (a statement without one takes its document's), and
  the latest applicable statement decides (OpenVEX: later statements supersede earlier ones).
  ``not_affected`` and ``fixed`` suppress the finding and name the document they came from;
  ``affected`` / ``under_investigation`` keep it.
* Only documents the caller trusts count. ``--vex FILE`` is the user's own statement. VEX from an
  image attestation must be signature-verified first: :func:`vex_from_verified_statements` takes
  in-toto statements that the caller has *already verified* against its signer policy.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from supplychain.errors import InputError
from supplychain.fileio import parse_json, read_bytes
from supplychain.vuln.match import Component, Finding, ScanResult, Suppression

__all__ = ["OPENVEX_CONTEXT", "OPENVEX_PREDICATE", "VexStatement", "apply_vex", "load_vex",
           "parse_vex", "vex_from_verified_statements"]

OPENVEX_CONTEXT = "https://openvex.dev/ns/v0.2.0"
OPENVEX_PREDICATE = "https://openvex.dev/ns/v0.2.0"
_OPENVEX_PREDICATES = {OPENVEX_PREDICATE, "https://openvex.dev/ns", "https://openvex.dev/ns/v0.2.0/"}
MAX_VEX_BYTES = 64 << 20
_STATUSES = {"not_affected", "affected", "fixed", "under_investigation"}
_CDX_STATE = {"not_affected": "not_affected", "false_positive": "not_affected", "resolved": "fixed",
              "resolved_with_pedigree": "fixed", "exploitable": "affected", "in_triage": "under_investigation"}


@dataclass
class VexStatement:
    vulnerabilities: set[str]
    products: list[str]  # purls or digests (or CycloneDX bom-refs)
    subcomponents: list[str]
    status: str
    justification: str | None
    statement: str | None
    timestamp: str
    document: str
    order: int = 0
    refs: set[str] = field(default_factory=set)  # CycloneDX affects[].ref bom-refs


def _ts(value: Any, fallback: str) -> str:
    if isinstance(value, str) and value:
        try:
            t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if t.tzinfo is None:
                t = t.replace(tzinfo=_dt.UTC)
            return t.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        except ValueError:
            pass
    return fallback


def _ids(product: Any) -> list[str]:
    out: list[str] = []
    if isinstance(product, str):
        return [product]
    if not isinstance(product, Mapping):
        return out
    if isinstance(product.get("@id"), str):
        out.append(product["@id"])
    ident = product.get("identifiers")
    if isinstance(ident, Mapping):
        out.extend(v for v in ident.values() if isinstance(v, str))
    hashes = product.get("hashes")
    if isinstance(hashes, Mapping):
        for alg, v in hashes.items():
            if isinstance(v, str):
                out.append(f"{str(alg).replace('-', '').lower()}:{v}")
    return out


def _openvex(doc: Mapping[str, Any], source: str, base: int) -> list[VexStatement]:
    stmts = doc.get("statements")
    if not isinstance(stmts, list):
        raise InputError(f"{source}: OpenVEX document without a 'statements' list")
    doc_ts = _ts(doc.get("timestamp"), "1970-01-01T00:00:00.000000Z")
    out = []
    for i, s in enumerate(stmts):
        where = f"{source}: statements[{i}]"
        if not isinstance(s, Mapping):
            raise InputError(f"{where}: expected an object")
        vuln = s.get("vulnerability")
        names: set[str] = set()
        if isinstance(vuln, Mapping):
            for k in ("name", "@id"):
                if isinstance(vuln.get(k), str):
                    names.add(vuln[k])
            for a in vuln.get("aliases") or []:
                if isinstance(a, str):
                    names.add(a)
        elif isinstance(vuln, str):  # OpenVEX 0.0.x wrote the id as a string
            names.add(vuln)
        if not names:
            raise InputError(f"{where}: no vulnerability name")
        status = s.get("status")
        if status not in _STATUSES:
            raise InputError(f"{where}: status {status!r} is not one of {', '.join(sorted(_STATUSES))}")
        if status == "not_affected" and not (s.get("justification") or s.get("impact_statement")):
            raise InputError(f"{where}: not_affected needs a justification or an impact_statement (OpenVEX)")
        products: list[str] = []
        subs: list[str] = []
        for p in s.get("products") or []:
            products.extend(_ids(p))
            if isinstance(p, Mapping):
                for sc in p.get("subcomponents") or []:
                    subs.extend(_ids(sc))
        if not products:
            raise InputError(f"{where}: no products")
        out.append(VexStatement(
            vulnerabilities=names, products=products, subcomponents=subs, status=str(status),
            justification=s.get("justification") if isinstance(s.get("justification"), str) else None,
            statement=s.get("impact_statement") if isinstance(s.get("impact_statement"), str) else None,
            timestamp=_ts(s.get("timestamp") or s.get("last_updated"), doc_ts), document=source, order=base + i,
        ))
    return out


def _cyclonedx(doc: Mapping[str, Any], source: str, base: int) -> list[VexStatement]:
    vulns = doc.get("vulnerabilities")
    if not isinstance(vulns, list):
        raise InputError(f"{source}: CycloneDX document without a 'vulnerabilities' list (not a VEX)")
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    doc_ts = _ts(meta.get("timestamp"), "1970-01-01T00:00:00.000000Z")
    by_ref: dict[str, str] = {}
    stack = list(doc.get("components") or [])
    while stack:
        c = stack.pop()
        if isinstance(c, Mapping):
            if isinstance(c.get("bom-ref"), str) and isinstance(c.get("purl"), str):
                by_ref[c["bom-ref"]] = c["purl"]
            stack.extend(c.get("components") or [])
    out = []
    for i, v in enumerate(vulns):
        where = f"{source}: vulnerabilities[{i}]"
        if not isinstance(v, Mapping) or not isinstance(v.get("id"), str):
            raise InputError(f"{where}: expected an object with an 'id'")
        analysis = v.get("analysis")
        if not isinstance(analysis, Mapping) or not isinstance(analysis.get("state"), str):
            continue  # a plain vulnerability listing, no VEX statement
        state = _CDX_STATE.get(analysis["state"])
        if state is None:
            raise InputError(f"{where}: analysis.state {analysis['state']!r} is not a CycloneDX state")
        names = {v["id"]}
        for r in v.get("references") or []:
            if isinstance(r, Mapping) and isinstance(r.get("id"), str):
                names.add(r["id"])
        products: list[str] = []
        refs: set[str] = set()
        for a in v.get("affects") or []:
            if isinstance(a, Mapping) and isinstance(a.get("ref"), str):
                ref = a["ref"]
                local = ref.split("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref
                local = unquote(local)
                refs.add(local)
                products.append(by_ref.get(local, local))
        if not products:
            raise InputError(f"{where}: no affects[].ref")
        just = analysis.get("justification")
        out.append(VexStatement(
            vulnerabilities=names, products=products, subcomponents=[], status=state,
            justification=just if isinstance(just, str) else None,
            statement=analysis.get("detail") if isinstance(analysis.get("detail"), str) else None,
            timestamp=_ts(analysis.get("lastUpdated") or analysis.get("firstIssued"), doc_ts),
            document=source, order=base + i, refs=refs,
        ))
    return out


def parse_vex(doc: Any, *, source: str, base: int = 0) -> list[VexStatement]:
    """Statements of one OpenVEX or CycloneDX VEX document (parsed JSON)."""
    if not isinstance(doc, Mapping):
        raise InputError(f"{source}: not a VEX document (expected a JSON object)")
    ctx = doc.get("@context")
    if isinstance(ctx, str) and ctx.startswith("https://openvex.dev/ns"):
        return _openvex(doc, source, base)
    if doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(doc, source, base)
    raise InputError(f"{source}: neither OpenVEX (@context https://openvex.dev/ns/...) nor CycloneDX VEX")


def load_vex(paths: Sequence[str | Path]) -> list[VexStatement]:
    out: list[VexStatement] = []
    for p in paths:
        raw = read_bytes(p, what="VEX document", limit=MAX_VEX_BYTES)
        out.extend(parse_vex(parse_json(raw, source=str(p)), source=str(p), base=len(out)))
    return out


def vex_from_verified_statements(statements: Iterable[Mapping[str, Any]], *, source: str) -> list[VexStatement]:
    """OpenVEX predicates of in-toto statements whose signatures the caller HAS ALREADY VERIFIED
    against its signer policy (the gate). Statements of other predicate types are ignored."""
    out: list[VexStatement] = []
    for i, st in enumerate(statements):
        if not isinstance(st, Mapping) or st.get("predicateType") not in _OPENVEX_PREDICATES:
            continue
        out.extend(parse_vex(st.get("predicate"), source=f"{source} (attestation {i})", base=len(out)))
    return out


# --- matching ---------------------------------------------------------------------------------------


def _purl_parts(text: str) -> tuple[str, str | None, str, str | None, dict[str, str]] | None:
    from packageurl import PackageURL

    if not text.startswith("pkg:"):
        return None
    try:
        p = PackageURL.from_string(text)
    except ValueError:
        return None
    quals = p.qualifiers if isinstance(p.qualifiers, dict) else {}
    ns = p.namespace.lower() if p.namespace and p.type in ("composer", "deb", "apk", "rpm", "oci") else p.namespace
    name = p.name.lower() if p.type in ("composer", "pypi", "oci") else p.name
    return p.type, ns, name, p.version, {k: str(v) for k, v in quals.items()}


def _product_matches(stmt_id: str, ident: str | None) -> bool:
    if not ident:
        return False
    if stmt_id == ident:
        return True
    a, b = _purl_parts(stmt_id), _purl_parts(ident)
    if a is None or b is None:
        return False
    if a[:3] != b[:3]:
        return False
    if a[3] is not None and a[3] != b[3]:
        return False
    return all(b[4].get(k) == v for k, v in a[4].items() if k != "repository_url")


def _applies(s: VexStatement, f: Finding, target_ids: Sequence[str]) -> bool:
    if not (s.vulnerabilities & f.all_ids):
        return False
    c: Component = f.component
    if c.ref in s.refs:
        return True
    for p in s.products:
        if _product_matches(p, c.purl):
            return True  # the statement names the component itself
        if any(_product_matches(p, t) for t in target_ids):
            if not s.subcomponents or any(_product_matches(sc, c.purl) for sc in s.subcomponents):
                return True
    return False


def apply_vex(result: ScanResult, statements: Sequence[VexStatement], *, target_ids: Sequence[str] = ()) -> None:
    """Move findings that a VEX statement suppresses from ``result.findings`` to ``result.suppressed``.

    ``target_ids``: the scanned product's identities (root purl, image digests) for statements
    about the whole image.
    """
    ordered = sorted(statements, key=lambda s: (s.timestamp, s.order))
    keep: list[Finding] = []
    for f in result.findings:
        decision: VexStatement | None = None
        for s in ordered:
            if _applies(s, f, target_ids):
                decision = s  # later statements supersede earlier ones
        if decision is not None and decision.status in ("not_affected", "fixed"):
            f.suppressed_by = Suppression(decision.status, decision.justification, decision.document, decision.statement)
            result.suppressed.append(f)
        else:
            keep.append(f)
    result.findings = keep
