"""Content matching: which secret rules match a file's bytes (values hashed, never kept).

A literal prefilter over every anchor of the table runs once per file (Hyperscan, a C
multi-pattern matcher, when it is installed: ~20x faster than Python's ``re`` on the thousands
of text files of an image; otherwise one ``re`` alternation). Only the rules whose anchors
occur run their own pattern and check.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from supplychain.policy.imagecheck.table import (
    CONTENT,
    DOCUMENTED_VALUES,
    SECRET_RULES,
    SecretRule,
    placeholder,
)

MAX_SCAN = 8 * 1024 * 1024  # larger files are not content-scanned (noted)
MAX_PARSE = MAX_SCAN  # credential files (.env, auth.json, ...) larger than this are not parsed (noted)

# files that cannot hold a readable secret: compiled code, compressed data, media
BINARY_EXTENSIONS = frozenset(
    ".so .a .o .ko .pyc .pyo .mo .gmo .gz .tgz .xz .bz2 .zst .lz4 .zip .jar .war .whl .egg .7z .rar .png .jpg .jpeg "
    ".gif .ico .icns .webp .bmp .tif .tiff .ttf .otf .woff .woff2 .eot .mp3 .mp4 .ogg .wav .flac .avi .mkv .pdf "
    ".class .dex .wasm .node .deb .rpm .apk .bin .dat .db .sqlite .sqlite3 .pack .idx .npy .npz .pt .pth .onnx "
    ".safetensors .gguf .h5 .pkl .parquet .cache .mgc .hwdb .ucode .fw .efi .img .iso .qm .dll .exe .dylib "
    ".cmo .cmx .cmi .beam .elc .ppm .pgm .xcf .psd .sfd .pcf .pf2 .mat .nc".split())
_BINARY_MAGIC = (b"\x7fELF", b"\x1f\x8b", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\xfd7zXZ", b"BZh",
                 b"\x28\xb5\x2f\xfd", b"\xca\xfe\xba\xbe", b"\xde\x12\x04\x95", b"\x95\x04\x12\xde", b"!<arch>",
                 b"SQLite format 3", b"\x00asm", b"%PDF", b"\x04\x22\x4d\x18", b"MZ")


# Trees a distribution's package manager owns (Debian / Alpine / Fedora layouts): their files come
# from signed distribution packages, so their content is not scanned (tens of thousands of small
# files: most of an image's scan time). Path and credential-file rules still apply there, and
# application trees (/app, /srv, /opt, /usr/local, /home, /root, /etc, node_modules, vendor) are scanned.
DISTRO_TREES = ("/usr/share/nodejs/", "/usr/share/perl/", "/usr/share/perl5/", "/usr/lib/x86_64-linux-gnu/perl",
                "/usr/lib/aarch64-linux-gnu/perl", "/usr/include/", "/usr/share/doc/", "/usr/share/man/",
                "/usr/share/info/", "/usr/share/locale/", "/usr/share/i18n/", "/usr/share/zoneinfo/",
                "/usr/share/mime/", "/usr/share/icons/", "/usr/share/fonts/", "/usr/share/X11/", "/usr/share/php/",
                "/usr/share/javascript/", "/usr/share/vim/", "/usr/share/bash-completion/", "/usr/share/lintian/",
                "/usr/lib/jvm/", "/usr/lib/gcc/", "/usr/lib/python3/dist-packages/", "/var/lib/dpkg/info/",
                "/usr/share/gir-1.0/", "/usr/share/terminfo/", "/usr/lib/ruby/", "/usr/share/ruby/")
_STDLIB = re.compile(r"^/usr/lib/python3\.\d+/")


def skip_by_name(path: str) -> bool:
    """Not content-scanned: binary by extension (``.so``, ``.so.1.2``, images, archives, ...) or a
    distribution-owned tree (:data:`DISTRO_TREES`, the Python standard library)."""
    slash = path.rfind("/")
    dot = path.rfind(".")
    if dot > slash and path[dot:].lower() in BINARY_EXTENSIONS:
        return True
    if ".so." in path[slash:]:
        return True
    return path.startswith(DISTRO_TREES) or (path.startswith("/usr/lib/python3.") and _STDLIB.match(path) is not None
                                             and "-packages/" not in path)


def binary(data: bytes) -> bool:
    """Compiled or compressed data by its magic number. (A NUL byte alone does not make a file
    binary here: one NUL in front of a key must not hide it.)"""
    return data.startswith(_BINARY_MAGIC)


def fingerprint(rule_id: str, value: bytes) -> str:
    """``RULE:sha256(value)`` -- the same secret gives the same fingerprint wherever it is."""
    return f"{rule_id}:{hashlib.sha256(value).hexdigest()}"


@dataclass(frozen=True)
class Match:
    rule: SecretRule
    fingerprint: str
    allowed: str | None  # why an allow-list covers it (documented example value), or None


class Prefilter:
    """Which content rules' anchors occur in a buffer."""

    def __init__(self, rules: tuple[SecretRule, ...], *, use_hyperscan: bool = True) -> None:
        self.rules = rules
        self._anchors: list[tuple[bytes, int, bool]] = [
            (a, i, r.caseless) for i, r in enumerate(rules) for a in r.anchors]
        self._hs: Any = None
        self.engine = "re"
        hyperscan: Any
        try:
            import hyperscan  # type: ignore[import-untyped,unused-ignore,no-redef]
        except ImportError:  # not installed (no wheel for this platform): the pure-Python prefilter
            hyperscan = None
        if hyperscan is not None and use_hyperscan:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            flags = [hyperscan.HS_FLAG_SINGLEMATCH | (hyperscan.HS_FLAG_CASELESS if c else 0)
                     for _a, _i, c in self._anchors]
            db.compile(expressions=[re.escape(a) for a, _i, _c in self._anchors],
                       ids=[i for _a, i, _c in self._anchors], flags=flags)
            self._hs = db
            self.engine = "hyperscan"
        parts = [(b"(?i:" + re.escape(a) + b")") if c else re.escape(a) for a, _i, c in self._anchors]
        self._rx = re.compile(b"|".join(parts))
        self._by_anchor: dict[bytes, int] = {a.lower() if c else a: i for a, i, c in self._anchors}

    def hits(self, data: bytes) -> set[int]:
        if self._hs is not None:
            found: set[int] = set()
            self._hs.scan(data, match_event_handler=_collect, context=found)
            return found
        return self.hits_re(data)

    def hits_re(self, data: bytes) -> set[int]:
        found: set[int] = set()
        for m in self._rx.finditer(data):
            key = m.group(0)
            idx = self._by_anchor.get(key)
            if idx is None:
                idx = self._by_anchor.get(key.lower(), -1)
            if idx >= 0:
                found.add(idx)
        return found


def _collect(rid: int, _start: int, _end: int, _flags: int, found: set[int]) -> None:
    found.add(rid)


CONTENT_RULES = tuple(r for r in SECRET_RULES if r.kind == CONTENT)
_PREFILTER: Prefilter | None = None


def prefilter() -> Prefilter:
    global _PREFILTER
    if _PREFILTER is None:
        _PREFILTER = Prefilter(CONTENT_RULES)
    return _PREFILTER


MAX_MATCHES_PER_RULE = 20  # per file: a file of 10,000 keys reports the first ones


def match_content(data: bytes, pf: Prefilter | None = None, hits: set[int] | None = None) -> Iterator[Match]:
    """Every content rule match in ``data`` (deduplicated by fingerprint); ``hits``: the
    prefilter's answer when the caller already has it."""
    pf = pf or prefilter()
    if hits is None:
        hits = pf.hits(data)
    if not hits:
        return
    seen: set[str] = set()
    for idx in sorted(hits):
        rule = pf.rules[idx]
        assert rule.pattern is not None and rule.check is not None
        count = 0
        for m in rule.pattern.finditer(data):
            value = rule.check(data, m)
            if value is None:
                continue
            fp = fingerprint(rule.id, value)
            if fp in seen:
                continue
            seen.add(fp)
            allowed = None
            if value in DOCUMENTED_VALUES:
                allowed = "documented example value"
            elif placeholder(value):
                allowed = "placeholder value"
            yield Match(rule, fp, allowed)
            count += 1
            if count >= MAX_MATCHES_PER_RULE:
                break


def match_text(text: str) -> Iterator[Match]:
    """:func:`match_content` for a string (build history lines)."""
    return match_content(text.encode("utf-8", "surrogateescape"))


def run_parser(rule: SecretRule, data: bytes) -> Iterator[tuple[str, str]]:
    """(what, fingerprint) of each credential a file rule's parser finds."""
    parse: Callable[[bytes], Iterator[tuple[str, bytes]]] | None = rule.parse
    if parse is None:
        return
    for what, value in parse(data):
        yield what, fingerprint(rule.id, value)
