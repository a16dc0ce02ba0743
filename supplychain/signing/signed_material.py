"""The verifier's input and output: what a signature format carries, the signed artifact, what was verified.

Part of :mod:`supplychain.signing.verifier` (which re-exports these names): format adapters
(:mod:`supplychain.signing.formats`) build a :class:`SignedMaterial`; :func:`~supplychain.signing.verifier.verify`
checks it, an :class:`Artifact` standing for the signed bytes, and returns a :class:`VerifiedSignature`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from supplychain.errors import InputError, VerificationError
from supplychain.signing.dsse import Envelope, Statement
from supplychain.signing.policy import Signer
from supplychain.signing.tlog import TlogEntry


@dataclass
class SignedMaterial:
    """What a signature format carries, normalised: the verifier's only input."""

    source: str  # file or registry location, for messages
    version: tuple[int, int]  # Sigstore bundle version rules (a cosign legacy layer is a v0.1)
    certificate_der: bytes | None = None  # leaf (signing) certificate
    chain_der: list[bytes] = field(default_factory=list)  # further certificates the signature carries
    public_key_hint: str | None = None  # key-signed ("" = no hint)
    tlog_entries: list[TlogEntry] = field(default_factory=list)
    rfc3161_timestamps: list[bytes] = field(default_factory=list)
    message_digest: tuple[str, bytes] | None = None  # (protobuf algorithm name, digest)
    message_signature: bytes | None = None
    envelope: Envelope | None = None
    media_type: str = ""
    legacy_signed: tuple[bytes, ...] = ()  # other encodings a format's old versions signed (model v0.2)
    legacy_hash: str | None = None

    @property
    def signature(self) -> bytes:
        """The signature bytes a timestamp authority countersigned."""
        if self.envelope is not None:
            return self.envelope.signatures[0].sig
        assert self.message_signature is not None
        return self.message_signature


ParsedBundle = SignedMaterial  # the name the bundle parser used


@dataclass(frozen=True)
class VerifiedSignature:
    """What a successful verification established."""

    method: str  # "keyless", "key" or "certificate"
    identity: str | None  # certificate SAN
    issuer: str | None  # OIDC issuer (keyless)
    key_id: str | None  # cosign hint of the key (key-based)
    signed_at: datetime | None  # earliest verified time (log integration or TSA), if any
    time_sources: tuple[str, ...]
    tlog_entries: int
    payload_type: str | None = None  # DSSE only
    payload: bytes | None = field(default=None, repr=False)
    parsed_statement: Statement | None = field(default=None, repr=False)
    key_name: str | None = None

    @property
    def statement(self) -> dict[str, Any] | None:
        return self.parsed_statement.doc if self.parsed_statement else None

    @property
    def subjects(self) -> list[dict[str, Any]]:
        return self.parsed_statement.subject_dicts if self.parsed_statement else []

    @property
    def predicate_type(self) -> str | None:
        return self.parsed_statement.predicate_type if self.parsed_statement else None

    @property
    def signer(self) -> Signer:
        source = "rekor" if "transparency log" in self.time_sources else ("tsa" if self.time_sources else None)
        if self.method == "key":
            return Signer(kind="key", key=self.key_name or self.key_id, key_fingerprint=self.key_id,
                          time=self.signed_at, time_source=source)
        return Signer(kind="keyless" if self.method == "keyless" else "certificate", identity=self.identity,
                      issuer=self.issuer, time=self.signed_at, time_source=source)

    def summary(self) -> str:
        if self.method == "key":
            who = f"key {self.key_id}"
        elif self.method == "certificate":
            who = f"certificate {self.identity}"
        else:
            who = f"{self.identity} (issuer {self.issuer})"
        if self.signed_at:
            when = f", signed {self.signed_at:%Y-%m-%dT%H:%M:%SZ} ({'+'.join(self.time_sources)})"
        else:
            when = "; signing time not attested"
        log = f", {self.tlog_entries} log entr{'y' if self.tlog_entries == 1 else 'ies'}" \
            if self.tlog_entries else ", no log entry"
        return f"by {who}{when}{log}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "identity": self.identity, "issuer": self.issuer, "key_id": self.key_id,
            "signed_at": self.signed_at.isoformat().replace("+00:00", "Z") if self.signed_at else None,
            "time_sources": list(self.time_sources), "tlog_entries": self.tlog_entries,
            "payload_type": self.payload_type, "predicate_type": self.predicate_type, "subjects": self.subjects,
        }


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


def _match_subject(statement: Statement | None, artifact: Artifact) -> None:
    if statement is None:
        raise VerificationError("DSSE payload is not an in-toto statement: no subject to match the artifact")
    for _, digests in statement.subjects:
        for alg, value in digests.items():
            if alg not in ("sha256", "sha384", "sha512"):
                continue
            if artifact.path is None and artifact.data is None and alg not in artifact.digests:
                continue
            d = artifact.digest(alg)
            if d is not None and value.lower() == d.hex():
                return
    raise VerificationError(f"no subject of the in-toto statement has the digest of {artifact.describe()}")
