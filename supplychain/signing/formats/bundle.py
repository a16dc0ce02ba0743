"""Sigstore bundles (protobuf-specs JSON): parse into :class:`SignedMaterial`, build key-signed ones.

Strict about structure (types, base64, media type) and fast (stdlib json): offline verification
does not pay sigstore's import cost.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from supplychain.errors import VerificationError
from supplychain.signing.dsse import INTOTO_PAYLOAD_TYPE, Envelope, parse_envelope
from supplychain.signing.tlog import InclusionProof, TlogEntry
from supplychain.signing.verifier import SignedMaterial
from supplychain.signing.wire import WireFormatError, arr, b64decode_strict, integer, obj, text

__all__ = ["INTOTO_PAYLOAD_TYPE", "MAX_BUNDLE_BYTES", "MEDIA_TYPE_V03", "BundleFormatError", "b64decode_strict",
           "key_bundle_json", "parse_bundle"]

MEDIA_TYPE_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
MEDIA_TYPE_V02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
MEDIA_TYPE_V03_ALT = "application/vnd.dev.sigstore.bundle+json;version=0.3"
MEDIA_TYPE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_VERSIONS = {MEDIA_TYPE_V01: (0, 1), MEDIA_TYPE_V02: (0, 2), MEDIA_TYPE_V03_ALT: (0, 3),
                   MEDIA_TYPE_V03: (0, 3)}
_MEDIA_RE = re.compile(r"^application/vnd\.dev\.sigstore\.bundle(?:\.v([0-9.]+)\+json|\+json;version=([0-9.]+))$")
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 32
MAX_CHAIN = 10

BundleFormatError = WireFormatError  # a bundle that is not well-formed JSON / protobuf-JSON (exit 2)


def _parse_entry(e: Any, where: str) -> TlogEntry:
    e = obj(e, where)
    kv = obj(e.get("kindVersion"), where + ".kindVersion")
    log_id = b64decode_strict(obj(e.get("logId"), where + ".logId").get("keyId"), where + ".logId.keyId")
    promise = None
    if e.get("inclusionPromise") is not None:
        ip = obj(e["inclusionPromise"], where + ".inclusionPromise")
        promise = b64decode_strict(ip.get("signedEntryTimestamp"), where + ".inclusionPromise.signedEntryTimestamp")
    proof = None
    if e.get("inclusionProof") is not None:
        p = obj(e["inclusionProof"], where + ".inclusionProof")
        cp = p.get("checkpoint")
        checkpoint = None
        if cp is not None:
            env = obj(cp, where + ".inclusionProof.checkpoint").get("envelope")
            checkpoint = text(env, where + ".inclusionProof.checkpoint.envelope") if env else None
        hashes = arr(p.get("hashes"), where + ".inclusionProof.hashes")
        if len(hashes) > 64:
            raise VerificationError(f"{where}.inclusionProof: {len(hashes)} hashes (a proof has at most 64)")
        proof = InclusionProof(
            log_index=integer(p.get("logIndex", 0), where + ".inclusionProof.logIndex"),
            root_hash=b64decode_strict(p.get("rootHash"), where + ".inclusionProof.rootHash"),
            tree_size=integer(p.get("treeSize", 0), where + ".inclusionProof.treeSize"),
            hashes=[b64decode_strict(h, where + ".inclusionProof.hashes") for h in hashes],
            checkpoint=checkpoint,
        )
    it = e.get("integratedTime")
    integrated = integer(it, where + ".integratedTime") if it not in (None, "0", 0) else None
    return TlogEntry(
        log_index=integer(e.get("logIndex", 0), where + ".logIndex"),
        log_id=log_id,
        kind=text(kv.get("kind"), where + ".kindVersion.kind"),
        version=text(kv.get("version"), where + ".kindVersion.version"),
        integrated_time=integrated,
        inclusion_promise=promise,
        inclusion_proof=proof,
        body=b64decode_strict(e.get("canonicalizedBody"), where + ".canonicalizedBody"),
    )


def parse_bundle(raw: bytes | str, *, source: str = "bundle", allow_chain: bool = False) -> SignedMaterial:
    """Parse bundle JSON. Malformed input raises BundleFormatError (exit 2); a well-formed bundle
    in a format we do not support (unknown version, no certificate) raises VerificationError."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleFormatError(f"{source}: bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError, over-long integers
        raise BundleFormatError(f"{source}: not a Sigstore bundle: invalid JSON ({exc})") from exc
    try:
        return _parse(data, source, allow_chain)
    except BundleFormatError as exc:
        raise BundleFormatError(f"{source}: {exc.message}") from exc


def _parse(data: Any, source: str, allow_chain: bool) -> SignedMaterial:
    d = obj(data, "bundle")
    media_type = d.get("mediaType")
    if not isinstance(media_type, str):
        raise BundleFormatError("bundle: missing mediaType (is this a Sigstore bundle?)")
    version = BUNDLE_VERSIONS.get(media_type)
    if version is None:
        m = _MEDIA_RE.match(media_type)
        what = f"unsupported bundle version {m.group(1) or m.group(2)}" if m else \
            f"unsupported bundle media type {media_type[:100]!r}"
        raise VerificationError(f"{source}: {what}", hint="supported: Sigstore bundle v0.1, v0.2, v0.3")
    vm = obj(d.get("verificationMaterial"), "verificationMaterial")
    out = SignedMaterial(source=source, version=version, media_type=media_type)
    if vm.get("certificate") is not None:
        out.certificate_der = b64decode_strict(obj(vm["certificate"], "verificationMaterial.certificate")
                                               .get("rawBytes"), "verificationMaterial.certificate.rawBytes")
    elif vm.get("x509CertificateChain") is not None:
        chain = arr(obj(vm["x509CertificateChain"], "verificationMaterial.x509CertificateChain")
                    .get("certificates"), "verificationMaterial.x509CertificateChain.certificates")
        if not chain:
            raise VerificationError(f"{source}: bundle has an empty certificate chain")
        if len(chain) > MAX_CHAIN:
            raise VerificationError(f"{source}: certificate chain of {len(chain)} certificates (at most {MAX_CHAIN})")
        ders = [b64decode_strict(obj(c, f"x509CertificateChain.certificates[{i}]").get("rawBytes"),
                                 f"x509CertificateChain.certificates[{i}].rawBytes") for i, c in enumerate(chain)]
        out.certificate_der, out.chain_der = ders[0], ders[1:]
    elif vm.get("publicKey") is not None:
        h = obj(vm["publicKey"], "verificationMaterial.publicKey").get("hint")
        out.public_key_hint = text(h, "verificationMaterial.publicKey.hint") if h is not None else ""
    else:
        raise VerificationError(f"{source}: bundle has no certificate and no public key hint")
    if version >= (0, 3) and vm.get("x509CertificateChain") is not None and not allow_chain:
        raise VerificationError(f"{source}: a v0.3 bundle must carry a single certificate, not a chain")
    entries = arr(vm.get("tlogEntries"), "verificationMaterial.tlogEntries")
    if len(entries) > MAX_ENTRIES:
        raise VerificationError(f"{source}: {len(entries)} log entries (at most {MAX_ENTRIES})")
    out.tlog_entries = [_parse_entry(e, f"verificationMaterial.tlogEntries[{i}]") for i, e in enumerate(entries)]
    tsd = vm.get("timestampVerificationData")
    if tsd is not None:
        for i, ts in enumerate(arr(obj(tsd, "timestampVerificationData").get("rfc3161Timestamps"),
                                   "timestampVerificationData.rfc3161Timestamps")):
            out.rfc3161_timestamps.append(b64decode_strict(obj(ts, "rfc3161Timestamps").get("signedTimestamp"),
                                                           f"rfc3161Timestamps[{i}].signedTimestamp"))
    has_msg = d.get("messageSignature") is not None
    has_env = d.get("dsseEnvelope") is not None
    if has_msg == has_env:
        raise BundleFormatError("bundle must contain exactly one of messageSignature and dsseEnvelope")
    if has_msg:
        ms = obj(d["messageSignature"], "messageSignature")
        out.message_signature = b64decode_strict(ms.get("signature"), "messageSignature.signature")
        if ms.get("messageDigest") is not None:
            md = obj(ms["messageDigest"], "messageSignature.messageDigest")
            out.message_digest = (text(md.get("algorithm", "SHA2_256"), "messageDigest.algorithm"),
                                  b64decode_strict(md.get("digest"), "messageSignature.messageDigest.digest"))
    else:
        out.envelope = parse_envelope(d["dsseEnvelope"])
        if len(out.envelope.signatures) != 1:
            raise VerificationError(
                f"{source}: DSSE envelope has {len(out.envelope.signatures)} signatures; exactly one is supported")
    return out


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def key_bundle_json(*, hint: str, signature: bytes, digest: bytes | None = None,
                    envelope: Envelope | None = None, tlog_entries: list[dict[str, Any]] | None = None) -> bytes:
    """A v0.3 bundle for a key signature: ``verificationMaterial.publicKey.hint`` and the
    transparency-log entries it was logged with (none with ``--tlog-upload=false``).

    Field names and order follow protobuf-specs' JSON mapping (what sigstore-python and cosign
    write), so the bundle round-trips through ``sigstore_models``.
    """
    out: dict[str, Any] = {
        "mediaType": MEDIA_TYPE_V03,
        "verificationMaterial": {"publicKey": {"hint": hint}, "tlogEntries": tlog_entries or [],
                                 "timestampVerificationData": {"rfc3161Timestamps": []}},
    }
    if envelope is not None:
        out["dsseEnvelope"] = envelope.to_json()
    else:
        assert digest is not None
        out["messageSignature"] = {"messageDigest": {"algorithm": "SHA2_256", "digest": _b64(digest)},
                                   "signature": _b64(signature)}
    return json.dumps(out, separators=(",", ":")).encode("utf-8")
