"""The containers the YAML loader builds: :class:`YMap` / :class:`YSeq` remember the :class:`Pos`
(line, column, source text) of every key and value; a document root carries its ambiguities.

Part of :mod:`supplychain.policy.yamlsrc` (which re-exports these names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Pos:
    """Where a YAML value starts: 1-based line and column, and the scalar's source text."""

    line: int
    column: int
    raw: str | None = None  # scalar text as written (no quotes); None for collections
    style: str | None = None  # '', "'", '"', '|', '>' for scalars


Problem = tuple[int, int, str]  # line, column, what is ambiguous


class YMap(dict[Any, Any]):
    """A mapping that remembers positions: ``pos`` of itself, ``key_pos[k]``, ``val_pos[k]``."""

    pos: Pos
    key_pos: dict[Any, Pos]
    val_pos: dict[Any, Pos]
    problems: list[Problem]  # set on a document root only (see problems_of)

    def where(self, key: Any) -> Pos:
        """Position of the value for ``key`` (or of the key, or of the map itself)."""
        return self.val_pos.get(key) or self.key_pos.get(key) or self.pos

    def where_key(self, key: Any) -> Pos:
        return self.key_pos.get(key) or self.pos


def problems_of(doc: Any) -> list[Problem]:
    """Ambiguities found while loading ``doc`` (a document root), in source order."""
    found: list[Problem] = getattr(doc, "problems", None) or []
    return found


class YSeq(list[Any]):
    """A sequence that remembers ``pos`` of itself and ``item_pos[i]`` of every item."""

    pos: Pos
    item_pos: list[Pos]
    problems: list[Problem]

    def where(self, index: int) -> Pos:
        return self.item_pos[index] if 0 <= index < len(self.item_pos) else self.pos
