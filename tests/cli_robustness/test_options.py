"""Option values: each error names the option the user typed; contradictory report options are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_robustness.helpers import fails_cleanly
from tests.conftest import Registry, run_cli

PW = {"SUPPLYCHAIN_PASSWORD": "pw"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("keys")
    assert run_cli("keygen", "--output-key-prefix", str(d / "k"), env=PW).exit_code == 0
    (d / "pred.json").write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6"}')
    return d


def test_attestation_type_errors_name_the_option(keys: Path) -> None:
    # checked before any registry call: a closed loopback port is never contacted
    res = fails_cleanly("verify", "image", "127.0.0.1:9/app:v1", "--key", str(keys / "k.pub"),
                        "--attestation", "nonsense", names="--attestation")
    assert "--type" not in res.stderr
    for bad in ("nonsense", "https://example.com/a b"):
        fails_cleanly("attest", "image", "127.0.0.1:9/app:v1", "--key", str(keys / "k.key"),
                      "--predicate", str(keys / "pred.json"), "--type", bad, names="--type", env=PW)


def test_gate_json_and_another_format(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\n")
    (tmp_path / "images.txt").write_text("docker.io/library/nginx:1.27\n")
    fails_cleanly("gate", str(tmp_path / "images.txt"), "--policy", str(policy), "--offline", "--json",
                  "--format", "sarif", names="--format sarif")


def test_verify_image_empty_output_attestation_is_an_error(registry: Registry, keys: Path) -> None:
    from supplychain.oci.auth import CredentialStore
    from supplychain.oci.registry import RegistryClient
    from tests.imagebuild import File, build_image, push_image

    ref = f"{registry.host}/robustness/outatt:v1"
    push_image(RegistryClient(credentials=CredentialStore(env={}, config_paths=[])), ref,
               build_image([[File("/etc/os-release", b"ID=debian\n")]]))
    assert run_cli("sign", "image", ref, "--key", str(keys / "k.key"), env=PW).exit_code == 0
    res = run_cli("attest", "image", ref, "--key", str(keys / "k.key"), "--predicate", str(keys / "pred.json"),
                  env=PW)
    assert res.exit_code == 0, res.stderr
    res = run_cli("verify", "image", ref, "--key", str(keys / "k.pub"), "--offline", "--output-attestation", "")
    assert res.exit_code == 2, res.stderr
    assert "internal error" not in res.stderr


@pytest.mark.parametrize("signer, words", [
    ("{name: a, key: KEY, subject: me@example.com, issuer: https://x}", "not both"),
    ("{name: a, subject: me@example.com, subject_regexp: '.*', issuer: https://x}", "`subject_regexp`"),
    ("{name: a, subject: me@example.com, issuer: https://x, issuer_regexp: x}", "`issuer_regexp`"),
])
def test_gate_policy_signer_conflicts(keys: Path, tmp_path: Path, signer: str, words: str) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nsigners:\n  - " + signer.replace("KEY", str(keys / "k.pub")) + "\n")
    (tmp_path / "images.txt").write_text("docker.io/library/nginx:1.27\n")
    fails_cleanly("gate", str(tmp_path / "images.txt"), "--policy", str(policy), "--offline",
                  names=f"{policy}: signers[0]")
    res = fails_cleanly("gate", str(tmp_path / "images.txt"), "--policy", str(policy), "--offline")
    assert words in res.stderr


def test_registry_port_zero_is_an_invalid_reference() -> None:
    # port 0 used to be sent to port 80 by the HTTP library
    fails_cleanly("sbom", "image", "127.0.0.1:0/app:v1", names="127.0.0.1:0")
