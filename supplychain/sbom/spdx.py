"""CycloneDX -> SPDX 2.3 JSON (``sbom convert --to spdx-json``).

What both formats hold is carried over:

=========================  ==================================================================
CycloneDX                  SPDX 2.3
=========================  ==================================================================
metadata.component         a package the document DESCRIBES
components                 packages (``SPDXRef-Package-<n>``), ``primaryPackagePurpose``
name, group, version       ``name`` (``group/name`` as Composer and npm write it), ``versionInfo``
supplier                   ``supplier``: ``Person:`` when it is one of the authors, else
                           ``Organization:`` (e-mail in parentheses)
authors / author           ``originator`` (first author, ``Person:``)
hashes                     ``checksums`` (SHA-1/256/384/512, SHA3, BLAKE2b, BLAKE3, MD5)
licenses (declared)        ``licenseDeclared``; ``concluded`` ones -> ``licenseConcluded``;
                           names that are not SPDX -> ``LicenseRef-<n>`` with the text in
                           ``hasExtractedLicensingInfos``
purl, cpe (+ candidates)   ``externalRefs`` PACKAGE-MANAGER purl, SECURITY cpe23Type
externalReferences         ``homepage`` (website), ``downloadLocation`` (distribution), other
                           types as OTHER external refs
description                ``description``
dependencies               ``A DEPENDS_ON B``; a component not reachable from the root through
                           them is ``CONTAINS``-ed by the root (it is part of what the SBOM
                           describes), so the document stays one connected graph
metadata.timestamp         ``creationInfo.created`` (the conversion time when absent)
metadata.authors, tools,   ``creationInfo.creators``: ``Person:``, ``Tool:``, ``Organization:``
manufacturer, supplier
=========================  ==================================================================

Not carried (SPDX 2.3 has no place for them): component properties, scope, bom-ref values.
The ``documentNamespace`` is derived from the CycloneDX serial number (or, without one, from a
hash of the input), so converting the same file twice gives the same document.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import uuid
from typing import Any

from supplychain import __version__
from supplychain.sbom.licenses import is_spdx_expression, normalize_license
from supplychain.sbom.tools import Bom, Component

__all__ = ["to_spdx_json"]

_ALGS = {
    "MD5": "MD5", "SHA-1": "SHA1", "SHA-256": "SHA256", "SHA-384": "SHA384", "SHA-512": "SHA512",
    "SHA3-256": "SHA3-256", "SHA3-384": "SHA3-384", "SHA3-512": "SHA3-512", "BLAKE2B-256": "BLAKE2b-256",
    "BLAKE2B-384": "BLAKE2b-384", "BLAKE2B-512": "BLAKE2b-512", "BLAKE3": "BLAKE3",
}
_PURPOSE = {
    "application": "APPLICATION", "framework": "FRAMEWORK", "library": "LIBRARY", "container": "CONTAINER",
    "operating-system": "OPERATING-SYSTEM", "device": "DEVICE", "firmware": "FIRMWARE", "file": "FILE",
}
_DOWNLOAD = re.compile(r"^(?:https?|ftp|git\+(?:https?|ssh|git)|svn\+https?|hg\+https?)://[^\s#]+$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_ID_BAD = re.compile(r"[^A-Za-z0-9.\-]+")
_REF_TYPES = {"vcs": "vcs", "issue-tracker": "issue-tracker", "documentation": "documentation"}


def _who(name: str | None, email: str | None, kind: str) -> str | None:
    text = " ".join((name or "").split())
    if not text and not email:
        return None
    return f"{kind}: {text or email}" + (f" ({email})" if email and text else "")


def _split_contact(text: str) -> tuple[str, str | None]:
    """``Name <mail>`` (Debian maintainers) -> ("Name", "mail")."""
    m = re.match(r"^\s*(.*?)\s*<([^<>@\s]+@[^<>\s]+)>\s*$", text)
    return (m.group(1), m.group(2)) if m else (text, None)


class _Licenses:
    """SPDX license expressions for components, with LicenseRefs for the names that are not SPDX."""

    def __init__(self) -> None:
        self.refs: dict[str, str] = {}

    def ref(self, text: str) -> str:
        if text not in self.refs:
            self.refs[text] = f"LicenseRef-{len(self.refs) + 1}"
        return self.refs[text]

    def expression(self, entries: list[tuple[str, str]]) -> str:
        parts: list[str] = []
        for _kind, value in entries:
            norm = normalize_license(value)  # ids, expressions, deprecated ids, Debian short names
            if not is_spdx_expression(norm):
                norm = self.ref(value)
            parts.append(f"({norm})" if " " in norm and len(entries) > 1 else norm)
        if not parts:
            return "NOASSERTION"
        return " AND ".join(dict.fromkeys(parts))

    def extracted(self) -> list[dict[str, str]]:
        return [{"licenseId": ref, "extractedText": text, "name": text.splitlines()[0][:200] if text.strip() else ref}
                for text, ref in self.refs.items()]


def _package(c: Component, spdx_id: str, lic: _Licenses) -> dict[str, Any]:
    name = f"{c.group}/{c.name}" if c.group and c.purl and c.purl.startswith(("pkg:composer/", "pkg:npm/")) else c.name
    p: dict[str, Any] = {"name": name or c.ref, "SPDXID": spdx_id}
    if c.version:
        p["versionInfo"] = c.version
    author_names = {(n or "").strip() for n, _ in c.authors}
    if c.supplier:
        sname, semail = _split_contact(c.supplier)
        p["supplier"] = _who(sname, semail, "Person" if sname in author_names else "Organization")
    else:
        p["supplier"] = "NOASSERTION"
    if c.authors:
        n, e = c.authors[0]
        p["originator"] = _who(n, e, "Person")
    download = next((u for t, u in c.external_refs if t == "distribution" and _DOWNLOAD.match(u)), None)
    p["downloadLocation"] = download or "NOASSERTION"
    p["filesAnalyzed"] = False
    checksums = []
    for h in c.hashes:
        alg, _, value = h.partition(":")
        spdx_alg = _ALGS.get(alg.upper())
        if spdx_alg and _HEX.match(value):
            checksums.append({"algorithm": spdx_alg, "checksumValue": value.lower()})
    if checksums:
        p["checksums"] = checksums
    home = next((u for t, u in c.external_refs if t == "website"), None)
    if home:
        p["homepage"] = home
    declared = [(k, v) for k, v, ack in c.license_entries if ack != "concluded"]
    concluded = [(k, v) for k, v, ack in c.license_entries if ack == "concluded"]
    p["licenseConcluded"] = lic.expression(concluded) if concluded else "NOASSERTION"
    p["licenseDeclared"] = lic.expression(declared) if declared else "NOASSERTION"
    p["copyrightText"] = "NOASSERTION"
    if c.description:
        p["description"] = c.description
    refs: list[dict[str, str]] = []
    if c.purl:
        refs.append({"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": c.purl})
    for cpe in dict.fromkeys([*([c.cpe] if c.cpe else []), *c.cpes]):
        if cpe.startswith("cpe:2.3:"):
            refs.append({"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": cpe})
    for t, u in c.external_refs:
        if t in _REF_TYPES and " " not in u:
            refs.append({"referenceCategory": "OTHER", "referenceType": _REF_TYPES[t], "referenceLocator": u})
    if refs:
        p["externalRefs"] = refs
    p["primaryPackagePurpose"] = _PURPOSE.get(c.type, "OTHER")
    return p


def _created(timestamp: str | None) -> str:
    """SPDX wants ``YYYY-MM-DDThh:mm:ssZ`` (UTC); SOURCE_DATE_EPOCH or now when the SBOM has none."""
    when = None
    if timestamp:
        try:
            when = _dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            when = None
    if when is None:
        from supplychain.sbom.cyclonedx import _timestamp

        return _timestamp(False) or ""  # SOURCE_DATE_EPOCH when set, else now
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return when.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _namespace(bom: Bom, raw: bytes, name: str) -> str:
    serial = (bom.serial or "").removeprefix("urn:uuid:")
    try:
        ident = str(uuid.UUID(serial))
    except ValueError:
        ident = str(uuid.UUID(hashlib.sha256(raw).hexdigest()[:32]))
    return f"https://supplychain.dev/spdxdocs/{_ID_BAD.sub('-', name).strip('-') or 'sbom'}-{ident}"


def to_spdx_json(bom: Bom, raw: bytes) -> bytes:
    """The SPDX 2.3 JSON document for ``bom`` (``raw`` are its bytes: they seed the namespace)."""
    lic = _Licenses()
    root = bom.root or Component(ref="(root)", type="application", name=bom.source.rsplit("/", 1)[-1])
    ids: dict[str, str] = {}

    def spdx_id(ref: str, n: int) -> str:
        if ref not in ids:
            ids[ref] = f"SPDXRef-Package-{n}"
        return ids[ref]

    packages = [_package(root, spdx_id(root.ref, 0), lic)]
    for i, c in enumerate(bom.components, start=1):
        if c.ref in ids:  # a duplicate bom-ref: keep the first (sbom validate reports it)
            continue
        packages.append(_package(c, spdx_id(c.ref, i), lic))
    rels: list[dict[str, str]] = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": ids[root.ref]}
    ]
    graph: dict[str, list[str]] = {}
    for src, targets in sorted(bom.dependencies.items()):
        for dst in dict.fromkeys(targets):
            if src in ids and dst in ids and src != dst:
                graph.setdefault(src, []).append(dst)
                rels.append({"spdxElementId": ids[src], "relationshipType": "DEPENDS_ON", "relatedSpdxElement": ids[dst]})
    reached: set[str] = set()
    stack = [root.ref]
    while stack:
        n = stack.pop()
        if n not in reached:
            reached.add(n)
            stack.extend(graph.get(n, []))
    for c in bom.components:
        if c.ref not in reached and c.ref in ids:
            reached.add(c.ref)
            rels.append({"spdxElementId": ids[root.ref], "relationshipType": "CONTAINS", "relatedSpdxElement": ids[c.ref]})
    creators = [f"Tool: supplychain-{__version__}"]
    for t in bom.tools:
        if not t.startswith("supplychain "):
            creators.append("Tool: " + t.replace(" ", "-"))
    creators += [w for n, e in bom.authors if (w := _who(n, e, "Person"))]
    for org in (bom.manufacturer, bom.supplier):
        if org and (w := _who(org, None, "Organization")) and w not in creators:
            creators.append(w)
    created = _created(bom.timestamp)
    doc: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": packages[0]["name"],
        "documentNamespace": _namespace(bom, raw, packages[0]["name"]),
        "creationInfo": {"created": created, "creators": creators,
                         "comment": f"converted from CycloneDX {bom.spec_version} ({bom.format.upper()})"},
        "packages": packages,
        "relationships": rels,
    }
    if lic.refs:
        doc["hasExtractedLicensingInfos"] = lic.extracted()
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
