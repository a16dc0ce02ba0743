"""Interop with skopeo (an independent implementation): images skopeo writes, we read; images
we push, skopeo pulls and verifies. Skips when skopeo is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from supplychain.oci.auth import CredentialStore
from supplychain.oci.fs import Want
from supplychain.oci.image import open_image
from supplychain.oci.layers import squash
from supplychain.oci.registry import RegistryClient
from tests.imagebuild import (
    Dir,
    File,
    Opaque,
    Symlink,
    Whiteout,
    build_image,
    build_index,
    push_image,
    write_oci_layout,
)

SKOPEO = shutil.which("skopeo")
pytestmark = pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed (apt-get install skopeo)")


def _skopeo(tmp: Path, *args: str) -> str:
    policy = tmp / "policy.json"
    if not policy.exists():
        policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    assert SKOPEO is not None
    proc = subprocess.run([SKOPEO, "--policy", str(policy), *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _tree(source: str, client: RegistryClient | None = None) -> dict[str, bytes | None]:
    with open_image(source, client=client) as im:
        return {p: e.data for p, e in squash(im, lambda p: Want.CONTENT).files.items()}


IMAGE_LAYERS = [
    [Dir("/etc"), File("/etc/os-release", b"ID=debian\n"), Dir("/opt/x"), File("/opt/x/old", b"o"),
     File("/gone", b"g"), Symlink("/usr/lib/os-release", "../../etc/os-release")],
    [Whiteout("/gone"), Opaque("/opt/x"), File("/opt/x/new", b"n")],
]
WANT = {"/etc/os-release": b"ID=debian\n", "/opt/x/new": b"n"}


def test_we_read_what_skopeo_writes(tmp_path: Path) -> None:
    img = build_image(IMAGE_LAYERS)
    layout = write_oci_layout(tmp_path / "src", img, tag="v1")
    _skopeo(tmp_path, "copy", f"oci:{layout}:v1", f"docker-archive:{tmp_path}/d.tar:example.com/app:v1")
    _skopeo(tmp_path, "copy", f"oci:{layout}:v1", f"oci-archive:{tmp_path}/o.tar:v1")
    _skopeo(tmp_path, "copy", "--dest-compress-format", "gzip", f"oci:{layout}:v1", f"oci:{tmp_path}/copy:v2")
    assert _tree(str(tmp_path / "d.tar")) == WANT
    assert _tree(f"oci-archive:{tmp_path}/o.tar:v1") == WANT
    assert _tree(f"oci:{tmp_path}/copy:v2") == WANT
    with open_image(str(tmp_path / "d.tar")) as im:
        assert im.reference is not None and str(im.reference) == "example.com/app:v1"


@pytest.mark.registry
def test_registry_roundtrip_both_ways(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = RegistryClient(credentials=CredentialStore(env={}, config_paths=[]))
    img = build_image(IMAGE_LAYERS)
    layout = write_oci_layout(tmp_path / "src", img, tag="v1")
    # skopeo pushes, we pull
    _skopeo(tmp_path, "copy", "--dest-tls-verify=false", f"oci:{layout}:v1",
            f"docker://{registry.host}/ocitest/interop/skopeo:v1")
    assert client.resolve_digest(f"{registry.host}/ocitest/interop/skopeo:v1") == img.manifest_digest
    assert _tree(f"{registry.host}/ocitest/interop/skopeo:v1", client) == WANT
    # we push (an index with two platforms), skopeo pulls and checks every digest
    arm = build_image([[File("/arch", b"arm64")]], arch="arm64", variant="v8")
    index = build_index([img, arm])
    push_image(client, f"{registry.host}/ocitest/interop/ours:v1", index)
    raw = _skopeo(tmp_path, "inspect", "--raw", "--tls-verify=false", f"docker://{registry.host}/ocitest/interop/ours:v1")
    assert raw.encode() == index.index or json.loads(raw) == json.loads(index.index)
    _skopeo(tmp_path, "copy", "--all", "--src-tls-verify=false", f"docker://{registry.host}/ocitest/interop/ours:v1",
            f"oci:{tmp_path}/pulled:v1")
    assert _tree(f"oci:{tmp_path}/pulled:v1") == WANT
    with open_image(f"oci:{tmp_path}/pulled:v1", platform="linux/arm64") as im:
        assert im.manifest_digest == arm.manifest_digest
