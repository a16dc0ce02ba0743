"""Release once, gate fast: `attest image --scan` signs the image checks' result; the gate's
`image_scan:` section denies on it, requires it, or scans when it is missing (real registry)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.image_signing.conftest import ENV, make_keypair
from tests.imagebuild import File, build_image, push_image
from tests.imagecheck.samples import rand

pytestmark = [pytest.mark.registry, pytest.mark.slow]


@pytest.fixture(scope="module")
def scene(registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient

    client = RegistryClient()
    d = tmp_path_factory.mktemp("scan")
    key = make_keypair(d, "release")
    host = registry.host
    cfg = {"config": {"User": "10001", "Env": ["PATH=/usr/bin"]}, "history": []}
    refs = {}
    for name, files in {
        "leaky": [File("app/.env", f"DB_PASSWORD={rand(20)}\n".encode()), File("app/main.py", b"x = 1\n")],
        "clean": [File("app/main.py", b"print('ok')\n")],
        "unscanned": [File("app/.env", f"API_TOKEN={rand(20)}\n".encode())],
    }.items():
        tag = f"{host}/scan/{name}:1.0"
        digest = push_image(client, tag, build_image([files], config=cfg))
        refs[name] = f"{host}/scan/{name}:1.0@{digest}"
    keydir = d / "keys"
    keydir.mkdir()
    (keydir / "release.pub").write_bytes(key.public.read_bytes())
    return {"dir": d, "key": key, "refs": refs, "host": host}


def _attest(scene: dict[str, Any], name: str, *extra: str) -> Any:
    return run_cli("attest", "image", scene["refs"][name], "--key", str(scene["key"].private), "--tlog-upload=false",
                   *extra, env=ENV)


def _policy(scene: dict[str, Any], section: str, name: str = "p.yaml") -> Path:
    p: Path = scene["dir"] / name
    p.write_text(f"""version: 1
extends: default
trusted_registries: ["{scene['host']}/scan/**"]
signers:
  - name: release
    key: keys/release.pub
gate:
  rules: ["SC-IMG-*", "SC-GATE-*"]
{section}""")
    return p


def _gate(scene: dict[str, Any], name: str, policy: Path) -> tuple[int, dict[str, Any]]:
    r = run_cli("gate", "--image", scene["refs"][name], "--policy", str(policy), "--json")
    return r.exit_code, json.loads(r.stdout) if r.stdout.strip() else {"stderr": r.stderr}


def _rules(doc: dict[str, Any]) -> list[str]:
    return sorted(f["rule"] for f in doc.get("findings", []))


def test_attest_scan_and_gate(scene: dict[str, Any]) -> None:
    for name in ("leaky", "clean"):
        for what in ("sign",):
            r = run_cli(what, "image", scene["refs"][name], "--key", str(scene["key"].private), "--tlog-upload=false",
                        env=ENV)
            assert r.exit_code == 0, r.stderr
    r = _attest(scene, "leaky", "--scan", "--sbom-from-image")
    assert r.exit_code == 0, r.stderr
    assert "image scan, 1 error finding(s)" in r.stderr and "cyclonedx" in r.stderr
    r = _attest(scene, "clean", "--scan")
    assert r.exit_code == 0, r.stderr
    # the signed predicate: rule-set version, findings with fingerprints, never the value
    out = scene["dir"] / "scan.json"
    r = run_cli("verify", "image", scene["refs"]["leaky"], "--key", str(scene["dir"] / "keys/release.pub"),
                "--attestation", "https://supplychain.dev/attestations/image-scan/v1", "--output-attestation", str(out),
                env=ENV)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["scanner"]["ruleset"] and [f["rule"] for f in doc["findings"]] == ["IMG-SEC-020"]
    assert doc["findings"][0]["fingerprint"].startswith("IMG-SEC-020:")

    policy = _policy(scene, "image_scan:\n  deny: error\n")
    code, res = _gate(scene, "leaky", policy)
    assert code == 1 and "SC-GATE-021" in _rules(res), res
    code, res = _gate(scene, "clean", policy)
    assert code == 0, res
    # unsigned scan missing: required -> SC-GATE-020
    code, res = _gate(scene, "unscanned", policy)
    assert code == 1 and "SC-GATE-020" in _rules(res), res
    # the gate may scan it itself
    code, res = _gate(scene, "unscanned", _policy(scene, "image_scan:\n  scan_when_missing: true\n", "p2.yaml"))
    assert code == 1 and "SC-GATE-021" in _rules(res) and "scanned by the gate" in json.dumps(res), res
    # a waiver of the IMG rule for the path lifts the gate's denial
    waived = _policy(scene, "image_scan:\n  deny: error\nwaivers:\n  - rule: IMG-SEC-020\n    path: /app/.env\n"
                            "    reason: test credentials, TICKET-9\n    expires: 2099-12-31\n", "p3.yaml")
    code, res = _gate(scene, "leaky", waived)
    assert code == 0, res
    # a rule set newer than the attestation's: the scan counts as missing
    code, res = _gate(scene, "clean", _policy(scene, "image_scan:\n  min_ruleset: \"9999.1\"\n", "p4.yaml"))
    assert code == 1 and "SC-GATE-020" in _rules(res), res
