"""Trusted-root validity periods are closed intervals: an authority whose validity ends exactly at
the signing time still counts; one second earlier it does not (TSA, Fulcio CA, Rekor key)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import VerificationError
from supplychain.signing.policy import SignerPolicy as IdentitySpec
from supplychain.signing.trust import parse_trusted_root
from supplychain.signing.verifier import verify_bundle
from tests.conftest import EXTERNAL

CONF = EXTERNAL / "sigstore-bundles" / "conformance"
BEACON = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
          "extremely-dangerous-oidc-beacon.yml@refs/heads/main")
IDENT = IdentitySpec(identity=BEACON, issuer="https://token.actions.githubusercontent.com")


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _load(case: str) -> tuple[bytes, dict[str, Any]]:
    d = CONF / case
    if not d.is_dir():
        pytest.skip(f"{d} not found")
    root = d / "trusted_root.json" if (d / "trusted_root.json").exists() else \
        EXTERNAL / "sigstore-bundles/trusted-roots/production/trusted_root.json"
    return (d / "bundle.sigstore.json").read_bytes(), json.loads(Path(root).read_text())


def _verify(bundle: bytes, root: dict[str, Any]) -> None:
    verify_bundle(bundle, identity=IDENT, trust=parse_trusted_root(root, source="edited root"),
                  artifact=(CONF / "a.txt").read_bytes())


def test_tsa_validity_end_is_inclusive() -> None:
    bundle, root = _load("rekor2-happy-path")
    from rfc3161_client import decode_timestamp_response

    raw = json.loads(bundle)["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
    gen = decode_timestamp_response(base64.b64decode(raw["signedTimestamp"])).tst_info.gen_time
    assert gen.microsecond == 0
    for tsa in root["timestampAuthorities"]:
        tsa["validFor"]["end"] = _iso(gen)
    _verify(bundle, root)
    for tsa in root["timestampAuthorities"]:
        tsa["validFor"]["end"] = _iso(gen - timedelta(seconds=1))
    with pytest.raises(VerificationError, match="timestamp"):
        _verify(bundle, root)


def _integrated_time(bundle: bytes) -> datetime:

    entry = json.loads(bundle)["verificationMaterial"]["tlogEntries"][0]
    return datetime.fromtimestamp(int(entry["integratedTime"]), tz=UTC)


def test_fulcio_ca_validity_end_is_inclusive() -> None:
    bundle, root = _load("happy-path-v0.3")
    t = _integrated_time(bundle)
    for ca in root["certificateAuthorities"]:
        ca["validFor"]["end"] = _iso(t)
    _verify(bundle, root)
    for ca in root["certificateAuthorities"]:
        ca["validFor"]["end"] = _iso(t - timedelta(seconds=1))
    with pytest.raises(VerificationError, match="Fulcio CA"):
        _verify(bundle, root)
    for ca in root["certificateAuthorities"]:
        ca["validFor"] = {"start": _iso(t + timedelta(seconds=1))}
    with pytest.raises(VerificationError, match="Fulcio CA"):
        _verify(bundle, root)


def test_rekor_key_validity_is_checked_at_integration_time() -> None:
    bundle, root = _load("happy-path-v0.3")
    t = _integrated_time(bundle)
    for tlog in root["tlogs"]:
        tlog["publicKey"]["validFor"] = {"start": _iso(t - timedelta(days=1)), "end": _iso(t)}
    _verify(bundle, root)
    for tlog in root["tlogs"]:
        tlog["publicKey"]["validFor"] = {"start": _iso(t - timedelta(days=1)), "end": _iso(t - timedelta(seconds=1))}
    with pytest.raises(VerificationError, match="validity"):
        _verify(bundle, root)
