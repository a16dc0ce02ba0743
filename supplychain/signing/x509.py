"""X.509 for signatures: loading hostile certificates, signer identity, chain building, SCTs,
the Fulcio leaf profile. ``cryptography`` only.

- :func:`load_certificate` parses every extension up front, so a malformed certificate
  (duplicate extensions, unknown key algorithm, absurd integers) is one VerificationError.
- :func:`certificate_identity` reads the SAN (email, URI, DNS name, or Fulcio's otherName
  ``1.3.6.1.4.1.57264.1.7``) and the OIDC issuer extension (v2 DER string, else v1 raw).
- :func:`fulcio_chain` builds the chain to a Fulcio CA of the trusted root that was valid at
  the signing time; :func:`pki_chain` builds a chain to caller-given anchors (model signatures).
- :func:`verify_sct` checks the embedded SCT against a CT log key of the trusted root, with the
  issuer taken from the verified chain (never looked up by name).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from supplychain.errors import VerificationError

if TYPE_CHECKING:  # pragma: no cover
    from supplychain.signing.trust import TrustedRoot

OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"
OID_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
OID_OTHERNAME_SAN = "1.3.6.1.4.1.57264.1.7"
MAX_CERT_BYTES = 64 * 1024


def load_certificate(data: bytes, *, what: str = "signing certificate", pem: bool = False) -> Any:
    """A certificate whose extensions and public key are parsed now (hostile input -> VerificationError)."""
    from cryptography import x509

    if len(data) > MAX_CERT_BYTES:
        raise VerificationError(f"{what} is too large ({len(data)} bytes)")
    try:
        cert = x509.load_pem_x509_certificate(data) if pem else x509.load_der_x509_certificate(data)
        _ = cert.extensions  # duplicate or malformed extensions raise here, not later
        cert.public_key()  # an unknown key algorithm raises here
    except Exception as exc:  # ValueError, UnsupportedAlgorithm, ...: all mean "not usable"
        raise VerificationError(f"{what} is malformed or unsupported: {exc}") from exc
    return cert


def der_string(value: bytes) -> str:
    """Decode a DER UTF8String / IA5String / PrintableString (tag, length, bytes), strictly."""
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
    try:
        return value[off:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerificationError("certificate extension is not valid UTF-8") from exc


def certificate_identity(cert: Any) -> tuple[str | None, str | None]:
    """(SAN, OIDC issuer) of a signing certificate."""
    from cryptography import x509

    san: str | None = None
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for gn in ext:
            if isinstance(gn, x509.RFC822Name | x509.UniformResourceIdentifier | x509.DNSName):
                san = gn.value
                break
            if isinstance(gn, x509.OtherName) and gn.type_id.dotted_string == OID_OTHERNAME_SAN:
                san = der_string(gn.value)
                break
    except x509.ExtensionNotFound:
        pass
    issuer: str | None = None
    for e in cert.extensions:
        if e.oid.dotted_string == OID_ISSUER_V2:
            issuer = der_string(e.value.value)
            break
    if issuer is None:
        for e in cert.extensions:
            if e.oid.dotted_string == OID_ISSUER_V1:
                try:
                    issuer = e.value.value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise VerificationError("OIDC issuer extension is not valid UTF-8") from exc
                break
    return san, issuer


def _at(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_valid_at(cert: Any, when: datetime, what: str = "signing certificate") -> None:
    if not (cert.not_valid_before_utc <= when <= cert.not_valid_after_utc):
        raise VerificationError(
            f"{what} was not valid at the signing time {_at(when)} (valid {_at(cert.not_valid_before_utc)} "
            f"to {_at(cert.not_valid_after_utc)})")


def _build(leaf: Any, intermediates: Sequence[Any], roots: Sequence[Any], when: datetime, *,
           webpki: bool) -> list[Any]:
    from cryptography.x509 import ExtendedKeyUsage, UnsupportedGeneralNameType
    from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store
    from cryptography.x509.verification import VerificationError as X509Error

    if webpki:
        ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(ExtendedKeyUsage, Criticality.NON_CRITICAL,
                                                                        None)
        ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(ExtendedKeyUsage, Criticality.NON_CRITICAL,
                                                                        None)
    else:
        ca_policy = ExtensionPolicy.webpki_defaults_ca()
        ee_policy = ExtensionPolicy.permit_all()
    try:
        verifier = (PolicyBuilder().store(Store(list(roots))).time(when)
                    .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy).build_client_verifier())
        chain: list[Any] = verifier.verify(leaf, list(intermediates)).chain
    except (X509Error, UnsupportedGeneralNameType, ValueError, TypeError) as exc:
        raise VerificationError(str(exc)) from exc
    return chain


def fulcio_chain(cert: Any, trust: TrustedRoot, when: datetime) -> list[Any]:
    """Chain from the leaf to a Fulcio CA whose trusted-root validity contains ``when``."""
    check_valid_at(cert, when)
    last = "no Fulcio CA in the trusted root"
    for ca in trust.fulcio:
        if not ca.valid.contains(when):
            last = f"no Fulcio CA in the trusted root was valid at {_at(when)}"
            continue
        try:
            return _build(cert, ca.certs[:-1], ca.certs[-1:], when, webpki=True)
        except VerificationError as exc:
            last = f"signing certificate does not chain to a trusted Fulcio CA: {exc.message}"
    raise VerificationError(last + f" ({trust.source})")


def pki_chain(leaf: Any, intermediates: Sequence[Any], anchors: Sequence[Any], when: datetime) -> list[Any]:
    """Chain from ``leaf`` (via ``intermediates``) to one of ``anchors``, checked at ``when``.

    Anchors may be roots or intermediates (model_signing's ``--certificate_chain`` takes either):
    each anchor is tried as a trust store of its own, with the others as intermediates.
    """
    last = "no anchors"
    pool = list(intermediates)
    for i, anchor in enumerate(anchors):
        others = [a for j, a in enumerate(anchors) if j != i]
        try:
            return _build(leaf, pool + others, [anchor], when, webpki=False)
        except VerificationError as exc:
            last = exc.message
    raise VerificationError(f"signing certificate does not chain to the given certificate chain: {last}")


def check_leaf_profile(cert: Any) -> None:
    """A Sigstore signing certificate: digitalSignature key usage and codeSigning EKU."""
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


def can_sign(cert: Any) -> bool:
    """Looser profile for certificates from a private PKI: digitalSignature or codeSigning."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        if cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            return True
    except x509.ExtensionNotFound:
        pass
    try:
        return ExtendedKeyUsageOID.CODE_SIGNING in cert.extensions.get_extension_for_class(
            x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False


def verify_sct(cert: Any, chain: list[Any], trust: TrustedRoot) -> None:
    """The certificate's one embedded SCT, by a CT log of the trusted root valid at the SCT time."""
    try:
        _verify_sct(cert, chain, trust)
    except (ValueError, OverflowError, OSError, TypeError) as exc:  # absurd timestamps, malformed SCT data
        raise VerificationError(f"signing certificate SCT is malformed: {exc}") from exc


def _verify_sct(cert: Any, chain: list[Any], trust: TrustedRoot) -> None:
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
    if issuer is not None and len(chain) > 2:
        try:
            eku = issuer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            if ExtendedKeyUsageOID.CERTIFICATE_TRANSPARENCY in eku:
                issuer = chain[2]  # a precertificate signing certificate: the real issuer is above it
        except x509.ExtensionNotFound:
            pass
    if issuer is None:
        raise VerificationError("SCT: no issuer certificate")
    issuer_key_id = hashlib.sha256(issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
    tbs = cert.tbs_precertificate_bytes
    if len(tbs) >= 1 << 24:
        raise VerificationError("SCT: certificate too large")
    ts = sct.timestamp
    ts_ms = round(ts.timestamp() * 1000) if ts.tzinfo else int((ts - datetime(1970, 1, 1)).total_seconds() * 1000)
    data = struct.pack("!BBQH", sct.version.value, 0, ts_ms, sct.entry_type.value) + issuer_key_id + \
        len(tbs).to_bytes(3, "big") + tbs + struct.pack("!H", len(sct.extension_bytes)) + sct.extension_bytes
    log = trust.ctlog_for(sct.log_id)
    if log is None:
        raise VerificationError("SCT is from a CT log that is not in the trusted root")
    from datetime import UTC

    when = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    if not log.valid.contains(when):
        raise VerificationError(f"SCT was issued at {_at(when)}, outside the validity of its CT log key "
                                f"({trust.source})")
    if not log.verify(sct.signature, data):
        raise VerificationError("SCT signature is invalid")
