"""sbom validate (references), inspect (NTIA coverage, long license names), diff (purls, hashes,
scope, edges, --fail-on): each through a real CLI process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from supplychain.sbom.cyclonedx import render_bom
from supplychain.sbom.package import Package
from tests.conftest import run_cli


def _bom(packages: list[Package], fmt: str = "json") -> bytes:
    root = Package(name="app", version="1.0", purl="pkg:composer/acme/app@1.0", group="acme",
                   dependencies=[p.bom_ref for p in packages[:1]])
    return render_bom(root, packages, fmt=fmt)


def _pkgs() -> list[Package]:
    a = Package(name="a", version="1.0", purl="pkg:npm/a@1.0", licenses=["MIT"], supplier="A Inc",
                hashes={"SHA-256": "aa" * 32})
    b = Package(name="b", version="2.0", purl="pkg:npm/b@2.0", licenses=["ISC"], hashes={"SHA-256": "bb" * 32})
    a.dependencies = [b.bom_ref]
    return [a, b]


def test_validate_reports_duplicate_refs_and_dangling_dependencies(tmp_path: Path) -> None:
    doc: dict[str, Any] = json.loads(_bom(_pkgs()))
    doc["components"][1]["bom-ref"] = doc["components"][0]["bom-ref"]
    doc["dependencies"].append({"ref": "pkg:npm/ghost@9", "dependsOn": ["pkg:npm/phantom@1"]})
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    r = run_cli("sbom", "validate", str(f))
    assert r.exit_code == 1
    assert "/components/1/bom-ref: duplicate bom-ref 'pkg:npm/a@1.0' (first at /components/0/bom-ref)" in r.stdout
    assert "/dependencies/3/ref: 'pkg:npm/ghost@9' is not the bom-ref of any component or service" in r.stdout
    assert "/dependencies/3/dependsOn/0: 'pkg:npm/phantom@1'" in r.stdout
    assert "reference error" in r.stderr
    r = run_cli("sbom", "validate", str(f), "--json")
    assert r.exit_code == 1 and not json.loads(r.stdout)["valid"]
    # XML: same checks, by line
    xml = _bom(_pkgs(), "xml").decode().replace('bom-ref="pkg:npm/b@2.0"', 'bom-ref="pkg:npm/a@1.0"', 1)
    fx = tmp_path / "bad.xml"
    fx.write_text(xml)
    r = run_cli("sbom", "validate", str(fx))
    assert r.exit_code == 1 and "duplicate bom-ref 'pkg:npm/a@1.0' (first at line" in r.stdout
    assert "'pkg:npm/b@2.0' is not the bom-ref of any component or service" in r.stdout
    # and a good one stays good
    good = tmp_path / "good.json"
    good.write_bytes(_bom(_pkgs()))
    assert run_cli("sbom", "validate", str(good)).exit_code == 0


def test_inspect_ntia_table_and_long_license_names(tmp_path: Path) -> None:
    text = "Permission is hereby granted " + "x" * 47000 + "\nsecond line"
    pkgs = _pkgs() + [
        Package(name=f"deb{i}", version="1", purl=f"pkg:deb/debian/deb{i}@1", licenses=[text, "GPL-2+"])
        for i in range(3)
    ] + [Package(name="old", version="1", purl="pkg:deb/debian/old@1", licenses=["LGPL-2.1"])]
    f = tmp_path / "bom.json"
    f.write_bytes(_bom(pkgs))
    r = run_cli("sbom", "inspect", str(f))
    assert r.exit_code == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) < 160
    assert "GPL-2.0-or-later" in r.stdout and "LGPL-2.1-only" in r.stdout
    assert "Permission is hereby granted xxx" in r.stdout
    lines = r.stdout.splitlines()
    start = lines.index("NTIA minimum elements")
    table = {ln[2:26].strip(): ln[26:].split() for ln in lines[start + 2: start + 9]}
    assert table["supplier"][:2] == ["1", "5"]  # only "a" names its supplier
    assert table["version"][:2] == ["6", "0"]
    assert table["unique identifier"][:2] == ["6", "0"]
    assert table["dependency relationship"][:2] == ["2", "4"]  # a -> b (the root edge names a too)
    assert table["timestamp"] == ["yes"]
    s = json.loads(run_cli("sbom", "inspect", str(f), "--json").stdout)
    assert s["licenses"]["GPL-2.0-or-later"] == 3 and s["licenseKinds"] == {"spdx": 3, "name": 3, "none": 0}
    assert s["ntia"]["supplier"] == {"with": 1, "without": 5} and s["ntia"]["author"] is True
    assert all(len(k) <= 82 for k in s["licenses"])


def test_diff_shows_purls_hashes_scope_edges_and_fails_on(tmp_path: Path) -> None:
    old = [*_pkgs(), Package(name="openssl", version="3.0", purl="pkg:deb/debian/openssl@3.0"), Package(name="dev", version="1", purl="pkg:npm/dev@1")]
    new_a = Package(name="a", version="1.0", purl="pkg:npm/a@1.0", licenses=["MIT"], hashes={"SHA-256": "cc" * 32})
    new = [new_a,
           Package(name="b", version="2.0", purl="pkg:npm/b@2.0", licenses=["ISC"], hashes={"SHA-256": "bb" * 32}),
           Package(name="openssl", version="3.0", purl="pkg:deb/evil/openssl@3.0"),  # namespace swap
           Package(name="dev", version="1", purl="pkg:npm/dev@1", scope="excluded")]
    fo, fn = tmp_path / "old.json", tmp_path / "new.json"
    fo.write_bytes(_bom(old))
    fn.write_bytes(_bom(new))
    r = run_cli("sbom", "diff", str(fo), str(fn))
    assert r.exit_code == 0, r.stderr
    assert "pkg:deb/debian/openssl@3.0 -> pkg:deb/evil/openssl@3.0" in r.stdout
    assert "  + openssl@3.0  pkg:deb/evil/openssl@3.0" in r.stdout
    assert "hash changed" in r.stdout and "SHA-256:" + "cc" * 32 in r.stdout
    assert "~ dev@1  required -> dev" in r.stdout
    assert "  - npm/a -> npm/b" in r.stdout  # the edge a -> b is gone
    d = json.loads(run_cli("sbom", "diff", str(fo), str(fn), "--json").stdout)
    assert d["purlChanged"] == [{"name": "openssl@3.0", "old": "pkg:deb/debian/openssl@3.0",
                                 "new": "pkg:deb/evil/openssl@3.0"}]
    assert [h["name"] for h in d["hashChanged"]] == ["a@1.0"]
    assert d["edgesRemoved"] == [["pkg:npm/a", "pkg:npm/b"]]
    r = run_cli("sbom", "diff", str(fo), str(fn), "--fail-on", "added")
    assert r.exit_code == 1 and "1 added" in r.stderr
    r = run_cli("sbom", "diff", str(fo), str(fn), "--fail-on", "version", "--fail-on", "license")
    assert r.exit_code == 0  # no version or license changed
    r = run_cli("sbom", "diff", str(fo), str(fn), "--fail-on", "removed", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["failed"] == ["1 removed"]
    r = run_cli("sbom", "diff", str(fo), str(fn), "--fail-on", "nonsense")
    assert r.exit_code == 2
