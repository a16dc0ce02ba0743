"""rpm: Red Hat family / SUSE / CBL-Mariner packages from the rpm database.

Three database formats, all read from memory with the standard library only:

- ``rpmdb.sqlite`` (Fedora 33+, RHEL 9+, CBL-Mariner / Azure Linux): the ``Packages`` table's
  ``blob`` column, opened through ``sqlite3`` ``deserialize`` (never written to disk);
- NDB ``Packages.db`` (SUSE / openSUSE): 4 KiB slot pages pointing at blob blocks;
- Berkeley DB hash ``Packages`` (RHEL <= 8, CentOS, Amazon Linux 2): hash pages whose values are
  overflow (``H_OFFPAGE``) chains.

Each value is an rpm *header blob* (index entries + data store, big endian), parsed here:
NAME / EPOCH / VERSION / RELEASE / ARCH / LICENSE / SOURCERPM / VENDOR / SIZE / PROVIDENAME /
REQUIRENAME / file names. purl ``pkg:rpm/<distro id>/<name>@<version>-<release>?arch=..&epoch=..
&distro=..``; ``gpg-pubkey`` pseudo packages are left out. Depends-on edges come from
``Requires`` resolved through package names, ``Provides`` and owned file paths.

A database that cannot be parsed is an InputError naming the file (and the record).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from supplychain.errors import InputError
from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import make_purl, make_refs_unique
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.package import Package

DB_PATHS = (
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/var/lib/rpm/Packages.db",
    "/usr/lib/sysimage/rpm/Packages.db",
    "/var/lib/rpm/Packages",
    "/usr/lib/sysimage/rpm/Packages",
)

# rpm header tags
TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH = 1000, 1001, 1002, 1003
TAG_SUMMARY, TAG_SIZE, TAG_VENDOR, TAG_LICENSE, TAG_URL = 1004, 1009, 1011, 1014, 1020
TAG_ARCH, TAG_SOURCERPM = 1022, 1044
TAG_PROVIDENAME, TAG_REQUIRENAME = 1047, 1049
TAG_DIRINDEXES, TAG_BASENAMES, TAG_DIRNAMES = 1116, 1117, 1118
TAG_FILENAMES_OLD = 1027
TAG_MODULARITYLABEL = 5096

# rpm header types
T_CHAR, T_INT8, T_INT16, T_INT32, T_INT64 = 1, 2, 3, 4, 5
T_STRING, T_BIN, T_STRING_ARRAY, T_I18NSTRING = 6, 7, 8, 9

_WANTED_TAGS = frozenset(
    {
        TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_SUMMARY, TAG_SIZE, TAG_VENDOR, TAG_LICENSE,
        TAG_URL, TAG_ARCH, TAG_SOURCERPM, TAG_PROVIDENAME, TAG_REQUIRENAME, TAG_DIRINDEXES,
        TAG_BASENAMES, TAG_DIRNAMES, TAG_FILENAMES_OLD, TAG_MODULARITYLABEL,
    }
)
MAX_INDEX_ENTRIES = 1 << 20
MAX_BLOB = 256 * 1024 * 1024


class HeaderError(ValueError):
    pass


def parse_header(blob: bytes) -> dict[int, str | int | list[str] | list[int]]:
    """Parse an rpm header blob as stored in the database (no lead, no magic).

    Layout: ``il`` (int32 BE, index entries), ``dl`` (int32 BE, data length), ``il`` entries of
    (tag, type, offset, count), then ``dl`` bytes of data. Only the tags this module needs
    are decoded; every offset and count is bounds-checked (HeaderError on nonsense).
    """
    if len(blob) < 8:
        raise HeaderError("header shorter than 8 bytes")
    il, dl = struct.unpack_from(">II", blob, 0)
    if il == 0 or il > MAX_INDEX_ENTRIES:
        raise HeaderError(f"implausible index entry count {il}")
    data_start = 8 + il * 16
    if data_start + dl > len(blob):
        raise HeaderError(f"header claims {il} entries and {dl} data bytes but has {len(blob)} bytes")
    data = blob[data_start : data_start + dl]
    out: dict[int, str | int | list[str] | list[int]] = {}
    for i in range(il):
        tag, typ, off, count = struct.unpack_from(">iIiI", blob, 8 + i * 16)
        if tag not in _WANTED_TAGS:
            continue
        if off < 0 or off > dl or count > dl + 1:
            raise HeaderError(f"tag {tag}: offset {off} / count {count} outside the data store ({dl} bytes)")
        if typ in (T_STRING, T_I18NSTRING, T_STRING_ARRAY):
            n = 1 if typ == T_STRING else count
            strings: list[str] = []
            pos = off
            for _ in range(n):
                end = data.find(b"\x00", pos) if pos < dl else -1
                if end < 0:
                    raise HeaderError(f"tag {tag}: unterminated string")
                strings.append(data[pos:end].decode("utf-8", "replace"))
                pos = end + 1
            out[tag] = strings if typ == T_STRING_ARRAY else strings[0]
        elif typ in (T_INT32, T_INT16, T_INT8, T_CHAR, T_INT64):
            width = {T_INT32: 4, T_INT16: 2, T_INT8: 1, T_CHAR: 1, T_INT64: 8}[typ]
            if off + width * count > dl:
                raise HeaderError(f"tag {tag}: {count} integers overflow the data store")
            fmt = {4: "I", 2: "H", 1: "B", 8: "Q"}[width]
            values = list(struct.unpack_from(f">{count}{fmt}", data, off))
            out[tag] = values
    return out


# --- database formats -------------------------------------------------------------------------


def sqlite_blobs(data: bytes, *, source: str) -> Iterator[bytes]:
    if not data.startswith(b"SQLite format 3\x00"):
        raise InputError(f"{source}: not an SQLite database")
    raw = bytearray(data)
    if len(raw) >= 20 and raw[18] == 2:  # WAL mode: read it as a rollback-journal database
        raw[18] = raw[19] = 1
    con = sqlite3.connect(":memory:")
    try:
        try:
            con.deserialize(bytes(raw))
            rows = con.execute("SELECT blob FROM Packages ORDER BY hnum").fetchall()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{source}: cannot read the rpm SQLite database: {exc}") from exc
    finally:
        con.close()
    for (blob,) in rows:
        if isinstance(blob, bytes):
            yield blob


NDB_HEADER_MAGIC = 0x506D7052  # "RpmP" little endian
NDB_SLOT_MAGIC = 0x746F6C53  # "Slot"
NDB_BLOB_MAGIC = 0x53626C42  # "BlbS"


def ndb_blobs(data: bytes, *, source: str) -> Iterator[bytes]:
    if len(data) < 32:
        raise InputError(f"{source}: too short for an rpm NDB database")
    magic, version, _gen, npages = struct.unpack_from("<IIII", data, 0)
    if magic != NDB_HEADER_MAGIC or version != 0 or npages == 0 or npages > 2048:
        raise InputError(f"{source}: not an rpm NDB database (bad header)")
    nslots = npages * 256 - 2
    if 32 + nslots * 16 > len(data):
        raise InputError(f"{source}: truncated NDB slot pages")
    for i in range(nslots):
        smagic, pkgidx, blkoff, _blkcnt = struct.unpack_from("<IIII", data, 32 + i * 16)
        if smagic != NDB_SLOT_MAGIC:
            raise InputError(f"{source}: NDB slot {i} has a bad magic number")
        if pkgidx == 0:
            continue
        start = blkoff * 16
        if start + 16 > len(data):
            raise InputError(f"{source}: NDB slot {i} points outside the file")
        bmagic, bidx, _ck, blen = struct.unpack_from("<IIII", data, start)
        if bmagic != NDB_BLOB_MAGIC or bidx != pkgidx or start + 16 + blen > len(data):
            raise InputError(f"{source}: NDB blob for package index {pkgidx} is damaged")
        yield data[start + 16 : start + 16 + blen]


BDB_HASH_MAGIC = 0x061561
_PAGE_HEADER = 26
_P_OVERFLOW, _P_HASHMETA, _P_HASH, _P_HASH_UNSORTED, _H_OFFPAGE = 7, 8, 13, 2, 3


def bdb_blobs(data: bytes, *, source: str) -> Iterator[bytes]:
    if len(data) < 512:
        raise InputError(f"{source}: too short for a Berkeley DB file")
    order = "<"
    magic = struct.unpack_from("<I", data, 12)[0]
    if magic != BDB_HASH_MAGIC:
        if struct.unpack_from(">I", data, 12)[0] == BDB_HASH_MAGIC:
            order = ">"
        else:
            raise InputError(f"{source}: not a Berkeley DB hash database (magic {magic:#x})")
    pagesize = struct.unpack_from(order + "I", data, 20)[0]
    if pagesize not in (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536):
        raise InputError(f"{source}: unexpected Berkeley DB page size {pagesize}")
    if data[24] != 0:
        raise InputError(f"{source}: encrypted Berkeley DB is not supported")
    if data[25] != _P_HASHMETA:
        raise InputError(f"{source}: not a Berkeley DB hash database (page type {data[25]})")
    last_page = struct.unpack_from(order + "I", data, 32)[0]
    npages = len(data) // pagesize
    if last_page >= npages:
        last_page = npages - 1
    for pageno in range(1, last_page + 1):
        page = data[pageno * pagesize : (pageno + 1) * pagesize]
        ptype = page[25]
        if ptype not in (_P_HASH, _P_HASH_UNSORTED):
            continue
        entries = struct.unpack_from(order + "H", page, 20)[0]
        if entries % 2 or _PAGE_HEADER + entries * 2 > pagesize:
            raise InputError(f"{source}: Berkeley DB page {pageno} has a bad entry count")
        for k in range(1, entries, 2):  # (key, value) pairs: values only
            off = struct.unpack_from(order + "H", page, _PAGE_HEADER + k * 2)[0]
            if off + 12 > pagesize or page[off] != _H_OFFPAGE:
                continue
            next_page, total = struct.unpack_from(order + "II", page, off + 4)
            yield _bdb_overflow(data, pagesize, next_page, total, order, source)


def _bdb_overflow(data: bytes, pagesize: int, pageno: int, total: int, order: str, source: str) -> bytes:
    if total > MAX_BLOB:
        raise InputError(f"{source}: Berkeley DB value of {total} bytes is implausible")
    out = bytearray()
    seen: set[int] = set()
    while pageno != 0:
        if pageno in seen or (pageno + 1) * pagesize > len(data):
            raise InputError(f"{source}: Berkeley DB overflow chain is broken at page {pageno}")
        seen.add(pageno)
        page = data[pageno * pagesize : (pageno + 1) * pagesize]
        if page[25] != _P_OVERFLOW:
            raise InputError(f"{source}: Berkeley DB page {pageno} is not an overflow page")
        nxt = struct.unpack_from(order + "I", page, 16)[0]
        used = struct.unpack_from(order + "H", page, 22)[0]  # hf_offset: bytes used on this page
        chunk = page[_PAGE_HEADER : _PAGE_HEADER + used] if nxt == 0 else page[_PAGE_HEADER:]
        out += chunk
        pageno = nxt
        if len(out) > MAX_BLOB:
            raise InputError(f"{source}: Berkeley DB overflow chain is too long")
    return bytes(out[:total]) if total and len(out) >= total else bytes(out)


def read_blobs(path: str, data: bytes) -> Iterator[bytes]:
    """Header blobs of the rpm database at ``path`` (format chosen by content, then by name)."""
    if data.startswith(b"SQLite format 3\x00"):
        return sqlite_blobs(data, source=path)
    if len(data) >= 4 and struct.unpack_from("<I", data, 0)[0] == NDB_HEADER_MAGIC:
        return ndb_blobs(data, source=path)
    return bdb_blobs(data, source=path)


# --- cataloger --------------------------------------------------------------------------------


def _s(hdr: dict[int, str | int | list[str] | list[int]], tag: int) -> str:
    v = hdr.get(tag)
    if isinstance(v, str):
        return v
    if isinstance(v, list) and v and isinstance(v[0], str):
        return v[0]
    return ""


def _i(hdr: dict[int, str | int | list[str] | list[int]], tag: int) -> int | None:
    v = hdr.get(tag)
    if isinstance(v, list) and v and isinstance(v[0], int):
        return v[0]
    return None


def _strs(hdr: dict[int, str | int | list[str] | list[int]], tag: int) -> list[str]:
    v = hdr.get(tag)
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def _files(hdr: dict[int, str | int | list[str] | list[int]]) -> list[str]:
    base = _strs(hdr, TAG_BASENAMES)
    dirs = _strs(hdr, TAG_DIRNAMES)
    idx = hdr.get(TAG_DIRINDEXES)
    if base and isinstance(idx, list) and len(idx) == len(base):
        out = []
        for b, i in zip(base, idx, strict=True):
            if isinstance(i, int) and 0 <= i < len(dirs):
                out.append(dirs[i] + b)
        return out
    return _strs(hdr, TAG_FILENAMES_OLD)


@dataclass
class _Found:
    pkg: Package
    provides: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class RpmCataloger:
    name = "rpm"

    def wants(self, path: str) -> Want:
        return Want.CONTENT if path in DB_PATHS else Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        found: list[_Found] = []
        seen_dbs: set[int] = set()
        for path in DB_PATHS:
            entry = tree.get(path)
            if entry is None or id(entry) in seen_dbs:
                continue
            seen_dbs.add(id(entry))  # /var/lib/rpm is often a symlink to /usr/lib/sysimage/rpm
            if entry.data is None:
                ctx.notes.append(f"{path}: too large to read, skipped")
                continue
            for n, blob in enumerate(read_blobs(path, entry.data), start=1):
                try:
                    hdr = parse_header(blob)
                except HeaderError as exc:
                    raise InputError(f"{path}: package record {n}: {exc}") from exc
                f = self._package(hdr, path, entry.layer, ctx)
                if f is not None:
                    found.append(f)
            if found:
                break  # one database per image (sqlite and a stale Packages may both exist)
        make_refs_unique(f.pkg for f in found)
        providers: dict[str, list[Package]] = {}
        for f in found:
            for key in (f.pkg.name, *f.provides, *f.files):
                providers.setdefault(key, []).append(f.pkg)
        for f in found:
            deps: set[str] = set()
            for req in f.requires:
                if req.startswith("rpmlib("):
                    continue
                for target in providers.get(req, []):
                    if target is not f.pkg:
                        deps.add(target.bom_ref)
            f.pkg.dependencies = sorted(deps)
        return [f.pkg for f in found]

    @staticmethod
    def _package(
        hdr: dict[int, str | int | list[str] | list[int]], path: str, layer: str | None, ctx: CatalogContext
    ) -> _Found | None:
        name = _s(hdr, TAG_NAME)
        version = _s(hdr, TAG_VERSION)
        if not name or name == "gpg-pubkey" or not version:
            return None
        release = _s(hdr, TAG_RELEASE)
        epoch = _i(hdr, TAG_EPOCH)
        arch = _s(hdr, TAG_ARCH) or None
        full = f"{version}-{release}" if release else version
        namespace = ctx.distro.id or "redhat"
        purl = make_purl(
            "rpm",
            namespace,
            name,
            full,
            {
                "arch": arch,
                "epoch": str(epoch) if epoch is not None else None,
                "distro": ctx.distro.qualifier,
                "upstream": _s(hdr, TAG_SOURCERPM) or None,
            },
        )
        license_ = _s(hdr, TAG_LICENSE)
        props: list[tuple[str, str]] = []
        if epoch is not None:
            props.append(("supplychain:rpm:epoch", str(epoch)))
        if arch:
            props.append(("supplychain:rpm:arch", arch))
        if _s(hdr, TAG_SOURCERPM):
            props.append(("supplychain:rpm:sourcerpm", _s(hdr, TAG_SOURCERPM)))
        size = _i(hdr, TAG_SIZE)
        if size is not None:
            props.append(("supplychain:rpm:size", str(size)))
        if _s(hdr, TAG_MODULARITYLABEL):
            props.append(("supplychain:rpm:modularity-label", _s(hdr, TAG_MODULARITYLABEL)))
        pkg = Package(
            name=name,
            version=f"{epoch}:{full}" if epoch is not None else full,
            purl=purl,
            ecosystem="rpm",
            description=_s(hdr, TAG_SUMMARY) or None,
            license_expression=license_ or None,
            supplier=_s(hdr, TAG_VENDOR) or None,
            properties=props,
            location=path,
            layer=layer,
        )
        return _Found(pkg, _strs(hdr, TAG_PROVIDENAME), _strs(hdr, TAG_REQUIRENAME), _files(hdr))
