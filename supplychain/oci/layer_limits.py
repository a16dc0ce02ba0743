"""Bounds for hostile layers (:class:`Limits`), the decompressed-bytes budget that enforces them,
and the per-layer notes on what was skipped.

Part of :mod:`supplychain.oci.layers` (which re-exports :class:`Limits`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from supplychain.errors import InputError
from supplychain.oci.fs import MAX_CONTENT

GiB = 1 << 30


@dataclass
class Limits:
    """Bounds for hostile layers. Raise them for unusual but legitimate images."""

    max_total_bytes: int = 48 * GiB  # decompressed bytes over all layers
    # decompressed / compressed bytes over the image, checked once past ratio_floor. Real
    # layers compress 2-10x; gzip cannot exceed ~1030x, so a bomb trips this long before
    # max_total_bytes.
    max_ratio: int = 250
    ratio_floor: int = 2 * GiB
    max_kept_bytes: int = 4 * GiB  # file contents kept in memory over the whole tree
    max_members: int = 5_000_000  # tar members per layer
    max_notes_examples: int = 3


@dataclass
class _LayerNotes:
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, example: str, limit: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        ex = self.examples.setdefault(kind, [])
        if len(ex) < limit:
            ex.append(example)


_NOTE_TEXT = {
    "outside": "member path(s) outside the image root were kept inside it",
    "device": "device file(s) / fifo(s) ignored",
    "sparse": "GNU sparse file(s) ignored",
    "huge": f"file(s) larger than {MAX_CONTENT} bytes only hashed, content not kept",
    "budget": "file(s) only hashed because the in-memory content budget was used up",
    "hardlink": "hardlink(s) to files that were not read; their content is unavailable",
    "symlink-escape": "symlink(s) pointing outside the image; resolved inside the root",
    "trailing": "stretch(es) of data after the end of the tar archive ignored",
    "analyze": "file(s) that could not be analyzed (corrupt or hostile content), skipped",
}


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class _Budget:
    def __init__(self, limits: Limits, what: str) -> None:
        self.limits = limits
        self.what = what
        self.decompressed = 0
        self.compressed = 0  # updated from the raw reader
        self.on_add: Callable[[], None] | None = None

    def add(self, n: int) -> None:
        self.decompressed += n
        if self.on_add is not None:
            self.on_add()
        lim = self.limits
        if self.decompressed > lim.max_total_bytes:
            raise InputError(
                f"{self.what}: layers decompress to more than {lim.max_total_bytes} bytes; refusing "
                "(possible decompression bomb)",
                hint="raise Limits.max_total_bytes if this image is really that large",
            )
        if self.decompressed > lim.ratio_floor and self.decompressed > lim.max_ratio * max(self.compressed, 1):
            raise InputError(
                f"{self.what}: layer decompresses more than {lim.max_ratio}x its compressed size; refusing "
                "(possible decompression bomb)",
                hint="raise Limits.max_ratio if this image is legitimate",
            )
