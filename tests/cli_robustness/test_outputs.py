"""Output targets: stdout that cannot be written, and SBOM sources with directories where files belong."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_robustness.helpers import fails_cleanly


def _project(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "composer.json").write_text('{"name": "acme/app"}')
    (proj / "composer.lock").write_text(json.dumps({"packages": [{"name": "a/b", "version": "1.0"}]}))
    return proj


def test_stdout_full_is_a_clean_error(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    proj = _project(tmp_path)
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "supplychain", "sbom", "composer", str(proj)],
                              stdout=full, stderr=subprocess.PIPE, timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "internal error" not in err and "Traceback" not in err, err
    assert "standard output" in err


def test_oci_layout_with_directories_in_place_of_files(tmp_path: Path) -> None:
    from tests.imagebuild import File, build_image, write_oci_layout

    img = build_image([[File("/etc/os-release", b"ID=debian\n")]])
    for name in ("index.json", "oci-layout", "manifest-blob"):
        layout = tmp_path / name
        write_oci_layout(layout, img, tag="v1")
        target = layout / "blobs" / "sha256" / img.manifest_digest.split(":")[1] if name == "manifest-blob" \
            else layout / name
        target.unlink()
        target.mkdir()
        fails_cleanly("sbom", "image", f"oci:{layout}", names=str(target))


@pytest.mark.parametrize("args", [["sbom", "inspect", "--json"], ["sbom", "validate"], ["policy", "check", "--list-rules"]])
def test_echoed_stdout_full_is_a_clean_error(tmp_path: Path, args: list[str]) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    bom = tmp_path / "bom.json"
    bom.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}')
    argv = args if "--list-rules" in args else [*args, str(bom)]
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "supplychain", *argv], stdout=full, stderr=subprocess.PIPE,
                              timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "standard output: cannot write" in err, err
    assert "internal error" not in err and "Traceback" not in err, err


def test_output_file_mode_follows_umask_or_the_replaced_file(tmp_path: Path) -> None:
    proj = _project(tmp_path)
    out = tmp_path / "bom.json"
    proc = subprocess.run(["sh", "-c", f'umask 022 && exec "$0" -m supplychain sbom composer "{proj}" -o "{out}"',
                           sys.executable], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # not mkstemp's 0600
    out.chmod(0o640)
    proc = subprocess.run([sys.executable, "-m", "supplychain", "sbom", "composer", str(proj), "-o", str(out)],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


@pytest.fixture
def full_fs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A tiny tmpfs filled to the brim (needs root and mount; skips otherwise)."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        with open(mnt / "fill", "wb") as fh, contextlib.suppress(OSError):
            fh.write(b"\0" * 65536)
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_full_file_system_is_a_clean_error(tmp_path: Path, full_fs: Path) -> None:
    proj = _project(tmp_path)
    out = full_fs / "bom.json"
    fails_cleanly("sbom", "composer", str(proj), "-o", str(out), names=str(out))
    assert sorted(p.name for p in full_fs.iterdir()) == ["fill"]  # no partial file, no temp file


def test_output_never_replaces_an_input_of_the_same_command(tmp_path: Path) -> None:
    proj = _project(tmp_path)
    lock = proj / "composer.lock"
    before = lock.read_bytes()
    fails_cleanly("sbom", "composer", str(proj), "-o", str(lock), names=str(lock))
    assert lock.read_bytes() == before
    (tmp_path / "Dockerfile").write_text("FROM docker.io/library/debian:12\n")
    fails_cleanly("policy", "check", str(tmp_path / "Dockerfile"), "--format", "json",
                  "-o", str(tmp_path / "Dockerfile"), names="Dockerfile")
    assert (tmp_path / "Dockerfile").read_text() == "FROM docker.io/library/debian:12\n"
    model = tmp_path / "model"
    model.mkdir()
    (model / "w.bin").write_bytes(b"\7" * 10)
    fails_cleanly("sbom", "model", str(model), "-o", str(model / "w.bin"), names="w.bin")
    assert (model / "w.bin").read_bytes() == b"\7" * 10
    # re-running into an earlier output is fine
    from tests.conftest import run_cli

    for _ in range(2):
        assert run_cli("sbom", "composer", str(proj), "-o", str(proj / "bom.json")).exit_code == 0


def test_sign_blob_bundle_onto_the_artifact(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    pw = {"SUPPLYCHAIN_PASSWORD": "pw"}
    assert run_cli("keygen", "--output-key-prefix", str(tmp_path / "k"), env=pw).exit_code == 0
    art = tmp_path / "a.tar"
    art.write_bytes(b"release")
    fails_cleanly("sign", "blob", str(art), "--key", str(tmp_path / "k.key"), "--bundle", str(art),
                  names=str(art), env=pw)
    assert art.read_bytes() == b"release"


def test_output_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    proj = _project(tmp_path)
    (tmp_path / "real.json").write_text("old")
    link = tmp_path / "bom.json"
    link.symlink_to("real.json")
    res = run_cli("sbom", "composer", str(proj), "-o", str(link))
    assert res.exit_code == 0, res.stderr
    assert link.is_symlink() and json.loads((tmp_path / "real.json").read_text())["bomFormat"] == "CycloneDX"
    loop = tmp_path / "loop.json"
    loop.symlink_to("loop.json")
    fails_cleanly("sbom", "composer", str(proj), "-o", str(loop), names=str(loop))


def test_pin_through_a_symlink_pins_the_target(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from supplychain.oci.auth import CredentialStore
    from supplychain.oci.registry import RegistryClient
    from tests.conftest import run_cli
    from tests.imagebuild import File, build_image, push_image

    ref = f"{registry.host}/robustness/pin:v1"
    digest = push_image(RegistryClient(credentials=CredentialStore(env={}, config_paths=[])), ref,
                        build_image([[File("/etc/os-release", b"ID=debian\n")]]))
    (tmp_path / "Dockerfile.real").write_text(f"FROM {ref}\n")
    (tmp_path / "Dockerfile").symlink_to("Dockerfile.real")
    res = run_cli("pin", str(tmp_path / "Dockerfile"))
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "Dockerfile").is_symlink()
    assert (tmp_path / "Dockerfile.real").read_text() == f"FROM {ref}@{digest}\n"
