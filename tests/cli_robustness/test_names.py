"""File names that are not UTF-8 (os.fsdecode keeps them as lone surrogates) cannot go into an
SBOM or a report: a clear error naming the file, never an internal error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli_robustness.helpers import fails_cleanly
from tests.conftest import run_cli

BAD = os.fsdecode(b"bad\xff")


def _make(path: Path) -> None:
    try:
        path.write_bytes(b"x")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not accept non-UTF-8 file names")


def test_sbom_model(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "w.bin").write_bytes(b"\0" * 8)
    _make(model / (BAD + ".bin"))
    for fmt in ("json", "xml"):
        res = fails_cleanly("sbom", "model", str(model), "--output-format", fmt, "-o", str(tmp_path / "bom"))
        assert "not valid UTF-8" in res.stderr and "--ignore-paths" in res.stderr
    assert not (tmp_path / "bom").exists()
    res = run_cli("sbom", "model", str(model), "--ignore-paths", BAD + ".bin")
    assert res.exit_code == 0, res.stderr


def test_policy_check_and_pin(tmp_path: Path) -> None:
    _make(tmp_path / ("Dockerfile." + BAD))
    for args in (["policy", "check", str(tmp_path)], ["policy", "check", "--format", "json", str(tmp_path)],
                 ["pin", "--check", str(tmp_path)]):
        res = fails_cleanly(*args)
        assert "not valid UTF-8" in res.stderr
    res = run_cli("policy", "check", str(tmp_path), "--exclude", "Dockerfile.*")
    assert res.exit_code == 0, res.stderr
