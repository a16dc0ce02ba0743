"""sbom validate: jsonschema-rs with our formats and wording agrees with the official schema check; CLI contract."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import InputError
from supplychain.sbom.composer import composer_bom
from supplychain.sbom.cyclonedx import render_bom
from supplychain.sbom.validate import is_iri_reference, json_schema_errors, validate_bytes
from tests.conftest import FIXTURES, run_cli
from tests.sbom.schemacheck import stock_json_errors

DEMO = FIXTURES / "composer" / "demo-app"


def _demo_doc(spec: str) -> dict[str, Any]:
    root, pkgs = composer_bom(DEMO)
    return json.loads(render_bom(root, pkgs, spec_version=spec, reproducible=True))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


_VALUES: list[Any] = [
    "x", "", 0, 1, -1, 1.5, 2.0, True, False, None, [], {}, ["a", "a"], ["a", "b"], {"a": 1},
    "not a url", "https://ok.example/x", "2020-13-01T00:00:00Z", "2024-02-29T12:00:00Z", "MIT",
    "library", "SHA-1", "aa" * 20, [{"license": {"id": "MIT"}}, {"expression": "MIT"}],
    [{"expression": "MIT OR ISC"}], [{"license": {"id": "NOPE"}}], {"name": "n"},
    [{"alg": "SHA-1", "content": "zz"}], "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "urn:uuid:x",
]


@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6"])
def test_verdicts_match_the_official_schema_check(spec: str) -> None:
    """Random single mutations of a real SBOM: same valid/invalid verdict and same error places."""
    base = _demo_doc(spec)
    base["components"] = base["components"][:8]
    paths = _paths(base)[1:]
    rng = random.Random(int(spec.replace(".", "")))
    invalid = 0
    for _ in range(150):
        doc = copy.deepcopy(base)
        path = rng.choice(paths)
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        op = rng.random()
        if op < 0.7:
            parent[path[-1]] = copy.deepcopy(rng.choice(_VALUES))
        elif isinstance(parent, dict):
            if op < 0.85:
                del parent[path[-1]]
            else:
                parent["unexpectedProperty"] = 1
        else:
            parent.append(copy.deepcopy(parent[path[-1]]))
        ours = json_schema_errors(doc, spec)
        theirs = stock_json_errors(doc, spec)
        assert bool(ours) == bool(theirs), (path, op, ours, theirs)
        # same places (jsonschema reports anyOf/oneOf failures at the parent, as we do)
        assert {p for p, _ in ours} == {t.split(": ", 1)[0] for t in theirs}, (path, ours, theirs)
        invalid += bool(ours)
    assert invalid > 30  # the mutations do break documents


def test_iri_reference_agrees_with_rfc3987_grammar() -> None:
    from rfc3987_syntax import is_valid_syntax

    samples = [
        "https://example.org/a/b?c=d#e", "../../../..", "support@acme.org",
        "mailto:a@b.c", "urn:isbn:123", "a b", "http://x/a%20b", "http://x/%zz", "http://x/a[]", "http://x/?q=[]",
        "#frag", "?q", "", "//host/path", "http://ex.org/ü?ä=ö", "http://x/\u200b", "http://x/#a#b", "http://x:abc/",
        "file:///etc/passwd", "git+ssh://git@github.com/a/b.git", "http://x/<>", "C:\\path", "http://ex.org/%41",
        "http://user:pw@host:1/p", "http://x/\ue000", "http://x/?\ue000", "1http://x", "-x:y", "http://x/\x7f",
    ]
    for s in samples:
        assert is_iri_reference(s) == bool(is_valid_syntax("iri_reference", s)), s
    # Known divergence: rfc3987-syntax 1.1.0 rejects IPv6 literal hosts, which RFC 3987/3986 allow.
    for s in ("http://[::1]:8080/x", "http://[2001:db8::7]/c"):
        assert is_iri_reference(s) and not is_valid_syntax("iri_reference", s)


def test_errors_have_locations_and_cli_exit_codes(tmp_path: Path) -> None:
    doc = _demo_doc("1.6")
    doc["components"][2]["licenses"] = [{"license": {"id": "NOT-SPDX"}}]
    doc["components"][4]["hashes"] = [{"alg": "SHA-1", "content": "xyz"}]
    del doc["components"][5]["name"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc, indent=2))
    r = run_cli("sbom", "validate", str(bad))
    assert r.exit_code == 1
    assert "/components/2/licenses" in r.stdout and "/components/4/hashes/0/content" in r.stdout
    assert "/components/5: 'name' is a required property" in r.stdout
    assert "3 schema errors" in r.stderr
    r = run_cli("sbom", "validate", str(bad), "--json")
    assert r.exit_code == 1
    assert {e["location"] for e in json.loads(r.stdout)["errors"]} == {
        "/components/2/licenses", "/components/4/hashes/0/content", "/components/5"}

    good = tmp_path / "good.xml"
    root, pkgs = composer_bom(DEMO)
    good.write_bytes(render_bom(root, pkgs, spec_version="1.5", fmt="xml"))
    r = run_cli("sbom", "validate", str(good))
    assert r.exit_code == 0 and "valid CycloneDX 1.5 (XML)" in r.stdout
    broken = tmp_path / "broken.xml"
    broken.write_text(good.read_text().replace("<scope>excluded</scope>", "<scope>sometimes</scope>", 1))
    r = run_cli("sbom", "validate", str(broken))
    assert r.exit_code == 1 and "line " in r.stdout and "sometimes" in r.stdout

    for content, what in ((b"{not json", "line 1"), (b"hello", "not a CycloneDX"), (b'{"a": 1}', "bomFormat"),
                          (b"<html/>", "not a CycloneDX"), (b'{"bomFormat": "CycloneDX", "specVersion": "9.9"}', "9.9")):
        f = tmp_path / "x.bin"
        f.write_bytes(content)
        r = run_cli("sbom", "validate", str(f))
        assert r.exit_code == 2 and r.stdout == "" and what in r.stderr, (content, r.stderr)
    r = run_cli("sbom", "validate", str(tmp_path / "missing.json"))
    assert r.exit_code == 2 and "no such SBOM file" in r.stderr


def test_unique_items_and_numbers() -> None:
    doc = _demo_doc("1.6")
    dup = doc["dependencies"][1]
    dup["dependsOn"] = ["a", "a"]
    doc["version"] = 1.0  # integer-valued float is an integer for JSON Schema
    errs = json_schema_errors(doc, "1.6")
    assert [p for p, _ in errs] == ["/dependencies/1/dependsOn"]
    doc["version"] = True
    assert "/version" in {p for p, _ in json_schema_errors(doc, "1.6")}


def test_xml_entities_are_not_expanded(tmp_path: Path) -> None:
    evil = (b'<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components>'
            b'<component type="library"><name>&x;</name></component></components></bom>')
    with pytest.raises(InputError, match="DOCTYPE"):
        validate_bytes(evil, source="evil.xml")
    f = tmp_path / "evil.xml"
    f.write_bytes(evil)
    for cmd in ("validate", "inspect"):
        r = run_cli("sbom", cmd, str(f))
        assert r.exit_code == 2 and "root:" not in r.stdout + r.stderr and "DOCTYPE" in r.stderr


def test_plugin_snapshots_are_valid(external: Path) -> None:
    base = external / "composer" / "cyclonedx-php-composer"
    checked = 0
    for case in ("devReq", "laravel-7.12.0"):
        for spec in ("1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7"):
            for ext in ("json", "xml") if spec != "1.1" else ("xml",):  # CycloneDX JSON starts at 1.2
                f = base / case / "results" / f"bom.{spec}.{ext}"
                assert f.is_file(), f"{f} is missing from the shared data (see its SOURCES.md)"
                report = validate_bytes(f.read_bytes(), source=str(f))
                assert report.valid, (f, report.errors[:3])
                assert report.spec_version == spec
                checked += 1
    assert checked == 26


def test_deeply_nested_input_is_bad_input(tmp_path: Path) -> None:
    deep = ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": '
            + '[{"name": "x", "type": "library", "components": ' * 3000 + "[]" + "}]" * 3000 + "}")
    f = tmp_path / "deep.json"
    f.write_text(deep)
    for cmd in ("validate", "inspect"):
        r = run_cli("sbom", cmd, str(f))
        assert r.exit_code == 2 and "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    # parses (900 levels), but too deep for the schema check's error report: bad input, not a crash
    f.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": ' + "[" * 900 + "]" * 900 + "}")
    r = run_cli("sbom", "validate", str(f))
    assert r.exit_code == 2 and "nested too deeply" in r.stderr and "internal error" not in r.stderr, r.stderr


def test_pattern_dollar_does_not_match_before_a_final_newline() -> None:
    """The one verdict that differs from jsonschema (Python): JSON Schema patterns are ECMA 262,
    where ``$`` matches only at the end; Python's ``re.search`` also matches before a final
    newline, so jsonschema accepts a hash with a trailing newline that jsonschema-rs rejects."""
    doc = _demo_doc("1.6")
    doc["components"][0]["hashes"] = [{"alg": "SHA-1", "content": "a" * 40 + "\n"}]
    assert [p for p, _ in json_schema_errors(doc, "1.6")] == ["/components/0/hashes/0/content"]
    assert stock_json_errors(doc, "1.6") == []
    doc["components"][0]["hashes"] = [{"alg": "SHA-1", "content": "a" * 40}]
    assert json_schema_errors(doc, "1.6") == [] == stock_json_errors(doc, "1.6")
