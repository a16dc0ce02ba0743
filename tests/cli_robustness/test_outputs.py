"""Output targets: stdout that cannot be written, and SBOM sources with directories where files belong."""

from __future__ import annotations

import json
import os
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
