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

The parts live in modules by concern, and this module re-exports their public names:
:mod:`~supplychain.sbom.catalogers.elffile` (ELF parsing), :mod:`~supplychain.sbom.catalogers.gobuildinfo`
(Go build info), :mod:`~supplychain.sbom.catalogers.elf_facts` (rules, facts, PHP modules),
:mod:`~supplychain.sbom.catalogers.elf_stream` (the chunk-by-chunk scan).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from supplychain.sbom.catalogers.elf_facts import MAX_VERSIONS, ExecFacts, Rule, _versions, php_module_entries
from supplychain.sbom.catalogers.elf_stream import OVERLAP, TAIL_CAP, _prepend, _stream_scan
from supplychain.sbom.catalogers.elffile import (
    ELF_MAGIC,
    MAX_STRING,
    PT_LOAD,
    R_RELATIVE,
    SHT_NOBITS,
    SHT_RELA,
    Elf,
    Section,
    Segment,
)
from supplychain.sbom.catalogers.gobuildinfo import (
    GO_MAGIC,
    LDFLAGS_VERSION,
    _main_version_unknown,
    _semver_in,
    go_buildinfo,
    parse_go_buildinfo,
)

__all__ = [
    "BUFFER_CAP",
    "ELF_MAGIC",
    "GO_MAGIC",
    "GO_NOTE",
    "GO_NOTE_WINDOW",
    "LDFLAGS_VERSION",
    "LIB_RE",
    "MAX_STRING",
    "MAX_VERSIONS",
    "NOT_ELF_SUFFIXES",
    "OVERLAP",
    "PT_LOAD",
    "R_RELATIVE",
    "SHT_NOBITS",
    "SHT_RELA",
    "TAIL_CAP",
    "Elf",
    "ExecFacts",
    "ExecutableAnalyzer",
    "Rule",
    "Section",
    "Segment",
    "go_buildinfo",
    "parse_go_buildinfo",
    "php_module_entries",
    "read_all",
]

GO_NOTE = b"\x04\x00\x00\x00Go\x00\x00"  # .note.go.buildid: n_type 4, name "Go"
GO_NOTE_WINDOW = 16 * 1024
NOT_ELF_SUFFIXES = frozenset((".jar", ".war", ".ear", ".jpi", ".hpi"))
BUFFER_CAP = 160 * 1024 * 1024  # bigger executables are scanned as a stream
LIB_RE = re.compile(r"\.so(\.[0-9][0-9.]*)?$")


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
