"""A small, fast, streaming tar reader for hostile layer tars.

stdlib ``tarfile`` costs several seconds per 100k members; this reader parses the
512-byte headers itself (ustar, GNU longname/longlink and base-256 sizes, PAX
``path``/``linkpath``/``size``), hands out member data in big chunks, and skips unwanted
data by reading and discarding. It never seeks, so it works on a decompression stream.
Every byte that comes out of the decompressor is counted against caller limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from supplychain.errors import InputError

BLOCK = 512
CHUNK = 1 << 20
MAX_META = 1 << 20  # largest PAX / GNU longname header we accept

REGULAR = frozenset(b"0\x007")
HARDLINK = ord("1")
SYMLINK = ord("2")
CHAR = ord("3")
BLOCKDEV = ord("4")
DIRECTORY = ord("5")
FIFO = ord("6")
GNU_LONGNAME = ord("L")
GNU_LONGLINK = ord("K")
PAX = ord("x")
PAX_GLOBAL = ord("g")
GNU_SPARSE = ord("S")
_NO_DATA = frozenset((HARDLINK, SYMLINK, DIRECTORY, CHAR, BLOCKDEV, FIFO))


@dataclass
class Member:
    name: str  # as stored (not normalised)
    type: int  # the typeflag byte value (REGULAR is b"0", b"\0" or b"7")
    size: int  # bytes of data that follow
    mode: int
    linkname: str
    sparse: bool = False
    # owner, read only for directories and setuid / setgid members (others: -1, not read)
    uid: int = -1
    gid: int = -1

    @property
    def is_file(self) -> bool:
        return self.type in REGULAR


def _owner(pax_value: str | None, field: bytes, what: str) -> int:
    """A uid / gid: the PAX record when there is one, else the header field (-1 if unreadable)."""
    if pax_value is not None and pax_value.isdigit():
        return int(pax_value)
    try:
        return _num(field, what)
    except InputError:
        return -1


def _num(field: bytes, what: str) -> int:
    if field and field[0] & 0x80:
        if field[0] == 0xFF:
            raise InputError(f"{what}: negative number in tar header")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    s = field.split(b"\0", 1)[0].strip(b" \0")
    if not s:
        return 0
    try:
        return int(s, 8)
    except ValueError:
        raise InputError(f"{what}: invalid number {s[:20]!r} in tar header") from None


def _str(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "replace")


class TarStream:
    """Iterate the members of a tar read from ``fh``; read or skip each member's data.

    ``on_bytes(n)`` is called for every decompressed chunk read (for bomb limits).
    """

    def __init__(self, fh: IO[bytes], what: str, on_bytes: Callable[[int], None] | None = None) -> None:
        self._fh = fh
        self.what = what
        self._buf = b""
        self._pos = 0
        self._on_bytes = on_bytes
        self.total = 0
        self._pending = 0  # data bytes (incl. padding) of the current member not consumed yet

    # -- buffer

    def _more(self, n: int) -> bool:
        """Make at least ``n`` bytes available in the buffer; False at EOF."""
        avail = len(self._buf) - self._pos
        if avail >= n:
            return True
        parts = [self._buf[self._pos :]]
        while avail < n:
            chunk = self._fh.read(max(CHUNK, n - avail))
            if not chunk:
                self._buf = b"".join(parts)
                self._pos = 0
                return False
            self.total += len(chunk)
            if self._on_bytes is not None:
                self._on_bytes(len(chunk))
            parts.append(chunk)
            avail += len(chunk)
        self._buf = b"".join(parts)
        self._pos = 0
        return True

    def _take(self, n: int) -> bytes:
        if not self._more(n):
            raise InputError(f"{self.what}: tar archive is truncated")
        b = self._buf[self._pos : self._pos + n]
        self._pos += n
        return b

    def _skip(self, n: int) -> None:
        avail = len(self._buf) - self._pos
        if n <= avail:
            self._pos += n
            return
        n -= avail
        self._buf, self._pos = b"", 0
        while n > 0:
            chunk = self._fh.read(min(n, CHUNK * 4))
            if not chunk:
                raise InputError(f"{self.what}: tar archive is truncated")
            self.total += len(chunk)
            if self._on_bytes is not None:
                self._on_bytes(len(chunk))
            if len(chunk) > n:
                self._buf, self._pos = chunk, n
                return
            n -= len(chunk)

    # -- member data

    def read_data(self, member: Member) -> bytes:
        """All of the current member's data (call before advancing)."""
        data = self._take(member.size)
        self._skip(self._pending - member.size)
        self._pending = 0
        return data

    def iter_data(self, member: Member) -> Iterator[bytes]:
        """The current member's data in chunks (for hashing big files)."""
        left = member.size
        while left > 0:
            if len(self._buf) - self._pos == 0 and not self._more(1):
                raise InputError(f"{self.what}: tar archive is truncated")
            n = min(left, len(self._buf) - self._pos)
            piece = self._buf[self._pos : self._pos + n]
            self._pos += n
            left -= n
            yield piece
        self._skip(self._pending - member.size)
        self._pending = 0

    def drain(self) -> bool:
        """Read the rest of the stream (trailing blocks) so verification can finish.
        True when anything but zero padding followed the end-of-archive marker."""
        trailing = self._buf[self._pos :].count(0) != len(self._buf) - self._pos
        self._buf, self._pos = b"", 0
        while True:
            chunk = self._fh.read(CHUNK * 4)
            if not chunk:
                return trailing
            self.total += len(chunk)
            if self._on_bytes is not None:
                self._on_bytes(len(chunk))
            if not trailing and chunk.count(0) != len(chunk):
                trailing = True

    # -- headers

    def _meta(self, size: int, kind: str) -> bytes:
        if size > MAX_META:
            raise InputError(f"{self.what}: {kind} header of {size} bytes is too large")
        data = self._take(size)
        self._skip(-size % BLOCK)
        return data

    def __iter__(self) -> Iterator[Member]:
        long_name: str | None = None
        long_link: str | None = None
        pax: dict[str, str] = {}
        while True:
            if self._pending:
                self._skip(self._pending)
                self._pending = 0
            if not self._more(BLOCK):
                if len(self._buf) - self._pos == 0:
                    return  # EOF without end-of-archive blocks: accept, like GNU tar
                raise InputError(f"{self.what}: tar archive is truncated")
            block = self._buf[self._pos : self._pos + BLOCK]
            self._pos += BLOCK
            if block.count(0) == BLOCK:
                return  # end-of-archive marker
            stored = _num(block[148:156], self.what)
            unsigned = sum(block) - sum(block[148:156]) + 256
            if stored != unsigned:
                signed = sum((b - 256 if b > 127 else b) for b in block) - sum(
                    (b - 256 if b > 127 else b) for b in block[148:156]) + 256
                if stored != signed:
                    raise InputError(f"{self.what}: corrupt tar header (bad checksum)")
            typ = block[156]
            size = _num(block[124:136], self.what)
            if typ in (GNU_LONGNAME, GNU_LONGLINK):
                text = _str(self._meta(size, "GNU long name"))
                if typ == GNU_LONGNAME:
                    long_name = text
                else:
                    long_link = text
                continue
            if typ in (PAX, PAX_GLOBAL):
                data = self._meta(size, "PAX")
                if typ == PAX:
                    pax = _parse_pax(data, self.what)
                continue
            name = _str(block[0:100])
            magic = block[257:263]
            if magic == b"ustar\x00":
                prefix = _str(block[345:500])
                if prefix:
                    name = prefix + "/" + name
            linkname = _str(block[157:257])
            sparse = typ == GNU_SPARSE
            if sparse and block[482]:
                # old GNU sparse: extension blocks with more of the sparse map follow the header
                for _ in range(MAX_META // BLOCK):
                    ext = self._take(BLOCK)
                    if not ext[504]:
                        break
                else:
                    raise InputError(f"{self.what}: GNU sparse map too long")
            if "GNU.sparse.name" in pax:
                name = pax["GNU.sparse.name"]
            elif "path" in pax:
                name = pax["path"]
            elif long_name is not None:
                name = long_name
            if "linkpath" in pax:
                linkname = pax["linkpath"]
            elif long_link is not None:
                linkname = long_link
            if "size" in pax:
                try:
                    size = int(pax["size"])
                except ValueError:
                    raise InputError(f"{self.what}: invalid PAX size {pax['size']!r}") from None
            if any(k.startswith("GNU.sparse") for k in pax):
                sparse = True
            if size < 0:
                raise InputError(f"{self.what}: negative member size")
            mode = _num(block[100:108], self.what) & 0o7777
            uid = gid = -1
            if typ == DIRECTORY or mode & 0o6000:
                uid = _owner(pax.get("uid"), block[108:116], self.what)
                gid = _owner(pax.get("gid"), block[116:124], self.what)
            long_name = long_link = None
            pax = {}
            # links, dirs and devices carry no data even if a size is stored
            data_size = 0 if typ in _NO_DATA else size
            self._pending = data_size + (-data_size % BLOCK)
            yield Member(name=name, type=typ, size=data_size, mode=mode, linkname=linkname, sparse=sparse,
                         uid=uid, gid=gid)


def _parse_pax(data: bytes, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    n = len(data)
    while pos < n:
        if data[pos] == 0:
            break
        sp = data.find(b" ", pos)
        if sp < 0:
            raise InputError(f"{what}: malformed PAX header")
        try:
            length = int(data[pos:sp])
        except ValueError:
            raise InputError(f"{what}: malformed PAX record length") from None
        if length <= 0 or pos + length > n:
            raise InputError(f"{what}: malformed PAX record length")
        record = data[sp + 1 : pos + length]
        pos += length
        if not record.endswith(b"\n") or b"=" not in record:
            raise InputError(f"{what}: malformed PAX record")
        key, _, value = record[:-1].partition(b"=")
        out[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return out
