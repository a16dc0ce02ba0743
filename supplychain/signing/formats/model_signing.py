"""OpenSSF model-signing signatures (``model.sig``, ``model_signing`` 0.2-1.x): parse and build.

A signature is a Sigstore bundle (v0.3 media type) whose DSSE envelope carries an in-toto
statement with predicate ``https://model_signing/signature/v1.0``. Its quirks, handled here:

* key signatures carry model_signing's key hint (hex sha256 of the PEM public key); we write it
  too, and accept cosign's form (:meth:`~supplychain.signing.keys.PublicKey.matches_hint`);
* certificate signatures carry an ``x509CertificateChain`` (leaf first) even in v0.3 bundles, and
  no transparency-log entry: they verify against the user's ``--certificate-chain`` anchors;
* model_signing 0.2 signed ``str(bytes)`` inside its PAE by mistake; that encoding is offered
  to the verifier as a legacy alternative (:attr:`SignedMaterial.legacy_signed`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from supplychain.errors import VerificationError
from supplychain.signing.dsse import INTOTO_PAYLOAD_TYPE
from supplychain.signing.formats.bundle import MEDIA_TYPE_V03, parse_bundle
from supplychain.signing.keys import public_key_pem
from supplychain.signing.verifier import SignedMaterial
from supplychain.signing.wire import WireFormatError

PAYLOAD_TYPE = INTOTO_PAYLOAD_TYPE
BUNDLE_MEDIA_TYPE = MEDIA_TYPE_V03


def model_key_hint(public_key: Any) -> str:
    """model_signing's public-key hint: hex SHA-256 of the PEM SubjectPublicKeyInfo."""
    return hashlib.sha256(public_key_pem(public_key)).hexdigest()


def _v02_pae(payload: bytes) -> bytes:
    """The encoding model_signing v0.2 signed by mistake (``str(bytes)`` inside a format string)."""
    return f"DSSEV1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)} {payload!r}".encode()


def parse_model_signature(raw: bytes, *, source: str) -> SignedMaterial:
    """A model signature as verifier input (malformed -> VerificationError naming ``source``)."""
    try:
        m = parse_bundle(raw, source=source, allow_chain=True)
    except WireFormatError as exc:
        raise VerificationError(exc.message, hint="a model signature is a Sigstore bundle with a DSSE "
                                "envelope (model.sig)") from exc
    if m.envelope is None:
        raise VerificationError(f"{source}: not a Sigstore bundle with a DSSE envelope (model signature)")
    m.legacy_signed = (_v02_pae(m.envelope.payload),)
    m.legacy_hash = "sha256" if m.certificate_der is not None else None  # v0.2: sha256 whatever the curve
    return m


def signature_json(payload: bytes, signature: bytes, *, key_hint: str | None = None,
                   chain_der: list[bytes] | None = None) -> bytes:
    """A model signature: a v0.3 bundle with a key hint, or a certificate chain (leaf first)."""
    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode("ascii")

    material: dict[str, Any]
    if chain_der is not None:
        material = {"x509CertificateChain": {"certificates": [{"rawBytes": b64(c)} for c in chain_der]},
                    "tlogEntries": []}
    else:
        material = {"publicKey": {"hint": key_hint or ""}, "tlogEntries": []}
    doc = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": material,
        "dsseEnvelope": {"payload": b64(payload), "payloadType": PAYLOAD_TYPE,
                         "signatures": [{"sig": b64(signature), "keyid": ""}]},
    }
    return json.dumps(doc).encode("utf-8")
