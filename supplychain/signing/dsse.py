"""DSSE envelopes and the in-toto statements they carry: the one PAE, the one statement parser.

Every signature format that signs an envelope (Sigstore bundles, cosign ``.att`` layers, OpenSSF
model signatures) verifies over :func:`pae`; every in-toto payload is read by
:func:`parse_statement`, size-capped and shape-checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from supplychain.errors import VerificationError
from supplychain.signing.wire import arr, b64decode_strict, load_untrusted_json, obj, text
from supplychain.vocab import IN_TOTO_PAYLOAD_TYPE

INTOTO_PAYLOAD_TYPE = IN_TOTO_PAYLOAD_TYPE
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
STATEMENT_TYPES = (STATEMENT_V1, STATEMENT_V01)
MAX_STATEMENT = 16 * 1024 * 1024
MAX_SIGNATURES = 16


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 len(type) type len(payload) payload``."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


@dataclass(frozen=True)
class DsseSignature:
    sig: bytes
    keyid: str = ""


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: list[DsseSignature]

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)

    def to_json(self) -> dict[str, Any]:
        import base64

        return {
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "payloadType": self.payload_type,
            "signatures": [{"sig": base64.b64encode(s.sig).decode("ascii"), **({"keyid": s.keyid} if s.keyid else {})}
                           for s in self.signatures],
        }


def parse_envelope(d: Any, where: str = "dsseEnvelope") -> Envelope:
    """An envelope in protobuf-JSON / DSSE JSON form (malformed -> WireFormatError)."""
    d = obj(d, where)
    raw_sigs = arr(d.get("signatures"), where + ".signatures")
    if len(raw_sigs) > MAX_SIGNATURES:
        raise VerificationError(f"{where}: {len(raw_sigs)} signatures (at most {MAX_SIGNATURES} are read)")
    sigs = []
    for i, s in enumerate(raw_sigs):
        s = obj(s, f"{where}.signatures[{i}]")
        keyid = s.get("keyid")
        sigs.append(DsseSignature(sig=b64decode_strict(s.get("sig"), f"{where}.signatures[{i}].sig"),
                                  keyid=keyid if isinstance(keyid, str) else ""))
    return Envelope(payload_type=text(d.get("payloadType"), where + ".payloadType"),
                    payload=b64decode_strict(d.get("payload"), where + ".payload"), signatures=sigs)


@dataclass(frozen=True)
class Statement:
    """A parsed, shape-checked in-toto statement (v1 or v0.1)."""

    type: str
    predicate_type: str
    subjects: list[tuple[str, dict[str, str]]]
    predicate: Any
    raw: bytes
    doc: dict[str, Any]

    @property
    def subject_dicts(self) -> list[dict[str, Any]]:
        return [{"name": n, "digest": dict(d)} for n, d in self.subjects]

    def covers(self, digest: str) -> bool:
        """Does a subject carry ``alg:hex`` (case-insensitive hex)?"""
        algo, _, hexd = digest.partition(":")
        return any(d.get(algo, "").lower() == hexd.lower() for _, d in self.subjects)


def parse_statement(payload: bytes) -> Statement:
    """Parse an in-toto statement from a DSSE payload (untrusted: size-capped, shape-checked)."""
    doc = load_untrusted_json(payload, limit=MAX_STATEMENT, what="in-toto statement",
                              not_json="DSSE payload is not a JSON in-toto statement")
    if not isinstance(doc, dict):
        raise VerificationError("DSSE payload is not an in-toto statement (not a JSON object)")
    typ = doc.get("_type")
    if typ not in STATEMENT_TYPES:
        raise VerificationError(f"DSSE payload is not an in-toto statement (_type {str(typ)[:80]!r})")
    ptype = doc.get("predicateType")
    if not isinstance(ptype, str) or not ptype:
        raise VerificationError("in-toto statement has no predicateType")
    subjects_raw = doc.get("subject")
    if not isinstance(subjects_raw, list) or not subjects_raw:
        raise VerificationError("in-toto statement has no subject")
    subjects: list[tuple[str, dict[str, str]]] = []
    for s in subjects_raw:
        if not isinstance(s, dict) or not isinstance(s.get("digest"), dict):
            raise VerificationError("in-toto statement has a malformed subject list (a subject has no digest)")
        digests = {str(k): v for k, v in s["digest"].items() if isinstance(v, str)}
        name = s.get("name")
        subjects.append((name if isinstance(name, str) else "", digests))
    return Statement(typ, ptype, subjects, doc.get("predicate"), payload, doc)
