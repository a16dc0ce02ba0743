"""render_bom: schema-valid for every spec version and format, deterministic, licenses right."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError
from supplychain.sbom.cyclonedx import (
    COMPONENT_TYPES,
    EXTREF_TYPES,
    HASH_ALGS,
    classify_license,
    render_bom,
)
from supplychain.sbom.package import ExternalRef, Package
from tests.sbom.schemacheck import RES, official_json_errors, stock_json_errors, xml_errors

SPECS = ("1.4", "1.5", "1.6")


def _packages(n: int) -> tuple[Package, list[Package]]:
    root = Package(
        name="app", group="acme", version="1.0.0", purl="pkg:composer/acme/app@1.0.0", type="application",
        licenses=["MIT"], authors=[("ACME", "dev@acme.example")],
    )
    pkgs: list[Package] = []
    licenses = [["MIT"], ["mit"], ["Apache-2.0", "MIT"], ["proprietary"], ["GPL-2.0-or-later WITH Classpath-exception-2.0"],
                ["MIT", "(Apache-2.0 OR BSD-3-Clause)"], ["LicenseRef-acme"], []]
    types = ["library", "framework", "application", "file", "machine-learning-model", "data", "container", "bogus"]
    for i in range(n):
        pkgs.append(
            Package(
                name=f"pkg{i}", group=f"vendor{i % 7}", version=f"1.{i}.0" if i % 9 else None,
                purl=f"pkg:composer/vendor{i % 7}/pkg{i}@1.{i}.0" if i % 11 else None,
                type=types[i % len(types)], ecosystem="composer",
                description=f"package <{i}> & \"friends\"\x01" if i % 5 == 0 else None,
                licenses=licenses[i % len(licenses)],
                license_expression="MIT OR Apache-2.0" if i % 13 == 0 else None,
                hashes={"SHA-1": "ab" * 20, "SHA-256": "cd" * 32, "BOGUS": "x", "MD5": "not-hex"} if i % 3 == 0 else {},
                authors=[("Jane Doe", None), (None, "x@example.org")] if i % 4 == 0 else [],
                supplier="Vendor Inc." if i % 6 == 0 else None,
                external_refs=[
                    ExternalRef("distribution", f"https://example.org/dist/{i}.zip", comment="dist reference: abc"),
                    ExternalRef("vcs", "https://example.org/repo with space.git"),
                    ExternalRef("source-distribution", "https://example.org/src.tar.gz"),
                    ExternalRef("made-up", "../relative/path", hashes={"SHA-256": "ef" * 32}),
                ],
                properties=[("cdx:composer:package:type", "library"), ("x", "y & <z>")],
                scope=["required", "optional", "excluded", None, "weird"][i % 5],
                location=f"/srv/app/vendor/{i}" if i % 2 else None,
                layer="sha256:" + "0" * 64 if i % 2 else None,
                dependencies=[f"pkg:composer/vendor{(i + 1) % 7}/pkg{i + 1}@1.{i + 1}.0", "pkg:composer/missing/x@1"],
            )
        )
    # duplicates of the same purl (same package at two locations)
    pkgs.append(Package(name="pkg1", group="vendor1", version="1.1.0", purl="pkg:composer/vendor1/pkg1@1.1.0", location="/other"))
    root.dependencies = [p.bom_ref for p in pkgs[:3]]
    return root, pkgs


@pytest.mark.parametrize("spec", SPECS)
def test_small_bom_valid_by_cyclonedx_python_lib(spec: str) -> None:
    root, pkgs = _packages(8)
    for p in pkgs:  # the stock IRI checker takes ~0.1 s per URL: keep URLs few here
        p.external_refs = p.external_refs[:1]
    data = render_bom(root, pkgs, spec_version=spec)
    assert official_json_errors(data, spec) == []
    assert xml_errors(render_bom(root, pkgs, spec_version=spec, fmt="xml"), spec) == []


@pytest.mark.parametrize("spec", SPECS)
def test_mid_size_bom_valid_json_and_xml(spec: str) -> None:
    root, pkgs = _packages(300)
    data = render_bom(root, pkgs, spec_version=spec)
    doc = json.loads(data)
    assert stock_json_errors(doc, spec) == []
    assert xml_errors(render_bom(root, pkgs, spec_version=spec, fmt="xml"), spec) == []
    assert doc["specVersion"] == spec
    assert len(doc["components"]) == 301
    refs = [c["bom-ref"] for c in doc["components"]]
    assert len(set(refs)) == len(refs)  # de-duplicated
    assert "pkg:composer/vendor1/pkg1@1.1.0#2" in refs
    # every component and the root appear in the dependencies section; no dangling refs
    dep_refs = {d["ref"] for d in doc["dependencies"]}
    assert dep_refs == set(refs) | {doc["metadata"]["component"]["bom-ref"]}
    for d in doc["dependencies"]:
        assert set(d.get("dependsOn", [])) <= dep_refs
        assert d.get("dependsOn", []) == sorted(d.get("dependsOn", []))


def test_components_sorted_and_reproducible_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root, pkgs = _packages(40)
    a = render_bom(root, pkgs, reproducible=True)
    b = render_bom(root, list(reversed(pkgs)), reproducible=True)
    assert a == b
    doc = json.loads(a)
    assert "serialNumber" not in doc and "timestamp" not in doc["metadata"]
    keys = [(c.get("purl") or "", c.get("group") or "", c["name"]) for c in doc["components"]]
    assert keys == sorted(keys)
    assert render_bom(root, pkgs, reproducible=True, fmt="xml") == render_bom(root, pkgs[::-1], reproducible=True, fmt="xml")


def test_source_date_epoch_and_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    root, pkgs = _packages(3)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    doc = json.loads(render_bom(root, pkgs, reproducible=True))
    assert doc["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"
    assert "serialNumber" not in doc
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    doc = json.loads(render_bom(root, pkgs))
    assert re.match(r"^urn:uuid:[0-9a-f-]{36}$", doc["serialNumber"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", doc["metadata"]["timestamp"])
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
        render_bom(root, pkgs)


def test_license_forms() -> None:
    assert classify_license("MIT") == ("id", "MIT")
    assert classify_license("mit") == ("id", "MIT")
    assert classify_license("apache-2.0 or mit") == ("expression", "Apache-2.0 OR MIT")
    assert classify_license("(MIT OR GPL-2.0-only) AND BSD-3-Clause") == ("expression", "(MIT OR GPL-2.0-only) AND BSD-3-Clause")
    assert classify_license("GPL-2.0-or-later WITH Classpath-exception-2.0")[0] == "expression"
    assert classify_license("LicenseRef-acme-1") == ("expression", "LicenseRef-acme-1")
    assert classify_license("proprietary") == ("name", "proprietary")
    assert classify_license("MIT OR") == ("name", "MIT OR")
    assert classify_license("MIT AND (") == ("name", "MIT AND (")
    assert classify_license("Some License 1.0") == ("name", "Some License 1.0")

    root = Package(name="r", version="1")
    one = Package(name="a", version="1", purl="pkg:composer/v/a@1", licenses=["MIT", "Apache-2.0"], license_expression="MIT OR Apache-2.0")
    two = Package(name="b", version="1", purl="pkg:composer/v/b@1", licenses=["MIT", "weird thing"])
    three = Package(name="c", version="1", purl="pkg:composer/v/c@1", licenses=["MIT OR BSD-2-Clause", "ISC"])
    doc = json.loads(render_bom(root, [one, two, three], spec_version="1.5"))
    by = {c["name"]: c["licenses"] for c in doc["components"]}
    assert by["a"] == [{"expression": "MIT OR Apache-2.0"}]
    assert by["b"] == [{"license": {"id": "MIT"}}, {"license": {"name": "weird thing"}}]
    # an expression cannot share the list with other licenses: kept, as a name
    assert by["c"] == [{"license": {"name": "MIT OR BSD-2-Clause"}}, {"license": {"id": "ISC"}}]
    doc16 = json.loads(render_bom(root, [one], spec_version="1.6"))
    assert doc16["components"][0]["licenses"] == [{"expression": "MIT OR Apache-2.0", "acknowledgement": "declared"}]


def test_spec_specific_downgrades() -> None:
    root = Package(name="r", version="1")
    model = Package(name="m", version="1", purl="pkg:generic/m@1", type="machine-learning-model",
                    external_refs=[ExternalRef("source-distribution", "https://x.example/s.tgz")])
    d14 = json.loads(render_bom(root, [model], spec_version="1.4"))
    assert d14["components"][0]["type"] == "file"
    assert d14["components"][0]["externalReferences"][0]["type"] == "other"
    assert isinstance(d14["metadata"]["tools"], list)
    d16 = json.loads(render_bom(root, [model], spec_version="1.6"))
    assert d16["components"][0]["type"] == "machine-learning-model"
    assert d16["components"][0]["externalReferences"][0]["type"] == "source-distribution"
    assert d16["metadata"]["tools"]["components"][0]["name"] == "supplychain"


def test_metadata_properties_and_tool_name() -> None:
    root = Package(name="r", version="1")
    doc = json.loads(render_bom(root, [], tool_name="supplychain-image", properties=[("k", "v")]))
    assert doc["metadata"]["properties"] == [{"name": "k", "value": "v"}]
    assert doc["metadata"]["tools"]["components"][0]["name"] == "supplychain-image"
    assert doc["components"] == []
    assert doc["dependencies"] == [{"ref": doc["metadata"]["component"]["bom-ref"]}]


def test_bad_arguments() -> None:
    root = Package(name="r", version="1")
    with pytest.raises(InputError):
        render_bom(root, [], spec_version="1.3")
    with pytest.raises(InputError):
        render_bom(root, [], fmt="yaml")


@pytest.mark.parametrize("spec", SPECS)
def test_allowed_values_match_the_schema(spec: str) -> None:
    schema = json.loads((RES / f"bom-{spec}.SNAPSHOT.schema.json").read_text())
    defs = schema["definitions"]
    assert set(defs["component"]["properties"]["type"]["enum"]) == COMPONENT_TYPES[spec]
    assert set(defs["externalReference"]["properties"]["type"]["enum"]) == EXTREF_TYPES[spec]
    alg = defs["hash-alg"]["enum"]
    assert set(alg) == set(HASH_ALGS)


@settings(max_examples=400, deadline=None)
@given(url=st.text(max_size=40))
def test_any_url_becomes_a_valid_iri_reference(url: str) -> None:
    from supplychain.sbom.cyclonedx import _clean_url
    from supplychain.sbom.validate import is_iri_reference

    cleaned = _clean_url(url)
    assert cleaned == "" or is_iri_reference(cleaned), (url, cleaned)
    if is_iri_reference(url.strip()) and "[" not in url and "%" not in url and url.count("#") < 2:
        assert cleaned == url.strip()  # valid URLs are left alone


_license_tokens = st.sampled_from(["MIT", "mit", "Apache-2.0", "GPL-2.0+", "LicenseRef-x", "AND", "OR", "WITH",
                                   "Classpath-exception-2.0", "(", ")", "and", "bogus", "+", " "])


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=30), st.lists(_license_tokens, max_size=8).map(" ".join)))
def test_license_classification_is_total_and_stable(text: str) -> None:
    kind, value = classify_license(text)
    assert kind in ("id", "expression", "name")
    if kind != "name":
        assert classify_license(value) == (kind, value)  # normalised forms are fixed points
    else:
        assert value == text.strip()
