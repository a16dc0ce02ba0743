"""sbom model: one machine-learning-model component per weight file, digests == the signature's."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from supplychain.signing.model import sign_model
from supplychain.signing.specs import SignerSpec
from tests.conftest import run_cli
from tests.model.conftest import KeyPair


def _validate(text: str, fmt: str, spec: str) -> None:
    from cyclonedx.schema import OutputFormat, SchemaVersion
    from cyclonedx.validation import make_schemabased_validator

    version = {"1.4": SchemaVersion.V1_4, "1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}[spec]
    validator = make_schemabased_validator(OutputFormat.JSON if fmt == "json" else OutputFormat.XML, version)
    errors = validator.validate_str(text)
    assert errors is None, str(errors)


@pytest.mark.parametrize("alg,cdx", [("sha256", "SHA-256"), ("blake3", "BLAKE3")])
def test_sbom_digests_equal_signature_digests(model_dir: Path, keypair: KeyPair, alg: str, cdx: str) -> None:
    res = sign_model(model_dir, SignerSpec(key_path=str(keypair.private)), hash_algorithm=alg)
    doc = json.loads(res.signature_path.read_text())
    stmt = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    signed = {r["name"]: r["digest"] for r in stmt["predicate"]["resources"]}

    r = run_cli("sbom", "model", str(model_dir), "--hash-algorithm", alg, "--output-reproducible")
    assert r.exit_code == 0, r.stderr
    bom = json.loads(r.stdout)
    comps = {c["name"]: c for c in bom["components"]}
    assert {n: c["hashes"][0]["content"] for n, c in comps.items()} == signed
    assert all(c["hashes"][0]["alg"] == cdx for c in comps.values())
    weights = sorted(n for n, c in comps.items() if c["type"] == "machine-learning-model")
    assert weights == ["extra.bin", "model.safetensors"]
    assert comps["config.json"]["type"] == "file"
    root = bom["metadata"]["component"]
    assert root["type"] == "machine-learning-model" and root["name"] == "tiny-model"
    props = {p["name"]: p["value"] for p in root.get("properties", [])}
    assert props["supplychain:model-signing:manifest-digest"] == stmt["subject"][0]["digest"]["sha256"]
    _validate(r.stdout, "json", "1.6")


@pytest.mark.parametrize("spec,fmt", [("1.5", "json"), ("1.6", "xml"), ("1.4", "xml")])
def test_sbom_is_schema_valid(model_dir: Path, spec: str, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"bom.{fmt}"
    r = run_cli("sbom", "model", str(model_dir), "--spec-version", spec, "--output-format", fmt, "-o", str(out))
    assert r.exit_code == 0, r.stderr
    _validate(out.read_text(), fmt, spec)


def test_sbom_reproducible_and_single_file(tmp_path: Path) -> None:
    f = tmp_path / "model.onnx"
    f.write_bytes(b"onnx-bytes" * 1000)
    a = run_cli("sbom", "model", str(f), "--output-reproducible")
    b = run_cli("sbom", "model", str(f), "--output-reproducible")
    assert a.exit_code == 0, a.stderr
    assert a.stdout_bytes == b.stdout_bytes
    comps = json.loads(a.stdout)["components"]
    assert [(c["name"], c["type"]) for c in comps] == [("model.onnx", "machine-learning-model")]


def test_sbom_refuses_symlinks(model_dir: Path) -> None:
    (model_dir / "link.bin").symlink_to("extra.bin")
    r = run_cli("sbom", "model", str(model_dir))
    assert r.exit_code == 2 and "symbolic link" in r.stderr
