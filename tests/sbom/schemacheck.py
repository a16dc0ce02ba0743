"""Independent schema checks for tests: the official CycloneDX schemas shipped by
cyclonedx-python-lib, checked by jsonschema / lxml exactly as cyclonedx-python-lib's own
validators do (same schema files, same $ref registry, same format checkers). The only
difference to ``cyclonedx.validation.json.JsonValidator``: each stock format check is memoised,
and unless ``stock_iri`` is asked for, ``iri-reference`` uses our regular expression (the stock
RFC 3987 checker takes ~0.1 s per distinct URL: 80 s for one real-world lock);
tests/sbom/test_validate.py proves the two IRI checks agree.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import cyclonedx.schema._res as res

RES = Path(res.__file__).parent


def _memo(func: Any) -> Any:
    cached = lru_cache(maxsize=None)(func)
    return lambda instance: cached(instance) if isinstance(instance, str) else func(instance)


@cache
def _json_validator(spec: str, stock_iri: bool) -> Any:
    from jsonschema import Draft7Validator, FormatChecker
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    prefix = "http://cyclonedx.org/schema/"
    resources = [
        (prefix + name, DRAFT7.create_resource(json.loads((RES / name).read_text())))
        for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json", "cryptography-defs.SNAPSHOT.schema.json")
    ]
    checker = FormatChecker()
    for fmt, (func, raises) in Draft7Validator.FORMAT_CHECKER.checkers.items():
        checker.checkers[fmt] = (_memo(func), raises)
    if not stock_iri:
        from supplychain.sbom.validate import is_iri_reference

        checker.checkers["iri-reference"] = (lambda i: is_iri_reference(i) if isinstance(i, str) else True, ())
    schema = json.loads((RES / f"bom-{spec}.SNAPSHOT.schema.json").read_text())
    return Draft7Validator(schema, registry=Registry().with_resources(resources), format_checker=checker)


def stock_json_errors(doc: Any, spec: str, *, stock_iri: bool = False) -> list[str]:
    validator = _json_validator(spec, stock_iri)
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def xml_errors(data: bytes, spec: str) -> list[str]:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    errs = XmlValidator(SchemaVersion.from_version(spec)).validate_str(data.decode("utf-8"), all_errors=True)
    return [str(e) for e in errs] if errs else []


def official_json_errors(data: bytes, spec: str) -> list[str]:
    """cyclonedx-python-lib's own JsonValidator (slow: use on tiny documents only)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonValidator

    errs = JsonValidator(SchemaVersion.from_version(spec)).validate_str(data.decode("utf-8"), all_errors=True)
    return [str(e) for e in errs] if errs else []
