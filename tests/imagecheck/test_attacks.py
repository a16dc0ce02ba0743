"""Attacks on the image checks: ways to hide a secret from them, or to crash them (each found and
fixed during the issue 14 attack pass, kept as a regression test)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from supplychain.oci.image import open_image
from supplychain.policy.config import default_policy
from supplychain.policy.imagecheck import content as ct
from supplychain.policy.imagecheck import register
from supplychain.policy.imagecheck.scan import ImageScan, scan_image
from tests.imagebuild import File, Symlink, Whiteout, build_image, write_oci_layout
from tests.imagecheck.samples import pem_key, rand

register()


def _scan(tmp_path: Path, layers: list[Any]) -> ImageScan:
    write_oci_layout(tmp_path / "img", build_image(layers, config={"config": {"User": "10001"}, "history": []}))
    with open_image(f"oci:{tmp_path / 'img'}") as im:
        return scan_image(im, default_policy())


def test_nul_byte_in_front_of_a_key_does_not_hide_it(tmp_path: Path) -> None:
    scan = _scan(tmp_path, [[File("/app/key.txt", b"\0\0\0" + pem_key())]])
    assert [f.rule for f in scan.findings()] == ["IMG-SEC-001"]


def test_crlf_key_and_env_file(tmp_path: Path) -> None:
    key = pem_key().replace(b"\n", b"\r\n")
    env = f'export DB_PASSWORD="{rand(14)}"\r\n'.encode()
    scan = _scan(tmp_path, [[File("/app/k.pem", key), File("/app/.env", env)]])
    assert sorted(f.rule for f in scan.findings()) == ["IMG-SEC-001", "IMG-SEC-020"]


def test_added_and_whited_out_in_the_same_layer_is_still_shipped(tmp_path: Path) -> None:
    scan = _scan(tmp_path, [[File("/app/.env", f"API_TOKEN={rand(20)}\n".encode()), Whiteout("/app/.env")]])
    [f] = scan.findings()
    assert "deleted in the same layer but still shipped in layer 1" in f.message


def test_big_credential_file_is_parsed_to_its_end(tmp_path: Path) -> None:
    env = b"# padding\n" * 200_000 + f"STRIPE_SECRET={rand(30)}\n".encode()  # 2 MiB
    scan = _scan(tmp_path, [[File("/app/.env", env)]])
    assert [f.rule for f in scan.findings()] == ["IMG-SEC-020"]


def test_oversized_files_are_named_in_the_notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ct, "MAX_SCAN", 4096)
    scan = _scan(tmp_path, [[File("/app/.env", b"#" * 5000 + f"\nDB_PASSWORD={rand(12)}\n".encode())]])
    assert scan.findings() == [] and "/app/.env" in scan.notes()[0]  # a documented limit, not silent


def test_secret_behind_a_symlink_is_found_at_its_real_path(tmp_path: Path) -> None:
    token = "npm_" + rand(36)
    scan = _scan(tmp_path, [[File("/secrets/npm.txt", f"token={token}\n".encode()), Symlink("/app/.npmrc", "/secrets/npm.txt")]])
    assert [f.extra["path"] for f in scan.findings()] == ["/secrets/npm.txt"]


def test_pathological_putty_and_jwt_input_stays_linear() -> None:
    blob = b"PuTTY-User-Key-File-3: ssh-rsa\nPrivate-Lines: 4\n" + b"A" * 2_000_000
    jwtish = b"eyJ" + b"a" * 500_000 + b".eyJ" + b"b" * 500_000 + b"."
    start = time.process_time()
    assert list(ct.match_content(blob)) == [] and list(ct.match_content(jwtish)) == []
    assert time.process_time() - start < 30  # catastrophic backtracking would take hours


def test_hostile_config_values_do_not_crash(tmp_path: Path) -> None:
    cfg = {"config": {"User": ["root"], "Env": [None, 1, "=", "PASSWORD"], "ExposedPorts": ["6379"],
                      "WorkingDir": 5}, "history": [None, {"created_by": 7}, {"created_by": "x" * 1_000_000}]}
    write_oci_layout(tmp_path / "img", build_image([[File("/a", b"1")]], config=cfg))
    with open_image(f"oci:{tmp_path / 'img'}") as im:
        scan = scan_image(im, default_policy())
    assert [f.rule for f in scan.findings()] == ["IMG-CFG-001"]  # a User that is not a string: root
