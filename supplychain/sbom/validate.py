"""CycloneDX schema validation (JSON and XML), with each error's location.

Uses the official schemas shipped by cyclonedx-python-lib (``cyclonedx/schema/_res``).

JSON: jsonschema (what cyclonedx-python-lib's ``JsonValidator`` uses) needs 1.2 s just to
import (its RFC 3987 format checker builds a Lark grammar at import time) and grows
quadratically with the number of components (``uniqueItems`` compares every pair of items,
``enum`` scans the 800-entry SPDX list for every license id, and every subschema step builds
a new validator object): 4,000 components take ~6 s, cyclonedx-python-lib reports 32 s. This
module compiles the same Draft-7 schema once into plain closures instead:

* every keyword the CycloneDX schemas use, with jsonschema's semantics (``type``,
  ``properties``, ``additionalProperties``, ``required``, ``items``/``additionalItems``,
  ``enum``/``const``, ``pattern`` (``re.search``), ``format``, lengths, bounds, ``allOf``/
  ``anyOf``/``oneOf``/``not``/``if``, ``$ref`` across the spdx / jsf / cryptography-defs
  schemas, ...);
* ``uniqueItems`` and ``enum`` through a canonical hashable form of each value (JSON
  equality: ``1 == 1.0``, ``true != 1``, key order ignored) in a set: linear;
* formats checked as the stock checker does with the packages cyclonedx-python-lib installs:
  ``date-time`` (RFC 3339), ``date``, ``idn-email``/``email`` (contains ``@``),
  ``iri-reference``/``iri`` (the RFC 3987 grammar as one regular expression, cached).
  Other formats are not checked, as with the stock checker.

The tests compare its verdict with cyclonedx-python-lib's own validator on valid and broken
documents.

XML goes through lxml with the XSD, parsed without network access or entity expansion.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

from supplychain.errors import InputError
from supplychain.fileio import parse_json, read_bytes

__all__ = [
    "SUPPORTED_VERSIONS",
    "SchemaError",
    "ValidationReport",
    "detect",
    "is_iri_reference",
    "json_schema_errors",
    "validate_bytes",
    "validate_file",
]

SUPPORTED_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")  # JSON (CycloneDX JSON starts at 1.2)
SUPPORTED_XML_VERSIONS = ("1.0", "1.1", *SUPPORTED_VERSIONS)
_MAX_ERRORS = 1000


@dataclass
class SchemaError:
    location: str  # JSON pointer ("/components/3/purl") or "line N"
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}


@dataclass
class ValidationReport:
    source: str
    format: str  # "json" | "xml"
    spec_version: str
    errors: list[SchemaError] = field(default_factory=list)
    truncated: bool = False

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "format": self.format,
            "specVersion": self.spec_version,
            "valid": self.valid,
            "errors": [e.to_dict() for e in self.errors],
            "truncated": self.truncated,
        }


def _schema_dir() -> Path:
    from supplychain.sbom.cyclonedx import _schema_dir as sd

    return sd()


# --- format detection ---------------------------------------------------------------------

_XMLNS_RE = re.compile(rb"xmlns(?::\w+)?\s*=\s*[\"']http://cyclonedx\.org/schema/bom/(\d+\.\d+)[\"']")


def detect(raw: bytes, *, source: str) -> tuple[str, str, Any]:
    """(format, spec version, parsed JSON or None). InputError when it is not a CycloneDX BOM."""
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        m = _XMLNS_RE.search(raw[:65536])
        if not m:
            raise InputError(
                f"{source}: XML but not a CycloneDX BOM (no http://cyclonedx.org/schema/bom/<version> namespace)"
            )
        return "xml", m.group(1).decode(), None
    if head in (b"{", b"["):
        doc = parse_json(raw, source=source)
        if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
            raise InputError(f"{source}: JSON but not a CycloneDX BOM (no \"bomFormat\": \"CycloneDX\")")
        spec = doc.get("specVersion")
        if not isinstance(spec, str):
            raise InputError(f"{source}: CycloneDX JSON without a \"specVersion\" string")
        return "json", spec, doc
    raise InputError(f"{source}: not a CycloneDX SBOM (neither JSON nor XML)")


def _check_version(spec: str, source: str, fmt: str) -> None:
    supported = SUPPORTED_XML_VERSIONS if fmt == "xml" else SUPPORTED_VERSIONS
    if spec not in supported:
        raise InputError(
            f"{source}: CycloneDX {fmt.upper()} spec version {spec!r} cannot be validated",
            hint="supported: " + ", ".join(supported),
        )


# --- value helpers ----------------------------------------------------------------------------


def _canon(value: Any) -> Any:
    """A hashable form in which equal JSON values (per JSON Schema) are equal."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ("o", frozenset((k, _canon(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("a", tuple(_canon(v) for v in value))
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, float) and value.is_integer():
        return ("n", int(value))
    if isinstance(value, int | float):
        return ("n", value)
    return ("z", None)


def _show(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_RFC3339 = re.compile(
    r"^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T(?:[01]\d|2[0123]):(?:[0-5]\d):(?:[0-5]\d)(?:\.\d+)?"
    r"(?:Z|[+-](?:[01]\d|2[0123]):[0-5]\d)$",
    re.ASCII,
)


def _is_date_time(value: str) -> bool:
    m = _RFC3339.match(value.upper())
    if m is None:
        return False
    year, month, day = (int(g) for g in m.groups())
    return bool(year) and 1 <= day <= calendar.monthrange(year, month)[1]


_RE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _is_date(value: str) -> bool:
    if not _RE_DATE.fullmatch(value):
        return False
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# RFC 3987 IRI-reference, as a regular expression (the grammar the stock checker parses).
def _iri_reference_re() -> re.Pattern[str]:
    ucschar = (
        "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
        "\U00010000-\U0001fffd\U00020000-\U0002fffd\U00030000-\U0003fffd\U00040000-\U0004fffd"
        "\U00050000-\U0005fffd\U00060000-\U0006fffd\U00070000-\U0007fffd\U00080000-\U0008fffd"
        "\U00090000-\U0009fffd\U000a0000-\U000afffd\U000b0000-\U000bfffd\U000c0000-\U000cfffd"
        "\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    )
    iprivate = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
    unreserved = f"A-Za-z0-9\\-._~{ucschar}"
    sub_delims = "!$&'()*+,;="
    pct = "%[0-9A-Fa-f]{2}"
    ipchar = f"(?:[{unreserved}{re.escape(sub_delims)}:@]|{pct})"
    isegment = f"{ipchar}*"
    isegment_nz = f"{ipchar}+"
    isegment_nz_nc = f"(?:[{unreserved}{re.escape(sub_delims)}@]|{pct})+"
    dec_octet = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    ipv4 = rf"{dec_octet}\.{dec_octet}\.{dec_octet}\.{dec_octet}"
    h16 = "[0-9A-Fa-f]{1,4}"
    ls32 = f"(?:{h16}:{h16}|{ipv4})"
    ipv6 = (
        f"(?:(?:{h16}:){{6}}{ls32}|::(?:{h16}:){{5}}{ls32}|(?:{h16})?::(?:{h16}:){{4}}{ls32}"
        f"|(?:(?:{h16}:){{0,1}}{h16})?::(?:{h16}:){{3}}{ls32}|(?:(?:{h16}:){{0,2}}{h16})?::(?:{h16}:){{2}}{ls32}"
        f"|(?:(?:{h16}:){{0,3}}{h16})?::{h16}:{ls32}|(?:(?:{h16}:){{0,4}}{h16})?::{ls32}"
        f"|(?:(?:{h16}:){{0,5}}{h16})?::{h16}|(?:(?:{h16}:){{0,6}}{h16})?::)"
    )
    ipvfuture = rf"v[0-9A-Fa-f]+\.[A-Za-z0-9._~\-{re.escape(sub_delims)}:]+"
    ip_literal = rf"\[(?:{ipv6}|{ipvfuture})\]"
    ireg_name = f"(?:[{unreserved}{re.escape(sub_delims)}]|{pct})*"
    iuserinfo = f"(?:[{unreserved}{re.escape(sub_delims)}:]|{pct})*"
    ihost = f"(?:{ip_literal}|{ipv4}|{ireg_name})"
    iauthority = f"(?:{iuserinfo}@)?{ihost}(?::[0-9]*)?"
    ipath_abempty = f"(?:/{isegment})*"
    ipath_absolute = f"/(?:{isegment_nz}(?:/{isegment})*)?"
    ipath_rootless = f"{isegment_nz}(?:/{isegment})*"
    ipath_noscheme = f"{isegment_nz_nc}(?:/{isegment})*"
    iquery = f"(?:{ipchar}|[{iprivate}/?])*"
    ifragment = f"(?:{ipchar}|[/?])*"
    scheme = "[A-Za-z][A-Za-z0-9+\\-.]*"
    ihier = f"(?://{iauthority}{ipath_abempty}|{ipath_absolute}|{ipath_rootless}|)"
    irelative = f"(?://{iauthority}{ipath_abempty}|{ipath_absolute}|{ipath_noscheme}|)"
    iri = f"{scheme}:{ihier}(?:\\?{iquery})?(?:#{ifragment})?"
    irelative_ref = f"{irelative}(?:\\?{iquery})?(?:#{ifragment})?"
    return re.compile(f"^(?:{iri}|{irelative_ref})$")


@lru_cache(maxsize=1)
def _iri_re() -> re.Pattern[str]:
    return _iri_reference_re()


@lru_cache(maxsize=65536)
def is_iri_reference(value: str) -> bool:
    return bool(_iri_re().match(value))


@lru_cache(maxsize=65536)
def is_iri(value: str) -> bool:
    return bool(_iri_re().match(value)) and bool(re.match(r"^[A-Za-z][A-Za-z0-9+\-.]*:", value))


_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _is_date_time,
    "date": _is_date,
    "email": lambda v: "@" in v,
    "idn-email": lambda v: "@" in v,
    "iri-reference": lambda v: is_iri_reference(v),
    "iri": lambda v: is_iri(v),
}


# --- the compiled Draft-7 validator ----------------------------------------------------------

Path_ = tuple[Any, ...]
Errors = list[tuple[Path_, str]]
Check = Callable[[Any, Path_, Errors], None]


def _is_type(value: Any, t: str) -> bool:
    if t == "string":
        return isinstance(value, str)
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if t == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, int | float)
    return False


class _Compiler:
    """Compiles schema nodes into closures; ``$ref`` targets are compiled on first use."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents  # base URL (no fragment) -> document
        self.cache: dict[tuple[str, str], Check] = {}

    def resolve(self, base: str, ref: str) -> tuple[str, str]:
        url, frag = urldefrag(urljoin(base, ref))
        return url, frag

    def node_at(self, url: str, pointer: str) -> Any:
        doc = self.documents.get(url)
        if doc is None:
            raise InputError(f"schema reference {url} cannot be resolved (broken cyclonedx-python-lib installation?)")
        node = doc
        for part in [p for p in pointer.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def ref(self, url: str, pointer: str) -> Check:
        key = (url, pointer)
        found = self.cache.get(key)
        if found is not None:
            return found
        holder: list[Check] = []

        def lazy(inst: Any, path: Path_, errs: Errors) -> None:
            if not holder:
                holder.append(self.compile(self.node_at(url, pointer), url))
            holder[0](inst, path, errs)

        self.cache[key] = lazy
        return lazy

    def compile(self, schema: Any, base: str) -> Check:
        if schema is True or schema == {}:
            return _noop
        if schema is False:
            return _false
        if not isinstance(schema, dict):
            return _noop
        if "$ref" in schema:  # draft 7: siblings of $ref are ignored
            return self.ref(*self.resolve(base, schema["$ref"]))
        checks: list[Check] = []
        s = schema

        if "type" in s:
            types = s["type"] if isinstance(s["type"], list) else [s["type"]]

            def c_type(inst: Any, path: Path_, errs: Errors, types: list[str] = types) -> None:
                for t in types:
                    if _is_type(inst, t):
                        return
                errs.append((path, f"{_show(inst)} is not of type {', '.join(repr(t) for t in types)}"))

            checks.append(c_type)
        if "enum" in s:
            allowed = frozenset(_canon(e) for e in s["enum"])
            n = len(s["enum"])
            shown = _show(s["enum"], 300) if n <= 20 else f"the {n} allowed values"

            def c_enum(inst: Any, path: Path_, errs: Errors) -> None:
                if _canon(inst) not in allowed:
                    errs.append((path, f"{_show(inst)} is not one of {shown}"))

            checks.append(c_enum)
        if "const" in s:
            const = _canon(s["const"])
            const_shown = _show(s["const"])

            def c_const(inst: Any, path: Path_, errs: Errors) -> None:
                if _canon(inst) != const:
                    errs.append((path, f"{const_shown} was expected"))

            checks.append(c_const)
        checks.extend(self._object_checks(s, base))
        checks.extend(self._array_checks(s, base))
        checks.extend(self._scalar_checks(s))
        checks.extend(self._combinators(s, base))
        if not checks:
            return _noop
        if len(checks) == 1:
            return checks[0]
        tup = tuple(checks)

        def run(inst: Any, path: Path_, errs: Errors) -> None:
            for c in tup:
                c(inst, path, errs)

        return run

    def _object_checks(self, s: dict[str, Any], base: str) -> list[Check]:
        out: list[Check] = []
        props = {k: self.compile(v, base) for k, v in s.get("properties", {}).items()}
        patterns = [(re.compile(p), self.compile(v, base)) for p, v in s.get("patternProperties", {}).items()]
        addl = s.get("additionalProperties", True)
        addl_check = None if addl is True or addl == {} else (None if addl is False else self.compile(addl, base))
        forbid = addl is False
        if props or patterns or forbid or addl_check is not None:

            def c_props(inst: Any, path: Path_, errs: Errors) -> None:
                if not isinstance(inst, dict):
                    return
                extra: list[str] = []
                for k, v in inst.items():
                    matched = False
                    check = props.get(k)
                    if check is not None:
                        matched = True
                        if check is not _noop:
                            check(v, (*path, k), errs)
                    for rx, pc in patterns:
                        if rx.search(k):
                            matched = True
                            pc(v, (*path, k), errs)
                    if not matched:
                        if forbid:
                            extra.append(k)
                        elif addl_check is not None:
                            addl_check(v, (*path, k), errs)
                if extra:
                    names = ", ".join(repr(e) for e in extra)
                    errs.append((path, f"additional properties are not allowed ({names} unexpected)"))

            out.append(c_props)
        if s.get("required"):
            required = list(s["required"])

            def c_required(inst: Any, path: Path_, errs: Errors) -> None:
                if isinstance(inst, dict):
                    for r in required:
                        if r not in inst:
                            errs.append((path, f"{r!r} is a required property"))

            out.append(c_required)
        if "minProperties" in s or "maxProperties" in s:
            lo, hi = s.get("minProperties", 0), s.get("maxProperties")

            def c_nprops(inst: Any, path: Path_, errs: Errors) -> None:
                if isinstance(inst, dict):
                    if len(inst) < lo:
                        errs.append((path, f"should have at least {lo} properties"))
                    if hi is not None and len(inst) > hi:
                        errs.append((path, f"should have at most {hi} properties"))

            out.append(c_nprops)
        if "propertyNames" in s:
            pn = self.compile(s["propertyNames"], base)

            def c_pnames(inst: Any, path: Path_, errs: Errors) -> None:
                if isinstance(inst, dict):
                    for k in inst:
                        pn(k, path, errs)

            out.append(c_pnames)
        if "dependencies" in s:
            deps = {
                k: (list(v) if isinstance(v, list) else self.compile(v, base)) for k, v in s["dependencies"].items()
            }

            def c_deps(inst: Any, path: Path_, errs: Errors) -> None:
                if not isinstance(inst, dict):
                    return
                for k, d in deps.items():
                    if k in inst:
                        if isinstance(d, list):
                            for r in d:
                                if r not in inst:
                                    errs.append((path, f"{r!r} is a dependency of {k!r}"))
                        else:
                            d(inst, path, errs)

            out.append(c_deps)
        return out

    def _array_checks(self, s: dict[str, Any], base: str) -> list[Check]:
        out: list[Check] = []
        items = s.get("items")
        if isinstance(items, list):
            positional = [self.compile(i, base) for i in items]
            ai = s.get("additionalItems", True)
            ai_check = None if ai is True or ai == {} or ai is False else self.compile(ai, base)
            ai_forbid = ai is False

            def c_items_list(inst: Any, path: Path_, errs: Errors) -> None:
                if not isinstance(inst, list):
                    return
                for i, v in enumerate(inst):
                    if i < len(positional):
                        positional[i](v, (*path, i), errs)
                    elif ai_forbid:
                        errs.append((path, "additional items are not allowed"))
                        return
                    elif ai_check is not None:
                        ai_check(v, (*path, i), errs)

            out.append(c_items_list)
        elif items is not None:
            each = self.compile(items, base)
            if each is not _noop:

                def c_items(inst: Any, path: Path_, errs: Errors) -> None:
                    if isinstance(inst, list):
                        for i, v in enumerate(inst):
                            each(v, (*path, i), errs)

                out.append(c_items)
        if "minItems" in s or "maxItems" in s:
            lo, hi = s.get("minItems", 0), s.get("maxItems")

            def c_nitems(inst: Any, path: Path_, errs: Errors) -> None:
                if isinstance(inst, list):
                    if len(inst) < lo:
                        errs.append((path, f"should have at least {lo} item(s), has {len(inst)}"))
                    if hi is not None and len(inst) > hi:
                        errs.append((path, f"should have at most {hi} item(s), has {len(inst)}"))

            out.append(c_nitems)
        if s.get("uniqueItems"):

            def c_unique(inst: Any, path: Path_, errs: Errors) -> None:
                if not isinstance(inst, list):
                    return
                seen: dict[Any, int] = {}
                for i, v in enumerate(inst):
                    key = _canon(v)
                    if key in seen:
                        errs.append((path, f"has non-unique elements (item {i} repeats item {seen[key]})"))
                        return
                    seen[key] = i

            out.append(c_unique)
        if "contains" in s:
            contains = self.compile(s["contains"], base)

            def c_contains(inst: Any, path: Path_, errs: Errors) -> None:
                if isinstance(inst, list):
                    for v in inst:
                        sub: Errors = []
                        contains(v, path, sub)
                        if not sub:
                            return
                    errs.append((path, "does not contain an item matching the 'contains' schema"))

            out.append(c_contains)
        return out

    def _scalar_checks(self, s: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        if "minLength" in s or "maxLength" in s:
            lo, hi = s.get("minLength", 0), s.get("maxLength")

            def c_len(inst: Any, path: Path_, errs: Errors) -> None:
                if isinstance(inst, str):
                    if len(inst) < lo:
                        errs.append((path, f"{_show(inst)} is shorter than {lo} character(s)"))
                    if hi is not None and len(inst) > hi:
                        errs.append((path, f"{_show(inst)} is longer than {hi} character(s)"))

            out.append(c_len)
        if "pattern" in s:
            rx = re.compile(s["pattern"])
            pat = s["pattern"]

            def c_pattern(inst: Any, path: Path_, errs: Errors) -> None:
                if isinstance(inst, str) and not rx.search(inst):
                    errs.append((path, f"{_show(inst)} does not match {pat!r}"))

            out.append(c_pattern)
        fmt = s.get("format")
        checker = _FORMATS.get(fmt) if isinstance(fmt, str) else None
        if checker is not None:

            def c_format(inst: Any, path: Path_, errs: Errors, checker: Callable[[str], bool] = checker) -> None:
                if isinstance(inst, str) and not checker(inst):
                    errs.append((path, f"{_show(inst)} is not a valid {fmt!r}"))

            out.append(c_format)
        bounds = [(k, s[k]) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if k in s]
        if bounds:

            def c_bounds(inst: Any, path: Path_, errs: Errors) -> None:
                if isinstance(inst, bool) or not isinstance(inst, int | float):
                    return
                for k, b in bounds:
                    bad = (
                        (k == "minimum" and inst < b)
                        or (k == "maximum" and inst > b)
                        or (k == "exclusiveMinimum" and inst <= b)
                        or (k == "exclusiveMaximum" and inst >= b)
                    )
                    if bad:
                        errs.append((path, f"{inst} violates {k} {b}"))

            out.append(c_bounds)
        if "multipleOf" in s:
            m = s["multipleOf"]

            def c_multiple(inst: Any, path: Path_, errs: Errors) -> None:
                if isinstance(inst, bool) or not isinstance(inst, int | float):
                    return
                if isinstance(m, float) or isinstance(inst, float):
                    q = inst / m
                    ok = q == int(q) if q == q and abs(q) != float("inf") else False
                else:
                    ok = inst % m == 0
                if not ok:
                    errs.append((path, f"{inst} is not a multiple of {m}"))

            out.append(c_multiple)
        return out

    def _combinators(self, s: dict[str, Any], base: str) -> list[Check]:
        out: list[Check] = []
        if "allOf" in s:
            parts = [self.compile(x, base) for x in s["allOf"]]

            def c_all(inst: Any, path: Path_, errs: Errors) -> None:
                for p in parts:
                    p(inst, path, errs)

            out.append(c_all)
        for kw in ("anyOf", "oneOf"):
            if kw in s:
                branches = [self.compile(x, base) for x in s[kw]]
                out.append(_make_choice(kw, branches))
        if "not" in s:
            neg = self.compile(s["not"], base)

            def c_not(inst: Any, path: Path_, errs: Errors) -> None:
                sub: Errors = []
                neg(inst, path, sub)
                if not sub:
                    errs.append((path, f"{_show(inst)} should not be valid under the 'not' schema"))

            out.append(c_not)
        if "if" in s and ("then" in s or "else" in s):
            cond = self.compile(s["if"], base)
            then = self.compile(s["then"], base) if "then" in s else _noop
            other = self.compile(s["else"], base) if "else" in s else _noop

            def c_if(inst: Any, path: Path_, errs: Errors) -> None:
                sub: Errors = []
                cond(inst, path, sub)
                (then if not sub else other)(inst, path, errs)

            out.append(c_if)
        return out


def _noop(inst: Any, path: Path_, errs: Errors) -> None:
    return None


def _false(inst: Any, path: Path_, errs: Errors) -> None:
    errs.append((path, "no value is allowed here (schema is false)"))


def _make_choice(kw: str, branches: list[Check]) -> Check:
    def c_choice(inst: Any, path: Path_, errs: Errors) -> None:
        results: list[Errors] = []
        ok = 0
        for b in branches:
            sub: Errors = []
            b(inst, path, sub)
            results.append(sub)
            if not sub:
                ok += 1
                if kw == "anyOf":
                    return
        if kw == "oneOf" and ok == 1:
            return
        if ok > 1:
            errs.append((path, f"is valid under {ok} of the 'oneOf' alternatives, expected exactly one"))
            return
        # explain with the most specific error of the alternative that got furthest
        best = max(results, key=lambda e: (max((len(p) for p, _ in e), default=0), -len(e)))
        deepest = max(best, key=lambda e: len(e[0]))
        where = _pointer(deepest[0])
        errs.append((path, f"matches none of the '{kw}' alternatives; closest: {where}: {deepest[1]}"))

    return c_choice


@lru_cache(maxsize=8)
def _compiled(spec: str) -> Check:
    res = _schema_dir()
    prefix = "http://cyclonedx.org/schema/"
    docs: dict[str, Any] = {}
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json", "cryptography-defs.SNAPSHOT.schema.json"):
        path = res / name
        if path.is_file():
            doc = json.loads(path.read_text("utf-8"))
            docs[prefix + name] = doc
            if isinstance(doc.get("$id"), str):
                docs[urldefrag(doc["$id"])[0]] = doc
    main = json.loads((res / f"bom-{spec}.SNAPSHOT.schema.json").read_text("utf-8"))
    base = urldefrag(main.get("$id") or f"{prefix}bom-{spec}.schema.json")[0]
    docs[base] = main
    return _Compiler(docs).compile(main, base)


def json_schema_errors(doc: Any, spec: str) -> list[tuple[str, str]]:
    """(JSON pointer, message) for every schema violation of ``doc`` against CycloneDX ``spec``."""
    check = _compiled(spec)
    errs: Errors = []
    check(doc, (), errs)
    return [(_pointer(p), m) for p, m in errs]


def _pointer(path: Path_) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "/"


def _short(message: str, limit: int = 400) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _validate_json(doc: Any, spec: str, report: ValidationReport) -> None:
    errs = json_schema_errors(doc, spec)
    if len(errs) > _MAX_ERRORS:
        errs = errs[:_MAX_ERRORS]
        report.truncated = True
    report.errors.extend(SchemaError(loc, _short(msg)) for loc, msg in errs)


# --- XML --------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _xml_schema(spec: str) -> Any:
    from lxml import etree

    path = _schema_dir() / f"bom-{spec}.SNAPSHOT.xsd"
    return etree.XMLSchema(file=path.absolute().as_uri())


def _validate_xml(raw: bytes, spec: str, report: ValidationReport) -> None:
    from lxml import etree

    parser = etree.XMLParser(
        attribute_defaults=False, dtd_validation=False, load_dtd=False, no_network=True,
        resolve_entities=False, huge_tree=True, recover=False,
    )
    try:
        tree = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (0, 0)
        raise InputError(f"{report.source}: invalid XML at line {line}, column {col}: {exc.msg}") from exc
    if tree.getroottree().docinfo.internalDTD is not None:
        raise InputError(f"{report.source}: XML with a DOCTYPE / entity declarations is not accepted in an SBOM")
    schema = _xml_schema(spec)
    try:
        if schema.validate(tree):
            return
    except etree.XMLSchemaValidateError as exc:
        raise InputError(f"{report.source}: XML cannot be schema-validated: {exc}") from exc
    for e in schema.error_log:
        if len(report.errors) >= _MAX_ERRORS:
            report.truncated = True
            break
        msg = re.sub(r"\{http://cyclonedx\.org/schema/bom/[\d.]+\}", "", e.message)
        report.errors.append(SchemaError(f"line {e.line}", _short(msg)))


# --- public API -------------------------------------------------------------------------------


def validate_bytes(raw: bytes, *, source: str = "<input>") -> ValidationReport:
    """Validate a CycloneDX document. InputError (exit 2) when it is not one at all."""
    try:
        return _validate_bytes(raw, source)
    except RecursionError as exc:
        raise InputError(f"{source}: nested too deeply to process") from exc


def _validate_bytes(raw: bytes, source: str) -> ValidationReport:
    fmt, spec, doc = detect(raw, source=source)
    _check_version(spec, source, fmt)
    report = ValidationReport(source=source, format=fmt, spec_version=spec)
    if fmt == "json":
        _validate_json(doc, spec, report)
    else:
        _validate_xml(raw, spec, report)
    return report


def validate_file(path: str | Path) -> ValidationReport:
    """Validate the CycloneDX SBOM at ``path`` (JSON or XML, spec version detected)."""
    raw = read_bytes(path, what="SBOM file")
    return validate_bytes(raw, source=str(path))
