"""in-toto statements for image attestations: predicate types, building, checking, detaching.

A statement (in-toto Statement v1) names the image by its manifest digest as subject and carries
a predicate (an SBOM, SLSA provenance, ...). It is signed as a DSSE envelope and stored in the
registry by :mod:`supplychain.signing.image`.

Large predicates. Rekor refuses multi-MiB entries, and a DSSE envelope is logged whole. When a
predicate is larger than a threshold (default 1 MiB) it is *detached*: the predicate document is
stored as its own blob (in its own OCI referrer artifact of the image) and the signed statement
carries only a small predicate of type :data:`DETACHED_PREDICATE_TYPE` that binds the document by
sha256 digest, size and media type (an in-toto ResourceDescriptor) and names the real predicate
type. Verification fetches the blob, checks its digest and size against the signed descriptor and
only then hands it out as the predicate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from supplychain.errors import InputError, VerificationError
from supplychain.signing.bundle import load_untrusted_json

STATEMENT_V1 = "https://in-toto.io/Statement/v1"
STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"

PREDICATE_TYPES: dict[str, str] = {
    "cyclonedx": "https://cyclonedx.org/bom",
    "spdx": "https://spdx.dev/Document",
    "spdxjson": "https://spdx.dev/Document",
    "slsaprovenance": "https://slsa.dev/provenance/v1",
    "slsaprovenance1": "https://slsa.dev/provenance/v1",
    "slsaprovenance02": "https://slsa.dev/provenance/v0.2",
    "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
    "openvex": "https://openvex.dev/ns",
    "custom": "https://cosign.sigstore.dev/attestation/v1",
}
# the other spellings a policy or cosign may use for the same predicate
PREDICATE_ALIASES: dict[str, tuple[str, ...]] = {
    "https://cyclonedx.org/bom": ("https://cyclonedx.org/bom/v1.4", "https://cyclonedx.org/bom/v1.5",
                                  "https://cyclonedx.org/bom/v1.6"),
    "https://spdx.dev/Document": ("https://spdx.dev/Document/v2.3",),
}
PREDICATE_MEDIA_TYPES: dict[str, str] = {
    "https://cyclonedx.org/bom": "application/vnd.cyclonedx+json",
    "https://spdx.dev/Document": "application/spdx+json",
}
DETACHED_PREDICATE_TYPE = "https://supplychain.dev/attestation/detached/v1"
DEFAULT_DETACH_THRESHOLD = 1024 * 1024
MAX_STATEMENT = 16 * 1024 * 1024


def predicate_type_for(value: str) -> str:
    """Map ``cyclonedx|spdx|slsaprovenance|...`` or an absolute URI to a predicate type URI."""
    key = value.strip().lower()
    if key in PREDICATE_TYPES:
        return PREDICATE_TYPES[key]
    if "://" in value and not any(c.isspace() for c in value.strip()):
        return value.strip()
    raise InputError(
        f"unknown attestation type {value!r}",
        hint="use cyclonedx, spdx, slsaprovenance, or a predicate type URI such as https://example.com/p/v1",
    )


def same_predicate_type(actual: str, wanted: str) -> bool:
    """True when ``actual`` is ``wanted`` or one of its versioned aliases."""
    if actual == wanted:
        return True
    return actual in PREDICATE_ALIASES.get(wanted, ()) or wanted in PREDICATE_ALIASES.get(actual, ())


def short_type(predicate_type: str) -> str:
    for name, uri in PREDICATE_TYPES.items():
        if same_predicate_type(predicate_type, uri) and name in ("cyclonedx", "spdx", "slsaprovenance",
                                                                 "slsaprovenance02", "vuln", "openvex"):
            return name
    return predicate_type


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


def detached_predicate(*, predicate_type: str, document: bytes, media_type: str, name: str) -> dict[str, Any]:
    """The small predicate that binds a large predicate document stored as a separate blob."""
    return {
        "predicateType": predicate_type,
        "resource": {
            "name": name,
            "digest": {"sha256": hashlib.sha256(document).hexdigest()},
            "mediaType": media_type,
            "size": len(document),
        },
    }


@dataclass(frozen=True)
class Statement:
    """A parsed, shape-checked in-toto statement."""

    type: str
    predicate_type: str
    subjects: list[tuple[str, dict[str, str]]]
    predicate: Any
    raw: bytes

    @property
    def detached(self) -> dict[str, Any] | None:
        """The signed resource descriptor when the predicate is detached, else None."""
        if self.predicate_type != DETACHED_PREDICATE_TYPE:
            return None
        res = self.predicate.get("resource") if isinstance(self.predicate, dict) else None
        if not isinstance(res, dict):
            raise VerificationError("detached predicate has no 'resource' descriptor")
        return res

    @property
    def effective_type(self) -> str:
        """The real predicate type (the inner one for a detached predicate)."""
        if self.predicate_type == DETACHED_PREDICATE_TYPE and isinstance(self.predicate, dict):
            inner = self.predicate.get("predicateType")
            if isinstance(inner, str):
                return inner
        return self.predicate_type

    def covers(self, digest: str) -> bool:
        algo, _, hexd = digest.partition(":")
        return any(d.get(algo) == hexd for _, d in self.subjects)


def parse_statement(payload: bytes) -> Statement:
    """Parse an in-toto statement (v1 or v0.1) from a verified DSSE payload."""
    doc = load_untrusted_json(payload, limit=MAX_STATEMENT, what="in-toto statement",
                              not_json="DSSE payload is not a JSON in-toto statement")
    if not isinstance(doc, dict):
        raise VerificationError("in-toto statement is not a JSON object")
    typ = doc.get("_type")
    if typ not in (STATEMENT_V1, STATEMENT_V01):
        raise VerificationError(f"unsupported in-toto statement type {typ!r}")
    ptype = doc.get("predicateType")
    if not isinstance(ptype, str) or not ptype:
        raise VerificationError("in-toto statement has no predicateType")
    subjects_raw = doc.get("subject")
    if not isinstance(subjects_raw, list) or not subjects_raw:
        raise VerificationError("in-toto statement has no subject")
    subjects: list[tuple[str, dict[str, str]]] = []
    for s in subjects_raw:
        if not isinstance(s, dict) or not isinstance(s.get("digest"), dict):
            raise VerificationError("in-toto statement subject has no digest")
        digests = {str(k): str(v) for k, v in s["digest"].items() if isinstance(v, str)}
        subjects.append((str(s.get("name", "")), digests))
    return Statement(typ, ptype, subjects, doc.get("predicate"), payload)


def check_detached_document(resource: dict[str, Any], document: bytes) -> None:
    """Check a fetched detached predicate document against its signed descriptor."""
    digest = resource.get("digest")
    want = digest.get("sha256") if isinstance(digest, dict) else None
    if not isinstance(want, str):
        raise VerificationError("detached predicate descriptor has no sha256 digest")
    got = hashlib.sha256(document).hexdigest()
    if got != want:
        raise VerificationError(f"detached predicate document has digest sha256:{got}, the signed statement says sha256:{want}")
    size = resource.get("size")
    if isinstance(size, int) and size != len(document):
        raise VerificationError("detached predicate document has a different size than signed")
