"""The bundle parser and verifier never crash on hostile input: only InputError / VerificationError."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.errors import SupplychainError
from supplychain.signing.formats.bundle import b64decode_strict, parse_bundle
from supplychain.signing.policy import SignerPolicy as IdentitySpec
from supplychain.signing.tlog import parse_checkpoint
from supplychain.signing.trust import TrustedRoot
from supplychain.signing.verifier import verify_bundle

EMPTY_ROOT = TrustedRoot(source="empty", tlogs=[], ctlogs=[], fulcio=[], tsas=[])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)

B64 = st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())
bundle_like = st.fixed_dictionaries(
    {"mediaType": st.sampled_from(["application/vnd.dev.sigstore.bundle.v0.3+json",
                                   "application/vnd.dev.sigstore.bundle+json;version=0.1", "x"])},
    optional={
        "verificationMaterial": st.fixed_dictionaries({}, optional={
            "certificate": st.fixed_dictionaries({"rawBytes": B64}),
            "publicKey": st.fixed_dictionaries({"hint": st.text(max_size=10)}),
            "tlogEntries": st.lists(json_values, max_size=2),
            "timestampVerificationData": json_values,
        }),
        "messageSignature": st.fixed_dictionaries({"signature": B64 | json_values}),
        "dsseEnvelope": st.fixed_dictionaries({"payload": B64, "payloadType": st.text(max_size=10),
                                               "signatures": st.lists(json_values, max_size=2)}),
    },
)


def _check(raw: bytes) -> None:
    try:
        parse_bundle(raw)
    except SupplychainError:
        pass
    try:
        verify_bundle(raw, identity=IdentitySpec(identity="a", issuer="b"), trust=EMPTY_ROOT, artifact=b"x")
    except SupplychainError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundle_like)
def test_bundle_shaped_json(doc: dict[str, Any]) -> None:
    _check(json.dumps(doc).encode())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_checkpoint_parser(text: str) -> None:
    try:
        parse_checkpoint(text)
    except SupplychainError:
        pass


@given(st.binary(max_size=64))
def test_base64_accepts_both_alphabets_with_or_without_padding(b: bytes) -> None:
    std = base64.b64encode(b).decode()
    assert b64decode_strict(std, "x") == b
    assert b64decode_strict(std.rstrip("="), "x") == b
    assert b64decode_strict(base64.urlsafe_b64encode(b).decode(), "x") == b


root_like = st.fixed_dictionaries(
    {"mediaType": st.sampled_from(["application/vnd.dev.sigstore.trustedroot+json;version=0.1", "x"])},
    optional={
        "tlogs": st.lists(st.fixed_dictionaries({}, optional={
            "baseUrl": st.text(max_size=10),
            "publicKey": st.fixed_dictionaries({}, optional={
                "rawBytes": B64 | json_values,
                "keyDetails": st.sampled_from(["PKIX_ECDSA_P256_SHA_256", "PKIX_ED25519", "NOPE"]),
                "validFor": st.fixed_dictionaries({}, optional={"start": st.text(max_size=25) | json_values}),
            }),
            "logId": st.fixed_dictionaries({}, optional={"keyId": B64 | json_values}),
        }), max_size=2) | json_values,
        "certificateAuthorities": st.lists(json_values, max_size=2),
        "timestampAuthorities": json_values,
    },
)


@settings(max_examples=200, deadline=None)
@given(root_like)
def test_trusted_root_parser_only_raises_input_errors(doc: dict[str, Any]) -> None:
    from supplychain.errors import InputError
    from supplychain.signing.trust import parse_trusted_root

    try:
        parse_trusted_root(doc, source="hostile.json")
    except InputError:
        pass
