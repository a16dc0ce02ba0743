"""Verified signing times from RFC 3161 timestamps: countersigned by a trusted TSA, within its validity.

Part of the verifier (step 2, :mod:`supplychain.signing.verifier`); ``rfc3161_client`` is imported
only when a bundle carries timestamps.
"""

from __future__ import annotations

from datetime import datetime

from supplychain.errors import VerificationError
from supplychain.signing.signed_material import SignedMaterial
from supplychain.signing.trust import TrustedRoot

MAX_TIMESTAMPS = 32


def _verify_timestamps(m: SignedMaterial, trust: TrustedRoot) -> list[datetime]:
    stamps = m.rfc3161_timestamps
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
        except Exception as exc:  # the decoder raises ValueError and its own types
            raise VerificationError("bundle holds an invalid RFC 3161 timestamp response") from exc
        for ca in trust.tsas:
            if len(ca.certs) < 2:
                continue
            builder = VerifierBuilder().tsa_certificate(ca.certs[0]).add_root_certificate(ca.certs[-1])
            for c in ca.certs[1:-1]:
                builder = builder.add_intermediate_certificate(c)
            try:
                builder.build().verify_message(tsr, m.signature)
            except (TsError, ValueError):
                continue
            gen = tsr.tst_info.gen_time
            if ca.valid.contains(gen):  # the TSA that authenticated it; closed interval
                times.append(gen)
                break
    return times
