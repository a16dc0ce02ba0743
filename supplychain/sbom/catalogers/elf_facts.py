"""What the executable analyzer finds: binary classifier rules (:class:`Rule`), the facts kept
per file (:class:`ExecFacts`), version evidence matched by the rules, and PHP
``zend_module_entry`` records.

Part of :mod:`supplychain.sbom.catalogers.elf` (which re-exports the public names).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from supplychain.sbom.catalogers.elffile import SHT_NOBITS, Elf


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


MAX_VERSIONS = 16


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
