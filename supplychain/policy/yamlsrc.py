"""Safe, fast YAML loading with line/column positions for every value.

Untrusted files (compose files, Kubernetes manifests, policy files) are composed with
PyYAML's libyaml-backed ``CSafeLoader`` into a node tree -- aliases stay shared, nothing is
expanded -- and then converted into :class:`YMap` / :class:`YSeq` containers that remember
where each key and value came from (1-based line and column).

Hostile input is refused with :class:`~supplychain.errors.InputError` (exit 2):

* files larger than :data:`MAX_FILE_SIZE`;
* bytes that are not UTF-8;
* alias "bombs" (billion laughs): the size the document *would* have if every alias were
  expanded is computed without expanding anything, and refused above :data:`MAX_EXPANDED_NODES`;
* recursive aliases.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from supplychain.errors import InputError

MAX_FILE_SIZE = 8 * 1024 * 1024
MAX_EXPANDED_NODES = 250_000

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


def _pos(node: yaml.Node) -> Pos:
    mark = node.start_mark
    if isinstance(node, yaml.ScalarNode):
        return Pos(mark.line + 1, mark.column + 1, node.value, node.style or "")
    return Pos(mark.line + 1, mark.column + 1)


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
    p = Path(path)
    name = source or str(path)
    try:
        size = p.stat().st_size
        if size > limit:
            raise InputError(
                f"{name}: file is too large ({size} bytes, limit {limit})",
                hint="policy checks read configuration files, not data; exclude this path",
            )
        with p.open("rb") as fh:
            raw = fh.read(limit + 1)
    except FileNotFoundError as exc:
        raise InputError(f"{name}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{name}: is a directory") from exc
    except PermissionError as exc:
        raise InputError(f"{name}: permission denied") from exc
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from exc
    if len(raw) > limit:
        raise InputError(f"{name}: file is too large (limit {limit} bytes)")
    return decode_text(raw, name)


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse recursive aliases and documents whose alias expansion would be huge."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    distinct = 0
    # iterative post-order walk: (node, children_done)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            in_progress.discard(key)
            total = 1
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    total += sizes[id(k)] + sizes[id(v)]
            elif isinstance(node, yaml.SequenceNode):
                for item in node.value:
                    total += sizes[id(item)]
            if total > MAX_EXPANDED_NODES and total > 4 * distinct:
                line = node.start_mark.line + 1
                raise InputError(
                    f"{source}:{line}: YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes "
                    "(an alias bomb?); refusing to load",
                    hint="remove the nested anchors/aliases",
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in in_progress:
            raise InputError(
                f"{source}:{node.start_mark.line + 1}: recursive YAML alias; refusing to load"
            )
        distinct += 1
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        in_progress.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append((k, False))
                stack.append((v, False))
        else:
            for item in node.value:
                stack.append((item, False))


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if tag == _STR:
        return node.value
    try:
        if tag == "tag:yaml.org,2002:int":
            return _constructor.construct_yaml_int(node)
        if tag == "tag:yaml.org,2002:bool":
            return _constructor.construct_yaml_bool(node)
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:float":
            return _constructor.construct_yaml_float(node)
        if tag == "tag:yaml.org,2002:timestamp":
            value: datetime.date = _constructor.construct_yaml_timestamp(node)
            return value
    except (ValueError, yaml.YAMLError):
        return node.value
    return node.value


class _Converter:
    def __init__(self) -> None:
        self.memo: dict[int, Any] = {}

    def convert(self, node: yaml.Node) -> Any:
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        if isinstance(node, yaml.SequenceNode):
            seq = YSeq()
            seq.pos = _pos(node)
            seq.item_pos = []
            self.memo[key] = seq
            for item in node.value:
                seq.append(self.convert(item))
                seq.item_pos.append(_pos(item))
            return seq
        mapping = YMap()
        mapping.pos = _pos(node)
        mapping.key_pos = {}
        mapping.val_pos = {}
        self.memo[key] = mapping
        merges: list[YMap] = []
        for knode, vnode in node.value:
            if knode.tag == _MERGE:
                value = self.convert(vnode)
                if isinstance(value, YMap):
                    merges.append(value)
                elif isinstance(value, YSeq):
                    merges.extend(v for v in value if isinstance(v, YMap))
                continue
            k = self.convert(knode)
            try:
                hash(k)
            except TypeError:
                k = str(k)
            mapping[k] = self.convert(vnode)
            mapping.key_pos[k] = _pos(knode)
            mapping.val_pos[k] = _pos(vnode)
        for merged in merges:  # explicit keys win over merged ones; earlier merges win
            for k, v in merged.items():
                if k not in mapping:
                    mapping[k] = v
                    mapping.key_pos[k] = merged.key_pos.get(k, merged.pos)
                    mapping.val_pos[k] = merged.val_pos.get(k, merged.pos)
        return mapping


def load_all(text: str, source: str) -> Iterator[tuple[Any, int]]:
    """Yield ``(document, first_line)`` for every document in a YAML stream."""
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            if node is None:
                continue
            _check_expansion(node, source)
            yield _Converter().convert(node), node.start_mark.line + 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "syntax error"
        raise InputError(f"{where}: invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"{source}: YAML nesting is too deep") from exc


def load_one(text: str, source: str) -> Any:
    """The first document of a YAML stream (None when empty)."""
    for doc, _line in load_all(text, source):
        return doc
    return None
