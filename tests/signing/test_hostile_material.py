"""Hostile signature material never crashes `verify blob` / `verify model`: one clean line, exit 1 or 2.

Certificates with duplicate extensions or an unknown key algorithm, integers of thousands of digits,
deeply nested JSON, in bundles and trusted roots.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import EXTERNAL, run_cli
from tests.signing.test_conformance import BEACON, GHA

CONF = EXTERNAL / "sigstore-bundles" / "conformance"
PROD = EXTERNAL / "sigstore-bundles" / "trusted-roots" / "production" / "trusted_root.json"


def _cert_der(*, duplicate_extension: bool = False, unknown_key: bool = False) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile")])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
         .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
         .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.5.6"), b"\x05\x00"), False)
         .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.5.7"), b"\x05\x00"), False))
    der = b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    if duplicate_extension:  # same length OID: the DER stays well-formed, the extension is now twice
        der = der.replace(bytes.fromhex("06052a03040507"), bytes.fromhex("06052a03040506"))
    if unknown_key:  # id-ecPublicKey 1.2.840.10045.2.1 -> 1.2.840.10045.2.9 (no such algorithm)
        der = der.replace(bytes.fromhex("06072a8648ce3d0201"), bytes.fromhex("06072a8648ce3d0209"))
    return der


def _happy() -> dict:  # type: ignore[type-arg]
    p = CONF / "happy-path-v0.3" / "bundle.sigstore.json"
    if not p.exists():
        pytest.skip("sigstore-conformance cases not found")
    return json.loads(p.read_text())


def _verify(tmp_path: Path, bundle: bytes | str, *extra: str, root: Path = PROD) -> tuple[int, str]:
    b = tmp_path / "bundle.json"
    b.write_bytes(bundle.encode() if isinstance(bundle, str) else bundle)
    r = run_cli("verify", "blob", str(CONF / "a.txt"), "--bundle", str(b), "--trusted-root", str(root),
                "--cert-identity", BEACON, "--cert-oidc-issuer", GHA, *extra)
    assert "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2, r.stderr  # error line (+ hint)
    return r.exit_code, r.stderr


@pytest.mark.parametrize("kind", ["duplicate_extension", "unknown_key"])
def test_hostile_certificates(tmp_path: Path, kind: str) -> None:
    doc = _happy()
    doc["verificationMaterial"]["certificate"]["rawBytes"] = base64.b64encode(_cert_der(**{kind: True})).decode()
    code, err = _verify(tmp_path, json.dumps(doc))
    assert code == 1 and "malformed or unsupported" in err, err


def test_huge_integers(tmp_path: Path) -> None:
    doc = _happy()
    doc["verificationMaterial"]["tlogEntries"][0]["logIndex"] = "@@BIG@@"
    text = json.dumps(doc).replace('"@@BIG@@"', "9" * 5000)
    code, err = _verify(tmp_path, text)
    assert code == 2, err
    doc["verificationMaterial"]["tlogEntries"][0]["logIndex"] = "9" * 5000  # as a protobuf-JSON string
    code, err = _verify(tmp_path, json.dumps(doc))
    assert code == 2 and "64-bit integer" in err, err


def test_deeply_nested_json(tmp_path: Path) -> None:
    code, err = _verify(tmp_path, "[" * 200_000 + "]" * 200_000)
    assert code == 2, err
    doc = _happy()
    doc["verificationMaterial"]["tlogEntries"][0]["kindVersion"] = "@@DEEP@@"
    code, err = _verify(tmp_path, json.dumps(doc).replace('"@@DEEP@@"', "[" * 100_000 + "]" * 100_000))
    assert code == 2, err


def test_hostile_trusted_root(tmp_path: Path) -> None:
    root = tmp_path / "root.json"
    root.write_text('{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", "tlogs": '
                    + "[" * 100_000 + "]" * 100_000 + "}")
    code, err = _verify(tmp_path, json.dumps(_happy()), root=root)
    assert code == 2 and "root.json" in err, err
    data = json.loads(PROD.read_text())
    data["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] = base64.b64encode(
        _cert_der(unknown_key=True)).decode()
    root.write_text(json.dumps(data))
    code, err = _verify(tmp_path, json.dumps(_happy()), root=root)
    assert code == 2 and "certificate" in err, err


def test_hostile_log_entry_times(tmp_path: Path) -> None:
    doc = _happy()
    doc["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = str((1 << 63) - 1)
    code, err = _verify(tmp_path, json.dumps(doc))
    assert code == 1, err


_VALUES = [None, 0, -1, 1 << 70, "", "AAAA", "!!", [], {}, True, 1.5, "0", "-5", "9" * 30]


def _paths(o: object, p: tuple = ()) -> list[tuple]:  # type: ignore[type-arg]
    out = [p]
    if isinstance(o, dict):
        for k, v in o.items():
            out += _paths(v, (*p, k))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            out += _paths(v, (*p, i))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_mutated_conformance_bundles_never_crash(seed: int) -> None:
    """Every field of the passing conformance bundles, replaced by values of the wrong type or
    range, or deleted: the verifier answers with a SupplychainError or (for fields no check
    covers) still verifies; it never raises anything else."""
    import copy
    import random

    from supplychain.errors import SupplychainError
    from supplychain.signing.policy import SignerPolicy
    from supplychain.signing.trust import load_trusted_root_file
    from supplychain.signing.verifier import verify_bundle

    if not CONF.is_dir():
        pytest.skip("sigstore-conformance cases not found")
    prod = load_trusted_root_file(PROD)
    cases = sorted(d for d in CONF.iterdir() if (d / "bundle.sigstore.json").exists() and not d.name.endswith("_fail"))
    rnd = random.Random(seed)
    for _ in range(60):
        d = rnd.choice(cases)
        doc = json.loads((d / "bundle.sigstore.json").read_text())
        trust = load_trusted_root_file(d / "trusted_root.json") if (d / "trusted_root.json").exists() else prod
        ident = SignerPolicy(key_path=str(d / "key.pub")) if (d / "key.pub").exists() else \
            SignerPolicy(identity=BEACON, issuer=GHA)
        artifact = (d / "artifact").read_bytes() if (d / "artifact").exists() else (CONF / "a.txt").read_bytes()
        path = rnd.choice(_paths(doc)[1:])
        mutated = copy.deepcopy(doc)
        parent = mutated
        for k in path[:-1]:
            parent = parent[k]
        if rnd.random() < 0.8:
            parent[path[-1]] = rnd.choice(_VALUES)
        elif isinstance(parent, dict):
            parent.pop(path[-1], None)
        try:
            verify_bundle(json.dumps(mutated).encode(), identity=ident, trust=trust, artifact=artifact)
        except SupplychainError:
            pass
