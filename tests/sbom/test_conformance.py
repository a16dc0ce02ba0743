"""Conformance with ../shared/external/composer (see its SOURCES.md for every expectation).

The official cyclonedx-php-composer snapshots are compared by meaning: purls, versions,
licenses, dev flags, external references, composer properties and dependency edges.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from supplychain.sbom.composer import composer_bom, packages_from_installed
from supplychain.sbom.cyclonedx import render_bom
from supplychain.sbom.licenses import normalize_license
from supplychain.sbom.tools import Bom, load_bom
from supplychain.sbom.validate import json_schema_errors
from tests.sbom.schemacheck import stock_json_errors, xml_errors

DEV = "cdx:composer:package:isDevRequirement"


def _purl_index(doc: dict[str, Any]) -> dict[str, str]:
    refs = {c["bom-ref"]: c.get("purl", c["bom-ref"]) for c in doc["components"]}
    root = doc["metadata"]["component"]
    refs[root["bom-ref"]] = root.get("purl", root["bom-ref"])
    return refs


def _edges(doc: dict[str, Any]) -> set[tuple[str, str]]:
    idx = _purl_index(doc)
    return {(idx[d["ref"]], idx[t]) for d in doc.get("dependencies", []) for t in d.get("dependsOn", [])}


def _explained_by_replace_or_provide(lock: dict[str, Any], src: str, dst: str) -> bool:
    entries = {f"pkg:composer/{e['name']}@{e['version']}": e for e in lock["packages"] + lock["packages-dev"]}
    requires = set(entries[src].get("require", {}))
    virtual = set(entries[dst].get("replace", {})) | set(entries[dst].get("provide", {}))
    return bool(requires & virtual)


def _licenses(c: dict[str, Any]) -> list[str]:
    out = []
    for e in c.get("licenses", []):
        if "expression" in e:
            out.append(e["expression"])
        else:
            out.append(e["license"].get("id") or e["license"].get("name"))
    return sorted(out)


def _meaning(c: dict[str, Any]) -> dict[str, Any]:
    props = {p["name"]: p["value"] for p in c.get("properties", []) if p["name"].startswith("cdx:composer:")}
    return {
        "group": c.get("group"),
        "name": c["name"],
        "version": c.get("version"),
        "description": c.get("description"),
        # 1.6 deprecates "author" for "authors" (we write those; the plugin still writes "author")
        "author": c.get("author") or (", ".join(a["name"] for a in c["authors"] if a.get("name")) if c.get("authors") else None),
        "licenses": _licenses(c),
        "extrefs": sorted((r["type"], r["url"]) for r in c.get("externalReferences", [])),
        "properties": props,
        "hashes": c.get("hashes", []),
    }


def _ours(project: Path, spec: str, omit_dev: bool) -> dict[str, Any]:
    root, pkgs = composer_bom(project, omit_dev=omit_dev)
    data = render_bom(root, pkgs, spec_version=spec, reproducible=True)
    return json.loads(data)


CASES = [("devReq", False, 28), ("laravel-7.12.0", True, 62)]


@pytest.mark.parametrize("case,omit_dev,count", CASES)
@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6"])
def test_plugin_snapshot_json_by_meaning(external: Path, case: str, omit_dev: bool, count: int, spec: str) -> None:
    base = external / "composer" / "cyclonedx-php-composer" / case
    theirs = json.loads((base / "results" / f"bom.{spec}.json").read_text())
    ours = _ours(base / "project", spec, omit_dev)
    assert len(ours["components"]) == len(theirs["components"]) == count
    t_by = {c["purl"]: _meaning(c) for c in theirs["components"]}
    o_by = {c["purl"]: _meaning(c) for c in ours["components"]}
    assert set(o_by) == set(t_by)
    for purl, expected in t_by.items():
        assert o_by[purl] == expected, purl
    # the root
    t_root, o_root = _meaning(theirs["metadata"]["component"]), _meaning(ours["metadata"]["component"])
    assert o_root == t_root
    assert ours["metadata"]["component"]["purl"] == theirs["metadata"]["component"]["purl"]
    # dependency graph, by purl; every component and the root listed. The plugin resolves a
    # requirement by package name only; we also follow `replace` / `provide` (the issue asks
    # for it), so we may have more edges: each extra one must be explained by the lock.
    assert _edges(theirs) <= _edges(ours)
    lock = json.loads((base / "project" / "composer.lock").read_text())
    for src, dst in _edges(ours) - _edges(theirs):
        assert _explained_by_replace_or_provide(lock, src, dst), (src, dst)
    assert len(ours["dependencies"]) == len(theirs["dependencies"]) == count + 1
    # dev flags, also as scope
    for c in ours["components"]:
        dev = any(p["name"] == DEV for p in c.get("properties", []))
        assert dev == (case == "devReq")
        assert (c.get("scope") == "excluded") == dev
    assert stock_json_errors(ours, spec) == []


@pytest.mark.parametrize("case,omit_dev,count", CASES)
def test_plugin_snapshot_xml_by_meaning(external: Path, case: str, omit_dev: bool, count: int, tmp_path: Path) -> None:
    base = external / "composer" / "cyclonedx-php-composer" / case
    root, pkgs = composer_bom(base / "project", omit_dev=omit_dev)
    for spec in ("1.4", "1.5", "1.6"):
        data = render_bom(root, pkgs, spec_version=spec, fmt="xml", reproducible=True)
        assert xml_errors(data, spec) == []
        out = tmp_path / f"ours-{spec}.xml"
        out.write_bytes(data)
        ours, theirs = load_bom(out), load_bom(base / "results" / f"bom.{spec}.xml")
        # edges compared in the JSON test (ours may have more, from replace/provide)
        plugin_edges = _bom_edges(theirs)
        assert plugin_edges <= _bom_edges(ours)
        assert _bom_meaning(ours, plugin_edges) == _bom_meaning(theirs, plugin_edges)
        assert len(ours.components) == count


def _bom_edges(bom: Bom) -> set[tuple[str | None, str | None]]:
    assert bom.root is not None
    idx = {c.ref: c.purl for c in bom.components} | {bom.root.ref: bom.root.purl}
    return {(idx[r], idx[t]) for r, ts in bom.dependencies.items() for t in ts}


def _bom_meaning(bom: Bom, edges: set[tuple[str | None, str | None]]) -> dict[str, Any]:
    assert bom.root is not None
    idx = {c.ref: c.purl for c in bom.components} | {bom.root.ref: bom.root.purl}
    return {
        "components": sorted(
            (c.purl or "", c.version or "", tuple(sorted(c.licenses)), c.properties.get(DEV, ""),
             tuple(sorted((k, v) for k, v in c.properties.items() if k.startswith("cdx:composer:"))))
            for c in bom.components
        ),
        "edges": sorted((idx[r], idx[t]) for r, ts in bom.dependencies.items() for t in ts if (idx[r], idx[t]) in edges),
        "root": bom.root.purl,
    }


def test_plugin_builder_expectations(external: Path) -> None:
    project = external / "composer" / "cyclonedx-php-composer" / "setup-testCreateSbomFromComposer"
    doc = _ours(project, "1.6", omit_dev=False)
    root = doc["metadata"]["component"]
    assert (root["type"], root["group"], root["name"], root["version"]) == (
        "application", "cyclonedx", "test_data_for_create-sbom-from-composer", "dev-master")
    assert _licenses(root) == ["Apache-2.0"]
    assert root["authors"] == [{"name": "Jan Kowalleck"}]  # 1.6: authors (organizationalContact)
    assert _ours(project, "1.5", omit_dev=False)["metadata"]["component"]["author"] == "Jan Kowalleck"
    assert root["purl"] == "pkg:composer/cyclonedx/test_data_for_create-sbom-from-composer@dev-master"
    assert {"name": "cdx:composer:package:type", "value": "project"} in root["properties"]
    by = {c["purl"].split("@")[0]: c for c in doc["components"]}
    lock = by["pkg:composer/symfony/lock"]
    assert lock["version"] == "v6.2.7" and lock["purl"] == "pkg:composer/symfony/lock@v6.2.7"
    assert _licenses(lock) == ["MIT"] and [a["name"] for a in lock["authors"]] == ["Jérémy Derussé", "Symfony Community"]
    m = _meaning(lock)
    ref = "febdeed9473e568ff34bf4350c04760f5357dfe2"
    assert m["properties"]["cdx:composer:package:distReference"] == ref
    assert m["properties"]["cdx:composer:package:sourceReference"] == ref
    assert ("distribution", f"https://api.github.com/repos/symfony/lock/zipball/{ref}") in m["extrefs"]
    assert ("vcs", "https://github.com/symfony/lock.git") in m["extrefs"]
    assert ("vcs", "https://github.com/symfony/lock/tree/v6.2.7") in m["extrefs"]
    psr = by["pkg:composer/psr/log"]
    assert psr["version"] == "3.0.0" and psr["authors"] == [{"name": "PHP-FIG"}] and _licenses(psr) == ["MIT"]
    assert _meaning(psr)["properties"]["cdx:composer:package:distReference"] == "fe5ea303b0887d5caefd3d431c3e61ad47037001"
    edges = _edges(doc)
    assert ("pkg:composer/symfony/lock@v6.2.7", "pkg:composer/psr/log@3.0.0") in edges
    assert not any(src == "pkg:composer/psr/log@3.0.0" for src, _ in edges)
    plugin = by["pkg:composer/cyclonedx/cyclonedx-php-composer"]
    pm = _meaning(plugin)
    assert pm["properties"][DEV] == "true" and pm["properties"]["cdx:composer:package:type"] == "composer-plugin"
    assert ("distribution", "../../../..") in pm["extrefs"]
    plugin_deps = {t.split("@")[0] for s, t in edges if s == plugin["purl"]}
    assert plugin_deps == {"pkg:composer/cyclonedx/cyclonedx-library", "pkg:composer/package-url/packageurl-php"}
    root_deps = {t.split("@")[0] for s, t in edges if s == root["purl"]}
    assert {"pkg:composer/symfony/lock", "pkg:composer/cyclonedx/cyclonedx-php-composer"} <= root_deps
    assert stock_json_errors(doc, "1.6") == []

    omitted = _ours(project, "1.6", omit_dev=True)
    names = {c["purl"].split("@")[0] for c in omitted["components"]}
    assert "pkg:composer/cyclonedx/cyclonedx-php-composer" not in names
    assert "pkg:composer/cyclonedx/cyclonedx-library" not in names
    assert names == {"pkg:composer/symfony/lock", "pkg:composer/psr/log"}


def _tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_text().splitlines()
    header = [h.split("(")[0] for h in lines[0].lstrip("# ").split("\t")]
    return [dict(zip(header, row, strict=True)) for row in csv.reader(lines[1:], delimiter="\t")]


def _norm_license(text: str) -> str:
    # SPDX ids are case-insensitive; we write the canonical case ("mit" -> "MIT")
    return text.replace("(", "").replace(")", "").lower()


@pytest.mark.parametrize("app", ["koel", "coolify", "bookstack"])
def test_real_world_locks(external: Path, app: str, tmp_path: Path) -> None:
    project = external / "composer" / "real-world" / app
    expected = _tsv(project / "EXPECTED-components.tsv")
    doc = _ours(project, "1.6", omit_dev=False)
    assert len(doc["components"]) == len(expected)
    by = {c["purl"]: c for c in doc["components"]}
    assert set(by) == {e["purl"] for e in expected}
    for e in expected:
        c = by[e["purl"]]
        assert f"{c['group']}/{c['name']}" == e["name"] and c["version"] == e["version"]
        m = _meaning(c)
        assert m["properties"]["cdx:composer:package:type"] == e["type"]
        assert (m["properties"].get(DEV) == "true") == (e["scope"] == "dev"), e["name"]
        assert (c.get("scope") == "excluded") == (e["scope"] == "dev")
        # deprecated SPDX ids are written in their current form (LGPL-2.1 -> LGPL-2.1-only)
        assert _norm_license(" OR ".join(_licenses(c))) == _norm_license(normalize_license(e["license"])), e["name"]
        assert "hashes" not in c  # every dist.shasum is empty: never invent one
    root = doc["metadata"]["component"]
    assert root["purl"] == f"pkg:composer/{root['group']}/{root['name']}" and "version" not in root
    assert json_schema_errors(doc, "1.6") == []
    assert stock_json_errors(doc, "1.6") == []
    root_pkg, pkgs = composer_bom(project)
    for spec in ("1.4", "1.5", "1.6"):
        assert xml_errors(render_bom(root_pkg, pkgs, spec_version=spec, fmt="xml"), spec) == []
    omitted = _ours(project, "1.5", omit_dev=True)
    assert {c["purl"] for c in omitted["components"]} == {e["purl"] for e in expected if e["scope"] == "required"}
    assert stock_json_errors(omitted, "1.5") == []


def test_trivy_happy(external: Path) -> None:
    doc = _ours(external / "composer" / "trivy" / "happy", "1.6", omit_dev=False)
    by = {c["purl"]: c for c in doc["components"]}
    assert set(by) == {"pkg:composer/pear/log@1.13.3", "pkg:composer/pear/pear_exception@v1.0.2"}
    assert _licenses(by["pkg:composer/pear/log@1.13.3"]) == ["MIT"]
    assert _licenses(by["pkg:composer/pear/pear_exception@v1.0.2"]) == ["BSD-2-Clause"]
    edges = _edges(doc)
    root = doc["metadata"]["component"]["purl"]
    assert {t for s, t in edges if s == root} == {"pkg:composer/pear/log@1.13.3"}  # direct
    assert ("pkg:composer/pear/log@1.13.3", "pkg:composer/pear/pear_exception@v1.0.2") in edges


def test_trivy_with_dev(external: Path) -> None:
    project = external / "composer" / "trivy" / "with-dev"
    doc = _ours(project, "1.6", omit_dev=False)
    by = {c["purl"]: _meaning(c) for c in doc["components"]}
    assert by["pkg:composer/psr/log@1.1.4"]["properties"].get(DEV) is None
    assert by["pkg:composer/pear/log@1.14.6"]["properties"][DEV] == "true"
    assert by["pkg:composer/pear/pear_exception@v1.0.2"]["properties"][DEV] == "true"
    assert by["pkg:composer/pear/pear_exception@v1.0.2"]["licenses"] == ["BSD-2-Clause"]
    root = doc["metadata"]["component"]["purl"]
    assert {t for s, t in _edges(doc) if s == root} == {"pkg:composer/psr/log@1.1.4", "pkg:composer/pear/log@1.14.6"}
    omitted = _ours(project, "1.6", omit_dev=True)
    assert [c["purl"] for c in omitted["components"]] == ["pkg:composer/psr/log@1.1.4"]


def test_syft_lock_keeps_dev_packages(external: Path) -> None:
    doc = _ours(external / "composer" / "syft" / "composer.lock", "1.6", omit_dev=False)
    by = {c["purl"]: _meaning(c) for c in doc["components"]}
    assert len(by) == 4
    assert _licenses_of(by, "pkg:composer/adoy/fastcgi-client@1.0.2") == ["MIT"]
    assert _licenses_of(by, "pkg:composer/alcaeus/mongo-php-adapter@1.1.11") == ["MIT"]
    dev = sorted(p for p, m in by.items() if m["properties"].get(DEV) == "true")
    assert dev == ["pkg:composer/behat/gherkin@v4.6.2", "pkg:composer/codeception/codeception@4.1.6"]
    # a lone lock file: the root is named after its directory
    assert doc["metadata"]["component"]["name"] == "syft"


def _licenses_of(by: dict[str, dict[str, Any]], purl: str) -> list[str]:
    return list(by[purl]["licenses"])


def test_installed_json_v1_and_v2(external: Path) -> None:
    base = external / "os-packages" / "composer-installed"
    for case, dev_expected in (("syft-composer_1", set()), ("syft-composer_2", {"behat/mink"})):
        path = base / case / "vendor" / "composer" / "installed.json"
        pkgs = packages_from_installed(json.loads(path.read_text()), source=str(path))
        assert sorted(p.purl or "" for p in pkgs) == ["pkg:composer/asm89/stack-cors@1.3.0", "pkg:composer/behat/mink@v1.8.1"]
        assert {f"{p.group}/{p.name}" for p in pkgs if p.scope == "excluded"} == dev_expected
        root, via_cli = composer_bom(path)
        assert len(via_cli) == 2
    path = base / "nextcloud-3rdparty-v2" / "vendor" / "composer" / "installed.json"
    expected = _tsv(base / "nextcloud-3rdparty-v2" / "EXPECTED-packages.tsv")
    root, pkgs = composer_bom(path)
    assert len(pkgs) == len(expected) == 93
    by = {p.purl: p for p in pkgs}
    for e in expected:
        p = by[e["purl"]]
        assert dict(p.properties)["cdx:composer:package:type"] == e["type"]
        assert p.scope is None and not p.hashes
    data = render_bom(root, pkgs)
    assert json_schema_errors(json.loads(data), "1.6") == []
