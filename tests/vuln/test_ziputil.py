"""The streaming zip reader used for OSV exports, against Python's zipfile as the writer/reference."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from supplychain.vuln.ziputil import ZipError, iter_members, read_member


def _write(path: Path, members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED, zip64: bool = False) -> None:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            with zf.open(zipfile.ZipInfo(name), "w", force_zip64=zip64) as fh:
                fh.write(data)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("zip64", [False, True])
def test_reads_what_zipfile_writes(tmp_path: Path, method: int, zip64: bool) -> None:
    members = {f"R-{i}.json": (b'{"id": "R-%d"}' % i) * (i + 1) for i in range(300)}
    members["dir/"] = b""
    p = tmp_path / "a.zip"
    _write(p, members, method=method, zip64=zip64)
    got = {}
    with open(p, "rb") as fh:
        for m in iter_members(p, max_members=1000):
            got[m.name] = read_member(fh, m, limit=1 << 20)
    assert got == members


def test_many_members_use_zip64_end_record(tmp_path: Path) -> None:
    p = tmp_path / "big.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as zf:
        for i in range(70_000):  # more than 65,535 entries: ZIP64 end of central directory
            zf.writestr(f"{i}.json", b"{}")
    assert sum(1 for _ in iter_members(p, max_members=100_000)) == 70_000
    with pytest.raises(ZipError, match="more than"):
        next(iter_members(p, max_members=1000))


def test_corruption_and_bombs_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "a.zip"
    _write(p, {"x.json": b"A" * 100_000})
    raw = bytearray(p.read_bytes())
    (m,) = list(iter_members(p, max_members=10))
    with open(p, "rb") as fh, pytest.raises(ZipError, match="larger than 1000 bytes"):
        read_member(fh, m, limit=1000)  # the declared size is over the bound
    liar = type(m)(m.name, m.method, m.flags, m.crc, m.compressed_size, 10, m.header_offset)
    with open(p, "rb") as fh, pytest.raises(ZipError, match="decompresses to more than 1000 bytes"):
        read_member(fh, liar, limit=1000)  # a header that lies about the size: stopped while inflating
    # a flipped byte in the compressed data: deflate error or CRC mismatch
    data_at = m.header_offset + 30 + len("x.json")
    raw[data_at + 5] ^= 0xFF
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(raw))
    with open(bad, "rb") as fh, pytest.raises(ZipError):
        read_member(fh, m, limit=1 << 20)
    with pytest.raises(ZipError, match="end-of-central-directory"):
        list(iter_members(_junk(tmp_path), max_members=10))
    enc = bytearray(p.read_bytes())
    cd = enc.rfind(b"PK\x01\x02")
    struct.pack_into("<H", enc, cd + 8, 1)  # the encrypted flag
    (tmp_path / "enc.zip").write_bytes(bytes(enc))
    (em,) = list(iter_members(tmp_path / "enc.zip", max_members=10))
    with open(tmp_path / "enc.zip", "rb") as fh, pytest.raises(ZipError, match="encrypted"):
        read_member(fh, em, limit=1 << 20)


def _junk(tmp_path: Path) -> Path:
    j = tmp_path / "junk.zip"
    j.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    return j


def test_truncated_archive(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(50):
            zf.writestr(f"{i}.json", b"{}")
    raw = buf.getvalue()
    eocd = raw.rfind(b"PK\x05\x06")
    cut = raw[:eocd - 200] + raw[eocd:]  # central directory partly gone, end record intact
    p = tmp_path / "t.zip"
    p.write_bytes(cut)
    with pytest.raises(ZipError):
        list(iter_members(p, max_members=100))
