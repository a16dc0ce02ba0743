"""Sigstore bundle (protobuf-specs JSON) parsing and construction, without importing sigstore.

The parser is strict about structure (types, base64, media type) and keeps the raw pieces the
verifier needs. It is fast (stdlib json + cryptography's certificate loader) so that offline
verification does not pay sigstore's import cost.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from supplychain.errors import InputError, VerificationError

MEDIA_TYPE_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
MEDIA_TYPE_V02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
MEDIA_TYPE_V03_ALT = "application/vnd.dev.sigstore.bundle+json;version=0.3"
MEDIA_TYPE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_VERSIONS = {MEDIA_TYPE_V01: (0, 1), MEDIA_TYPE_V02: (0, 2), MEDIA_TYPE_V03_ALT: (0, 3),
                   MEDIA_TYPE_V03: (0, 3)}
_MEDIA_RE = re.compile(r"^application/vnd\.dev\.sigstore\.bundle(?:\.v([0-9.]+)\+json|\+json;version=([0-9.]+))$")

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


class BundleFormatError(InputError):
    """A bundle that is not well-formed JSON / protobuf-JSON (exit 2)."""


def b64decode_strict(value: Any, where: str) -> bytes:
    """protobuf-JSON ``bytes``: standard or URL-safe base64, padding optional; nothing else."""
    if not isinstance(value, str):
        raise BundleFormatError(f"{where}: expected a base64 string, got {type(value).__name__}")
    s = value.replace("\n", "").replace("\r", "")  # Go's protojson ignores line breaks too
    if not re.fullmatch(r"[A-Za-z0-9+/\-_]*={0,2}", s):
        raise BundleFormatError(f"{where}: invalid base64")
    s = s.replace("-", "+").replace("_", "/").rstrip("=")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BundleFormatError(f"{where}: invalid base64 ({exc})") from exc


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise BundleFormatError(f"{where}: expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    raise BundleFormatError(f"{where}: expected an integer, got {value!r}")


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BundleFormatError(f"{where}: expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BundleFormatError(f"{where}: expected an array")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BundleFormatError(f"{where}: expected a string")
    return value


@dataclass(frozen=True)
class InclusionProof:
    log_index: int
    root_hash: bytes
    tree_size: int
    hashes: list[bytes]
    checkpoint: str | None


@dataclass(frozen=True)
class TlogEntry:
    log_index: int
    log_id: bytes
    kind: str
    version: str
    integrated_time: int | None
    inclusion_promise: bytes | None
    inclusion_proof: InclusionProof | None
    body: bytes


@dataclass(frozen=True)
class DsseSignature:
    sig: bytes
    keyid: str


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: list[DsseSignature]

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


@dataclass
class ParsedBundle:
    media_type: str
    version: tuple[int, int]
    certificate_der: bytes | None  # leaf (signing) certificate
    public_key_hint: str | None  # key-signed bundle
    tlog_entries: list[TlogEntry]
    rfc3161_timestamps: list[bytes]
    message_digest: tuple[str, bytes] | None  # (algorithm, digest)
    message_signature: bytes | None
    envelope: Envelope | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def signature(self) -> bytes:
        """The signature bytes a timestamp authority countersigned."""
        if self.envelope is not None:
            return self.envelope.signatures[0].sig
        assert self.message_signature is not None
        return self.message_signature


def _parse_entry(e: Any, where: str) -> TlogEntry:
    e = _obj(e, where)
    kv = _obj(e.get("kindVersion"), where + ".kindVersion")
    log_id = b64decode_strict(_obj(e.get("logId"), where + ".logId").get("keyId"), where + ".logId.keyId")
    promise = None
    if e.get("inclusionPromise") is not None:
        ip = _obj(e["inclusionPromise"], where + ".inclusionPromise")
        promise = b64decode_strict(ip.get("signedEntryTimestamp"),
                                   where + ".inclusionPromise.signedEntryTimestamp")
    proof = None
    if e.get("inclusionProof") is not None:
        p = _obj(e["inclusionProof"], where + ".inclusionProof")
        cp = p.get("checkpoint")
        checkpoint = None
        if cp is not None:
            env = _obj(cp, where + ".inclusionProof.checkpoint").get("envelope")
            checkpoint = _str(env, where + ".inclusionProof.checkpoint.envelope") if env else None
        proof = InclusionProof(
            log_index=_int(p.get("logIndex", 0), where + ".inclusionProof.logIndex"),
            root_hash=b64decode_strict(p.get("rootHash"), where + ".inclusionProof.rootHash"),
            tree_size=_int(p.get("treeSize", 0), where + ".inclusionProof.treeSize"),
            hashes=[b64decode_strict(h, where + ".inclusionProof.hashes")
                    for h in _list(p.get("hashes"), where + ".inclusionProof.hashes")],
            checkpoint=checkpoint,
        )
    it = e.get("integratedTime")
    integrated = _int(it, where + ".integratedTime") if it not in (None, "0", 0) else None
    return TlogEntry(
        log_index=_int(e.get("logIndex", 0), where + ".logIndex"),
        log_id=log_id,
        kind=_str(kv.get("kind"), where + ".kindVersion.kind"),
        version=_str(kv.get("version"), where + ".kindVersion.version"),
        integrated_time=integrated,
        inclusion_promise=promise,
        inclusion_proof=proof,
        body=b64decode_strict(e.get("canonicalizedBody"), where + ".canonicalizedBody"),
    )


def parse_envelope(d: Any, where: str = "dsseEnvelope") -> Envelope:
    d = _obj(d, where)
    sigs = [
        DsseSignature(
            sig=b64decode_strict(_obj(s, where + ".signatures").get("sig"), where + ".signatures.sig"),
            keyid=str(s.get("keyid") or ""),
        )
        for s in _list(d.get("signatures"), where + ".signatures")
    ]
    return Envelope(
        payload_type=_str(d.get("payloadType"), where + ".payloadType"),
        payload=b64decode_strict(d.get("payload"), where + ".payload"),
        signatures=sigs,
    )


def load_untrusted_json(raw: bytes, *, limit: int, what: str, not_json: str | None = None) -> Any:
    """Parse a size-capped JSON document from an untrusted source (registry, DSSE payload).

    Too large or not JSON (bad UTF-8, over-long integers, deep nesting) is a VerificationError
    naming ``what``; the caller checks the shape.
    """
    if len(raw) > limit:
        raise VerificationError(f"{what} is too large")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise VerificationError(f"{not_json or what + ' is not JSON'}: {exc}") from exc


def parse_bundle(raw: bytes | str, *, source: str = "bundle") -> ParsedBundle:
    """Parse bundle JSON. Malformed input raises BundleFormatError (exit 2); a well-formed bundle
    in a format we do not support (unknown version, missing certificate) raises VerificationError."""
    if isinstance(raw, bytes) and len(raw) > MAX_BUNDLE_BYTES:
        raise BundleFormatError(f"{source}: bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError, over-long integers
        raise BundleFormatError(f"{source}: not a Sigstore bundle: invalid JSON ({exc})") from exc
    try:
        return _parse(data, source)
    except BundleFormatError as exc:
        raise BundleFormatError(f"{source}: {exc.message}") from exc


def _parse(data: Any, source: str) -> ParsedBundle:
    d = _obj(data, "bundle")
    media_type = d.get("mediaType")
    if not isinstance(media_type, str):
        raise BundleFormatError("bundle: missing mediaType (is this a Sigstore bundle?)")
    version = BUNDLE_VERSIONS.get(media_type)
    if version is None:
        m = _MEDIA_RE.match(media_type)
        what = f"unsupported bundle version {m.group(1) or m.group(2)}" if m else \
            f"unsupported bundle media type {media_type!r}"
        raise VerificationError(f"{source}: {what}",
                                hint="supported: Sigstore bundle v0.1, v0.2, v0.3")
    vm = _obj(d.get("verificationMaterial"), "verificationMaterial")
    cert_der: bytes | None = None
    hint: str | None = None
    if vm.get("certificate") is not None:
        cert_der = b64decode_strict(_obj(vm["certificate"], "verificationMaterial.certificate").get("rawBytes"),
                                    "verificationMaterial.certificate.rawBytes")
    elif vm.get("x509CertificateChain") is not None:
        chain = _list(_obj(vm["x509CertificateChain"], "verificationMaterial.x509CertificateChain")
                      .get("certificates"), "verificationMaterial.x509CertificateChain.certificates")
        if not chain:
            raise VerificationError(f"{source}: bundle has an empty certificate chain")
        cert_der = b64decode_strict(_obj(chain[0], "x509CertificateChain.certificates[0]").get("rawBytes"),
                                    "x509CertificateChain.certificates[0].rawBytes")
    elif vm.get("publicKey") is not None:
        h = _obj(vm["publicKey"], "verificationMaterial.publicKey").get("hint")
        hint = _str(h, "verificationMaterial.publicKey.hint") if h is not None else ""
    else:
        raise VerificationError(f"{source}: bundle has no certificate and no public key hint")
    if version >= (0, 3) and vm.get("x509CertificateChain") is not None:
        raise VerificationError(f"{source}: a v0.3 bundle must carry a single certificate, not a chain")
    entries = [_parse_entry(e, f"verificationMaterial.tlogEntries[{i}]")
               for i, e in enumerate(_list(vm.get("tlogEntries"), "verificationMaterial.tlogEntries"))]
    tsd = vm.get("timestampVerificationData")
    stamps: list[bytes] = []
    if tsd is not None:
        for i, ts in enumerate(_list(_obj(tsd, "timestampVerificationData").get("rfc3161Timestamps"),
                                     "timestampVerificationData.rfc3161Timestamps")):
            stamps.append(b64decode_strict(_obj(ts, "rfc3161Timestamps").get("signedTimestamp"),
                                           f"rfc3161Timestamps[{i}].signedTimestamp"))
    msg_digest = None
    msg_sig = None
    envelope = None
    has_msg = d.get("messageSignature") is not None
    has_env = d.get("dsseEnvelope") is not None
    if has_msg == has_env:
        raise BundleFormatError("bundle must contain exactly one of messageSignature and dsseEnvelope")
    if has_msg:
        ms = _obj(d["messageSignature"], "messageSignature")
        msg_sig = b64decode_strict(ms.get("signature"), "messageSignature.signature")
        if ms.get("messageDigest") is not None:
            md = _obj(ms["messageDigest"], "messageSignature.messageDigest")
            msg_digest = (_str(md.get("algorithm", "SHA2_256"), "messageDigest.algorithm"),
                          b64decode_strict(md.get("digest"), "messageSignature.messageDigest.digest"))
    else:
        envelope = parse_envelope(d["dsseEnvelope"])
        if len(envelope.signatures) != 1:
            raise VerificationError(
                f"{source}: DSSE envelope has {len(envelope.signatures)} signatures; exactly one is supported")
    return ParsedBundle(media_type=media_type, version=version, certificate_der=cert_der,
                        public_key_hint=hint, tlog_entries=entries, rfc3161_timestamps=stamps,
                        message_digest=msg_digest, message_signature=msg_sig, envelope=envelope, raw=d)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def key_bundle_json(*, hint: str, signature: bytes, digest: bytes | None = None,
                    envelope: Envelope | None = None) -> bytes:
    """A v0.3 bundle for a key signature: ``verificationMaterial.publicKey.hint``, no tlog entry.

    Field names and order follow protobuf-specs' JSON mapping (what sigstore-python and cosign
    write), so the bundle round-trips through ``sigstore_models``.
    """
    out: dict[str, Any] = {
        "mediaType": MEDIA_TYPE_V03,
        "verificationMaterial": {"publicKey": {"hint": hint}, "tlogEntries": [],
                                 "timestampVerificationData": {"rfc3161Timestamps": []}},
    }
    if envelope is not None:
        out["dsseEnvelope"] = {
            "payload": _b64(envelope.payload),
            "payloadType": envelope.payload_type,
            "signatures": [{"sig": _b64(s.sig), **({"keyid": s.keyid} if s.keyid else {})}
                           for s in envelope.signatures],
        }
    else:
        assert digest is not None
        out["messageSignature"] = {"messageDigest": {"algorithm": "SHA2_256", "digest": _b64(digest)},
                                   "signature": _b64(signature)}
    return json.dumps(out, separators=(",", ":")).encode("utf-8")
