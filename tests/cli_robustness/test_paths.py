"""Paths the OS refuses (names longer than NAME_MAX) and key prefixes without a file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_robustness.helpers import fails_cleanly
from tests.conftest import run_cli

PW = {"SUPPLYCHAIN_PASSWORD": "pw"}
LONG = "a" * 300  # longer than NAME_MAX (255) on every common file system


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("keys")
    assert run_cli("keygen", "--output-key-prefix", str(d / "k"), env=PW).exit_code == 0
    model = d / "model"
    model.mkdir()
    (model / "w.bin").write_bytes(b"\0" * 16)
    return d


@pytest.mark.parametrize("args", [
    ["sbom", "composer", LONG],
    ["verify", "blob", LONG, "--key", "{d}/k.pub"],
    ["verify", "model", "{d}/model", "--key", "{d}/k.pub", "--signature", LONG],
    ["policy", "check", LONG],
    ["pin", LONG],
    ["keygen", "--output-key-prefix", LONG],
])
def test_file_name_too_long(keys: Path, tmp_path: Path, args: list[str]) -> None:
    args = [a.replace("{d}", str(keys)) for a in args]
    res = fails_cleanly(*args, names=LONG[:50], cwd=tmp_path, env=PW)
    assert "too long" in res.stderr.lower()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("prefix", ["", "keys/"])
def test_keygen_prefix_without_a_file_name(tmp_path: Path, prefix: str) -> None:
    (tmp_path / "keys").mkdir()
    fails_cleanly("keygen", "--output-key-prefix", prefix, names="--output-key-prefix", cwd=tmp_path, env=PW)
    assert list((tmp_path / "keys").iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["keys"]


def test_verify_blob_directory_is_named_as_such(keys: Path, tmp_path: Path) -> None:
    res = fails_cleanly("verify", "blob", str(tmp_path), "--key", str(keys / "k.pub"), names=str(tmp_path))
    assert "directory" in res.stderr


def test_verify_blob_refuses_a_huge_bundle_before_reading_it(keys: Path, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("data")
    bundle = tmp_path / "a.txt.sigstore.json"
    with open(bundle, "wb") as fh:  # sparse: no disk space used, but far over the bundle limit
        fh.truncate(1 << 30)
    res = fails_cleanly("verify", "blob", str(tmp_path / "a.txt"), "--key", str(keys / "k.pub"), names=str(bundle))
    assert "larger than" in res.stderr


def test_sign_model_never_overwrites_a_model_file(keys: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    weights = model / "weights.bin"
    weights.write_bytes(b"\1\2\3" * 100)
    key = ["--key", str(keys / "k.key")]
    fails_cleanly("sign", "model", str(model), *key, "--signature", str(weights), names=str(weights), env=PW)
    fails_cleanly("sign", "model", str(weights), *key, "--signature", str(weights), names=str(weights), env=PW)
    assert weights.read_bytes() == b"\1\2\3" * 100
    # an earlier signature inside the model may be replaced (re-signing)
    for _ in range(2):
        res = run_cli("sign", "model", str(model), *key, "--signature", str(model / "release.sig"), env=PW)
        assert res.exit_code == 0, res.stderr
