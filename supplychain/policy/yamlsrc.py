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
"""

from __future__ import annotations

import base64
import binascii
import math
import re
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


_V2_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_V2_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
_V2_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_V2_SPECIAL_FLOAT = {".inf": math.inf, ".Inf": math.inf, ".INF": math.inf, "+.inf": math.inf,
                     "+.Inf": math.inf, "+.INF": math.inf, "-.inf": -math.inf, "-.Inf": -math.inf,
                     "-.INF": -math.inf, ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan}
_V2_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_INT_RE = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_TIMESTAMP_RE = re.compile(
    r"^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
    r"(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?$")


class _BadScalar(Exception):
    pass


class _Disagree(Exception):
    """A plain scalar go-yaml v2 (kubectl apply) and v3 (kustomize, compose) read differently."""

    def __init__(self, value: Any, why: str) -> None:
        super().__init__(why)
        self.value = value


def _go_int(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body[:2] in ("0x", "0X"):
        return sign * int(body[2:], 16)
    if body[:2] in ("0o", "0O"):
        return sign * int(body[2:], 8)
    if body[:2] in ("0b", "0B"):
        return sign * int(body[2:], 2)
    if len(body) > 1 and body.startswith("0"):
        return sign * int(body[1:], 8)
    return sign * int(body)


def _plain_v2(text: str) -> Any:
    """An untagged plain scalar as go-yaml v2 resolves it (YAML 1.1 booleans, Go number syntax,
    no sexagesimal numbers, timestamps kept as text)."""
    if text in _V2_NULL:
        return None
    if text in _V2_TRUE or text in _V2_FALSE:
        truth = text in _V2_TRUE
        if text.lower() not in ("true", "false"):
            raise _Disagree(truth, f"{text!r} is the boolean {str(truth).lower()} for kubectl apply but the "
                                   "string " + repr(text) + " for kubectl kustomize and docker compose")
        return truth
    if text in _V2_SPECIAL_FLOAT:
        return _V2_SPECIAL_FLOAT[text]
    if text[:1] in "+-.0123456789":
        plain = text.replace("_", "")
        if _GO_INT_RE.match(plain):
            value = _go_int(plain)
            if -(2 ** 63) <= value < 2 ** 64:
                return value
        if _V2_FLOAT_RE.match(plain):
            return float(plain)
        if _TIMESTAMP_RE.match(text):
            raise _Disagree(text, f"{text!r} is the text {text!r} for kubectl apply but a timestamp, "
                                  "rewritten as RFC 3339, for kubectl kustomize")
    return text


def _scalar(event: Any, kubectl: bool) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        if event.style or tag == "!":  # quoted, block or '!'-tagged scalars are always strings
            return event.value
        if kubectl:
            return _MERGE_KEY if event.value == "<<" else _plain_v2(event.value)
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == "tag:yaml.org,2002:timestamp":
            return event.value
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
    except (ValueError, TypeError, yaml.YAMLError):
        return event.value
    if tag == "tag:yaml.org,2002:timestamp" and kubectl:
        raise _BadScalar(f"explicit !!timestamp {event.value!r}: kubectl sends it rewritten as RFC 3339 text")
    if tag == "tag:yaml.org,2002:binary":  # go-yaml decodes it: the value is the decoded text
        try:
            return base64.b64decode("".join(event.value.split()), validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as exc:
            raise _BadScalar(f"!!binary value is not base64 of UTF-8 text ({exc})") from exc
    # timestamps stay strings (go-yaml v2 decodes them into strings for interface{}), and
    # unknown tags (!Ref, !foo, ...) keep the text, as both go-yaml versions do
    return event.value


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
