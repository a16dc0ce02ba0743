"""An ELF file held in memory: header, program headers (segments), section table, and bounded
reads at virtual addresses (pointers, C strings, RELATIVE relocations).

Part of :mod:`supplychain.sbom.catalogers.elf` (which re-exports these names). Every length and
offset read from the file is bounded: the bytes are untrusted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"
MAX_STRING = 4 * 1024 * 1024  # Go module info, .dep-v0 section


@dataclass
class Section:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int


@dataclass
class Segment:
    type: int
    offset: int
    vaddr: int
    filesz: int


PT_LOAD = 1
SHT_NOBITS = 8
SHT_RELA = 4
R_RELATIVE = {62: 8, 183: 1027, 40: 23, 3: 8, 8: 3, 21: 22, 243: 3}  # x86-64, aarch64, arm, i386, mips, ppc64, riscv


class Elf:
    """A parsed ELF image held in memory. Raises ValueError on a malformed header."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 52 or data[:4] != ELF_MAGIC:
            raise ValueError("not an ELF file")
        self.data = data
        cls, enc = data[4], data[5]
        if cls not in (1, 2) or enc not in (1, 2):
            raise ValueError("unknown ELF class or byte order")
        self.bits = 64 if cls == 2 else 32
        self.end = "<" if enc == 1 else ">"
        e = self.end
        if self.bits == 64:
            (self.machine,) = struct.unpack_from(e + "H", data, 18)
            phoff, shoff = struct.unpack_from(e + "QQ", data, 32)
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", data, 54)
        else:
            (self.machine,) = struct.unpack_from(e + "H", data, 18)
            phoff, shoff = struct.unpack_from(e + "II", data, 28)
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", data, 42)
        self.shoff, self.shentsize, self.shnum, self.shstrndx = shoff, shentsize, shnum, shstrndx
        self.segments: list[Segment] = []
        want_ph = 56 if self.bits == 64 else 32
        if phoff and phentsize >= want_ph and phoff + phnum * phentsize <= len(data):
            for i in range(phnum):
                off = phoff + i * phentsize
                if self.bits == 64:
                    p_type, _flags, p_offset, p_vaddr, _pa, p_filesz = struct.unpack_from(e + "IIQQQQ", data, off)
                else:
                    p_type, p_offset, p_vaddr, _pa, p_filesz = struct.unpack_from(e + "IIIII", data, off)
                self.segments.append(Segment(p_type, p_offset, p_vaddr, p_filesz))
        self.sections: dict[str, Section] = {}
        want_sh = 64 if self.bits == 64 else 40
        if shoff and shentsize >= want_sh and shoff + want_sh <= len(data):
            raw: list[tuple[int, int, int, int, int, int]] = []
            if shnum == 0:  # extended numbering: the count is in section 0's sh_size
                shnum = self._shdr(shoff)[5]
            shnum = min(shnum, (len(data) - shoff) // shentsize, 65536)
            for i in range(shnum):
                raw.append(self._shdr(shoff + i * shentsize))
            if shstrndx == 0xFFFF and raw:
                shstrndx = raw[0][6] if len(raw[0]) > 6 else 0  # pragma: no cover - extended index
            if 0 < shstrndx < len(raw):
                names = raw[shstrndx]
                strtab = data[names[4] : names[4] + names[5]]
                for name_off, s_type, flags, addr, offset, size in raw:
                    end = strtab.find(b"\0", name_off)
                    name = strtab[name_off:end].decode("ascii", "replace") if 0 <= name_off < len(strtab) else ""
                    if name and name not in self.sections:
                        self.sections[name] = Section(name, s_type, flags, addr, offset, size)

    def _shdr(self, off: int, data: bytes | None = None) -> tuple[int, int, int, int, int, int]:
        e = self.end
        if self.bits == 64:
            name, s_type, flags, addr, offset, size = struct.unpack_from(e + "IIQQQQ", data or self.data, off)
        else:
            name, s_type, flags, addr, offset, size = struct.unpack_from(e + "IIIIII", data or self.data, off)
        return name, s_type, flags, addr, offset, size

    @property
    def end_of_loads(self) -> int:
        """Where the loaded (allocated) part of the file ends: non-allocated sections (symbols,
        debug info, ``.comment``, cargo-auditable's ``.dep-v0``) and the section table follow."""
        ends = [seg.offset + seg.filesz for seg in self.segments if seg.type == PT_LOAD]
        return max(ends) if ends else 0

    def section(self, name: str, limit: int = MAX_STRING) -> bytes | None:
        s = self.sections.get(name)
        if s is None or s.type == SHT_NOBITS or s.offset >= len(self.data):
            return None
        return self.data[s.offset : s.offset + min(s.size, limit)]

    def offset_of(self, vaddr: int) -> int | None:
        for seg in self.segments:
            if seg.type == PT_LOAD and seg.vaddr <= vaddr < seg.vaddr + seg.filesz:
                off = seg.offset + (vaddr - seg.vaddr)
                return off if off < len(self.data) else None
        return None

    def read_at(self, vaddr: int, n: int) -> bytes | None:
        off = self.offset_of(vaddr)
        if off is None or n < 0 or n > MAX_STRING:
            return None
        out = self.data[off : off + n]
        return out if len(out) == n else None

    def c_string(self, vaddr: int, limit: int = 256) -> str | None:
        off = self.offset_of(vaddr)
        if off is None:
            return None
        end = self.data.find(b"\0", off, off + limit)
        if end < 0:
            return None
        return self.data[off:end].decode("utf-8", "replace")

    def pointer_at(self, vaddr: int, relocs: dict[int, int]) -> int | None:
        """The pointer stored at ``vaddr``: its RELATIVE relocation's addend (PIE / shared
        objects), else the value in the file."""
        if vaddr in relocs:
            return relocs[vaddr]
        size = 8 if self.bits == 64 else 4
        raw = self.read_at(vaddr, size)
        if raw is None:
            return None
        return int.from_bytes(raw, "little" if self.end == "<" else "big")

    def relative_relocs(self) -> dict[int, int]:
        """r_offset -> addend of every RELATIVE relocation in RELA sections (bounded)."""
        rel_type = R_RELATIVE.get(self.machine)
        out: dict[int, int] = {}
        if rel_type is None or self.bits != 64:
            return out
        fmt = self.end + "QQq"
        for s in self.sections.values():
            if s.type != SHT_RELA or s.offset >= len(self.data):
                continue
            blob = self.data[s.offset : s.offset + min(s.size, 64 * 1024 * 1024)]
            for r_offset, r_info, addend in struct.iter_unpack(fmt, blob[: len(blob) - len(blob) % 24]):
                if r_info & 0xFFFFFFFF == rel_type:
                    out[r_offset] = addend
        return out
