"""Logging key signatures to a Rekor v1 transparency log, as ``cosign sign --key`` does by default.

``POST {rekor}/api/v1/log/entries`` with a proposed entry (``hashedrekord`` 0.0.1 for a message
signature, ``dsse`` 0.0.1 for an envelope); the answer (entry body, integrated time, signed entry
timestamp, inclusion proof) becomes the bundle's ``tlogEntries[0]``. The entry is verified before
it is written into a bundle, against the trusted root when one is at hand.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from supplychain.errors import InputError, NetworkError, VerificationError
from supplychain.signing.dsse import Envelope
from supplychain.signing.keys import public_key_pem

PRODUCTION_REKOR = "https://rekor.sigstore.dev"
STAGING_REKOR = "https://rekor.sigstage.dev"
UPLOAD_ENV = "SUPPLYCHAIN_TLOG_UPLOAD"
MAX_RESPONSE = 1 << 20


def upload_default() -> bool:
    """Log key signatures unless $SUPPLYCHAIN_TLOG_UPLOAD says false (air-gapped pipelines, tests)."""
    v = os.environ.get(UPLOAD_ENV, "").strip().lower()
    if v in ("", "1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise InputError(f"${UPLOAD_ENV}={v!r}: expected true or false")


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hashedrekord_entry(*, sha256: bytes, signature: bytes, public_key: Any) -> dict[str, Any]:
    return {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": sha256.hex()}},
        "signature": {"content": _b64(signature), "publicKey": {"content": _b64(public_key_pem(public_key))}}}}


def dsse_entry(*, envelope: Envelope, public_key: Any) -> dict[str, Any]:
    return {"apiVersion": "0.0.1", "kind": "dsse", "spec": {"proposedContent": {
        "envelope": json.dumps(envelope.to_json(), separators=(",", ":")),
        "verifiers": [_b64(public_key_pem(public_key))]}}}


def upload(rekor_url: str, proposed: dict[str, Any]) -> dict[str, Any]:
    """Log ``proposed``; return the bundle form of the new entry (protobuf-specs JSON)."""
    import requests

    url = rekor_url.rstrip("/") + "/api/v1/log/entries"
    try:
        resp = requests.post(url, json=proposed, timeout=(10, 60), headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise NetworkError(f"{rekor_url}: cannot log the signature to Rekor: {type(exc).__name__}",
                           hint="check --rekor-url / network, or sign with --tlog-upload=false") from exc
    if resp.status_code not in (200, 201):
        raise NetworkError(f"{rekor_url}: Rekor refused the entry (HTTP {resp.status_code}): {resp.text[:200]}")
    if len(resp.content) > MAX_RESPONSE:
        raise NetworkError(f"{rekor_url}: Rekor answer too large")
    try:
        doc = resp.json()
        ((_, e),) = doc.items()
        body = e["body"]
        proof = e["verification"]["inclusionProof"]
        kind, version = proposed["kind"], proposed["apiVersion"]
        entry = {
            "logIndex": str(int(e["logIndex"])),
            "logId": {"keyId": _b64(bytes.fromhex(e["logID"]))},
            "kindVersion": {"kind": kind, "version": version},
            "integratedTime": str(int(e["integratedTime"])),
            "inclusionPromise": {"signedEntryTimestamp": e["verification"]["signedEntryTimestamp"]},
            "inclusionProof": {
                "logIndex": str(int(proof["logIndex"])),
                "rootHash": _b64(bytes.fromhex(proof["rootHash"])),
                "treeSize": str(int(proof["treeSize"])),
                "hashes": [_b64(bytes.fromhex(h)) for h in proof.get("hashes") or []],
                "checkpoint": {"envelope": proof["checkpoint"]},
            },
            "canonicalizedBody": body,
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise VerificationError(f"{rekor_url}: unexpected Rekor answer ({exc})") from exc
    return entry
