"""Go build info (``.go.buildinfo``) in an ELF file: Go version and module info text, in the
inline (Go 1.18+) and the older pointer format; and a main module version guessed from the
strings when ``go build`` stamped none (as syft does).

Part of :mod:`supplychain.sbom.catalogers.elf` (which re-exports the public names).
"""

from __future__ import annotations

import re
from typing import Literal

from supplychain.sbom.catalogers.elffile import MAX_STRING, SHT_NOBITS, Elf

GO_MAGIC = b"\xff Go buildinf:"


def _uvarint(b: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while i < len(b) and shift < 64:
        c = b[i]
        i += 1
        value |= (c & 0x7F) << shift
        if c < 0x80:
            return value, i
        shift += 7
    raise ValueError("bad varint")


def _inline_strings(blob: bytes) -> tuple[str, str] | None:
    """Version and module info after a 32-byte inline-format header (Go 1.18+)."""
    try:
        n, i = _uvarint(blob, 32)
        if n > MAX_STRING or i + n > len(blob):
            return None
        vers = blob[i : i + n]
        m, j = _uvarint(blob, i + n)
    except ValueError:
        return None
    if m > MAX_STRING or j + m > len(blob):
        return None
    return vers.decode("utf-8", "replace"), blob[j : j + m].decode("utf-8", "replace")


def parse_go_buildinfo(blob: bytes, elf: Elf | None) -> dict[str, str] | None:
    """``{"version": "go1.19.8", "modinfo": "path\\t..."}`` from data starting at the magic."""
    if len(blob) < 32 or not blob.startswith(GO_MAGIC):
        return None
    ptr_size, flags = blob[14], blob[15]
    if flags & 2:
        strings = _inline_strings(blob)
        if strings is None:
            return None
        vers, mod = strings
    else:
        if elf is None or ptr_size not in (4, 8):
            return None
        order: Literal["little", "big"] = "big" if flags & 1 else "little"
        vers_addr = int.from_bytes(blob[16 : 16 + ptr_size], order)
        mod_addr = int.from_bytes(blob[16 + ptr_size : 16 + 2 * ptr_size], order)
        found = _go_string(elf, vers_addr, ptr_size, order)
        mod = _go_string(elf, mod_addr, ptr_size, order) or ""
        if found is None:
            return None
        vers = found
    if len(mod) >= 33 and mod[-17] == "\n":
        mod = mod[16:-16]
    else:
        mod = ""
    if not vers.startswith("go") and not vers.startswith("devel"):
        return None
    return {"version": vers, "modinfo": mod}


def _go_string(elf: Elf, addr: int, ptr_size: int, order: Literal["little", "big"]) -> str | None:
    hdr = elf.read_at(addr, 2 * ptr_size)
    if hdr is None:
        return None
    data_addr = int.from_bytes(hdr[:ptr_size], order)
    length = int.from_bytes(hdr[ptr_size:], order)
    raw = elf.read_at(data_addr, length)
    return None if raw is None else raw.decode("utf-8", "replace")


def go_buildinfo(elf: Elf) -> dict[str, str] | None:
    sec = elf.sections.get(".go.buildinfo")
    if sec is not None and sec.type != SHT_NOBITS:
        found = parse_go_buildinfo(elf.data[sec.offset : sec.offset + MAX_STRING + 64], elf)
        if found is not None:
            return found
    # stripped of its section table (or an odd linker): search the magic, 16-byte aligned
    data = elf.data
    i = data.find(GO_MAGIC)
    while i >= 0:
        if i % 16 == 0:
            found = parse_go_buildinfo(data[i : i + MAX_STRING + 64], elf)
            if found is not None:
                return found
        i = data.find(GO_MAGIC, i + 1)
    return None


# a C-string semantic version: how syft guesses a main module version go build did not stamp
_SEMVER = re.compile(rb"\x00(?=[v0-9])(?P<version>v?\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
                     rb"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)\x00")


LDFLAGS_VERSION = (  # syft's patterns for a version set with -X in -ldflags
    re.compile(r"\.(?:[gG]it)?(?:[bB]uild)?[vV]ersion=(?:\S+/)*(?P<version>v?\d+.\d+.\d+[-\w]*)"),
    re.compile(r"\.[tT]ag=(?:\S+/)*(?P<version>v?\d+.\d+.\d+[-\w]*)"),
)


def _main_version_unknown(modinfo: str) -> bool:
    """No stamped main module version and none in -ldflags: worth searching the strings."""
    for line in modinfo.split("\n"):
        if line.startswith("build\t-ldflags=") and any(p.search(line) for p in LDFLAGS_VERSION):
            return False
    for line in modinfo.split("\n"):
        if line.startswith("mod\t"):
            parts = line.split("\t")
            return len(parts) < 3 or parts[2] in ("", "(devel)")
    return True


def _semver_in(region: bytes) -> str | None:
    m = _SEMVER.search(region)
    if m is None:
        return None
    v = m.group("version").decode("ascii")
    return v if v.startswith("v") else "v" + v


def _needs_more(blob: bytes) -> bool:
    try:
        n, i = _uvarint(blob, 32)
        if i + n > len(blob):
            return True
        m, j = _uvarint(blob, i + n)
        return j + m > len(blob)
    except ValueError:
        return len(blob) < 64
