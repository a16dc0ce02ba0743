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
