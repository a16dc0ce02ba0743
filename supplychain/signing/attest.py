"""Attestations: cosign's predicate type names, statements about an image, large predicates by reference.

A statement (in-toto Statement v1, parsed by :mod:`supplychain.signing.dsse`) names the image by
its manifest digest as subject and carries a predicate (an SBOM, SLSA provenance, ...). It is signed
as a DSSE envelope and stored in the registry by :mod:`supplychain.signing.image`.

Large predicates. Rekor refuses multi-MiB entries, and a DSSE envelope is logged whole. A predicate
larger than a threshold (default 1 MiB) is stored as its own blob next to the image and the signed
statement is an in-toto **Reference** attestation (``https://in-toto.io/attestation/reference/v0.1``)
whose ResourceDescriptor names the document by sha256 digest, size, media type and download
location. Verification fetches the blob, checks digest and size against the signed descriptor and
only then hands it out as the predicate of the type its media type names. A consumer that does not
follow references finds no attestation of the SBOM's type and fails closed. (Our earlier private
type ``https://supplychain.dev/attestation/detached/v1`` is still read.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from supplychain.errors import InputError, VerificationError
from supplychain.signing.dsse import INTOTO_PAYLOAD_TYPE, MAX_STATEMENT, STATEMENT_V1, Statement

IN_TOTO_PAYLOAD_TYPE = INTOTO_PAYLOAD_TYPE

# cosign's --type names (cosign/pkg/cosign/attestation: CosignPredicateType and friends)
PREDICATE_TYPES: dict[str, str] = {
    "slsaprovenance": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance02": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance1": "https://slsa.dev/provenance/v1",
    "link": "https://in-toto.io/Link/v1",
    "spdx": "https://spdx.dev/Document",
    "spdxjson": "https://spdx.dev/Document",
    "cyclonedx": "https://cyclonedx.org/bom",
    "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
    "openvex": "https://openvex.dev/ns",
    "custom": "https://cosign.sigstore.dev/attestation/v1",
}
# the other spellings a policy or cosign may use for the same predicate
PREDICATE_ALIASES: dict[str, tuple[str, ...]] = {
    "https://cyclonedx.org/bom": ("https://cyclonedx.org/bom/v1.4", "https://cyclonedx.org/bom/v1.5",
                                  "https://cyclonedx.org/bom/v1.6"),
    "https://spdx.dev/Document": ("https://spdx.dev/Document/v2.3",),
    "https://openvex.dev/ns": ("https://openvex.dev/ns/v0.2.0",),
}
PREDICATE_MEDIA_TYPES: dict[str, str] = {
    "https://cyclonedx.org/bom": "application/vnd.cyclonedx+json",
    "https://spdx.dev/Document": "application/spdx+json",
}
REFERENCE_PREDICATE_TYPE = "https://in-toto.io/attestation/reference/v0.1"
ATTESTER_ID = "https://supplychain.dev/attest/v1"
DETACHED_PREDICATE_TYPE = "https://supplychain.dev/attestation/detached/v1"  # read only (older releases)
DEFAULT_DETACH_THRESHOLD = 1024 * 1024
MAX_REFERENCED = 1 << 30


def predicate_type_for(value: str) -> str:
    """Map ``cyclonedx|spdx|slsaprovenance|...`` or an absolute URI to a predicate type URI."""
    key = value.strip().lower()
    if key in PREDICATE_TYPES:
        return PREDICATE_TYPES[key]
    if "://" in value and not any(c.isspace() for c in value.strip()):
        return value.strip()
    raise InputError(
        f"unknown attestation type {value!r}",
        hint="use " + ", ".join(PREDICATE_TYPES) + ", or a predicate type URI such as https://example.com/p/v1",
    )


def same_predicate_type(actual: str, wanted: str) -> bool:
    """True when ``actual`` is ``wanted`` or one of its versioned aliases."""
    if actual == wanted:
        return True
    return actual in PREDICATE_ALIASES.get(wanted, ()) or wanted in PREDICATE_ALIASES.get(actual, ())


def short_type(predicate_type: str) -> str:
    for name, uri in PREDICATE_TYPES.items():
        if same_predicate_type(predicate_type, uri) and name in ("cyclonedx", "spdx", "slsaprovenance",
                                                                 "slsaprovenance1", "link", "vuln", "openvex"):
            return name
    return predicate_type


def _has(doc: dict[str, Any], *keys: str) -> bool:
    return all(k in doc for k in keys)


# what each cosign type name's predicate must look like (a cheap shape check, not a schema)
_KINDS: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "https://cyclonedx.org/bom": ("a CycloneDX JSON SBOM (bomFormat \"CycloneDX\")",
                                  lambda d: d.get("bomFormat") == "CycloneDX"),
    "https://spdx.dev/Document": ("an SPDX JSON document (spdxVersion \"SPDX-2.x\", or SPDX 3 JSON-LD)",
                                  lambda d: str(d.get("spdxVersion", "")).startswith("SPDX-")
                                  or "spdx" in str(d.get("@context", "")).lower()),
    "https://slsa.dev/provenance/v0.2": ("SLSA provenance v0.2 (builder.id and buildType)",
                                         lambda d: isinstance(d.get("builder"), dict) and "id" in d["builder"]
                                         and isinstance(d.get("buildType"), str)),
    "https://slsa.dev/provenance/v1": ("SLSA provenance v1 (buildDefinition and runDetails)",
                                       lambda d: isinstance(d.get("buildDefinition"), dict)
                                       and isinstance(d.get("runDetails"), dict)),
    "https://openvex.dev/ns": ("an OpenVEX document (@context https://openvex.dev/ns..., statements)",
                               lambda d: str(d.get("@context", "")).startswith("https://openvex.dev/ns")
                               and isinstance(d.get("statements"), list)),
    "https://cosign.sigstore.dev/attestation/vuln/v1": ("a cosign vuln predicate (scanner)",
                                                        lambda d: isinstance(d.get("scanner"), dict)),
    "https://in-toto.io/Link/v1": ("an in-toto link predicate (name)", lambda d: isinstance(d.get("name"), str)),
}


def check_predicate_kind(predicate_type: str, doc: dict[str, Any], *, source: str) -> None:
    """``--type T`` must be given a predicate of kind T (custom types and URIs are not checked)."""
    kind = _KINDS.get(predicate_type)
    if kind is not None and not kind[1](doc):
        name = short_type(predicate_type)
        raise InputError(f"{source}: --type {name} needs {kind[0]}; this predicate is not one",
                         hint="pass the matching --type (cosign's names), or a predicate type URI")


def build_statement(
    *, subject_name: str, digest: str, predicate_type: str, predicate: Any
) -> dict[str, Any]:
    algo, _, hexd = digest.partition(":")
    return {
        "_type": STATEMENT_V1,
        "subject": [{"name": subject_name, "digest": {algo: hexd}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def reference_predicate(*, document: bytes, media_type: str, name: str, download_location: str,
                        predicate_type: str | None = None) -> dict[str, Any]:
    """An in-toto Reference predicate naming one document (a ResourceDescriptor; its annotation
    ``predicateType`` says what kind of predicate the document is)."""
    return {
        "attester": {"id": ATTESTER_ID},
        "references": [{
            "name": name,
            "downloadLocation": download_location,
            "digest": {"sha256": hashlib.sha256(document).hexdigest()},
            "mediaType": media_type,
            "size": len(document),
            **({"annotations": {"predicateType": predicate_type}} if predicate_type else {}),
        }],
    }


def _type_for_media(media_type: Any) -> str | None:
    for ptype, media in PREDICATE_MEDIA_TYPES.items():
        if media == media_type:
            return ptype
    return None


def _reference(statement: Statement) -> tuple[dict[str, Any], str] | None:
    """(resource descriptor, predicate type it stands for) of a reference / detached statement."""
    pred = statement.predicate if isinstance(statement.predicate, dict) else {}
    if statement.predicate_type == REFERENCE_PREDICATE_TYPE:
        refs = pred.get("references")
        if not isinstance(refs, list) or len(refs) != 1 or not isinstance(refs[0], dict):
            raise VerificationError("reference attestation must name exactly one document")
        ann = refs[0].get("annotations")
        named = ann.get("predicateType") if isinstance(ann, dict) else None
        ptype = named if isinstance(named, str) and named else _type_for_media(refs[0].get("mediaType"))
        return refs[0], ptype or REFERENCE_PREDICATE_TYPE
    if statement.predicate_type == DETACHED_PREDICATE_TYPE:
        res = pred.get("resource")
        inner = pred.get("predicateType")
        if not isinstance(res, dict) or not isinstance(inner, str):
            raise VerificationError("detached predicate has no 'resource' descriptor")
        return res, inner
    return None


def effective_type(statement: Statement) -> str:
    """The predicate type a statement stands for (the referenced document's, for a reference)."""
    try:
        ref = _reference(statement)
    except VerificationError:
        return statement.predicate_type
    return ref[1] if ref else statement.predicate_type


def in_band(statement: Statement) -> bool:
    """Does the statement carry its predicate itself (not a reference to a document)? Raises
    VerificationError for a malformed reference, as :func:`resolve_predicate` does."""
    return _reference(statement) is None


def render_predicate(predicate: Any) -> bytes:
    """An in-band predicate as a document (JSON, indented): what :func:`resolve_predicate` returns."""
    import json

    return json.dumps(predicate, indent=2).encode() + b"\n"


def resolve_predicate(statement: Statement, fetch: Callable[[str, int], bytes]) -> bytes:
    """The verified predicate document: in-band, or fetched by ``fetch(digest, limit)`` and checked
    against the signed descriptor (digest and size)."""
    ref = _reference(statement)
    if ref is None:
        return render_predicate(statement.predicate)
    resource = ref[0]
    digest = resource.get("digest")
    want = digest.get("sha256") if isinstance(digest, dict) else None
    if not isinstance(want, str) or len(want) != 64 or any(c not in "0123456789abcdef" for c in want):
        raise VerificationError("referenced document has no sha256 digest")
    size = resource.get("size")
    limit = size if isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= MAX_REFERENCED \
        else MAX_STATEMENT
    document = fetch("sha256:" + want, limit)
    check_referenced_document(resource, document)
    return document


def check_referenced_document(resource: dict[str, Any], document: bytes) -> None:
    """Check a fetched document against its signed descriptor."""
    digest = resource.get("digest")
    want = digest.get("sha256") if isinstance(digest, dict) else None
    if not isinstance(want, str):
        raise VerificationError("referenced document descriptor has no sha256 digest")
    got = hashlib.sha256(document).hexdigest()
    if got != want:
        raise VerificationError(f"referenced document has digest sha256:{got}, the signed statement says "
                                f"sha256:{want}")
    size = resource.get("size")
    if isinstance(size, int) and size != len(document):
        raise VerificationError("referenced document has a different size than signed")


check_detached_document = check_referenced_document
