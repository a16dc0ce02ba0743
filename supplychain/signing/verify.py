"""Sigstore bundle verification (keyless and key-based, message signatures and DSSE).

Our own implementation of the Sigstore client verification steps, on ``cryptography`` and
``rfc3161_client`` only, so that it is fast to import and covers what sigstore-python 4.5.1
cannot (intoto 0.0.2 log entries, in-toto Statement v0.1, key-signed bundles, closed validity
intervals). Every check sigstore-python makes is made here too:

1. bundle format: known media type, one signature, certificate / key hint, per-version log rules
2. verified time: RFC 3161 timestamps from trusted TSAs (within the TSA's validity) and the
   integrated time of log entries bound by a verified inclusion promise
3. the signing certificate chains to a trusted Fulcio CA valid at every verified time, is
   itself valid at each, carries a valid SCT from a trusted CT log, has digitalSignature and
   codeSigning usages, and matches the identity policy (SAN + OIDC issuer)
4. every log entry: from a trusted log, Merkle inclusion proof, signed checkpoint, inclusion
   promise, and a logged body that names exactly this signature, signer and artifact / envelope
5. the signature over the artifact digest (message signature) or DSSE PAE, and the artifact
   digest against the bundle's message digest or the in-toto statement's subjects
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from supplychain.errors import InputError, VerificationError
from supplychain.signing.bundle import INTOTO_PAYLOAD_TYPE, Envelope, ParsedBundle, parse_bundle
from supplychain.signing.specs import IdentitySpec, TrustSpec
from supplychain.signing.trust import TrustedRoot, load_trust

MAX_TIMESTAMPS = 32
OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"
OID_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
OID_OTHERNAME_SAN = "1.3.6.1.4.1.57264.1.7"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")
_DIGEST_ALGS = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}


@dataclass(frozen=True)
class VerifiedSignature:
    """What a successful verification established."""

    method: str  # "keyless" or "key"
    identity: str | None  # certificate SAN (keyless)
    issuer: str | None  # OIDC issuer (keyless)
    key_id: str | None  # base64 sha256 of the DER public key (key-based)
    signed_at: datetime | None  # earliest verified time (log integration or TSA), if any
    time_sources: tuple[str, ...]
    tlog_entries: int
    payload_type: str | None = None  # DSSE only
    payload: bytes | None = field(default=None, repr=False)
    statement: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def subjects(self) -> list[dict[str, Any]]:
        subj = (self.statement or {}).get("subject") or []
        return [s for s in subj if isinstance(s, dict)]

    @property
    def predicate_type(self) -> str | None:
        pt = (self.statement or {}).get("predicateType")
        return pt if isinstance(pt, str) else None

    def summary(self) -> str:
        if self.method == "key":
            who = f"key {self.key_id}"
        else:
            who = f"{self.identity} (issuer {self.issuer})"
        when = f", signed {self.signed_at:%Y-%m-%dT%H:%M:%SZ} ({'+'.join(self.time_sources)})" \
            if self.signed_at else ""
        log = f", {self.tlog_entries} log entr{'y' if self.tlog_entries == 1 else 'ies'}" \
            if self.tlog_entries else ", no log entry"
        return f"by {who}{when}{log}"


# ------------------------------------------------------------------ artifact digests


@dataclass
class Artifact:
    """The signed artifact: bytes, a file streamed once per algorithm, or a known digest."""

    data: bytes | None = None
    path: Path | None = None
    digests: dict[str, bytes] = field(default_factory=dict)

    def digest(self, alg: str) -> bytes | None:
        if alg in self.digests:
            return self.digests[alg]
        if self.data is not None:
            self.digests[alg] = hashlib.new(alg, self.data).digest()
        elif self.path is not None:
            h = hashlib.new(alg)
            try:
                with open(self.path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        h.update(chunk)
            except OSError as exc:
                raise InputError(f"{self.path}: cannot read artifact: {exc.strerror}") from exc
            self.digests[alg] = h.digest()
        else:
            return None
        return self.digests[alg]

    def describe(self) -> str:
        if self.path is not None:
            return str(self.path)
        if self.data is None and self.digests:
            alg, d = next(iter(self.digests.items()))
            return f"{alg}:{d.hex()}"
        return "artifact"


def parse_digest(text: str) -> tuple[str, bytes]:
    """``sha256:HEX`` (also sha384 / sha512) -> (alg, digest bytes)."""
    m = re.fullmatch(r"(sha256|sha384|sha512):([0-9a-fA-F]+)", text.strip())
    sizes = {"sha256": 32, "sha384": 48, "sha512": 64}
    if not m or len(m.group(2)) != 2 * sizes[m.group(1)]:
        raise InputError(f"{text!r}: not a digest (expected sha256:<64 hex digits>)")
    return m.group(1), bytes.fromhex(m.group(2))


# ------------------------------------------------------------------ certificates


def _der_utf8(value: bytes) -> str:
    """Decode a DER UTF8String / IA5String (tag + length + bytes)."""
    if len(value) < 2 or value[0] not in (0x0C, 0x16, 0x13):
        raise VerificationError("certificate extension is not a DER string")
    n = value[1]
    off = 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or len(value) < 2 + k:
            raise VerificationError("certificate extension has a bad DER length")
        n = int.from_bytes(value[2:2 + k], "big")
        off = 2 + k
    if len(value) != off + n:
        raise VerificationError("certificate extension has a bad DER length")
    return value[off:].decode("utf-8")


def certificate_identity(cert: Any) -> tuple[str | None, str | None]:
    """(SAN, OIDC issuer) of a Fulcio certificate."""
    from cryptography import x509

    san: str | None = None
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for gn in ext:
            if isinstance(gn, x509.RFC822Name | x509.UniformResourceIdentifier | x509.DNSName):
                san = gn.value
                break
            if isinstance(gn, x509.OtherName) and gn.type_id.dotted_string == OID_OTHERNAME_SAN:
                san = _der_utf8(gn.value)
                break
    except x509.ExtensionNotFound:
        pass
    issuer: str | None = None
    for e in cert.extensions:
        if e.oid.dotted_string == OID_ISSUER_V2:
            issuer = _der_utf8(e.value.value)
            break
    if issuer is None:
        for e in cert.extensions:
            if e.oid.dotted_string == OID_ISSUER_V1:
                issuer = e.value.value.decode("utf-8")
                break
    return san, issuer


def check_identity(spec: IdentitySpec, san: str | None, issuer: str | None) -> None:
    """Identity policy: exact or regex (searched, like cosign / Go regexp) SAN and issuer."""
    if spec.identity is not None and san != spec.identity:
        raise VerificationError(f"signer identity {san!r} is not the expected {spec.identity!r}")
    if spec.identity_regexp is not None and (san is None or not _search(spec.identity_regexp, san)):
        raise VerificationError(f"signer identity {san!r} does not match {spec.identity_regexp!r}")
    if spec.issuer is not None and issuer != spec.issuer:
        raise VerificationError(f"OIDC issuer {issuer!r} is not the expected {spec.issuer!r}")
    if spec.issuer_regexp is not None and (issuer is None or not _search(spec.issuer_regexp, issuer)):
        raise VerificationError(f"OIDC issuer {issuer!r} does not match {spec.issuer_regexp!r}")


def _search(pattern: str, value: str) -> bool:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return False  # Python's `$` also matches before a final newline; Go's (cosign's) does not
    try:
        return re.search(pattern, value) is not None
    except re.error as exc:
        raise InputError(f"invalid regular expression {pattern!r}: {exc}") from exc


def _require_identity_policy(spec: IdentitySpec) -> None:
    # an empty value is no expectation (an empty regex matches anyone): refused, as cosign does
    if not spec.identity and not spec.identity_regexp:
        raise InputError("keyless verification needs the expected signer: --cert-identity or "
                         "--cert-identity-regexp", hint="or verify a key-signed bundle with --key PUBLIC.pem")
    if not spec.issuer and not spec.issuer_regexp:
        raise InputError("keyless verification needs the expected OIDC issuer: --cert-oidc-issuer or "
                         "--cert-oidc-issuer-regexp")


def _verify_chain(cert: Any, trust: TrustedRoot, when: datetime) -> list[Any]:
    """Chain from the leaf to a Fulcio CA that is valid (trusted-root validity) at ``when``."""
    from cryptography.x509 import ExtendedKeyUsage, UnsupportedGeneralNameType
    from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store
    from cryptography.x509.verification import VerificationError as X509Error

    if not (cert.not_valid_before_utc <= when <= cert.not_valid_after_utc):
        raise VerificationError(
            f"signing certificate was not valid at the signing time {when:%Y-%m-%dT%H:%M:%SZ} "
            f"(valid {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} to "
            f"{cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ})")
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
    last = "no Fulcio CA in the trusted root"
    for ca in trust.fulcio:
        if not ca.valid.contains(when):
            last = f"no Fulcio CA in the trusted root was valid at {when:%Y-%m-%dT%H:%M:%SZ}"
            continue
        verifier = (PolicyBuilder().store(Store([ca.certs[-1]])).time(when)
                    .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy).build_client_verifier())
        try:
            chain: list[Any] = verifier.verify(cert, ca.certs[:-1]).chain
            return chain
        except (X509Error, UnsupportedGeneralNameType) as exc:
            last = f"signing certificate does not chain to a trusted Fulcio CA: {exc}"
    raise VerificationError(last + f" ({trust.source})")


def _verify_sct(cert: Any, chain: list[Any], trust: TrustedRoot) -> None:
    import struct

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.certificate_transparency import LogEntryType
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        scts = cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
    except x509.ExtensionNotFound as exc:
        raise VerificationError("signing certificate has no signed certificate timestamp (SCT)") from exc
    if len(scts) != 1:
        raise VerificationError(f"signing certificate has {len(scts)} SCTs, expected one")
    sct = scts[0]
    if sct.entry_type != LogEntryType.PRE_CERTIFICATE:
        raise VerificationError("SCT is not for a precertificate")
    if not isinstance(sct.signature_hash_algorithm, hashes.SHA256):
        raise VerificationError("SCT uses an unsupported hash algorithm")
    issuer = chain[1] if len(chain) > 1 else None
    if issuer is not None:
        try:
            eku = issuer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            if ExtendedKeyUsageOID.CERTIFICATE_TRANSPARENCY in eku and len(chain) > 2:
                issuer = chain[2]
        except x509.ExtensionNotFound:
            pass
    if issuer is None:
        raise VerificationError("SCT: no issuer certificate")
    issuer_key_id = hashlib.sha256(issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
    tbs = cert.tbs_precertificate_bytes
    if len(tbs) >= 1 << 24:
        raise VerificationError("SCT: certificate too large")
    signed_entry = issuer_key_id + len(tbs).to_bytes(3, "big") + tbs
    ts_ms = round(sct.timestamp.timestamp() * 1000) if sct.timestamp.tzinfo else \
        int((sct.timestamp - datetime(1970, 1, 1)).total_seconds() * 1000)
    data = struct.pack("!BBQH", sct.version.value, 0, ts_ms, sct.entry_type.value) + signed_entry + \
        struct.pack("!H", len(sct.extension_bytes)) + sct.extension_bytes
    log = trust.ctlog_for(sct.log_id)
    if log is None:
        raise VerificationError("SCT is from a CT log that is not in the trusted root")
    if not log.verify(sct.signature, data):
        raise VerificationError("SCT signature is invalid")


def _check_leaf_profile(cert: Any) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise VerificationError("signing certificate lacks key usage extensions") from exc
    if not ku.digital_signature:
        raise VerificationError("signing certificate key usage is not digitalSignature")
    if ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise VerificationError("signing certificate extended key usage lacks codeSigning")


# ------------------------------------------------------------------ timestamps


def _verify_timestamps(pb: ParsedBundle, trust: TrustedRoot) -> list[datetime]:
    stamps = pb.rfc3161_timestamps
    if not stamps:
        return []
    if len(stamps) > MAX_TIMESTAMPS:
        raise VerificationError(f"too many signed timestamps ({len(stamps)} > {MAX_TIMESTAMPS})")
    if len(set(stamps)) != len(stamps):
        raise VerificationError("duplicate signed timestamp in bundle")
    if not trust.tsas:
        raise VerificationError("bundle carries signed timestamps but the trusted root has no timestamp authority")
    from rfc3161_client import VerificationError as TsError
    from rfc3161_client import VerifierBuilder, decode_timestamp_response

    times: list[datetime] = []
    for raw in stamps:
        try:
            tsr = decode_timestamp_response(raw)
        except ValueError as exc:
            raise VerificationError("bundle holds an invalid RFC 3161 timestamp response") from exc
        for ca in trust.tsas:
            if len(ca.certs) < 2:
                continue
            builder = VerifierBuilder().tsa_certificate(ca.certs[0]).add_root_certificate(ca.certs[-1])
            for c in ca.certs[1:-1]:
                builder = builder.add_intermediate_certificate(c)
            try:
                builder.build().verify_message(tsr, pb.signature)
            except (TsError, ValueError):
                continue
            gen = tsr.tst_info.gen_time
            if ca.valid.contains(gen):  # closed interval: the end is inclusive
                times.append(gen)
                break
    return times


# ------------------------------------------------------------------ signatures


def _hash_for_key(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "sha256", "secp384r1": "sha384", "secp521r1": "sha512"}.get(key.curve.name, "sha256")
    return "sha256"


def _verify_raw(key: Any, signature: bytes, data: bytes | None, *, prehashed: tuple[str, bytes] | None = None) -> bool:
    """Verify ``signature`` over ``data`` (or over a prehashed digest)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

    algs = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if data is None:
                raise InputError("an Ed25519 signature can only be checked against the artifact itself, "
                                 "not a digest")
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            if prehashed is not None:
                alg: Any = utils.Prehashed(algs[prehashed[0]])
                msg = prehashed[1]
            else:
                assert data is not None
                alg = algs[_hash_for_key(key)]
                msg = data
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, msg, ec.ECDSA(alg))
            else:
                key.verify(signature, msg, padding.PKCS1v15(), alg)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def parse_statement(envelope: Envelope) -> dict[str, Any] | None:
    """The in-toto statement (v0.1 or v1) in an envelope, or None for other payload types."""
    if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
        return None
    try:
        st = json.loads(envelope.payload)
    except (ValueError, RecursionError) as exc:
        raise VerificationError("DSSE payload is not a JSON in-toto statement") from exc
    if not isinstance(st, dict) or st.get("_type") not in STATEMENT_TYPES:
        raise VerificationError(f"DSSE payload is not an in-toto statement (_type {st.get('_type')!r})"
                                if isinstance(st, dict) else "DSSE payload is not an in-toto statement")
    subj = st.get("subject")
    if not isinstance(subj, list) or not all(isinstance(s, dict) and isinstance(s.get("digest"), dict)
                                              for s in subj):
        raise VerificationError("in-toto statement has a malformed subject list")
    if not isinstance(st.get("predicateType"), str):
        raise VerificationError("in-toto statement has no predicateType")
    return st


def _match_subject(statement: dict[str, Any] | None, artifact: Artifact) -> None:
    if statement is None:
        raise VerificationError("DSSE payload is not an in-toto statement: no subject to match the artifact")
    for s in statement["subject"]:
        for alg, value in s["digest"].items():
            if alg not in ("sha256", "sha384", "sha512") or not isinstance(value, str):
                continue
            if artifact.path is None and artifact.data is None and alg not in artifact.digests:
                continue
            d = artifact.digest(alg)
            if d is not None and value.lower() == d.hex():
                return
    raise VerificationError(f"no subject of the in-toto statement has the digest of {artifact.describe()}")


# ------------------------------------------------------------------ main entry point


def verify_bundle(
    bundle: bytes | str,
    *,
    identity: IdentitySpec,
    trust: TrustSpec | TrustedRoot,
    artifact: bytes | None = None,
    artifact_path: str | Path | None = None,
    digest: str | None = None,
    source: str = "bundle",
) -> VerifiedSignature:
    """Verify a Sigstore bundle (JSON) for an artifact (bytes, a file path or ``sha256:HEX``).

    A DSSE bundle verifies its envelope; when an artifact is given it must be a subject of the
    in-toto statement. Without any artifact only DSSE bundles can be verified.
    Raises VerificationError (exit 1) naming the failed check, InputError (exit 2) for bad input.
    """
    if not identity.is_key and not any((identity.identity, identity.identity_regexp, identity.issuer,
                                        identity.issuer_regexp)):
        raise InputError("no expected signer given: pass --key PUBLIC.pem, or --cert-identity(-regexp) and "
                         "--cert-oidc-issuer(-regexp)")
    trusted = trust if isinstance(trust, TrustedRoot) else None
    art: Artifact | None = None
    if artifact is not None:
        art = Artifact(data=artifact)
    elif artifact_path is not None:
        art = Artifact(path=Path(artifact_path))
    elif digest is not None:
        given_alg, given = parse_digest(digest)
        art = Artifact(digests={given_alg: given})
    pb = parse_bundle(bundle, source=source)
    if art is None and pb.envelope is None:
        raise InputError(f"{source}: a message-signature bundle needs the artifact or its digest")

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert: Any = None
    key: Any
    key_der: bytes | None = None
    if identity.is_key:
        from supplychain.signing.keys import key_hint, load_public_key

        if pb.certificate_der is not None:
            raise VerificationError(f"{source}: bundle is signed keyless (certificate), not with a key",
                                    hint="verify it with --cert-identity and --cert-oidc-issuer")
        assert identity.key_path is not None
        key = load_public_key(identity.key_path)
        key_der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        if pb.certificate_der is None:
            raise VerificationError(
                f"{source}: bundle is signed with a key (hint {pb.public_key_hint or 'none'}) but no key "
                "was given", hint="verify it with --key PUBLIC.pem")
        _require_identity_policy(identity)
        try:
            cert = x509.load_der_x509_certificate(pb.certificate_der)
            key = cert.public_key()
            _ = cert.extensions  # parses (and validates) every extension now
        except ValueError as exc:
            raise VerificationError(f"{source}: bundle certificate is malformed: {exc}") from exc

    if trusted is None and (pb.tlog_entries or pb.rfc3161_timestamps or cert is not None):
        assert isinstance(trust, TrustSpec)
        trusted = load_trust(trust)

    # (2) verified times: TSA timestamps and log entries' integrated times
    tsa_times = _verify_timestamps(pb, trusted) if pb.rfc3161_timestamps and trusted else []
    if pb.rfc3161_timestamps and not tsa_times and not any(e.inclusion_promise for e in pb.tlog_entries):
        raise VerificationError(f"{source}: no signed timestamp verifies against a trusted timestamp "
                                f"authority ({trusted.source if trusted else 'no trusted root'})")
    log_times: list[datetime] = []
    if cert is not None and not pb.tlog_entries:
        raise VerificationError(f"{source}: bundle has no transparency log entry (required for keyless "
                                "signatures)")
    from supplychain.signing import tlog

    for entry in pb.tlog_entries:
        assert trusted is not None
        res = tlog.verify_entry(entry, trusted, bundle_version=pb.version, has_timestamps=bool(tsa_times))
        if res.integrated_time is not None:
            log_times.append(res.integrated_time)
        else:
            log = trusted.tlog_for(entry.log_id)
            if log is not None and tsa_times and not any(log.valid.contains(t) for t in tsa_times):
                raise VerificationError("log entry's timestamp is outside the validity of the log key")
    times = sorted(log_times + tsa_times)

    san = iss = None
    if cert is not None:
        assert trusted is not None
        if not times:
            raise VerificationError(f"{source}: no verified signing time (no inclusion promise or trusted "
                                    "timestamp)")
        chain: list[Any] = []
        for t in times:
            chain = _verify_chain(cert, trusted, t)
        _verify_sct(cert, chain, trusted)
        _check_leaf_profile(cert)
        san, iss = certificate_identity(cert)
        check_identity(identity, san, iss)

    # (5) signature and consistency with the log
    statement = None
    if pb.envelope is not None:
        env = pb.envelope
        if not _verify_raw(key, env.signatures[0].sig, env.pae()):
            raise VerificationError(f"{source}: DSSE envelope signature is invalid")
        for entry in pb.tlog_entries:
            tlog.check_dsse_entry(entry, env, cert_der=pb.certificate_der, key_der=key_der,
                                  hash_name=_hash_for_key(key))
        statement = parse_statement(env)
        if art is not None:
            _match_subject(statement, art)
    else:
        assert art is not None and pb.message_signature is not None
        alg = "sha256"
        if pb.message_digest is not None:
            alg = _DIGEST_ALGS.get(pb.message_digest[0], "")
            if not alg:
                raise VerificationError(f"{source}: unsupported message digest algorithm {pb.message_digest[0]}")
        d = art.digest(alg)
        if d is None:
            raise InputError(f"{source}: bundle signs a {alg} digest; give the artifact itself")
        if pb.message_digest is not None and pb.message_digest[1] != d:
            raise VerificationError(f"{art.describe()} does not match {source}: its {alg} digest is not the signed digest (tampered or wrong artifact)")
        if not _verify_raw(key, pb.message_signature, art.data, prehashed=(alg, d)):
            raise VerificationError(f"{source}: signature does not match {art.describe()} (tampered artifact "
                                    "or wrong bundle)")
        for entry in pb.tlog_entries:
            tlog.check_message_entry(entry, digest_alg=alg, digest=d, signature=pb.message_signature,
                                     cert_der=pb.certificate_der, key_der=key_der)

    sources = (("transparency log",) if log_times else ()) + (("timestamp authority",) if tsa_times else ())
    key_id = None
    if cert is None:
        from supplychain.signing.keys import key_hint

        key_id = key_hint(key)
    return VerifiedSignature(
        method="keyless" if cert is not None else "key",
        identity=san, issuer=iss, key_id=key_id,
        signed_at=times[0] if times else None, time_sources=sources,
        tlog_entries=len(pb.tlog_entries),
        payload_type=pb.envelope.payload_type if pb.envelope else None,
        payload=pb.envelope.payload if pb.envelope else None,
        statement=statement,
    )


def verify_dsse_bundle(bundle: bytes | str, *, identity: IdentitySpec, trust: TrustSpec | TrustedRoot,
                       subject_digest: str | None = None, source: str = "bundle") -> VerifiedSignature:
    """Verify a DSSE bundle and return its payload / in-toto statement (subject check optional)."""
    v = verify_bundle(bundle, identity=identity, trust=trust, digest=subject_digest, source=source)
    if v.payload_type is None:
        raise VerificationError(f"{source}: not a DSSE bundle (it holds a message signature)")
    return v
