"""The one CycloneDX serializer: ``Package`` records -> CycloneDX 1.4 / 1.5 / 1.6, JSON or XML.

Every SBOM the project writes (Composer projects, container images, directories, ML models)
goes through :func:`render_bom`. This module resolves each record once for the target spec
version (:class:`Prepared`: component type, bom-ref, licenses, hashes, CPEs, authors, edges);
one writer per format serializes them (``cyclonedx_json``, ``cyclonedx_xml``) in one linear
pass (cyclonedx-python-lib's own object model and serializer are quadratic in the number of
components). The tests prove the output valid against the official CycloneDX schemas that
cyclonedx-python-lib ships and through the CycloneDX JavaScript library.

Determinism: components are sorted, ``bom-ref`` values are stable (the purl where there is one,
de-duplicated with a ``#2``, ``#3`` suffix), dependency lists are sorted, and in reproducible
mode there is no serial number and no timestamp (``SOURCE_DATE_EPOCH``, when set, is used as
the timestamp), so two runs over the same input give identical bytes.

Licenses: see :mod:`supplychain.sbom.licenses` (an SPDX id becomes ``license.id``, an SPDX
expression ``expression``, anything else ``license.name``; deprecated ids and Debian short names
are normalised). CPEs: see :mod:`supplychain.sbom.cpe`. Authors: at 1.6 ``authors`` (name and
e-mail) and ``manufacturer``; at 1.4 / 1.5 the ``author`` string and ``metadata.manufacture``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from supplychain.errors import InputError
from supplychain.sbom.cpe import cpe_candidates
from supplychain.sbom.licenses import _schema_dir, classify_license, is_spdx_expression, spdx_id
from supplychain.sbom.package import ExternalRef, Package
from supplychain.vocab import CYCLONEDX_OUTPUT_VERSIONS

__all__ = [
    "SPEC_VERSIONS",
    "BomMetadata",
    "Prepared",
    "_schema_dir",
    "classify_license",
    "is_spdx_expression",
    "render_bom",
    "spdx_id",
]

SPEC_VERSIONS = CYCLONEDX_OUTPUT_VERSIONS
CPE_PROPERTY = "supplychain:cpe23"

# --- what each spec version allows (checked against the schemas in tests) -------------------

_COMPONENT_TYPES_14 = frozenset(
    {"application", "framework", "library", "container", "operating-system", "device", "firmware", "file"}
)
_COMPONENT_TYPES_15 = _COMPONENT_TYPES_14 | {"platform", "device-driver", "machine-learning-model", "data"}
_COMPONENT_TYPES_16 = _COMPONENT_TYPES_15 | {"cryptographic-asset"}
COMPONENT_TYPES = {"1.4": _COMPONENT_TYPES_14, "1.5": _COMPONENT_TYPES_15, "1.6": _COMPONENT_TYPES_16}

_EXTREF_TYPES_14 = frozenset(
    {
        "vcs", "issue-tracker", "website", "advisories", "bom", "mailing-list", "social", "chat",
        "documentation", "support", "distribution", "license", "build-meta", "build-system",
        "release-notes", "other",
    }
)
_EXTREF_TYPES_15 = _EXTREF_TYPES_14 | {
    "distribution-intake", "security-contact", "model-card", "log", "configuration", "evidence",
    "formulation", "attestation", "threat-model", "adversary-model", "risk-assessment",
    "vulnerability-assertion", "exploitability-statement", "pentest-report", "static-analysis-report",
    "dynamic-analysis-report", "runtime-analysis-report", "component-analysis-report",
    "maturity-report", "certification-report", "codified-infrastructure", "quality-metrics", "poam",
}
_EXTREF_TYPES_16 = _EXTREF_TYPES_15 | {
    "source-distribution", "electronic-signature", "digital-signature", "rfc-9116",
}
EXTREF_TYPES = {"1.4": _EXTREF_TYPES_14, "1.5": _EXTREF_TYPES_15, "1.6": _EXTREF_TYPES_16}

HASH_ALGS = frozenset(
    {
        "MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512", "SHA3-256", "SHA3-384", "SHA3-512",
        "BLAKE2b-256", "BLAKE2b-384", "BLAKE2b-512", "BLAKE3",
    }
)
_HASH_RE = re.compile(r"^(?:[a-fA-F0-9]{32}|[a-fA-F0-9]{40}|[a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})$")
_SCOPES = frozenset({"required", "optional", "excluded"})

_XMLNS = "http://cyclonedx.org/schema/bom/"
_JSON_SCHEMA = "http://cyclonedx.org/schema/bom-{v}.schema.json"

def _license_entries(pkg: Package, spec: str) -> list[tuple[str, str]]:
    """The (kind, value) license entries for one package, valid for ``spec``."""
    if pkg.license_expression and pkg.license_expression.strip():
        kind, value = classify_license(pkg.license_expression)
        if kind != "name" or not pkg.licenses:
            return [(kind, value)]
    entries: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for raw in pkg.licenses:
        if not raw or not raw.strip():
            continue
        entry = classify_license(raw)
        if entry not in seen:
            seen.add(entry)
            entries.append(entry)
    if len(entries) > 1 and any(k == "expression" for k, _ in entries):
        # the schemas allow either a list of licenses or exactly one expression (XML in every
        # version, JSON from 1.5): keep every entry, as a name where it cannot be an id.
        entries = [(k if k != "expression" else "name", v) for k, v in entries]
    return entries


# --- helpers --------------------------------------------------------------------------------

_URL_BAD = re.compile(r"[\x00-\x20\x7f<>\"{}|\\^`]")
_URL_HEAD = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*)(.*)$", re.DOTALL)
_PCT_BAD = re.compile(r"%(?![0-9A-Fa-f]{2})")
# a strict subset of IRI references (plain ASCII scheme://host[:port]/path?query#fragment):
# most URLs match it, and then the full RFC 3987 expression need not run (or even be compiled)
_SIMPLE_URL = re.compile(
    r"^[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9.\-_~]+(?::[0-9]*)?"
    r"(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*)?(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?"
    r"(?:#[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?$"
)


@lru_cache(maxsize=65536)
def _clean_url(url: str) -> str:
    """Percent-encode what an IRI reference (RFC 3987, the schema's format) may not contain.

    Spaces, quotes and control characters anywhere; ``[`` ``]`` outside the host (e.g. PHP's
    ``?package_name[]=x``); a ``%`` that starts no escape; a second ``#``. Equivalent URLs.
    """
    url = url.strip()
    if _URL_BAD.search(url):
        url = _URL_BAD.sub(lambda m: f"%{ord(m.group(0)):02X}", url)
    m = _URL_HEAD.match(url)
    head, rest = (m.group(1), m.group(2)) if m else ("", url)
    if "[" in rest or "]" in rest:
        rest = rest.replace("[", "%5B").replace("]", "%5D")
    if rest.count("#") > 1:
        before, _, frag = rest.partition("#")
        rest = before + "#" + frag.replace("#", "%23")
    url = _PCT_BAD.sub("%25", head + rest)
    if not url or _SIMPLE_URL.match(url):
        return url
    from supplychain.sbom.validate import is_iri_reference

    if not is_iri_reference(url):
        from urllib.parse import quote

        url = quote(url, safe="/:?#@!$&'()*+,;=%-._~")
        if not is_iri_reference(url):  # e.g. ":" alone looks like an empty scheme
            url = quote(url, safe="%")
    return url


def _timestamp(reproducible: bool) -> str | None:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip():
        try:
            when = _dt.datetime.fromtimestamp(int(epoch.strip()), tz=_dt.UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise InputError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix timestamp",
                hint="set it to whole seconds since 1970-01-01, e.g. $(git log -1 --format=%ct)",
            ) from exc
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if reproducible:
        return None
    return _dt.datetime.now(tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sort_key(p: Package) -> tuple[str, str, str, str, str, str, str]:
    return (
        p.purl or "",
        p.group or "",
        p.name,
        p.version or "",
        p.location or "",
        p.layer or "",
        p.bom_ref,
    )


_EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)+$")


@lru_cache(maxsize=65536)
def _contact(name: str | None, email: str | None) -> tuple[str | None, str | None]:
    """A (name, e-mail) pair cleaned for ``organizationalContact``: an e-mail the schema's
    ``idn-email`` format rejects is dropped (its text is kept as the name when there is none)."""
    n = " ".join((name or "").split()) or None
    e = (email or "").strip().strip("<>").strip() or None
    if e is not None and not _EMAIL_RE.match(e):
        n = n or e
        e = None
    return n, e


def _contacts(authors: Sequence[tuple[str | None, str | None]]) -> list[tuple[str | None, str | None]]:
    out: list[tuple[str | None, str | None]] = []
    for name, email in authors:
        c = _contact(name, email)
        if (c[0] or c[1]) and c not in out:
            out.append(c)
    return out


def _author_string(contacts: Sequence[tuple[str | None, str | None]]) -> str | None:
    names = [n or e for n, e in contacts if n or e]
    return ", ".join(n for n in names if n) or None


@dataclass
class BomMetadata:
    """Who made the SBOM and the software it describes (``--author`` / ``--manufacturer`` /
    ``--supplier``): ``metadata.authors``, ``metadata.manufacturer`` (1.6; ``manufacture`` before)
    and ``metadata.supplier``; the supplier and manufacturer also go on the root component
    when it names none."""

    authors: list[tuple[str | None, str | None]] = field(default_factory=list)  # (name, email)
    manufacturer: str | None = None
    supplier: str | None = None


class Prepared:
    """One component, with everything resolved for the target spec version."""

    __slots__ = (
        "author", "authors", "cpe", "ctype", "deps", "extrefs", "hashes", "licenses", "manufacturer",
        "pkg", "properties", "ref", "scope", "supplier",
    )

    def __init__(self, pkg: Package, ref: str, spec: str) -> None:
        self.pkg = pkg
        self.ref = ref
        ctype = pkg.type if pkg.type in COMPONENT_TYPES[spec] else ("file" if pkg.type else "library")
        self.ctype = ctype
        self.authors = _contacts(pkg.authors) if pkg.authors else []
        self.author = _author_string(self.authors)
        self.supplier = " ".join(pkg.supplier.split()) if pkg.supplier else None
        self.manufacturer: str | None = None
        self.scope = pkg.scope if pkg.scope in _SCOPES else None
        self.hashes = [
            (alg, pkg.hashes[alg].lower())
            for alg in sorted(pkg.hashes)
            if alg in HASH_ALGS and _HASH_RE.match(pkg.hashes[alg] or "")
        ]
        self.licenses = _license_entries(pkg, spec)
        allowed = EXTREF_TYPES[spec]
        refs: list[ExternalRef] = []
        for er in pkg.external_refs:
            url = _clean_url(er.url or "")
            if not url:
                continue
            if url == er.url and er.type in allowed and not er.hashes:
                refs.append(er)  # nothing to change (the common case): no copy
                continue
            refs.append(
                ExternalRef(
                    type=er.type if er.type in allowed else "other",
                    url=url,
                    comment=er.comment,
                    hashes={a: h for a, h in er.hashes.items() if a in HASH_ALGS and _HASH_RE.match(h or "")},
                )
            )
        self.extrefs = refs
        props = list(pkg.properties)
        cpes = cpe_candidates(
            name=pkg.name, version=pkg.version, purl=pkg.purl, group=pkg.group, component_type=ctype
        )
        self.cpe = cpes[0] if cpes else None
        props.extend((CPE_PROPERTY, c) for c in cpes[1:])
        if pkg.location:
            props.append(("supplychain:package:location", pkg.location))
        if pkg.layer:
            props.append(("supplychain:package:layer", pkg.layer))
        self.properties = props
        self.deps: list[str] = []


def _prepare(
    root: Package, packages: Iterable[Package], spec: str
) -> tuple[Prepared, list[Prepared]]:
    ordered = sorted(packages, key=_sort_key)
    used: set[str] = set()
    by_original: dict[str, str] = {}

    def assign(p: Package) -> str:
        base = p.bom_ref or p.purl or f"{p.group + '/' if p.group else ''}{p.name}@{p.version or ''}"
        ref = base
        n = 1
        while ref in used:
            n += 1
            ref = f"{base}#{n}"
        used.add(ref)
        by_original.setdefault(p.bom_ref or base, ref)
        return ref

    proot = Prepared(root, assign(root), spec)
    comps = [Prepared(p, assign(p), spec) for p in ordered]
    for prep in (proot, *comps):
        deps = {by_original[d] for d in prep.pkg.dependencies if d in by_original}
        deps.discard(prep.ref)
        prep.deps = sorted(deps)
    return proot, comps


@dataclass
class Document:
    """What a writer needs besides the components."""

    spec: str
    serial: str | None
    timestamp: str | None
    tool_name: str
    properties: list[tuple[str, str]]
    authors: list[tuple[str | None, str | None]]
    manufacturer: str | None
    supplier: str | None


# --- public API -------------------------------------------------------------------------------


def render_bom(
    root: Package,
    packages: list[Package],
    *,
    spec_version: str = "1.6",
    fmt: str = "json",
    reproducible: bool = False,
    tool_name: str = "supplychain",
    properties: list[tuple[str, str]] | None = None,
    metadata: BomMetadata | None = None,
) -> bytes:
    """Serialize ``root`` (metadata.component) and ``packages`` (components) as CycloneDX.

    ``Package.dependencies`` hold ``bom_ref`` values; references to packages that are not in
    the BOM are dropped. The dependencies section lists every component and the root.
    ``properties`` become ``metadata.properties``; ``metadata`` names the SBOM's authors,
    the manufacturer and the supplier.
    """
    if spec_version not in SPEC_VERSIONS:
        raise InputError(
            f"CycloneDX spec version {spec_version!r} is not supported",
            hint="use one of " + ", ".join(SPEC_VERSIONS),
        )
    if fmt not in ("json", "xml"):
        raise InputError(f"output format {fmt!r} is not supported", hint="use json or xml")
    meta = metadata or BomMetadata()
    doc = Document(
        spec=spec_version,
        serial=None if reproducible else f"urn:uuid:{uuid.uuid4()}",
        timestamp=_timestamp(reproducible),
        tool_name=tool_name,
        properties=list(properties or []),
        authors=_contacts(meta.authors),
        manufacturer=" ".join(meta.manufacturer.split()) if meta.manufacturer else None,
        supplier=" ".join(meta.supplier.split()) if meta.supplier else None,
    )
    if fmt == "json":
        from supplychain.sbom.cyclonedx_json import render_json as render
    else:
        from supplychain.sbom.cyclonedx_xml import render_xml as render
    with no_gc():
        proot, comps = _prepare(root, packages, spec_version)
        proot.supplier = proot.supplier or doc.supplier
        proot.manufacturer = doc.manufacturer
        return render(proot, comps, doc)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small, acyclic objects.

    Its generational passes over tens of thousands of fresh dicts and lists cost a third of
    the time of a large SBOM and find nothing to free here.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
