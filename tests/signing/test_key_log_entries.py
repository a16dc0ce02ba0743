"""Key-signed bundles with transparency-log entries made by a log of our own (keys generated here).

A key signature is anchored by the key: its log entry must verify (inclusion proof, checkpoint,
body = this envelope and key) but needs no inclusion promise or timestamp. (sigstore-conformance
`intoto-canonical-log-entry`, one of the cases not in ../shared/external, has this shape.)
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from supplychain.errors import VerificationError
from supplychain.signing.dsse import pae
from supplychain.signing.policy import SignerPolicy
from supplychain.signing.trust import parse_trusted_root
from supplychain.signing.verifier import verify_bundle


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _pem(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _der(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def make(tmp_path: Path, *, tamper_body: bool = False, start: str = "2020-01-01T00:00:00Z") -> dict[str, Any]:
    signer = ec.generate_private_key(ec.SECP256R1())
    log = ec.generate_private_key(ec.SECP256R1())
    log_id = hashlib.sha256(_der(log)).digest()
    statement = {"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://example.com/test",
                 "subject": [{"name": "a.txt", "digest": {"sha256": hashlib.sha256(b"hello\n").hexdigest()}}],
                 "predicate": {}}
    payload = json.dumps(statement).encode()
    sig = signer.sign(pae("application/vnd.in-toto+json", payload), ec.ECDSA(hashes.SHA256()))
    logged_sig = sig if not tamper_body else sig[:-1] + bytes([sig[-1] ^ 1])
    body = json.dumps({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
        "envelope": {"payloadType": "application/vnd.in-toto+json",
                     "signatures": [{"publicKey": _b64(_pem(signer)), "sig": _b64(_b64(logged_sig).encode())}]},
        "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}}}},
        sort_keys=True, separators=(",", ":")).encode()
    root = hashlib.sha256(b"\x00" + body).digest()
    note = f"rekor.test\n1\n{_b64(root)}\n"
    cp_sig = log.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
    checkpoint = note + "\n\u2014 rekor.test " + _b64(log_id[:4] + cp_sig) + "\n"
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "publicKey": {"hint": _b64(hashlib.sha256(_der(signer)).digest())},
            "tlogEntries": [{"logIndex": "0", "logId": {"keyId": _b64(log_id)},
                             "kindVersion": {"kind": "intoto", "version": "0.0.2"}, "integratedTime": "0",
                             "inclusionProof": {"logIndex": "0", "rootHash": _b64(root), "treeSize": "1",
                                                "hashes": [], "checkpoint": {"envelope": checkpoint}},
                             "canonicalizedBody": _b64(body)}]},
        "dsseEnvelope": {"payload": _b64(payload), "payloadType": "application/vnd.in-toto+json",
                         "signatures": [{"sig": _b64(sig), "keyid": ""}]},
    }
    trusted = {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
               "tlogs": [{"baseUrl": "https://rekor.test", "hashAlgorithm": "SHA2_256",
                          "publicKey": {"rawBytes": _b64(_der(log)), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                        "validFor": {"start": start}},
                          "logId": {"keyId": _b64(log_id)}}],
               "certificateAuthorities": [], "ctlogs": [], "timestampAuthorities": []}
    (tmp_path / "key.pub").write_bytes(_pem(signer))
    return {"bundle": json.dumps(bundle).encode(), "root": parse_trusted_root(trusted, source="test root"),
            "key": str(tmp_path / "key.pub")}


def test_key_signature_with_inclusion_proof_only_verifies(tmp_path: Path) -> None:
    m = make(tmp_path)
    v = verify_bundle(m["bundle"], identity=SignerPolicy(key_path=m["key"]), trust=m["root"], artifact=b"hello\n")
    assert v.method == "key" and v.tlog_entries == 1 and v.signed_at is None
    assert "signing time not attested" in v.summary()


def test_key_signature_log_body_must_match(tmp_path: Path) -> None:
    m = make(tmp_path, tamper_body=True)
    with pytest.raises(VerificationError, match="log entry"):
        verify_bundle(m["bundle"], identity=SignerPolicy(key_path=m["key"]), trust=m["root"], artifact=b"hello\n")


def test_key_signature_log_from_an_untrusted_log(tmp_path: Path) -> None:
    m = make(tmp_path)
    other = make(tmp_path / "o" if (tmp_path / "o").mkdir() is None else tmp_path)
    with pytest.raises(VerificationError, match="not in the trusted root"):
        verify_bundle(m["bundle"], identity=SignerPolicy(key_path=m["key"]), trust=other["root"],
                      artifact=b"hello\n")
