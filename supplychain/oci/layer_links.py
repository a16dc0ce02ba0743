"""Symlinks in the squashed tree: aliases a file is wanted under, targets that climb out of the
root, and loops.

Part of :mod:`supplychain.oci.layers`: links are resolved inside the root, never followed out of it.
"""

from __future__ import annotations

import posixpath

from supplychain.oci.fs import MemoryTree, Select, Want, normpath
from supplychain.oci.layer_limits import Limits


class _LinkAliases:
    """Which symlinks point at a path, so a file is kept when a cataloger wants it under a
    symlinked name (``/etc/os-release`` -> ``../usr/lib/os-release``, ``/lib`` -> ``usr/lib``).
    Follows one link per path prefix, at most two deep; symlinks the tar lists after their
    target are not seen for that target."""

    def __init__(self, links: dict[str, str]) -> None:
        self._by_target: dict[str, list[str]] = {}
        for path, target in links.items():
            self.add(path, target)

    def __bool__(self) -> bool:
        return bool(self._by_target)

    def add(self, path: str, target: str) -> None:
        base = target if target.startswith("/") else posixpath.join(posixpath.dirname(path), target)
        resolved = normpath(base)
        if resolved != path and resolved != "/":
            names = self._by_target.setdefault(resolved, [])
            if len(names) < 8:  # bounded: a hostile layer may point thousands of links at one dir
                names.append(path)

    def names(self, path: str, depth: int = 0) -> list[str]:
        out: list[str] = []
        by_target = self._by_target
        end = len(path)
        while end > 0:  # "/a/b/c", "/a/b", "/a" (never "/")
            links = by_target.get(path[:end])
            if links:
                rest = path[end:]
                for link in links:
                    alias = link + rest
                    out.append(alias)
                    if depth < 1:
                        out.extend(self.names(alias, depth + 1))
            end = path.rfind("/", 0, end)
        return out

    def want(self, path: str, select: Select) -> Want:
        best = Want.SKIP
        for alias in self.names(path)[:16]:
            w = select(alias)
            if w == Want.CONTENT:
                return w
            best = max(best, w)
        return best


def _escapes(parent: str, target: str) -> bool:
    """A relative symlink target that climbs above the root from ``parent``."""
    if target.startswith("/"):
        return False
    depth = len([p for p in parent.split("/") if p])
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _note_link_problems(tree: MemoryTree, limits: Limits) -> None:
    loops: list[str] = []
    for path in sorted(tree.links):
        seen: set[str] = set()
        cur = path
        for _ in range(41):
            if cur in seen:
                loops.append(path)
                break
            seen.add(cur)
            target = tree.links.get(cur)
            if target is None:
                break
            base = target if target.startswith("/") else posixpath.join(posixpath.dirname(cur), target)
            cur = normpath(base)
        else:
            loops.append(path)
    if loops:
        ex = ", ".join(loops[: limits.max_notes_examples])
        tree.notes.append(f"{len(loops)} symlink(s) form loops and resolve to nothing (e.g. {ex})")
