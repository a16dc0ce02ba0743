"""A read-only file tree that catalogers read from.

Two implementations: :class:`DirectoryTree` (a root filesystem on disk, e.g. the
package databases under ``shared/external/os-packages``) and the squashed image view
that ``supplychain.oci.layers`` builds by streaming layers once. Catalogers say which
paths they want through a ``select`` callable returning a :class:`Want`; only those
are kept (content, or just a digest for big files such as model weights).
"""

from __future__ import annotations

import enum
import hashlib
import os
import posixpath
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from supplychain.errors import InputError

MAX_CONTENT = 64 * 1024 * 1024  # largest file kept in memory for a cataloger


class Want(enum.IntEnum):
    SKIP = 0
    CONTENT = 1  # keep the bytes (package databases, manifests, metadata)
    DIGEST = 2  # keep size and sha256 only (model weights and other big files)


Select = Callable[[str], Want]

# A file analyzer reads a member's bytes as they stream past (chunks, in order; it may stop
# early) and returns small facts to keep (e.g. an executable's Go build info), or None.
Analyzer = Callable[[Iterator[bytes]], Any]
# Asked for every regular file with (path, mode, size): the analyzer for it, or None. Used for
# files no path rule can name (any executable may be a Go binary); the bytes are never kept.
Analyze = Callable[[str, int, int], Analyzer | None]


@dataclass
class FileEntry:
    path: str  # absolute, normalised, e.g. "/var/lib/dpkg/status"
    size: int
    layer: str | None = None  # digest of the layer that last wrote this file
    data: bytes | None = None  # with Want.CONTENT
    sha256: str | None = None  # hex, with Want.DIGEST (and may be set with CONTENT)
    mode: int = 0o644
    facts: Any = None  # what an Analyzer returned for this file (bytes not kept)


def normpath(path: str) -> str:
    """Normalise to an absolute POSIX path that cannot leave the root."""
    # "./x", "x", "/x", "//x" and "../../x" all become "/x"; dot-files keep their dot
    p = posixpath.normpath("/" + path.lstrip("/"))
    if p.startswith("//"):
        p = "/" + p.lstrip("/")
    # posixpath already drops ".." at the root; keep the guard for odd inputs
    while p == "/.." or p.startswith("/../"):
        p = p[3:] or "/"
    return p


class FileTree(Protocol):
    """What catalogers see: the wanted files of a root filesystem."""

    def get(self, path: str) -> FileEntry | None:
        """The entry at ``path`` (symlinks inside the tree resolved), or None."""

    def paths(self) -> Iterator[str]:
        """Every kept path, sorted."""

    def skipped(self) -> list[str]:
        """Human-readable notes about members skipped for safety (hostile layers)."""


class MemoryTree:
    """A FileTree held in a dict; the image squasher fills one of these."""

    def __init__(self) -> None:
        self.files: dict[str, FileEntry] = {}
        self.links: dict[str, str] = {}  # symlink path -> target (as stored)
        self.hardlinks: dict[str, str] = {}  # hardlink path -> normalised target path
        self.notes: list[str] = []

    def _resolve(self, path: str, depth: int = 0) -> str:
        if depth > 40:
            return path
        path = normpath(path)
        parts = path.strip("/").split("/")
        cur = "/"
        for i, part in enumerate(parts):
            nxt = posixpath.join(cur, part)
            if nxt in self.links:
                target = self.links[nxt]
                base = target if target.startswith("/") else posixpath.join(cur, target)
                rest = "/".join(parts[i + 1 :])
                return self._resolve(posixpath.join(base, rest) if rest else base, depth + 1)
            cur = nxt
        return cur

    def get(self, path: str) -> FileEntry | None:
        p = normpath(path)
        entry = self.files.get(p)
        if entry is not None:
            return entry
        return self.files.get(self._resolve(p))

    def paths(self) -> Iterator[str]:
        return iter(sorted(self.files))

    def skipped(self) -> list[str]:
        return list(self.notes)


class DirectoryTree(MemoryTree):
    """A root filesystem on disk, read eagerly through ``select`` (used for tests and dirs)."""

    def __init__(self, root: str | os.PathLike[str], select: Select, analyze: Analyze | None = None) -> None:
        super().__init__()
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"{self.root}: not a directory")
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames.sort()
            rel_dir = "/" + os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            rel_dir = normpath(rel_dir)
            for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                full = os.path.join(dirpath, name)
                rel = normpath(posixpath.join(rel_dir, name))
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    self.links[rel] = os.readlink(full)
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                want = select(rel)
                if want == Want.SKIP:
                    analyzer = analyze(rel, stat.S_IMODE(st.st_mode), st.st_size) if analyze else None
                    if analyzer is not None:
                        with open(full, "rb") as fh:
                            facts = analyzer(iter(lambda: fh.read(1 << 20), b""))
                        if facts is not None:
                            self.files[rel] = FileEntry(path=rel, size=st.st_size, mode=stat.S_IMODE(st.st_mode),
                                                        facts=facts)
                    continue
                entry = FileEntry(path=rel, size=st.st_size, mode=stat.S_IMODE(st.st_mode))
                if want == Want.CONTENT and st.st_size <= MAX_CONTENT:
                    with open(full, "rb") as fh:
                        entry.data = fh.read()
                else:
                    h = hashlib.sha256()
                    with open(full, "rb") as fh:
                        for chunk in iter(lambda: fh.read(1 << 20), b""):
                            h.update(chunk)
                    entry.sha256 = h.hexdigest()
                self.files[rel] = entry
