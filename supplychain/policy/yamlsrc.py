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
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from supplychain.errors import InputError
from supplychain.fileio import read_bytes

MAX_FILE_SIZE = 8 * 1024 * 1024
MAX_EXPANDED_NODES = 250_000
MAX_DEPTH = 512

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class Pos:
    """Where a YAML value starts: 1-based line and column, and the scalar's source text."""

    line: int
    column: int
    raw: str | None = None  # scalar text as written (no quotes); None for collections
    style: str | None = None  # '', "'", '"', '|', '>' for scalars


class YMap(dict[Any, Any]):
    """A mapping that remembers positions: ``pos`` of itself, ``key_pos[k]``, ``val_pos[k]``."""

    pos: Pos
    key_pos: dict[Any, Pos]
    val_pos: dict[Any, Pos]

    def where(self, key: Any) -> Pos:
        """Position of the value for ``key`` (or of the key, or of the map itself)."""
        return self.val_pos.get(key) or self.key_pos.get(key) or self.pos

    def where_key(self, key: Any) -> Pos:
        return self.key_pos.get(key) or self.pos


class YSeq(list[Any]):
    """A sequence that remembers ``pos`` of itself and ``item_pos[i]`` of every item."""

    pos: Pos
    item_pos: list[Pos]

    def where(self, index: int) -> Pos:
        return self.item_pos[index] if 0 <= index < len(self.item_pos) else self.pos


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


_resolver: Any = yaml.resolver.Resolver()
_NO_KEY = object()
_MERGE_KEY = object()
_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _scalar(event: Any) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        if event.style:  # quoted or block scalars are always strings
            return event.value
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _STR:
        return event.value
    if tag == _MERGE:
        return _MERGE_KEY
    if tag == "tag:yaml.org,2002:null":
        return None
    node = yaml.ScalarNode(tag, event.value)
    try:
        if tag == "tag:yaml.org,2002:int":
            return _constructor.construct_yaml_int(node)
        if tag == "tag:yaml.org,2002:bool":
            return _constructor.construct_yaml_bool(node)
        if tag == "tag:yaml.org,2002:float":
            return _constructor.construct_yaml_float(node)
        if tag == "tag:yaml.org,2002:timestamp":
            value: datetime.date = _constructor.construct_yaml_timestamp(node)
            return value
    except (ValueError, TypeError, yaml.YAMLError):
        return event.value
    return event.value  # unknown tags (!Ref, !!binary, ...): keep the text


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_pos", "merges", "size")

    def __init__(self, container: YMap | YSeq, anchor: str | None) -> None:
        self.container = container
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_pos: Pos | None = None
        self.merges: list[YMap] = []
        self.size = 1


def _event_pos(event: Any, raw: str | None = None, style: str | None = None) -> Pos:
    mark = event.start_mark
    return Pos(mark.line + 1, mark.column + 1, raw, style)


def _finish_map(frame: _Frame) -> None:
    mapping = frame.container
    assert isinstance(mapping, YMap)
    for merged in frame.merges:  # explicit keys win over merged ones; earlier merges win
        for k, v in merged.items():
            if k not in mapping:
                mapping[k] = v
                mapping.key_pos[k] = merged.key_pos.get(k, merged.pos)
                mapping.val_pos[k] = merged.val_pos.get(k, merged.pos)


def _documents(text: str, source: str) -> Iterator[tuple[Any, int]]:
    """Build YMap/YSeq trees straight from libyaml's event stream, iteratively.

    No recursion anywhere (libyaml's own composer recurses in C and crashes on deeply nested
    input), aliases share the anchored object (nothing is expanded), and the would-be
    expanded size, the nesting depth and recursive aliases are checked as the events arrive.
    """
    stack: list[_Frame] = []
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
                if isinstance(value, YMap):
                    frame.merges.append(value)
                elif isinstance(value, YSeq):
                    frame.merges.extend(v for v in value if isinstance(v, YMap))
                return
            assert isinstance(container, YMap) and frame.key_pos is not None
            container[key] = value
            container.key_pos[key] = frame.key_pos
            container.val_pos[key] = pos

    events: Iterator[Any] = yaml.parse(text, Loader=_Loader)
    for event in events:
        cls = type(event)
        if cls is yaml.ScalarEvent:
            distinct += 1
            value = _scalar(event)
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
            if isinstance(frame.container, YMap):
                _finish_map(frame)
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
            doc_line = event.start_mark.line + 1
        elif cls is yaml.DocumentEndEvent:
            if have_root and root is not None:
                yield root, doc_line


def load_all(text: str, source: str) -> Iterator[tuple[Any, int]]:
    """Yield ``(document, first_line)`` for every document in a YAML stream."""
    try:
        yield from _documents(text, source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "syntax error"
        raise InputError(f"{where}: invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: invalid YAML: {exc}") from exc


def load_one(text: str, source: str) -> Any:
    """The first document of a YAML stream (None when empty)."""
    for doc, _line in load_all(text, source):
        return doc
    return None
