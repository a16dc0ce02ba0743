"""Merge keys (``<<``) and scalar disagreements: the values kubectl apply reads, and every place
where the other deployers' reader (go-yaml v3) would read something else, as problems.

Part of :mod:`supplychain.policy.yamlsrc`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supplychain.policy.yamlnodes import Pos, Problem, YMap, YSeq

if TYPE_CHECKING:  # pragma: no cover
    from supplychain.policy.yamlsrc import _Frame


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    return bool(a == b)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, (YMap, YSeq)) else f"a {type(value).__name__[1:].lower()}"
    return text if len(text) <= 80 else text[:77] + "..."


def _finish_map(frame: _Frame, problems: list[Problem]) -> None:
    """Apply merge keys: the map gets kubectl apply's values (go-yaml v2: in document order, a
    sequence's earlier maps winning); every key where the YAML-spec reading of go-yaml v3
    (kubectl kustomize, docker compose: explicit keys win, earlier merges win) differs is a problem."""
    mapping = frame.container
    assert isinstance(mapping, YMap)
    explicit = dict(mapping)
    key_pos, val_pos = dict(mapping.key_pos), dict(mapping.val_pos)
    # the spec's reading: explicit keys, then merged keys not set explicitly (earlier merge wins)
    spec: dict[Any, Any] = dict(explicit)
    for maps, _n in frame.merges:
        for merged in maps:
            for k, v in merged.items():
                spec.setdefault(k, v)
    # kubectl apply's reading: everything in document order, later wins
    v2: dict[Any, Any] = {}
    pos_k: dict[Any, Pos] = {}
    pos_v: dict[Any, Pos] = {}
    done = 0
    for maps, n in [*frame.merges, ([], len(frame.order))]:
        for k in frame.order[done:n]:
            v2[k], pos_k[k], pos_v[k] = explicit[k], key_pos[k], val_pos[k]
        done = n
        for merged in reversed(maps):
            for k, v in merged.items():
                v2[k] = v
                pos_k[k] = merged.key_pos.get(k, merged.pos)
                pos_v[k] = merged.val_pos.get(k, merged.pos)
    for k, v in v2.items():
        if not _same(v, spec.get(k)):
            where = pos_v[k]
            problems.append((where.line, where.column,
                             f"key {k!r} is ambiguous: a merge key (<<) and an explicit key disagree; "
                             f"kubectl apply reads {_show(v)}, kubectl kustomize and docker compose read "
                             f"{_show(spec.get(k))}"))
    mapping.clear()
    mapping.update(v2)
    mapping.key_pos, mapping.val_pos = pos_k, pos_v


def _live(root: Any, pending: dict[tuple[int, int], str]) -> list[Problem]:
    """The pending scalar disagreements whose values are part of the final document."""
    out: list[Problem] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, YMap):
            positions = [*node.key_pos.values(), *node.val_pos.values()]
            stack.extend(v for v in node.values() if isinstance(v, (YMap, YSeq)))
        elif isinstance(node, YSeq):
            positions = list(node.item_pos)
            stack.extend(v for v in node if isinstance(v, (YMap, YSeq)))
        else:
            continue
        for pos in positions:
            why = pending.get((pos.line, pos.column))
            if why is not None:
                out.append((pos.line, pos.column, why))
    return sorted(set(out))
