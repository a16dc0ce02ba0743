"""A streaming reader of zip archives (central directory read entry by entry).

``zipfile.ZipFile`` loads the whole central directory into ``ZipInfo`` objects first: ~0.5 KB per
member, 100 MB for a 200,000-record OSV export, 1 GB for two million. This reader walks the central
directory sequentially and keeps one entry at a time, so an import's memory does not grow with the
number of records. Supports stored and deflated members and ZIP64; refuses encrypted members,
other compression methods, members whose local header disagrees with the central directory, and
CRC mismatches. Decompression is bounded (``limit``), so a zip bomb stops at the bound.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["ZipError", "ZipMember", "iter_members", "read_member"]

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOC = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CDH = struct.Struct("<4s6H3L5H2L")
_LFH = struct.Struct("<4s5H3L2H")


class ZipError(ValueError):
    """A zip archive that is not well-formed (the message says what and where)."""


@dataclass(frozen=True)
class ZipMember:
    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    file_size: int
    header_offset: int

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


def _eocd(fh: BinaryIO) -> tuple[int, int, int]:
    """(entries, central directory size, central directory offset)."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    if size < _EOCD.size:
        raise ZipError("too short to be a zip file")
    tail_len = min(size, (1 << 16) + _EOCD.size)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + _EOCD.size > len(tail):
        raise ZipError("no end-of-central-directory record")
    _, disk, cd_disk, _, entries, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, pos)
    if disk != 0 or cd_disk != 0:
        raise ZipError("multi-disk zip archives are not supported")
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        loc = pos - _EOCD64_LOC.size
        if loc < 0:
            raise ZipError("ZIP64 locator missing")
        sig, _, eocd64_off, _ = _EOCD64_LOC.unpack_from(tail, loc)
        if sig != b"PK\x06\x07":
            raise ZipError("ZIP64 locator missing")
        fh.seek(eocd64_off)
        raw = fh.read(_EOCD64.size)
        if len(raw) != _EOCD64.size or raw[:4] != b"PK\x06\x06":
            raise ZipError("ZIP64 end-of-central-directory record missing")
        _, _, _, _, _, _, _, entries, cd_size, cd_offset = _EOCD64.unpack(raw)
    if cd_offset + cd_size > size:
        raise ZipError("central directory lies beyond the end of the file")
    return entries, cd_size, cd_offset


def iter_members(path: str | os.PathLike[str], *, max_members: int) -> Iterator[ZipMember]:
    """The members of the zip at ``path``, in central-directory order, one at a time."""
    with open(path, "rb") as fh:
        entries, cd_size, cd_offset = _eocd(fh)
        if entries > max_members:
            raise ZipError(f"{entries} members, more than {max_members}")
        fh.seek(cd_offset)
        end = cd_offset + cd_size
        buf = bytearray()
        seen = 0
        while seen < entries:
            if fh.tell() - len(buf) >= end and not buf:
                break
            while len(buf) < _CDH.size:
                more = fh.read(1 << 16)
                if not more:
                    raise ZipError("central directory is truncated")
                buf += more
            (sig, _, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, _,
             offset) = _CDH.unpack_from(buf)
            if sig != b"PK\x01\x02":
                raise ZipError(f"central directory entry {seen} is corrupt")
            need = _CDH.size + nlen + xlen + clen
            while len(buf) < need:
                more = fh.read(1 << 16)
                if not more:
                    raise ZipError("central directory is truncated")
                buf += more
            raw_name = bytes(buf[_CDH.size:_CDH.size + nlen])
            extra = bytes(buf[_CDH.size + nlen:_CDH.size + nlen + xlen])
            del buf[:need]
            if usize == 0xFFFFFFFF or csize == 0xFFFFFFFF or offset == 0xFFFFFFFF:
                usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            seen += 1
            yield ZipMember(name, method, flags, crc, csize, usize, offset)
        if seen != entries:
            raise ZipError(f"central directory lists {seen} of {entries} members")


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, ln = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4:i + 4 + ln]
        if tag == 1:
            vals = [struct.unpack_from("<Q", body, k)[0] for k in range(0, len(body) - 7, 8)]
            it = iter(vals)
            try:
                if usize == 0xFFFFFFFF:
                    usize = next(it)
                if csize == 0xFFFFFFFF:
                    csize = next(it)
                if offset == 0xFFFFFFFF:
                    offset = next(it)
            except StopIteration:
                raise ZipError("ZIP64 extra field is too short") from None
            return usize, csize, offset
        i += 4 + ln
    raise ZipError("ZIP64 sizes without a ZIP64 extra field")


def read_member(fh: BinaryIO, m: ZipMember, *, limit: int) -> bytes:
    """The content of ``m`` (at most ``limit`` bytes, else ZipError), CRC-checked."""
    if m.flags & 0x1:
        raise ZipError("encrypted")
    if m.method not in (0, 8):
        raise ZipError(f"compression method {m.method} is not supported (stored or deflated only)")
    if m.file_size > limit:
        raise ZipError(f"larger than {limit} bytes")
    fh.seek(m.header_offset)
    hdr = fh.read(_LFH.size)
    if len(hdr) != _LFH.size or hdr[:4] != b"PK\x03\x04":
        raise ZipError("local header missing")
    _, _, _, method, _, _, _, _, _, nlen, xlen = _LFH.unpack(hdr)
    if method != m.method:
        raise ZipError("local header disagrees with the central directory")
    fh.seek(m.header_offset + _LFH.size + nlen + xlen)
    if m.method == 0:
        data = fh.read(min(m.compressed_size, limit + 1))
    else:
        d = zlib.decompressobj(-15)
        out = bytearray()
        left = m.compressed_size
        try:
            while left > 0 and len(out) <= limit:
                chunk = fh.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
                out += d.decompress(chunk, limit + 1 - len(out))
                if d.unconsumed_tail and len(out) > limit:
                    break
            if len(out) <= limit:
                out += d.flush()
        except zlib.error as exc:
            raise ZipError(f"corrupt deflate data ({exc})") from exc
        data = bytes(out)
    if len(data) > limit:
        raise ZipError(f"decompresses to more than {limit} bytes (zip bomb?)")
    if len(data) != m.file_size or zlib.crc32(data) != m.crc:
        raise ZipError("size or CRC-32 does not match the central directory (corrupt)")
    return data
