"""Transparency-log (Rekor v1 and v2) entry verification: Merkle inclusion proof, signed
checkpoint, inclusion promise (SET), and consistency of the logged body with the bundle.

Log entry kinds checked against the bundle: hashedrekord 0.0.1 / 0.0.2 (message signatures and,
for Rekor v2, DSSE envelopes), dsse 0.0.1 and intoto 0.0.2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from supplychain.errors import VerificationError
from supplychain.signing.dsse import Envelope
from supplychain.signing.trust import LogKey, TrustedRoot
from supplychain.signing.wire import load_untrusted_json, pem_blocks

MAX_BODY = 32 * 1024 * 1024


@dataclass(frozen=True)
class InclusionProof:
    log_index: int
    root_hash: bytes
    tree_size: int
    hashes: list[bytes]
    checkpoint: str | None


@dataclass(frozen=True)
class TlogEntry:
    """One transparency-log entry as a signature format carries it (bundle, cosign annotation)."""

    log_index: int
    log_id: bytes
    kind: str
    version: str
    integrated_time: int | None
    inclusion_promise: bytes | None
    inclusion_proof: InclusionProof | None
    body: bytes


def _hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(proof: InclusionProof, body: bytes) -> None:
    """RFC 6962 / 9162 inclusion proof of ``body`` against ``proof.root_hash``."""
    index, size = proof.log_index, proof.tree_size
    if size <= 0 or index < 0 or index >= size or size >= 1 << 63:
        raise VerificationError(f"inclusion proof: log index {index} outside tree of size {size}")
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    if len(proof.hashes) != inner + border:
        raise VerificationError(
            f"inclusion proof has {len(proof.hashes)} hashes, expected {inner + border}")
    if any(len(h) != 32 for h in proof.hashes) or len(proof.root_hash) != 32:
        raise VerificationError("inclusion proof: hashes must be 32 bytes")
    node = hashlib.sha256(b"\x00" + body).digest()
    for i, h in enumerate(proof.hashes[:inner]):
        node = _hash_children(node, h) if (index >> i) & 1 == 0 else _hash_children(h, node)
    for h in proof.hashes[inner:]:
        node = _hash_children(h, node)
    if node != proof.root_hash:
        raise VerificationError("inclusion proof does not lead to the root hash: bad inclusion proof")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    note: bytes  # the signed text
    signatures: list[tuple[str, bytes, bytes]]  # (name, key hash, signature)


def parse_checkpoint(text: str) -> Checkpoint:
    """A signed note (C2SP signed-note) holding a log checkpoint (C2SP tlog-checkpoint)."""
    if text.count("\n\n") != 1:
        raise VerificationError("checkpoint: malformed signed note (needs exactly one blank line)")
    body, sigs = text.split("\n\n", 1)
    note = body + "\n"
    lines = body.split("\n")
    if len(lines) < 3 or not lines[0]:
        raise VerificationError("checkpoint: malformed (needs origin, size and root hash lines)")
    if not re.fullmatch(r"[0-9]+", lines[1]):
        raise VerificationError("checkpoint: malformed tree size (origin line missing?)")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("checkpoint: malformed root hash") from exc
    if len(root) != 32:
        raise VerificationError("checkpoint: root hash is not 32 bytes")
    if not sigs or not sigs.endswith("\n"):
        raise VerificationError("checkpoint: signature block missing or not newline-terminated")
    parsed = []
    for line in sigs[:-1].split("\n"):
        m = re.fullmatch("\u2014 (\\S+) (\\S+)", line)
        if not m:
            raise VerificationError("checkpoint: malformed signature line")
        try:
            raw = base64.b64decode(m.group(2), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise VerificationError("checkpoint: signature is not base64") from exc
        if len(raw) < 5:
            raise VerificationError("checkpoint: signature too short")
        parsed.append((m.group(1), raw[:4], raw[4:]))
    if not parsed:
        raise VerificationError("checkpoint: no signatures")
    if len(lines[1]) > 19:
        raise VerificationError("checkpoint: tree size out of range")
    return Checkpoint(origin=lines[0], size=int(lines[1]), root_hash=root, note=note.encode("utf-8"),
                      signatures=parsed)


def verify_checkpoint(proof: InclusionProof, log: LogKey) -> None:
    if not proof.checkpoint:
        raise VerificationError("inclusion proof has no signed checkpoint")
    cp = parse_checkpoint(proof.checkpoint)
    # the note's key name is the log's origin without the Rekor v1 " - <tree id>" suffix
    name = cp.origin.split(" - ", 1)[0]
    ok = False
    for sig_name, key_hash, sig in cp.signatures:
        if sig_name != name or key_hash != log.log_id[:4]:
            continue  # a witness cosignature or another log: not ours to check
        if not log.verify(sig, cp.note):
            raise VerificationError("checkpoint signature is invalid")
        ok = True
        break
    if not ok:
        raise VerificationError(f"checkpoint carries no signature from the log {name!r}")
    if cp.root_hash != proof.root_hash:
        raise VerificationError("checkpoint root hash differs from the inclusion proof's")
    if cp.size != proof.tree_size:
        raise VerificationError("checkpoint tree size differs from the inclusion proof's")


def verify_set(entry: TlogEntry, log: LogKey) -> None:
    """The inclusion promise: the log's signature over (body, integratedTime, logID, logIndex)."""
    assert entry.inclusion_promise is not None and entry.integrated_time is not None
    # RFC 8785 canonical form of this object == sorted keys, no whitespace (ASCII strings, ints)
    payload = json.dumps(
        {"body": base64.b64encode(entry.body).decode(), "integratedTime": entry.integrated_time,
         "logID": entry.log_id.hex(), "logIndex": entry.log_index},
        sort_keys=True, separators=(",", ":"),
    ).encode()
    if not log.verify(entry.inclusion_promise, payload):
        raise VerificationError("inclusion promise (signed entry timestamp) is invalid")


@dataclass(frozen=True)
class EntryResult:
    integrated_time: datetime | None  # set only when bound by a verified inclusion promise


def verify_entry(entry: TlogEntry, trust: TrustedRoot, *, bundle_version: tuple[int, int],
                 has_timestamps: bool) -> EntryResult:
    """Inclusion proof + checkpoint, and/or inclusion promise, of one entry, by a trusted log."""
    log = trust.tlog_for(entry.log_id)
    if log is None:
        raise VerificationError(
            f"log entry {entry.log_index} is from a transparency log not in the trusted root "
            f"(log id {base64.b64encode(entry.log_id).decode()})")
    if entry.inclusion_proof is not None:
        verify_inclusion(entry.inclusion_proof, entry.body)
        verify_checkpoint(entry.inclusion_proof, log)
    elif bundle_version >= (0, 2):
        raise VerificationError(f"log entry {entry.log_index} has no inclusion proof (required in "
                                "bundles v0.2 and later)")
    integrated: datetime | None = None
    if entry.inclusion_promise is not None and entry.integrated_time is not None:
        verify_set(entry, log)
        try:
            integrated = datetime.fromtimestamp(entry.integrated_time, tz=UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise VerificationError(f"log entry {entry.log_index}: integrated time out of range") from exc
        if not log.valid.contains(integrated):
            raise VerificationError(
                f"log entry integrated at {integrated:%Y-%m-%dT%H:%M:%SZ}, outside the validity of "
                f"the log key {log.base_url}")
    elif bundle_version == (0, 1):
        raise VerificationError(f"log entry {entry.log_index} has no inclusion promise "
                                "(required in v0.1 bundles)")
    elif not has_timestamps:
        raise VerificationError(f"log entry {entry.log_index} has neither an inclusion promise nor a "
                                "signed timestamp")
    return EntryResult(integrated)


# ---------------------------------------------------------------- body consistency


def _load_body(entry: TlogEntry) -> dict[str, Any]:
    body = load_untrusted_json(entry.body, limit=MAX_BODY, what="log entry body")
    if not isinstance(body, dict):
        raise VerificationError("log entry body is not a JSON object")
    if body.get("kind") != entry.kind or body.get("apiVersion") != entry.version:
        raise VerificationError("log entry body kind/version differs from the entry's kindVersion")
    spec = body.get("spec")
    if not isinstance(spec, dict):
        raise VerificationError("log entry body has no spec")
    return spec


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise VerificationError("log entry: expected a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("log entry: invalid base64") from exc


def _same_verifier(pem: bytes, cert_der: bytes | None, key_der: bytes | None) -> bool:
    """Does the logged verifier (a PEM certificate or public key) equal the bundle's (same DER)?"""
    blocks = pem_blocks(pem)
    if len(blocks) != 1:
        return False
    label, der = blocks[0]
    if label == "CERTIFICATE":
        return cert_der is not None and der == cert_der
    if label == "PUBLIC KEY":
        return key_der is not None and der == key_der
    return False


def check_message_entry(entry: TlogEntry, *, digest_alg: str, digest: bytes, signature: bytes,
                        cert_der: bytes | None, key_der: bytes | None) -> None:
    """hashedrekord entry must log exactly this artifact digest, signature and signer."""
    try:
        _check_message_entry(entry, digest_alg=digest_alg, digest=digest, signature=signature,
                             cert_der=cert_der, key_der=key_der)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        raise VerificationError(f"log entry {entry.log_index} ({entry.kind} {entry.version}) is malformed") from exc


def _check_message_entry(entry: TlogEntry, *, digest_alg: str, digest: bytes, signature: bytes,
                         cert_der: bytes | None, key_der: bytes | None) -> None:
    spec = _load_body(entry)
    if entry.kind != "hashedrekord":
        raise VerificationError(f"log entry kind {entry.kind} cannot hold a message signature")
    if entry.version == "0.0.1":
        try:
            h = spec["data"]["hash"]
            logged_sig = _b64(spec["signature"]["content"])
            verifier = _b64(spec["signature"]["publicKey"]["content"])
        except (KeyError, TypeError) as exc:
            raise VerificationError("hashedrekord 0.0.1 entry is malformed") from exc
        if h.get("algorithm") != digest_alg or h.get("value") != digest.hex():
            raise VerificationError("transparency log entry logs a different artifact digest")
    elif entry.version == "0.0.2":
        try:
            hr = spec["hashedRekordV002"]
            data = hr["data"]
            logged_sig = _b64(hr["signature"]["content"])
            ver = hr["signature"]["verifier"]
        except (KeyError, TypeError) as exc:
            raise VerificationError("hashedrekord 0.0.2 entry is malformed") from exc
        alg = {"sha256": "SHA2_256", "sha384": "SHA2_384", "sha512": "SHA2_512"}[digest_alg]
        if data.get("algorithm") != alg or _b64(data.get("digest")) != digest:
            raise VerificationError("transparency log entry logs a different artifact digest")
        verifier = _v2_verifier_der(ver)
    else:
        raise VerificationError(f"unsupported hashedrekord version {entry.version}")
    if logged_sig != signature:
        raise VerificationError("transparency log entry logs a different signature")
    if not _matches(verifier, cert_der, key_der):
        raise VerificationError("transparency log entry logs a different certificate or key")


def _v2_verifier_der(ver: Any) -> bytes:
    if not isinstance(ver, dict):
        raise VerificationError("hashedrekord 0.0.2 entry: malformed verifier")
    if isinstance(ver.get("x509Certificate"), dict):
        return b"CERT:" + _b64(ver["x509Certificate"].get("rawBytes"))
    if isinstance(ver.get("publicKey"), dict):
        return b"KEY:" + _b64(ver["publicKey"].get("rawBytes"))
    raise VerificationError("hashedrekord 0.0.2 entry: no certificate or key in verifier")


def _matches(verifier: bytes, cert_der: bytes | None, key_der: bytes | None) -> bool:
    if verifier.startswith(b"CERT:"):
        return cert_der is not None and verifier[5:] == cert_der
    if verifier.startswith(b"KEY:"):
        return key_der is not None and verifier[4:] == key_der
    return _same_verifier(verifier, cert_der, key_der)


def check_dsse_entry(entry: TlogEntry, envelope: Envelope, *, cert_der: bytes | None,
                     key_der: bytes | None, hash_name: str) -> None:
    """dsse 0.0.1, intoto 0.0.2 (Rekor v1) or hashedrekord 0.0.2 over PAE (Rekor v2) entries
    must log this envelope's payload and signature, by this signer."""
    try:
        _check_dsse_entry(entry, envelope, cert_der=cert_der, key_der=key_der, hash_name=hash_name)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        raise VerificationError(f"log entry {entry.log_index} ({entry.kind} {entry.version}) is malformed") from exc


def _check_dsse_entry(entry: TlogEntry, envelope: Envelope, *, cert_der: bytes | None,
                      key_der: bytes | None, hash_name: str) -> None:
    spec = _load_body(entry)
    sig = envelope.signatures[0].sig
    payload_sha256 = hashlib.sha256(envelope.payload).hexdigest()
    kv = (entry.kind, entry.version)
    if kv == ("dsse", "0.0.1"):
        try:
            ph = spec["payloadHash"]
            sigs = spec["signatures"]
        except (KeyError, TypeError) as exc:
            raise VerificationError("dsse 0.0.1 entry is malformed") from exc
        if ph.get("algorithm") != "sha256" or ph.get("value") != payload_sha256:
            raise VerificationError("log entry payload hash does not match the DSSE envelope")
        if not isinstance(sigs, list) or len(sigs) != len(envelope.signatures):
            raise VerificationError("log entry signatures do not match the DSSE envelope")
        for logged, mine in zip(sigs, envelope.signatures, strict=True):
            if not isinstance(logged, dict) or _b64(logged.get("signature")) != mine.sig \
                    or not _matches(_b64(logged.get("verifier")), cert_der, key_der):
                raise VerificationError("log entry signatures do not match the DSSE envelope")
    elif kv == ("intoto", "0.0.2"):
        try:
            content = spec["content"]
            ph = content["payloadHash"]
            env = content["envelope"]
            sigs = env["signatures"]
        except (KeyError, TypeError) as exc:
            raise VerificationError("intoto 0.0.2 entry is malformed") from exc
        if ph.get("algorithm") != "sha256" or ph.get("value") != payload_sha256:
            raise VerificationError("log entry payload hash does not match the DSSE envelope")
        if env.get("payloadType") != envelope.payload_type:
            raise VerificationError("log entry payload type does not match the DSSE envelope")
        if not isinstance(sigs, list) or len(sigs) != len(envelope.signatures):
            raise VerificationError("log entry signatures do not match the DSSE envelope")
        for logged, mine in zip(sigs, envelope.signatures, strict=True):
            if not isinstance(logged, dict):
                raise VerificationError("log entry signatures do not match the DSSE envelope")
            # intoto 0.0.2 stores the signature base64-encoded twice, the key as base64(PEM)
            if _b64(_b64(logged.get("sig")).decode("ascii", "replace")) != mine.sig \
                    or not _matches(_b64(logged.get("publicKey")), cert_der, key_der):
                raise VerificationError("log entry signatures do not match the DSSE envelope")
    elif kv == ("hashedrekord", "0.0.2"):
        try:
            hr = spec["hashedRekordV002"]
            data = hr["data"]
            logged_sig = _b64(hr["signature"]["content"])
            verifier = _v2_verifier_der(hr["signature"]["verifier"])
        except (KeyError, TypeError) as exc:
            raise VerificationError("hashedrekord 0.0.2 entry is malformed") from exc
        alg = {"sha256": "SHA2_256", "sha384": "SHA2_384", "sha512": "SHA2_512"}[hash_name]
        pae_digest = hashlib.new(hash_name, envelope.pae()).digest()
        if data.get("algorithm") != alg or _b64(data.get("digest")) != pae_digest:
            raise VerificationError("transparency log entry is not for this DSSE envelope")
        if logged_sig != sig or not _matches(verifier, cert_der, key_der):
            raise VerificationError("transparency log entry is not for this DSSE envelope's signature")
    else:
        raise VerificationError(f"unsupported log entry type {entry.kind}/{entry.version} for a DSSE bundle")
