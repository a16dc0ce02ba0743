"""Executables too big to hold, scanned in one pass as they stream: Go inline build info,
classifier patterns (chunks overlapped by ``OVERLAP``), and cargo-auditable's ``.dep-v0`` from the
bytes after the loaded part of the file (bounded by ``TAIL_CAP``) and the section table.

Part of :mod:`supplychain.sbom.catalogers.elf`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from supplychain.sbom.catalogers.elf_facts import ExecFacts, Rule, _versions
from supplychain.sbom.catalogers.elffile import MAX_STRING, SHT_NOBITS, Elf
from supplychain.sbom.catalogers.gobuildinfo import GO_MAGIC, _needs_more, parse_go_buildinfo

TAIL_CAP = 32 * 1024 * 1024  # stream scan: bytes kept after the loaded part (non-alloc sections)
OVERLAP = 64 * 1024  # stream scan: bytes carried from one chunk to the next


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


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest
