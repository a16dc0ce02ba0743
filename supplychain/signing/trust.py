"""Sigstore trust roots: the one trusted-root model, the one loader, the one error mapping.

Sources: trusted_root.json, a ClientTrustConfig, or the roots sigstore-python embeds (offline)
or refreshes over TUF. Parsed with the stdlib and ``cryptography`` only. Validity periods are
closed intervals (``start <= t <= end``), as protobuf-specs' TimeRange says, and strict: every
key and CA must have a ``validFor`` with a ``start``; anything else makes the root invalid
(exit 2), never "valid forever". Every problem with a root is an InputError naming its source.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from supplychain.errors import InputError, NetworkError
from supplychain.fileio import read_bytes
from supplychain.signing.specs import TrustSpec
from supplychain.signing.wire import b64decode_strict

TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
PRODUCTION_TUF_URL = "https://tuf-repo-cdn.sigstore.dev"
STAGING_TUF_URL = "https://tuf-repo-cdn.sigstage.dev"
MAX_ROOT_BYTES = 16 * 1024 * 1024

# keyDetails -> hash algorithm name (None = pure signature scheme such as Ed25519)
_KEY_DETAILS_HASH: dict[str, str | None] = {
    "PKIX_ECDSA_P256_SHA_256": "sha256",
    "PKIX_ECDSA_P384_SHA_384": "sha384",
    "PKIX_ECDSA_P521_SHA_512": "sha512",
    "PKIX_ED25519": None,
    "PKCS1_RSA_PKCS1V5": "sha256",
    "PKIX_RSA_PKCS1V5": "sha256",
    "PKIX_RSA_PKCS1V15_2048_SHA256": "sha256",
    "PKIX_RSA_PKCS1V15_3072_SHA256": "sha256",
    "PKIX_RSA_PKCS1V15_4096_SHA256": "sha256",
}


def parse_time(value: str, where: str) -> datetime:
    """RFC 3339 timestamp (protobuf JSON), nanoseconds truncated to microseconds."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", value.strip())
    if not m:
        raise InputError(f"{where}: invalid timestamp {value!r}")
    frac = (m.group(2) or "")[:7]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        return datetime.fromisoformat(m.group(1) + frac + tz).astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # 2024-13-45T..., year 0, offsets past the calendar
        raise InputError(f"{where}: impossible timestamp {value!r}") from exc


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime | None

    def contains(self, t: datetime) -> bool:
        if t < self.start:
            return False
        return self.end is None or t <= self.end


def _time_range(d: Any, where: str) -> TimeRange:
    """A required validity period: an object with ``start`` (and optionally ``end``)."""
    if d is None:
        raise InputError(f"{where}: missing (every key and CA needs a validity period)")
    if not isinstance(d, dict):
        raise InputError(f"{where}: expected an object")
    if not isinstance(d.get("start"), str) or not d["start"]:
        raise InputError(f"{where}.start: missing (a validity period without a start is not accepted)")
    start = parse_time(d["start"], where + ".start")
    end = None
    if d.get("end") is not None:
        if not isinstance(d["end"], str):
            raise InputError(f"{where}.end: expected a timestamp string")
        end = parse_time(d["end"], where + ".end")
        if end < start:
            raise InputError(f"{where}: ends before it starts")
    return TimeRange(start, end)


@dataclass(frozen=True)
class LogKey:
    """A transparency log (Rekor) or CT log key from the trusted root."""

    base_url: str
    log_id: bytes
    key: Any  # cryptography public key
    hash_name: str | None
    valid: TimeRange

    def verify(self, signature: bytes, data: bytes) -> bool:
        from supplychain.signing.keys import verify_signature

        return verify_signature(self.key, signature, data, hash_name=self.hash_name or "sha256")


@dataclass(frozen=True)
class CertAuthority:
    """Fulcio CA or timestamp authority: certificates leaf-first, root last."""

    subject: str
    certs: list[Any]  # cryptography x509.Certificate
    valid: TimeRange


@dataclass(frozen=True)
class TrustedRoot:
    source: str
    tlogs: list[LogKey]
    ctlogs: list[LogKey]
    fulcio: list[CertAuthority]
    tsas: list[CertAuthority]

    def tlog_for(self, log_id: bytes) -> LogKey | None:
        for t in self.tlogs:
            if t.log_id == log_id:
                return t
        return None

    def ctlog_for(self, log_id: bytes) -> LogKey | None:
        for t in self.ctlogs:
            if t.log_id == log_id:
                return t
        return None


def _log_keys(items: Any, where: str) -> list[LogKey]:
    import hashlib

    from supplychain.signing.keys import parse_public_key

    out: list[LogKey] = []
    if not isinstance(items, list):
        return out
    for i, t in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(t, dict) or not isinstance(t.get("publicKey"), dict):
            raise InputError(f"{w}: expected an object with publicKey")
        pk = t["publicKey"]
        details = pk.get("keyDetails", "")
        if details not in _KEY_DETAILS_HASH or not pk.get("rawBytes"):
            continue  # a key type we do not know cannot verify anything; skip it
        der = b64decode_strict(pk["rawBytes"], w + ".publicKey.rawBytes")
        if der.lstrip().startswith(b"-----"):
            raise InputError(f"{w}.publicKey.rawBytes: expected DER, not PEM")
        key = parse_public_key(der, source=f"{w}.publicKey").key
        log_id_raw = (t.get("logId") or {}).get("keyId")
        log_id = b64decode_strict(log_id_raw, w + ".logId.keyId") if log_id_raw else hashlib.sha256(der).digest()
        out.append(LogKey(base_url=str(t.get("baseUrl", "")), log_id=log_id, key=key,
                          hash_name=_KEY_DETAILS_HASH[details],
                          valid=_time_range(pk.get("validFor"), w + ".publicKey.validFor")))
    return out


def _authorities(items: Any, where: str) -> list[CertAuthority]:
    from cryptography import x509

    out: list[CertAuthority] = []
    if not isinstance(items, list):
        return out
    for i, a in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(a, dict):
            raise InputError(f"{w}: expected an object")
        chain = (a.get("certChain") or {}).get("certificates") or []
        certs = []
        for j, c in enumerate(chain):
            der = b64decode_strict((c or {}).get("rawBytes"), f"{w}.certChain.certificates[{j}].rawBytes")
            try:
                cert = x509.load_der_x509_certificate(der)
                _ = cert.extensions
                cert.public_key()
            except Exception as exc:  # ValueError, UnsupportedAlgorithm
                raise InputError(f"{w}.certChain.certificates[{j}]: invalid or unsupported certificate") from exc
            certs.append(cert)
        valid = _time_range(a.get("validFor"), w + ".validFor")
        if not certs:
            continue
        subj = a.get("subject") or {}
        out.append(CertAuthority(subject=str(subj.get("commonName") or subj.get("organization") or ""),
                                 certs=certs, valid=valid))
    return out


def parse_trusted_root(data: Any, *, source: str) -> TrustedRoot:
    if not isinstance(data, dict):
        raise InputError(f"{source}: not a Sigstore trusted root (expected a JSON object)")
    mt = data.get("mediaType")
    if mt == CLIENT_TRUST_CONFIG_MEDIA_TYPE or "trustedRoot" in data:
        data = data.get("trustedRoot")
        if not isinstance(data, dict):
            raise InputError(f"{source}: ClientTrustConfig has no trustedRoot")
        mt = data.get("mediaType")
    if mt != TRUSTED_ROOT_MEDIA_TYPE:
        raise InputError(f"{source}: unsupported trusted root media type {mt!r}",
                         hint=f"expected {TRUSTED_ROOT_MEDIA_TYPE}")
    try:
        return TrustedRoot(
            source=source,
            tlogs=_log_keys(data.get("tlogs"), "tlogs"),
            ctlogs=_log_keys(data.get("ctlogs"), "ctlogs"),
            fulcio=_authorities(data.get("certificateAuthorities"), "certificateAuthorities"),
            tsas=_authorities(data.get("timestampAuthorities"), "timestampAuthorities"),
        )
    except InputError as exc:
        raise InputError(f"{source}: invalid trusted root: {exc.message}") from exc
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputError(f"{source}: malformed trusted root ({exc})") from exc


def load_trusted_root_file(path: str | Path) -> TrustedRoot:
    from supplychain.fileio import parse_json

    return parse_trusted_root(parse_json(read_bytes(path, what="trusted root", limit=MAX_ROOT_BYTES),
                                         source=str(path)), source=str(path))


def embedded_root_path(staging: bool = False) -> Path:
    """trusted_root.json that sigstore-python ships (found without importing sigstore)."""
    spec = importlib.util.find_spec("sigstore")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("sigstore-python is not installed: no embedded trust root",
                         hint="pass --trusted-root FILE")
    url = STAGING_TUF_URL if staging else PRODUCTION_TUF_URL
    return Path(next(iter(spec.submodule_search_locations))) / "_store" / quote(url, safe="") / "trusted_root.json"


def load_trust(spec: TrustSpec) -> TrustedRoot:
    """The trusted root for a TrustSpec. --trusted-root / --trust-config files are used as is;
    without them, --offline uses the root sigstore embeds, online refreshes it over TUF."""
    if spec.trusted_root and spec.trust_config:
        raise InputError("give --trusted-root or --trust-config, not both")
    if spec.trusted_root:
        return load_trusted_root_file(spec.trusted_root)
    if spec.trust_config:
        return load_trusted_root_file(spec.trust_config)
    name = "staging" if spec.staging else "production"
    if spec.offline:
        p = embedded_root_path(spec.staging)
        data = json.loads(p.read_bytes())
        return parse_trusted_root(data, source=f"embedded Sigstore {name} root")
    try:
        from sigstore.models import ClientTrustConfig

        cfg = ClientTrustConfig.staging() if spec.staging else ClientTrustConfig.production()
        data = json.loads(cfg._inner.trusted_root.to_json())
    except Exception as exc:  # TUF / network failures surface as many types
        raise NetworkError(f"cannot refresh the Sigstore {name} trust root over TUF: {exc}",
                           hint="use --offline to verify against the embedded root") from exc
    return parse_trusted_root(data, source=f"Sigstore {name} root (TUF)")


class TrustRoots:
    """The trusted root for a TrustSpec, loaded on first use only and once per process (thread-safe):
    a run that only meets key signatures without log entries never loads (or downloads) one."""

    _shared: ClassVar[dict[TrustSpec, TrustRoots]] = {}
    _shared_lock = threading.Lock()

    def __init__(self, spec: TrustSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._root: TrustedRoot | None = None

    @classmethod
    def for_spec(cls, spec: TrustSpec) -> TrustRoots:
        with cls._shared_lock:
            roots = cls._shared.get(spec)
            if roots is None:
                roots = cls._shared[spec] = cls(spec)
            return roots

    @property
    def loaded(self) -> bool:
        return self._root is not None

    def root(self) -> TrustedRoot:
        with self._lock:
            if self._root is None:
                self._root = load_trust(self.spec)
            return self._root

    bundle_root = root  # the name image verification used before
