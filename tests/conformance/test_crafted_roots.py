"""Conformance-style cases we derive from upstream ones (held-out upstream cases re-created, and the
strict trusted-root rules of issue 9), run through the same CLI protocol as test_cli_protocol.py.

Each case copies an upstream case into a temporary directory and changes only its trusted root.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.test_cli_protocol import CONF, protocol_args, run_protocol

Root = dict[str, Any]


def _case(tmp_path: Path, base: str, edit: Callable[[Root], None], *, root_from: str | None = None) -> Path:
    src = CONF / base
    if not src.is_dir():
        pytest.skip(f"sigstore-conformance case {base} not found")
    d = tmp_path / (base.removesuffix("_fail") + "-crafted")
    shutil.copytree(src, d)
    root_file = src / "trusted_root.json"
    if not root_file.exists():
        root_file = CONF.parent / "trusted-roots" / (root_from or "production") / "trusted_root.json"
    root = json.loads(root_file.read_text())
    edit(root)
    (d / "trusted_root.json").write_text(json.dumps(root))
    (d.parent / "a.txt").write_bytes((CONF / "a.txt").read_bytes())
    return d


def _both(d: Path) -> list[tuple[int, str]]:
    out = []
    for digest in (False, True):
        r = run_protocol(protocol_args(d, digest=digest))
        assert "Traceback" not in r.stderr, r.stderr
        out.append((r.returncode, r.stderr))
    return out


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda vf: vf.pop(key, None)


@pytest.mark.parametrize(("where", "change"), [
    ("tlogs", _drop("start")),  # upstream trust-root-tlog-missing-validity-start_fail
    ("tlogs", lambda vf: vf.clear()),
    ("ctlogs", _drop("start")),
    ("certificateAuthorities", _drop("start")),
    ("timestampAuthorities", _drop("start")),
])
def test_validity_without_start_makes_the_root_invalid(tmp_path: Path, where: str, change: Any) -> None:
    def edit(root: Root) -> None:
        for item in root[where]:
            vf = item["publicKey"]["validFor"] if "publicKey" in item else item["validFor"]
            change(vf)

    base = "rekor2-happy-path" if where == "timestampAuthorities" else "happy-path-v0.3"
    for code, err in _both(_case(tmp_path, base, edit)):
        assert code == 2, err
        assert "validFor" in err and "trusted root" in err, err


def test_missing_validity_makes_the_root_invalid(tmp_path: Path) -> None:
    def edit(root: Root) -> None:
        del root["tlogs"][0]["publicKey"]["validFor"]

    for code, err in _both(_case(tmp_path, "happy-path-v0.3", edit)):
        assert code == 2 and "validFor: missing" in err, err


@pytest.mark.parametrize("bad", ["2024-13-45T00:00:00Z", "0000-01-01T00:00:00Z", "2024-02-30T25:61:00Z"])
def test_impossible_dates_are_a_clean_error(tmp_path: Path, bad: str) -> None:
    def edit(root: Root) -> None:
        root["certificateAuthorities"][0]["validFor"]["start"] = bad

    for code, err in _both(_case(tmp_path, "happy-path-v0.3", edit)):
        assert code == 2 and "timestamp" in err, err


def test_tsa_validity_is_not_borrowed_from_another_tsa(tmp_path: Path) -> None:
    """upstream rekor2-timestamp-wrong-tsa-validity-borrow_fail, re-created."""
    def edit(root: Root) -> None:
        decoy = copy.deepcopy(root["timestampAuthorities"][0])
        decoy["certChain"] = {"certificates": []}
        decoy["validFor"] = {"start": "2025-06-01T00:00:00Z", "end": "2025-07-01T00:00:00Z"}
        root["timestampAuthorities"].append(decoy)

    d = _case(tmp_path, "rekor2-timestamp-outside-trust-root-tsa-validity_fail", edit)
    for code, err in _both(d):
        assert code == 1, err


def test_sct_issuer_comes_from_the_verified_chain(tmp_path: Path) -> None:
    """upstream sct-duplicate-intermediate-name, re-created: a decoy CA whose intermediate has the
    genuine one's subject but another key comes first; the genuine bundle must still verify."""
    import base64
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def edit(root: Root) -> None:
        ca = next(c for c in root["certificateAuthorities"] if len(c["certChain"]["certificates"]) > 1)
        genuine = x509.load_der_x509_certificate(base64.b64decode(ca["certChain"]["certificates"][0]["rawBytes"]))
        key = ec.generate_private_key(ec.SECP384R1())
        now = datetime.datetime(2022, 1, 1, tzinfo=datetime.UTC)
        decoy = (x509.CertificateBuilder().subject_name(genuine.subject).issuer_name(genuine.subject)
                 .public_key(key.public_key()).serial_number(1).not_valid_before(now)
                 .not_valid_after(now + datetime.timedelta(days=3650))
                 .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                 .sign(key, hashes.SHA384()))
        entry = copy.deepcopy(ca)
        entry["certChain"]["certificates"] = [
            {"rawBytes": base64.b64encode(decoy.public_bytes(serialization.Encoding.DER)).decode()}]
        root["certificateAuthorities"].insert(0, entry)

    for code, err in _both(_case(tmp_path, "happy-path-v0.3", edit)):
        assert code == 0, err


def test_every_timestamp_is_checked_against_the_certificate(tmp_path: Path) -> None:
    """upstream rekor2-multiple-timestamps-one-outside-cert-validity_fail, re-created: the happy
    bundle plus the (later, out-of-validity) timestamp of rekor2-timestamp-with-incorrect-time_fail."""
    late = CONF / "rekor2-timestamp-with-incorrect-time_fail" / "bundle.sigstore.json"
    if not late.exists():
        pytest.skip("sigstore-conformance case rekor2-timestamp-with-incorrect-time_fail not found")
    d = _case(tmp_path, "rekor2-happy-path", lambda root: None)
    bundle = json.loads((d / "bundle.sigstore.json").read_text())
    extra = json.loads(late.read_text())["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
    bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] += extra
    (d / "bundle.sigstore.json").write_text(json.dumps(bundle))
    for code, err in _both(d):
        assert code == 1, err
