"""ELF executables and shared libraries, read once as they stream past in the layer pass.

One analyzer (:class:`ExecutableAnalyzer`) serves the Go, Rust and binary-classifier
catalogers, so an executable is read once for all three. It keeps only small facts:

- ``go``: the Go build info (``.go.buildinfo``: Go version and the module info text), from the
  section when there is a section table, else by searching its magic (stripped binaries); both
  the inline format (Go 1.18+) and the older pointer format (via the program headers);
- ``dep_v0``: the zlib-compressed ``.dep-v0`` section cargo-auditable embeds in Rust binaries;
- ``matches``: version evidence for the binary classifiers whose file-name rule fits the path
  (``Rule``), plus PHP ``zend_module_entry`` records (name, version) for PHP binaries and
  extensions.

Files up to ``BUFFER_CAP`` bytes are held in memory while they are analyzed (one at a time) and
dropped right after; bigger ones are scanned chunk by chunk (Go inline build info and the
classifier patterns only: the section table of an ELF sits at its end). Every length and offset
read from a file is bounded: the bytes are untrusted.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ELF_MAGIC = b"\x7fELF"
GO_NOTE = b"\x04\x00\x00\x00Go\x00\x00"  # .note.go.buildid: n_type 4, name "Go"
GO_NOTE_WINDOW = 16 * 1024
NOT_ELF_SUFFIXES = frozenset((".jar", ".war", ".ear", ".jpi", ".hpi"))
TAIL_CAP = 32 * 1024 * 1024  # stream scan: bytes kept after the loaded part (non-alloc sections)
GO_MAGIC = b"\xff Go buildinf:"
BUFFER_CAP = 160 * 1024 * 1024  # bigger executables are scanned as a stream
MAX_STRING = 4 * 1024 * 1024  # Go module info, .dep-v0 section
OVERLAP = 64 * 1024  # stream scan: bytes carried from one chunk to the next
LIB_RE = re.compile(r"\.so(\.[0-9][0-9.]*)?$")


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


# ----------------------------------------------------------------------------- Go build info


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


# ----------------------------------------------------------------------------- classifier rules


@dataclass(frozen=True)
class Rule:
    """A binary classifier: files whose base name matches ``name_re`` are searched for the
    ``patterns`` (bytes regexes with a ``version`` group; the first that matches wins)."""

    cls: str
    name_re: re.Pattern[str]
    patterns: tuple[re.Pattern[bytes], ...]
    php_modules: bool = False  # also collect zend_module_entry records


@dataclass
class ExecFacts:
    go: dict[str, str] | None = None
    dep_v0: bytes | None = None
    matches: dict[str, list[str]] = field(default_factory=dict)  # rule cls -> versions found (first first)
    php_modules: list[tuple[str, str]] = field(default_factory=list)  # (name, version)
    php_api: str | None = None  # "API20230831,NTS" (zend module build id)
    streamed: bool = False  # too big to hold: only stream-scannable facts

    def __bool__(self) -> bool:
        return bool(self.go or self.dep_v0 or self.matches or self.php_modules)


_PHP_BUILD_ID = re.compile(rb"\x00(API(\d{8}),(?:NTS|TS)[A-Za-z0-9,_\-]*)\x00")


def php_module_entries(elf: Elf) -> tuple[list[tuple[str, str]], str | None]:
    """(name, version) of every ``zend_module_entry`` in a PHP binary or extension (64-bit).

    The struct starts with ``unsigned short size`` and ``unsigned int zend_api``; the name
    pointer is at +32 and the version pointer at +88 (PHP 7 and 8). The API number comes from
    the ``API2023xxxx,NTS`` build-id string every module carries.
    """
    if elf.bits != 64:
        return [], None
    m = _PHP_BUILD_ID.search(elf.data)
    if m is None:
        return [], None
    api = int(m.group(2))
    relocs = elf.relative_relocs()
    needle = struct.pack(elf.end + "I", api)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in (".data.rel.ro", ".data", ".data.rel.ro.local", ".data.rel.local"):
        sec = elf.sections.get(name)
        if sec is None or sec.type == SHT_NOBITS:
            continue
        blob = elf.data[sec.offset : sec.offset + sec.size]
        i = blob.find(needle)
        while i >= 0 and len(out) < 512:
            start = i - 4
            if start >= 0 and start % 8 == 0:
                (size,) = struct.unpack_from(elf.end + "H", blob, start)
                if 120 <= size <= 512:
                    base = sec.addr + start
                    name_ptr = elf.pointer_at(base + 32, relocs)
                    vers_ptr = elf.pointer_at(base + 88, relocs)
                    mod = elf.c_string(name_ptr, 64) if name_ptr else None
                    vers = elf.c_string(vers_ptr, 64) if vers_ptr else None
                    if mod and re.fullmatch(r"[A-Za-z0-9_ +.\-]{1,63}", mod) and mod not in seen:
                        seen.add(mod)
                        out.append((mod, vers if vers and re.fullmatch(r"[A-Za-z0-9_.+\-]{1,63}", vers) else ""))
            i = blob.find(needle, i + 1)
    return out, m.group(1).decode("ascii")


# ----------------------------------------------------------------------------- the analyzer


class ExecutableAnalyzer:
    """Probes executables (any x bit), shared libraries a rule names, and reads them once."""

    key = "exec"

    def __init__(self, rules: Sequence[Rule], extra_paths: Callable[[str], bool] | None = None) -> None:
        self.rules = tuple(rules)
        self.extra_paths = extra_paths

    def rules_for(self, path: str) -> list[Rule]:
        base = path.rsplit("/", 1)[-1]
        return [r for r in self.rules if r.name_re.search(base)]

    def probe(self, path: str, mode: int, size: int) -> bool:
        if size < 64:
            return False
        if mode & 0o111:
            # an executable JAR (a launcher script in front of the zip) is the Java analyzer's
            return path[-4:].lower() not in NOT_ELF_SUFFIXES
        if ".so" not in path:
            return False
        if self.extra_paths is not None and self.extra_paths(path):
            return True
        return LIB_RE.search(path) is not None and bool(self.rules_for(path))

    def analyze(self, path: str, size: int, chunks: Iterator[bytes]) -> Any:
        first = next(chunks, b"")
        if not first.startswith(ELF_MAGIC):
            return None
        rules = self.rules_for(path)
        if size <= BUFFER_CAP and (rules or GO_NOTE in first[:GO_NOTE_WINDOW]):
            # Go programs (their build-id note sits in the first pages) and files a classifier
            # names are held whole: version strings and old-format build info need random access
            facts = _analyze_elf(read_all(first, chunks, size), rules, path)
        else:
            facts = _stream_scan(first, chunks, rules, size)
        return facts if facts else None


def read_all(first: bytes, chunks: Iterator[bytes], size: int) -> bytes:
    """A member's bytes in one buffer allocated once (``size`` from the tar header), so holding
    a file costs its size, not twice its size while chunks are joined."""
    buf = bytearray(size)
    view = memoryview(buf)
    pos = 0
    for chunk in _prepend(first, chunks):
        n = min(len(chunk), size - pos)
        view[pos : pos + n] = chunk[:n]
        pos += n
    view.release()
    del buf[pos:]
    return buf  # type: ignore[return-value]  # a bytearray reads like bytes here (find, slices, re)


def _analyze_elf(data: bytes, rules: list[Rule], path: str) -> ExecFacts:
    facts = ExecFacts()
    try:
        elf = Elf(data)
    except (ValueError, struct.error):
        return facts
    facts.go = go_buildinfo(elf)
    if facts.go is not None and _main_version_unknown(facts.go["modinfo"]):
        guess = _semver_in(elf.section(".rodata", len(data)) or data)
        if guess:
            facts.go["guess"] = guess
    dep = elf.section(".dep-v0")
    if dep:
        facts.dep_v0 = bytes(dep)
    if rules:
        # version strings live in read-only data; search it (or the whole file without sections)
        regions = [elf.section(n, len(data)) for n in (".rodata", ".data", ".data.rel.ro")]
        hay = [r for r in regions if r] or [data]
        for rule in rules:
            for pat in rule.patterns:
                found = _versions(pat, hay)
                if found:
                    facts.matches[rule.cls] = found
                    break
            if rule.php_modules:
                facts.php_modules, facts.php_api = php_module_entries(elf)
    return facts


MAX_VERSIONS = 16
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


def _versions(pat: re.Pattern[bytes], hay: list[bytes]) -> list[str]:
    """Distinct versions the pattern finds, in file order (at most MAX_VERSIONS)."""
    out: list[str] = []
    for h in hay:
        for m in pat.finditer(h):
            v = m.group("version").decode("ascii", "replace")
            if v not in out:
                out.append(v)
                if len(out) >= MAX_VERSIONS:
                    return out
    return out


def _stream_scan(first: bytes, chunks: Iterator[bytes], rules: list[Rule], size: int) -> ExecFacts:
    """Facts from one pass over the chunks without holding the file: Go inline build info (its
    magic searched chunk by chunk), classifier patterns (chunks overlapped by ``OVERLAP``), and
    ``.dep-v0``, a non-allocated section: only the bytes after the last loaded segment (bounded
    by ``TAIL_CAP``) and the section table are kept, then parsed at the end."""
    facts = ExecFacts(streamed=True)
    pending = [(r, p) for r in rules for p in r.patterns]
    try:
        head: Elf | None = Elf(first)
    except (ValueError, struct.error):
        head = None
    tail_start = head.end_of_loads if head is not None else size
    tail = bytearray()
    sh_start = head.shoff if head is not None and head.shoff >= tail_start + TAIL_CAP else size
    sh_buf = bytearray()
    go_buf: bytearray | None = None
    carry = b""
    pos = 0
    for chunk in _prepend(first, chunks):
        cend = pos + len(chunk)
        if cend > tail_start and len(tail) < TAIL_CAP:
            lo = max(0, tail_start - pos)
            tail += chunk[lo : lo + TAIL_CAP - len(tail)]
        if cend > sh_start and len(sh_buf) < MAX_STRING:
            lo = max(0, sh_start - pos)
            sh_buf += chunk[lo : lo + MAX_STRING - len(sh_buf)]
        if facts.go is None:
            if go_buf is not None:
                go_buf += chunk[: MAX_STRING + 64 - len(go_buf)]
                if len(go_buf) >= MAX_STRING + 64:
                    facts.go = parse_go_buildinfo(bytes(go_buf), None)
                    go_buf = None
            else:
                go_buf = _find_go(carry, chunk)
                if go_buf is not None and not _needs_more(bytes(go_buf)):
                    facts.go = parse_go_buildinfo(bytes(go_buf), None)
                    go_buf = None
        if pending:
            window = carry + chunk
            for rule, pat in list(pending):
                if rule.cls in facts.matches:
                    pending.remove((rule, pat))
                    continue
                versions = _versions(pat, [window])
                if versions:
                    facts.matches[rule.cls] = versions
                    pending.remove((rule, pat))
        carry = (carry + chunk)[-OVERLAP:] if pending else chunk[-len(GO_MAGIC) :]
        pos = cend
    if go_buf is not None and facts.go is None:
        facts.go = parse_go_buildinfo(bytes(go_buf), None)
    if head is not None:
        facts.dep_v0 = _dep_v0_from_parts(head, [(tail_start, tail), (sh_start, sh_buf)])
    return facts


def _find_go(carry: bytes, chunk: bytes) -> bytearray | None:
    """The bytes from the Go build info magic on, if it starts in ``carry + chunk`` (a copy of
    the chunk is made only when the magic is there)."""
    i = chunk.find(GO_MAGIC)
    if carry:
        junction = carry + chunk[: len(GO_MAGIC)]
        j = junction.find(GO_MAGIC)
        if 0 <= j < len(carry):
            return bytearray(carry[j:] + chunk[: MAX_STRING + 64])
    if i >= 0:
        return bytearray(chunk[i : i + MAX_STRING + 64])
    return None


def _dep_v0_from_parts(head: Elf, parts: list[tuple[int, bytearray]]) -> bytes | None:
    """The ``.dep-v0`` section from kept pieces of the file ((start offset, bytes) pairs)."""

    def get(off: int, n: int) -> bytes | None:
        for start, buf in parts:
            if start <= off and off + n <= start + len(buf):
                return bytes(buf[off - start : off - start + n])
        return None

    ent = 64 if head.bits == 64 else 40
    if not head.shoff or head.shentsize < ent or head.shnum == 0 or not 0 < head.shstrndx < head.shnum:
        return None
    count = min(head.shnum, MAX_STRING // head.shentsize)
    table = get(head.shoff, count * head.shentsize)
    if table is None:
        return None
    headers = [head._shdr(i * head.shentsize, table) for i in range(count)]
    names = headers[head.shstrndx]
    strtab = get(names[4], min(names[5], MAX_STRING))
    if strtab is None:
        return None
    for name_off, s_type, _flags, _addr, offset, sz in headers:
        if strtab[name_off : name_off + 8] == b".dep-v0\0" and s_type != SHT_NOBITS:
            return get(offset, min(sz, MAX_STRING))
    return None


def _needs_more(blob: bytes) -> bool:
    try:
        n, i = _uvarint(blob, 32)
        if i + n > len(blob):
            return True
        m, j = _uvarint(blob, i + n)
        return j + m > len(blob)
    except ValueError:
        return len(blob) < 64


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest
