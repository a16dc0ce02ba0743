"""Fail closed: every single-field change to a valid third-party bundle makes verification fail.

Each mutation targets one check (signature, certificate chain, SET, inclusion proof, checkpoint,
log identity, logged body, RFC 3161 timestamp, DSSE envelope), so a check that is silently
skipped shows up here.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from supplychain.errors import SupplychainError
from supplychain.signing.policy import SignerPolicy as IdentitySpec
from supplychain.signing.trust import load_trusted_root_file
from supplychain.signing.verifier import verify_bundle
from tests.conftest import EXTERNAL

CONF = EXTERNAL / "sigstore-bundles" / "conformance"
BEACON = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
          "extremely-dangerous-oidc-beacon.yml@refs/heads/main")
IDENT = IdentitySpec(identity=BEACON, issuer="https://token.actions.githubusercontent.com")

Mut = Callable[[dict[str, Any]], None]


def _flip(value: str, at: int | None = None) -> str:
    raw = bytearray(base64.b64decode(value))
    i = len(raw) // 2 if at is None else at
    raw[i] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _flip_first_note_signature(note: str) -> str:
    """Corrupt the signature on the first signature line (the log's own)."""
    text, sigs = note.split("\n\n", 1)
    lines = sigs.split("\n")
    dash, name, sig = lines[0].split(" ")
    lines[0] = f"{dash} {name} {_flip(sig, -3)}"
    return text + "\n\n" + "\n".join(lines)


def _entry(b: dict[str, Any]) -> dict[str, Any]:
    e: dict[str, Any] = b["verificationMaterial"]["tlogEntries"][0]
    return e


def _cert(b: dict[str, Any]) -> dict[str, Any]:
    vm = b["verificationMaterial"]
    c: dict[str, Any] = vm["certificate"] if "certificate" in vm else vm["x509CertificateChain"]["certificates"][0]
    return c


def _body(edit: Callable[[dict[str, Any]], None]) -> Mut:
    def m(b: dict[str, Any]) -> None:
        body = json.loads(base64.b64decode(_entry(b)["canonicalizedBody"]))
        edit(body)
        _entry(b)["canonicalizedBody"] = base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()
    return m


def _set(path: list[Any], fn: Callable[[Any], Any]) -> Mut:
    def m(b: dict[str, Any]) -> None:
        obj: Any = b
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = fn(obj[path[-1]])
    return m


TLOG = ["verificationMaterial", "tlogEntries", 0]
PROOF = [*TLOG, "inclusionProof"]

COMMON: dict[str, Mut] = {
    "certificate signature": lambda b: _cert(b).update(rawBytes=_flip(_cert(b)["rawBytes"], -5)),
    "certificate body": lambda b: _cert(b).update(rawBytes=_flip(_cert(b)["rawBytes"], 200)),
    "log id": _set([*TLOG, "logId", "keyId"], _flip),
    "proof hash": _set([*PROOF, "hashes", 0], _flip),
    "proof root hash": _set([*PROOF, "rootHash"], _flip),
    "proof tree size": _set([*PROOF, "treeSize"], lambda v: str(int(v) + 1)),
    "proof log index": _set([*PROOF, "logIndex"], lambda v: str(int(v) + 1)),
    "checkpoint signature": _set([*PROOF, "checkpoint", "envelope"], lambda v: _flip_first_note_signature(v)),
    "checkpoint origin": _set([*PROOF, "checkpoint", "envelope"], lambda v: "x" + v),
    "body kind": _set([*TLOG, "kindVersion", "kind"], lambda v: "rekord"),
}

SET: dict[str, Mut] = {
    "integrated time": _set([*TLOG, "integratedTime"], lambda v: str(int(v) + 1)),
    "entry log index": _set([*TLOG, "logIndex"], lambda v: str(int(v) + 1)),
    "inclusion promise": _set([*TLOG, "inclusionPromise", "signedEntryTimestamp"], _flip),
    "no inclusion promise": lambda b: _entry(b).pop("inclusionPromise"),
}

MESSAGE: dict[str, Mut] = {
    "signature": _set(["messageSignature", "signature"], _flip),
    "message digest": _set(["messageSignature", "messageDigest", "digest"], _flip),
}

HASHEDREKORD_V1_BODY: dict[str, Mut] = {
    "logged digest": _body(lambda d: d["spec"]["data"]["hash"].update(value="0" * 64)),
}

DSSE: dict[str, Mut] = {
    "dsse signature": _set(["dsseEnvelope", "signatures", 0, "sig"], _flip),
    "dsse payload": _set(["dsseEnvelope", "payload"], _flip),
    "dsse payload type": _set(["dsseEnvelope", "payloadType"], lambda v: "application/json"),
    "dsse extra signature": lambda b: b["dsseEnvelope"]["signatures"].append(b["dsseEnvelope"]["signatures"][0]),
}

TSA: dict[str, Mut] = {
    "timestamp": _set(["verificationMaterial", "timestampVerificationData", "rfc3161Timestamps", 0,
                       "signedTimestamp"], lambda v: _flip(v.replace("\n", ""), -20)),
    "no timestamp": lambda b: b["verificationMaterial"].pop("timestampVerificationData"),
}


def _params() -> list[Any]:
    out = []
    sets: list[tuple[str, dict[str, Mut]]] = [
        ("happy-path-v0.1", {**COMMON, **SET, **MESSAGE, **HASHEDREKORD_V1_BODY}),
        ("happy-path-v0.3", {**COMMON, **SET, **MESSAGE, **HASHEDREKORD_V1_BODY}),
        ("happy-path-intoto-in-dsse-v3", {**COMMON, **SET, **DSSE}),
        ("rekor2-happy-path", {**COMMON, **MESSAGE, **TSA}),
        ("rekor2-dsse-happy-path", {**COMMON, **DSSE, **TSA}),
        # a v0.2 bundle with a signed timestamp (its inclusion promise is optional) from a log of
        # one entry (its inclusion proof has no hashes)
        ("intoto-with-custom-trust-root", {**{k: v for k, v in COMMON.items() if k != "proof hash"},
                                           **{k: v for k, v in SET.items() if k != "no inclusion promise"},
                                           **DSSE}),
    ]
    for case, muts in sets:
        for name, fn in muts.items():
            out.append(pytest.param(case, fn, id=f"{case}:{name}"))
    return out


@pytest.mark.parametrize(("case", "mutate"), _params())
def test_single_mutation_fails(case: str, mutate: Mut, external: object) -> None:
    d = CONF / case
    if not d.is_dir():
        pytest.skip(f"{d} not found")
    root_file = d / "trusted_root.json" if (d / "trusted_root.json").exists() else \
        EXTERNAL / "sigstore-bundles/trusted-roots/production/trusted_root.json"
    trust = load_trusted_root_file(root_file)
    artifact = (d / "artifact" if (d / "artifact").exists() else CONF / "a.txt").read_bytes()
    original = json.loads((d / "bundle.sigstore.json").read_text())
    verify_bundle(json.dumps(original), identity=IDENT, trust=trust, artifact=artifact)  # valid as is
    bundle = copy.deepcopy(original)
    mutate(bundle)
    assert bundle != original
    with pytest.raises(SupplychainError):
        verify_bundle(json.dumps(bundle), identity=IDENT, trust=trust, artifact=artifact)
