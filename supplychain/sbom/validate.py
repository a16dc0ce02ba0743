"""CycloneDX schema validation (JSON and XML), with each error's location.

Uses the official schemas shipped by cyclonedx-python-lib (``cyclonedx/schema/_res``).

JSON: ``jsonschema-rs`` (Rust) compiles the Draft-7 schema once (the spdx / jsf /
cryptography-defs schemas in its registry) and checks a 4,000-component SBOM in milliseconds;
jsonschema (what cyclonedx-python-lib's ``JsonValidator`` uses) needs 1.2 s just to import and
grows quadratically with the number of components. Formats are checked by our functions below,
exactly as the stock jsonschema checker does with the packages cyclonedx-python-lib installs:
``date-time`` (RFC 3339), ``date``, ``idn-email``/``email`` (contains ``@``), ``iri-reference``/
``iri`` (the RFC 3987 grammar as one regular expression, cached); ``uri`` and other formats are
not checked, as with the stock checker. Errors keep our wording, located by JSON pointer.

Known differences to jsonschema (Python): ``pattern`` follows ECMA 262 as the spec says, so
``$`` does not match before a final newline (Python's ``re.search`` does): a hash ``content``
of 40 hex digits and a trailing newline is rejected here and accepted by jsonschema; and ``\\s``
is ECMA's white space: U+FEFF is one, U+001C-U+001F and U+0085 are not (Python: the reverse),
which matters only for CycloneDX 1.7's ``patentApplicationNumber``.

The tests compare its verdict with jsonschema on valid and broken documents.

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

from supplychain.errors import InputError
from supplychain.fileio import parse_json, read_bytes
from supplychain.vocab import CYCLONEDX_JSON_VERSIONS, CYCLONEDX_XML_VERSIONS

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

SUPPORTED_VERSIONS = CYCLONEDX_JSON_VERSIONS  # CycloneDX JSON starts at 1.2
SUPPORTED_XML_VERSIONS = CYCLONEDX_XML_VERSIONS
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
    from supplychain.sbom.licenses import _schema_dir as sd  # lighter than importing the writer

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


# --- JSON Schema via jsonschema-rs ------------------------------------------------------------

Path_ = tuple[Any, ...]
# "uri" is listed so that it stays unchecked, as with the stock checker (see the module docstring)
_UNCHECKED_FORMATS = ("uri",)


@lru_cache(maxsize=8)
def _validator(spec: str) -> Any:
    import jsonschema_rs

    res = _schema_dir()
    prefix = "http://cyclonedx.org/schema/"
    resources: list[tuple[str, Any]] = []
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json", "cryptography-defs.SNAPSHOT.schema.json"):
        path = res / name
        if path.is_file():
            resources.append((prefix + name, json.loads(path.read_text("utf-8"))))
    main = json.loads((res / f"bom-{spec}.SNAPSHOT.schema.json").read_text("utf-8"))
    formats: dict[str, Callable[[str], bool]] = dict(_FORMATS)
    formats.update(dict.fromkeys(_UNCHECKED_FORMATS, lambda v: True))
    return jsonschema_rs.Draft7Validator(
        main,
        registry=jsonschema_rs.Registry(resources, draft=jsonschema_rs.Draft7),
        formats=formats,
        validate_formats=True,
        base_uri=main.get("$id") or f"{prefix}bom-{spec}.schema.json",
    )


def _message(err: Any) -> str:
    """Our wording for one jsonschema-rs error (the kinds the CycloneDX schemas can raise)."""
    kind = err.kind
    name = type(kind).__name__
    inst = err.instance
    if name == "Type":
        return f"{_show(inst)} is not of type {', '.join(repr(str(t)) for t in kind.types)}"
    if name == "Enum":
        options = list(kind.options)
        n = len(options)
        shown = _show(options, 300) if n <= 20 else f"the {n} allowed values"
        return f"{_show(inst)} is not one of {shown}"
    if name == "Constant":
        return f"{_show(kind.expected_value)} was expected"
    if name == "AdditionalProperties":
        return f"additional properties are not allowed ({', '.join(repr(e) for e in kind.unexpected)} unexpected)"
    if name == "Required":
        return f"{kind.property!r} is a required property"
    if name == "MinProperties":
        return f"should have at least {kind.limit} properties"
    if name == "MaxProperties":
        return f"should have at most {kind.limit} properties"
    if name == "PropertyNames":
        return _message(kind.error)
    if name == "AdditionalItems":
        return "additional items are not allowed"
    if name == "MinItems":
        return f"should have at least {kind.limit} item(s), has {len(inst)}"
    if name == "MaxItems":
        return f"should have at most {kind.limit} item(s), has {len(inst)}"
    if name == "UniqueItems":
        seen: dict[Any, int] = {}
        for i, v in enumerate(inst):
            key = _canon(v)
            if key in seen:
                return f"has non-unique elements (item {i} repeats item {seen[key]})"
            seen[key] = i
        return "has non-unique elements"
    if name == "Contains":
        return "does not contain an item matching the 'contains' schema"
    if name == "MinLength":
        return f"{_show(inst)} is shorter than {kind.limit} character(s)"
    if name == "MaxLength":
        return f"{_show(inst)} is longer than {kind.limit} character(s)"
    if name == "Pattern":
        return f"{_show(inst)} does not match {kind.pattern!r}"
    if name == "Format":
        return f"{_show(inst)} is not a valid {kind.format!r}"
    if name in ("Minimum", "Maximum", "ExclusiveMinimum", "ExclusiveMaximum"):
        return f"{inst} violates {name[0].lower() + name[1:]} {kind.limit}"
    if name == "MultipleOf":
        return f"{inst} is not a multiple of {kind.multiple_of}"
    if name == "Not":
        return f"{_show(inst)} should not be valid under the 'not' schema"
    if name == "FalseSchema":
        return "no value is allowed here (schema is false)"
    if name == "OneOfMultipleValid":
        ok = sum(1 for branch in kind.context if not branch)
        return f"is valid under {ok} of the 'oneOf' alternatives, expected exactly one"
    if name in ("AnyOf", "OneOfNotValid"):
        keyword = "anyOf" if name == "AnyOf" else "oneOf"
        branches = [list(b) for b in kind.context if b]
        if not branches:
            return f"matches none of the '{keyword}' alternatives"
        # explain with the most specific error of the alternative that got furthest
        best = max(branches, key=lambda errs: (max(len(e.instance_path) for e in errs), -len(errs)))
        deepest = max(best, key=lambda e: len(e.instance_path))
        return (f"matches none of the '{keyword}' alternatives; closest: "
                f"{_pointer(tuple(deepest.instance_path))}: {_message(deepest)}")
    return str(err.message)


def json_schema_errors(doc: Any, spec: str) -> list[tuple[str, str]]:
    """(JSON pointer, message) for every schema violation of ``doc`` against CycloneDX ``spec``."""
    try:
        return [(_pointer(tuple(e.instance_path)), _message(e)) for e in _validator(spec).iter_errors(doc)]
    except ValueError as exc:  # jsonschema-rs converting a deeply nested instance (Python's limit is ~1000)
        if "Recursion limit" in str(exc):
            raise RecursionError(str(exc)) from exc
        raise


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
