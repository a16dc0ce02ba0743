"""Policy documents checked against the policy JSON Schema (2020-12) with jsonschema-rs.

:func:`schema_errors` returns ``(path, message)`` pairs in the loader's words ("must be boolean,
not str 'yes please'", "unknown key 'imagez' (expected one of: ...)", "needs at least one of
'path' or 'image'"); :mod:`.config` turns each path into ``file:line:column``. The document is
what :mod:`.yamlsrc` reads (mappings may have non-string keys, floats may be infinite): it is
checked as its JSON form, and paths and messages name the original keys and values.

What the loader adds to plain JSON Schema, as before:

* a value of the wrong type (or outside an ``enum``) gets that one error, not also the other
  keywords of the same schema;
* ``propertyNames``: an invalid key is reported as such and its value is not checked further;
* ``anyOf`` / ``oneOf`` over ``required`` alone reads "needs at least one of"; otherwise the one
  alternative of the value's own type explains, else the schema's ``description``;
* ``format: date`` is Python's ``date.fromisoformat``; other formats are not checked.

NaN is no number here (it is not JSON; it compared as inside every bound before). Values nested
deeper than :data:`MAX_DEPTH` (far below what the schema looks at; the YAML reader stops at 512)
are checked as opaque strings.
"""

from __future__ import annotations

import datetime
import json
import math
import sys
from functools import lru_cache
from typing import Any

__all__ = ["Path_", "describe", "schema_errors"]

Path_ = tuple[Any, ...]
Errors = list[tuple[Path_, str]]
MAX_DEPTH = 64

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "string" and isinstance(value, datetime.date):
        return True
    if name == "integer" and isinstance(value, float):
        return math.isfinite(value) and value.is_integer()
    return isinstance(value, _PY_TYPES.get(name, ()))


def describe(value: Any) -> str:
    """How a value reads in an error message ("a mapping", "str 'x'")."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty (null)"
    return f"{type(value).__name__} {value!r}"


def _is_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4)
def _validator(schema_text: str) -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(json.loads(schema_text), formats={"date": _is_date}, validate_formats=True)


class _Doc:
    """The document, its JSON form for the validator, and the way back from JSON keys."""

    def __init__(self, doc: Any) -> None:
        self.original = doc
        self.keys: dict[int, dict[str, Any]] = {}  # id(JSON object) -> JSON key -> original key
        self.json = self._convert(doc, 0)

    def _convert(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH and isinstance(value, dict | list):
            return f"<nested deeper than {MAX_DEPTH} levels #{id(value)}>"
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            back: dict[str, Any] = {}
            for k, v in value.items():
                key = k if isinstance(k, str) else str(k)
                if key in out:
                    continue  # `1:` and `"1":` both: the first one is checked
                out[key] = self._convert(v, depth + 1)
                back[key] = k
            self.keys[id(out)] = back
            return out
        if isinstance(value, list):
            items = []
            for v in value:
                items.append(self._convert(v, depth + 1))
            return items
        if isinstance(value, bool | int | str) or value is None:
            return value
        if isinstance(value, float):
            if math.isnan(value):
                return None  # no number: the type check reports it
            return value if math.isfinite(value) else math.copysign(sys.float_info.max, value)
        if isinstance(value, datetime.date):
            return value.isoformat()
        return None  # anything else YAML may produce is no JSON value: reported by type

    def path(self, json_path: list[Any]) -> Path_:
        out: list[Any] = []
        node = self.json
        for step in json_path:
            if isinstance(node, dict) and isinstance(step, str):
                out.append(self.keys.get(id(node), {}).get(step, step))
                node = node.get(step)
            elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
                out.append(step)
                node = node[step]
            else:
                out.append(step)
                node = None
        return tuple(out)

    def value(self, path: Path_) -> Any:
        node = self.original
        for step in path:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                return None
        return node

    def order(self, path: Path_) -> tuple[int, ...]:
        """Document order of a path (mappings keep the order of the file)."""
        key: list[int] = []
        node = self.original
        for step in path:
            if isinstance(node, dict):
                keys = list(node)
                key.append(keys.index(step) if step in node else len(keys))
                node = node.get(step)
            elif isinstance(node, list) and isinstance(step, int):
                key.append(step)
                node = node[step] if 0 <= step < len(node) else None
            else:
                break
        return tuple(key)


def _node(schema: Any, schema_path: list[Any]) -> Any:
    node = schema
    for step in schema_path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return {}
    return node


class _Translator:
    def __init__(self, doc: _Doc, schema: dict[str, Any]) -> None:
        self.doc = doc
        self.schema = schema

    def errors(self, raw: list[Any]) -> Errors:
        # the first failing type (then enum) of a schema explains alone, as in the loader
        by_node: dict[tuple[Path_, tuple[Any, ...]], list[Any]] = {}
        for e in raw:
            by_node.setdefault((tuple(e.instance_path), tuple(e.schema_path[:-1])), []).append(e)
        kept: list[Any] = []
        for group in by_node.values():
            for first in ("Type", "Enum"):
                decisive = [e for e in group if type(e.kind).__name__ == first]
                if decisive:
                    group = decisive[:1]
                    break
            kept.extend(group)
        # an invalid key is reported once, as such
        bad_keys: set[Path_] = set()
        out: Errors = []
        for e in kept:
            if type(e.kind).__name__ == "PropertyNames":
                path = self.doc.path(list(e.instance_path))
                key = self.doc.path([*e.instance_path, e.kind.error.instance])[-1]
                sub = self.one(e.kind.error, path=(*path, key), value=key)
                out.append(((*path, key), f"invalid key {key!r}: {sub[0][1] if sub else 'not allowed'}"))
                bad_keys.add((*path, key))
        for e in kept:
            if type(e.kind).__name__ != "PropertyNames":
                out.extend(self.one(e))
        out = [(p, m) for p, m in out if not any(p[: len(b)] == b for b in bad_keys)
               or m.startswith("invalid key")]
        unique: Errors = []
        for item in out:
            if item not in unique:
                unique.append(item)
        return sorted(unique, key=lambda pm: self.doc.order(pm[0]))

    def one(self, e: Any, path: Path_ | None = None, value: Any = None) -> Errors:
        kind = e.kind
        name = type(kind).__name__
        if path is None:
            path = self.doc.path(list(e.instance_path))
            value = self.doc.value(path)
        if name == "Type":
            types = [str(t) for t in kind.types]
            return [(path, f"must be {' or '.join(types)}, not {describe(value)}")]
        if name == "Enum":
            allowed = ", ".join(json.dumps(v) for v in kind.options)
            return [(path, f"must be one of {allowed}, not {describe(value)}")]
        if name == "Constant":
            return [(path, f"must be {json.dumps(kind.expected_value)}")]
        if name == "MinLength":
            return [(path, "must not be empty")]
        if name == "Pattern":
            return [(path, f"{value!r} does not match {kind.pattern}")]
        if name == "Format" and kind.format == "date":
            return [(path, f"{value!r} is not a date (YYYY-MM-DD)")]
        if name == "Minimum":
            return [(path, f"must be at least {kind.limit}")]
        if name == "Maximum":
            return [(path, f"must be at most {kind.limit}")]
        if name == "MinItems":
            return [(path, f"must have at least {kind.limit} item(s)")]
        if name == "Required":
            return [(path, f"missing required key {kind.property!r}")]
        if name == "AdditionalProperties":
            node = _node(self.schema, list(e.schema_path[:-1]))
            known = ", ".join(sorted(node.get("properties", {}))) if isinstance(node, dict) else ""
            out: Errors = []
            for k in kind.unexpected:
                key = self.doc.path([*e.instance_path, k])[-1]
                out.append(((*path, key), f"unknown key {key!r} (expected one of: {known})"))
            return out
        if name in ("AnyOf", "OneOfNotValid", "OneOfMultipleValid"):
            return self.choice(e, path, value)
        return [(path, str(e.message))]

    def choice(self, e: Any, path: Path_, value: Any) -> Errors:
        node = _node(self.schema, list(e.schema_path[:-1]))
        keyword = str(e.schema_path[-1])
        branches = node.get(keyword, []) if isinstance(node, dict) else []
        if branches and all(isinstance(b, dict) and set(b) == {"required"} for b in branches):
            keys = " or ".join(repr(b["required"][0]) for b in branches)
            return [(path, f"needs at least one of {keys}")]
        results = [self.errors(list(ctx)) for ctx in e.kind.context]
        typed = [r for b, r in zip(branches, results, strict=False)
                 if isinstance(b, dict) and isinstance(b.get("type"), str) and _is_type(value, b["type"])]
        desc = node.get("description") if isinstance(node, dict) else None
        if len(typed) == 1:
            return typed[0]
        if desc:
            return [(path, f"must be {desc}, not {describe(value)}")]
        return min(results, key=len) if results else [(path, str(e.message))]


def schema_errors(doc: Any, schema: dict[str, Any]) -> Errors:
    """Every violation of ``schema`` by ``doc``: (path of original keys and indexes, message)."""
    d = _Doc(doc)
    validator = _validator(json.dumps(schema, sort_keys=True))
    return _Translator(d, schema).errors(list(validator.iter_errors(d.json)))
