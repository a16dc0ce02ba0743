"""Handing a layer member's bytes, as they stream, to an analyzer (:data:`supplychain.oci.fs.Analyze`).

Part of :mod:`supplychain.oci.layers`: the member is always read to its end, and an analyzer's
failure on odd bytes is a note, not an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from supplychain.oci.fs import Analyzer
from supplychain.oci.layer_limits import _LayerNotes


def _hashing(chunks: Iterator[bytes], h: Any) -> Iterator[bytes]:
    for chunk in chunks:
        h.update(chunk)
        yield chunk


def _run_analyzer(analyzer: Analyzer, chunks: Iterator[bytes], path: str, notes: _LayerNotes,
                  ex_limit: int) -> Any:
    """Facts from ``analyzer`` over ``chunks``; the member is always read to its end (the tar
    stream must stay in step), whatever the analyzer does. Our own InputError (a truncated
    archive, a bomb limit) propagates; an analyzer's failure on odd bytes is a note."""
    feed = _Feed(chunks)
    try:
        facts = analyzer(feed)
    except Exception as exc:
        if feed.error is not None:  # the layer stream failed (truncated, corrupt, bomb): not the file
            raise
        notes.add("analyze", f"{path} ({type(exc).__name__})"[:200], ex_limit)
        facts = None
    for _ in feed:  # drain what the analyzer did not read
        pass
    return facts


class _Feed:
    """The chunks of one member; remembers whether reading them (not analyzing them) failed."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            raise
        except BaseException as exc:
            self.error = exc
            raise
