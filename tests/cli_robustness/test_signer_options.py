"""Contradictory signer / identity options are a usage error (exit 2) for blob, model and image alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_robustness.helpers import fails_cleanly
from tests.conftest import run_cli

PW = {"SUPPLYCHAIN_PASSWORD": "pw"}


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("signed")
    assert run_cli("keygen", "--output-key-prefix", str(d / "k"), env=PW).exit_code == 0
    (d / "a.txt").write_text("data")
    res = run_cli("sign", "blob", str(d / "a.txt"), "--key", str(d / "k.key"), env=PW)
    assert res.exit_code == 0, res.stderr
    model = d / "model"
    model.mkdir()
    (model / "w.bin").write_bytes(b"\0" * 64)
    res = run_cli("sign", "model", str(model), "--key", str(d / "k.key"), env=PW)
    assert res.exit_code == 0, res.stderr
    return d


KEYLESS = ["--cert-identity", "me@example.com", "--cert-oidc-issuer", "https://issuer.example"]


def _targets(d: Path) -> list[list[str]]:
    # image: a closed loopback port; the usage check must come before any network call
    return [["verify", "blob", str(d / "a.txt")], ["verify", "model", str(d / "model")],
            ["verify", "image", "127.0.0.1:9/app:v1"]]


@pytest.mark.parametrize("extra, names", [
    (["--key", "PUB", *KEYLESS], "not both"),
    (["--key", "PUB", "--cert-identity-regexp", "x"], "not both"),
    (["--cert-identity", "a@b", "--cert-identity-regexp", "a", "--cert-oidc-issuer", "x"], "--cert-identity-regexp"),
    (["--cert-identity", "a@b", "--cert-oidc-issuer", "x", "--cert-oidc-issuer-regexp", "x"],
     "--cert-oidc-issuer-regexp"),
    (["--cert-identity-regexp", "(", "--cert-oidc-issuer", "x"], "invalid regular expression"),
    (["--cert-identity", "a@b", "--cert-oidc-issuer-regexp", "["], "invalid regular expression"),
])
def test_verify_identity_conflicts(signed: Path, extra: list[str], names: str) -> None:
    extra = [str(signed / "k.pub") if a == "PUB" else a for a in extra]
    for target in _targets(signed):
        fails_cleanly(*target, *extra, "--offline", names=names)


def test_verify_still_works_with_key_alone(signed: Path) -> None:
    for target in _targets(signed)[:2]:
        res = run_cli(*target, "--key", str(signed / "k.pub"), "--offline")
        assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize("extra", [["--identity-token", "abc"], ["--staging"], ["--trust-config", "TC"]])
def test_sign_key_with_keyless_options(signed: Path, extra: list[str], tmp_path: Path) -> None:
    tc = tmp_path / "tc.json"
    tc.write_text("{}")
    extra = [str(tc) if a == "TC" else a for a in extra]
    key = ["--key", str(signed / "k.key")]
    fails_cleanly("sign", "blob", str(signed / "a.txt"), *key, *extra, "--bundle", str(tmp_path / "b.json"),
                  names=extra[0], env=PW)
    fails_cleanly("sign", "model", str(signed / "model"), *key, *extra, "--signature", str(tmp_path / "m.sig"),
                  names=extra[0], env=PW)
    fails_cleanly("sign", "image", "127.0.0.1:9/app:v1", *key, *extra, names=extra[0], env=PW)
    assert not (tmp_path / "b.json").exists() and not (tmp_path / "m.sig").exists()


def test_sign_key_with_ambient_token_is_fine(signed: Path, tmp_path: Path) -> None:
    # $SIGSTORE_ID_TOKEN set by CI must not break key signing
    res = run_cli("sign", "blob", str(signed / "a.txt"), "--key", str(signed / "k.key"),
                  "--bundle", str(tmp_path / "b.json"), env={**PW, "SIGSTORE_ID_TOKEN": "abc"})
    assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize("extra", [["--trusted-root", "TR", "--trust-config", "TR"], ["--staging", "--trusted-root", "TR"],
                                   ["--staging", "--trust-config", "TR"]])
def test_two_trust_sources(signed: Path, tmp_path: Path, extra: list[str]) -> None:
    tr = tmp_path / "tr.json"
    tr.write_text("{}")
    extra = [str(tr) if a == "TR" else a for a in extra]
    for target in _targets(signed):
        fails_cleanly(*target, "--key", str(signed / "k.pub"), *extra, names="not several")
    images = tmp_path / "images.txt"
    images.write_text("docker.io/library/nginx:1.27\n")
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\n")
    fails_cleanly("gate", str(images), "--policy", str(policy), *extra, names="not several")


def test_sign_staging_and_trust_config(signed: Path, tmp_path: Path) -> None:
    tc = tmp_path / "tc.json"
    tc.write_text("{}")
    fails_cleanly("sign", "blob", str(signed / "a.txt"), "--staging", "--trust-config", str(tc),
                  "--bundle", str(tmp_path / "b.json"), names="--staging or --trust-config")
