"""Atomic output: complete files only, devices left alone, clear errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from supplychain.errors import InputError
from supplychain.fileio import atomic_write, load_json


def test_atomic_write_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")

    class Boom(Exception):
        pass

    from supplychain.fileio import atomic_open

    with pytest.raises(Boom), atomic_open(target) as fh:
        fh.write(b"half")
        raise Boom
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["out.json"]  # no temp file left behind
    atomic_write(target, "new")
    assert target.read_text() == "new"


def test_atomic_write_to_dev_null_keeps_the_device() -> None:
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    atomic_write("/dev/null", b"discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_atomic_write_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        atomic_write(tmp_path / "missing" / "x.json", "x")
    with pytest.raises(InputError, match="is a directory"):
        atomic_write(tmp_path, "x")


def test_load_json_says_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "a": 1,\n  oops\n}')
    with pytest.raises(InputError, match=r"bad\.json: invalid JSON at line 3, column 3"):
        load_json(bad)
