"""Valid JSON of the wrong shape, and deeply nested JSON, in files the signing and image commands read."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.cli_robustness.helpers import fails_cleanly
from tests.conftest import Registry, run_cli

PW = {"SUPPLYCHAIN_PASSWORD": "pw"}
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("keys")
    assert run_cli("keygen", "--output-key-prefix", str(d / "k"), env=PW).exit_code == 0
    return d


def test_docker_archive_config_with_rootfs_list(tmp_path: Path) -> None:
    from tests.imagebuild import File, build_image, write_docker_archive

    img = build_image([[File("/etc/os-release", b"ID=debian\n")]])
    good = write_docker_archive(tmp_path / "good.tar", img, repo_tag="example.com/app:v1")
    bad = tmp_path / "bad.tar"
    with tarfile.open(good) as src, tarfile.open(bad, "w") as dst:
        manifest = json.loads(src.extractfile("manifest.json").read())  # type: ignore[union-attr]
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
            if m.name == manifest[0]["Config"]:
                data = json.dumps({"rootfs": [1]}).encode()
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
    fails_cleanly("sbom", "image", f"docker-archive:{bad}", names=str(bad))


def test_model_signature_deeply_nested(keys: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "w.bin").write_bytes(b"\1" * 32)
    sig = tmp_path / "deep.sig"
    sig.write_text(DEEP)
    fails_cleanly("verify", "model", str(model), "--key", str(keys / "k.pub"), "--signature", str(sig),
                  code=1, names=str(sig))


@pytest.mark.parametrize("predicate", ["[]", "null", "5", '"text"', DEEP])
def test_attest_predicate_must_be_a_json_object(registry: Registry, keys: Path, tmp_path: Path,
                                                predicate: str) -> None:
    from supplychain.oci.auth import CredentialStore
    from supplychain.oci.registry import RegistryClient
    from tests.imagebuild import File, build_image, push_image

    ref = f"{registry.host}/robustness/attest:v1"
    push_image(RegistryClient(credentials=CredentialStore(env={}, config_paths=[])), ref,
               build_image([[File("/etc/os-release", b"ID=debian\n")]]))
    p = tmp_path / "pred.json"
    p.write_text(predicate)
    res = fails_cleanly("attest", "image", ref, "--key", str(keys / "k.key"), "--predicate", str(p),
                        names=str(p), env=PW)
    assert "predicate" in res.stderr
