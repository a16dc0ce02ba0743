"""Safe, fast YAML loading with line/column positions for every value.

Untrusted files (compose files, Kubernetes manifests, policy files) are parsed by libyaml
(PyYAML's ``CSafeLoader`` event stream) and built, iteratively, into :class:`YMap` /
:class:`YSeq` containers that remember where each key and value came from (1-based line and
column). Aliases share the anchored object; nothing is expanded.

Hostile input is refused with :class:`~supplychain.errors.InputError` (exit 2):

* files larger than :data:`MAX_FILE_SIZE`;
* bytes that are not UTF-8;
* alias "bombs" (billion laughs): the size the document *would* have if every alias were
  expanded is computed without expanding anything, and refused above :data:`MAX_EXPANDED_NODES`;
* recursive aliases, and nesting deeper than :data:`MAX_DEPTH` (libyaml's own composer
  recurses in C and would crash the process).

Values are what ``kubectl apply`` reads (go-yaml v2 through sigs.k8s.io/yaml): merge keys
(``<<``) are applied in document order, so a merge *after* an explicit key overrides it, and
within ``<<: [*a, *b]`` the earlier map wins; a duplicated key keeps its last value; timestamps
stay strings; ``!!binary`` is decoded. Where the other deployers' reader (go-yaml v3:
``kubectl kustomize``, ``docker compose``) reads something else -- an explicit key overriding a
merged one, a duplicated key (an error there), a merge of a non-mapping -- the document is
*ambiguous*: the loader keeps kubectl apply's value and records the place and the reason in
``problems`` of the document's root :class:`YMap` (see :func:`problems_of`), which the checkers
turn into a refusal (SC-GATE-007).

The containers are in :mod:`supplychain.policy.yamlnodes`, scalar resolution in
:mod:`supplychain.policy.yamlscalars`, merge keys and ambiguities in
:mod:`supplychain.policy.yamlmerge`; this module re-exports their public names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from supplychain.errors import InputError
from supplychain.fileio import read_bytes
from supplychain.policy.yamlmerge import _finish_map, _live
from supplychain.policy.yamlnodes import Pos, Problem, YMap, YSeq, problems_of
from supplychain.policy.yamlscalars import _MERGE_KEY, _BadScalar, _Disagree, _scalar

MAX_FILE_SIZE = 8 * 1024 * 1024
MAX_EXPANDED_NODES = 250_000
MAX_DEPTH = 512

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "MAX_FILE_SIZE",
    "Pos",
    "Problem",
    "YMap",
    "YSeq",
    "decode_text",
    "load_all",
    "load_one",
    "problems_of",
    "read_text",
]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def decode_text(raw: bytes, source: str) -> str:
    """UTF-8 (with or without BOM) or an InputError naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{source}:{line}: not valid UTF-8 (byte offset {exc.start})",
            hint="save the file as UTF-8",
        ) from exc


def read_text(path: str | Path, *, limit: int = MAX_FILE_SIZE, source: str | None = None) -> str:
    """Read a text file with a size cap, UTF-8 only; errors name the file."""
    name = source or str(path)
    raw = read_bytes(path, limit=limit, source=name,
                     hint="policy checks read configuration files, not data; exclude this path")
    return decode_text(raw, name)


_NO_KEY = object()
_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_pos", "merges", "order", "size")

    def __init__(self, container: YMap | YSeq, anchor: str | None) -> None:
        self.container = container
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_pos: Pos | None = None
        # merge keys, each with the explicit keys set before it (kubectl apply's order matters)
        self.merges: list[tuple[list[YMap], int]] = []
        self.order: list[Any] = []  # explicit keys in document order (kept only once a merge is seen)
        self.size = 1


def _event_pos(event: Any, raw: str | None = None, style: str | None = None) -> Pos:
    mark = event.start_mark
    return Pos(mark.line + 1, mark.column + 1, raw, style)


def _documents(text: str, source: str, kubectl: bool) -> Iterator[tuple[Any, int]]:
    """Build YMap/YSeq trees straight from libyaml's event stream, iteratively.

    No recursion anywhere (libyaml's own composer recurses in C and crashes on deeply nested
    input), aliases share the anchored object (nothing is expanded), and the would-be
    expanded size, the nesting depth and recursive aliases are checked as the events arrive.
    """
    stack: list[_Frame] = []
    problems: list[Problem] = []
    pending: dict[tuple[int, int], str] = {}
    anchors: dict[str, tuple[Any, int]] = {}
    open_anchors: set[str] = set()
    root: Any = None
    have_root = False
    doc_line = 1
    distinct = 0

    def add(value: Any, pos: Pos, size: int) -> None:
        nonlocal root, have_root
        if not stack:
            root, have_root = value, True
            return
        frame = stack[-1]
        frame.size += size
        container = frame.container
        if isinstance(container, YSeq):
            container.append(value)
            container.item_pos.append(pos)
        elif frame.key is _NO_KEY:
            if isinstance(value, (YMap, YSeq)):  # complex keys: keep a printable stand-in
                value = f"<{type(value).__name__} key at line {pos.line}>"
            frame.key, frame.key_pos = value, pos
        else:
            key = frame.key
            frame.key = _NO_KEY
            if key is _MERGE_KEY:
                maps: list[YMap] = []
                if isinstance(value, YMap):
                    maps.append(value)
                elif isinstance(value, YSeq) and all(isinstance(v, YMap) for v in value):
                    maps.extend(value)
                else:
                    problems.append((pos.line, pos.column, "a merge key (<<) needs a mapping or a "
                                     "sequence of mappings; kubectl and docker compose refuse this"))
                if not frame.merges:
                    frame.order = list(container)
                frame.merges.append((maps, len(frame.order)))
                return
            assert isinstance(container, YMap) and frame.key_pos is not None
            if key in container:
                kp = frame.key_pos
                problems.append((kp.line, kp.column,
                                 f"key {key!r} is duplicated (first at line {container.key_pos[key].line}); "
                                 "kubectl apply takes the last value, kubectl kustomize and docker compose "
                                 "refuse the file"))
                if frame.merges:
                    frame.order.remove(key)
            if frame.merges:
                frame.order.append(key)
            container[key] = value
            container.key_pos[key] = frame.key_pos
            container.val_pos[key] = pos

    events: Iterator[Any] = yaml.parse(text, Loader=_Loader)
    for event in events:
        cls = type(event)
        if cls is yaml.ScalarEvent:
            distinct += 1
            try:
                value = _scalar(event, kubectl)
            except _Disagree as exc:  # a problem only if the value survives merges (see _live)
                mark = event.start_mark
                pending[(mark.line + 1, mark.column + 1)] = str(exc)
                value = exc.value
            except _BadScalar as exc:
                mark = event.start_mark
                problems.append((mark.line + 1, mark.column + 1, str(exc)))
                value = event.value
            pos = _event_pos(event, event.value, event.style or "")
            add(value, pos, 1)
            if event.anchor:
                anchors[event.anchor] = (value, 1)
        elif cls in _START:
            distinct += 1
            if len(stack) >= MAX_DEPTH:
                raise InputError(f"{source}:{event.start_mark.line + 1}: YAML nesting deeper than "
                                 f"{MAX_DEPTH} levels; refusing to load")
            container: YMap | YSeq
            if cls is yaml.MappingStartEvent:
                container = YMap()
                container.key_pos, container.val_pos = {}, {}
            else:
                container = YSeq()
                container.item_pos = []
            container.pos = _event_pos(event)
            stack.append(_Frame(container, event.anchor))
            if event.anchor:
                open_anchors.add(event.anchor)
        elif cls in _END:
            frame = stack.pop()
            if isinstance(frame.container, YMap) and frame.merges:
                _finish_map(frame, problems)
            if frame.size > MAX_EXPANDED_NODES and frame.size > 4 * distinct:
                raise InputError(
                    f"{source}:{frame.container.pos.line}: YAML aliases expand to more than "
                    f"{MAX_EXPANDED_NODES} nodes (an alias bomb?); refusing to load",
                    hint="remove the nested anchors/aliases",
                )
            if frame.anchor:
                anchors[frame.anchor] = (frame.container, frame.size)
                open_anchors.discard(frame.anchor)
            add(frame.container, frame.container.pos, frame.size)
        elif cls is yaml.AliasEvent:
            name = event.anchor
            line = event.start_mark.line + 1
            if name in open_anchors:
                raise InputError(f"{source}:{line}: recursive YAML alias *{name}; refusing to load")
            if name not in anchors:
                raise InputError(f"{source}:{line}: invalid YAML: undefined alias *{name}")
            value, size = anchors[name]
            add(value, _event_pos(event), size)
        elif cls is yaml.DocumentStartEvent:
            anchors.clear()
            open_anchors.clear()
            root, have_root, distinct = None, False, 0
            problems = []
            pending = {}
            doc_line = event.start_mark.line + 1
        elif cls is yaml.DocumentEndEvent:
            if have_root and root is not None:
                if pending:
                    problems.extend(_live(root, pending))
                if problems and isinstance(root, (YMap, YSeq)):
                    root.problems = sorted(problems)
                yield root, doc_line


def load_all(text: str, source: str, *, kubectl: bool = True) -> Iterator[tuple[Any, int]]:
    """Yield ``(document, first_line)`` for every document in a YAML stream."""
    try:
        yield from _documents(text, source, kubectl)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "syntax error"
        raise InputError(f"{where}: invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: invalid YAML: {exc}") from exc


def load_one(text: str, source: str, *, kubectl: bool = False) -> Any:
    """The first document of a YAML stream (None when empty).

    Our own files (policies) are read with PyYAML's YAML 1.1 scalars by default; deployable files
    go through :func:`load_all`, whose default is kubectl apply's reading."""
    for doc, _line in load_all(text, source, kubectl=kubectl):
        return doc
    return None
