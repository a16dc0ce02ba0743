"""sbom inspect and sbom diff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError
from supplychain.sbom.composer import composer_bom
from supplychain.sbom.cyclonedx import render_bom
from supplychain.sbom.diff import diff_boms, purl_key
from supplychain.sbom.inspect import inspect_bom
from supplychain.sbom.package import Package
from supplychain.sbom.semantic import check_bytes
from supplychain.sbom.spdx import to_spdx_json
from supplychain.sbom.tools import load_bom
from supplychain.sbom.validate import validate_bytes
from tests.conftest import FIXTURES, run_cli

DEMO = FIXTURES / "composer" / "demo-app"


def _write(tmp_path: Path, name: str, root: Package, pkgs: list[Package], **kw: Any) -> Path:
    p = tmp_path / name
    p.write_bytes(render_bom(root, pkgs, reproducible=True, **kw))
    return p


def test_inspect_demo_json_and_xml(tmp_path: Path) -> None:
    root, pkgs = composer_bom(DEMO)
    for fmt, spec in (("json", "1.6"), ("xml", "1.4")):
        f = _write(tmp_path, f"bom.{fmt}", root, pkgs, fmt=fmt, spec_version=spec)
        s = inspect_bom(load_bom(f))
        assert s["components"] == 21 and s["specVersion"] == spec and s["format"] == fmt
        assert s["byType"] == {"library": 21}
        assert s["byEcosystem"] == {"composer": 21}
        assert s["licenses"]["MIT"] == 15 and s["licenses"]["proprietary"] == 1
        assert s["licenses"]["MIT OR Apache-2.0"] == 1
        assert s["missing"]["hash"]["count"] == 20 and s["missing"]["license"]["count"] == 0
        assert s["dependencies"] == {"known": True, "direct": 7, "transitive": 14, "unreachable": 0}
        assert s["scope"] == {"required": 18, "optional": 0, "dev": 3}
    r = run_cli("sbom", "inspect", str(tmp_path / "bom.json"))
    assert r.exit_code == 0
    for text in ("components 21", "by ecosystem", "composer", "direct", "transitive", "dev", "missing", "hash"):
        assert text in r.stdout
    r = run_cli("sbom", "inspect", str(tmp_path / "bom.xml"), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["components"] == 21


def test_inspect_gaps_and_mixed_ecosystems(tmp_path: Path) -> None:
    root = Package(name="img", version="1", type="container")
    pkgs = [
        Package(name="openssl", version="3.0.11-1", purl="pkg:deb/debian/openssl@3.0.11-1?arch=amd64", type="library",
                licenses=["Apache-2.0"], hashes={"SHA-256": "ab" * 32}),
        Package(name="requests", version="2.31.0", purl="pkg:pypi/requests@2.31.0", licenses=[]),
        Package(name="weights.safetensors", version=None, purl=None, type="machine-learning-model"),
        Package(name="left-pad", version="1.3.0", purl="pkg:npm/left-pad@1.3.0", licenses=["WTFPL"], scope="optional"),
    ]
    f = _write(tmp_path, "img.json", root, pkgs)
    s = inspect_bom(load_bom(f))
    assert s["byEcosystem"] == {"(none)": 1, "deb": 1, "npm": 1, "pypi": 1}
    assert s["byType"] == {"library": 3, "machine-learning-model": 1}
    assert s["missing"]["version"]["components"] == ["weights.safetensors"]
    assert s["missing"]["purl"]["count"] == 1 and s["missing"]["license"]["count"] == 2
    assert s["missing"]["hash"]["count"] == 3
    assert s["dependencies"]["direct"] == 0 and s["dependencies"]["unreachable"] == 4
    assert s["scope"] == {"required": 3, "optional": 1, "dev": 0}


def test_diff(tmp_path: Path) -> None:
    root = Package(name="app", version="1")
    old = [
        Package(name="log", group="psr", version="1.1.4", purl="pkg:composer/psr/log@1.1.4", licenses=["MIT"]),
        Package(name="guzzle", group="guzzlehttp", version="7.8.0", purl="pkg:composer/guzzlehttp/guzzle@7.8.0", licenses=["MIT"]),
        Package(name="gone", group="old", version="1.0", purl="pkg:composer/old/gone@1.0", licenses=["MIT"]),
        Package(name="relicensed", group="a", version="2.0", purl="pkg:composer/a/relicensed@2.0", licenses=["MIT"]),
        Package(name="nopurl", group="x", version="1", purl=None),
    ]
    new = [
        Package(name="log", group="psr", version="3.0.0", purl="pkg:composer/psr/log@3.0.0", licenses=["MIT"]),
        Package(name="guzzle", group="guzzlehttp", version="7.8.0", purl="pkg:composer/guzzlehttp/guzzle@7.8.0", licenses=["MIT"]),
        Package(name="fresh", group="new", version="0.1", purl="pkg:composer/new/fresh@0.1", licenses=["ISC"]),
        Package(name="relicensed", group="a", version="2.0", purl="pkg:composer/a/relicensed@2.0", licenses=["BUSL-1.1"]),
        Package(name="nopurl", group="x", version="2", purl=None),
    ]
    fo = _write(tmp_path, "old.json", root, old)
    fn = _write(tmp_path, "new.xml", root, new, fmt="xml", spec_version="1.5")
    d = diff_boms(load_bom(fo), load_bom(fn))
    assert [a["name"] for a in d["added"]] == ["new/fresh@0.1"]
    assert [r["name"] for r in d["removed"]] == ["old/gone@1.0"]
    assert sorted((v["key"], v["old"], v["new"]) for v in d["versionChanged"]) == [
        ("name:x/nopurl", "1", "2"), ("pkg:composer/psr/log", "1.1.4", "3.0.0")]
    assert [(v["name"], v["old"], v["new"]) for v in d["licenseChanged"]] == [("a/relicensed@2.0", ["MIT"], ["BUSL-1.1"])]
    assert d["unchanged"] == 1
    r = run_cli("sbom", "diff", str(fo), str(fn))
    assert r.exit_code == 0
    assert "+ new/fresh@0.1" in r.stdout and "- old/gone@1.0" in r.stdout and "1.1.4 -> 3.0.0" in r.stdout
    assert "MIT -> BUSL-1.1" in r.stdout
    r = run_cli("sbom", "diff", str(fo), str(fo), "--json")
    assert r.exit_code == 0
    same = json.loads(r.stdout)
    assert same["added"] == same["removed"] == same["versionChanged"] == same["licenseChanged"] == []
    r = run_cli("sbom", "diff", str(fo), str(tmp_path / "missing.json"))
    assert r.exit_code == 2 and r.stdout == ""


def test_purl_key() -> None:
    assert purl_key("pkg:composer/PSR/Log@1.0?x=y#sub") == "pkg:composer/psr/log"
    assert purl_key("pkg:npm/%40scope/name@1.2.3") == "pkg:npm/@scope/name"
    assert purl_key("pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12") == "pkg:deb/debian/openssl"
    assert purl_key("pkg:pypi/Foo_Bar@1") == "pkg:pypi/foo-bar"
    assert purl_key("not a purl") is None


def test_inspect_plugin_snapshots(external: Path) -> None:
    base = external / "composer" / "cyclonedx-php-composer"
    s = inspect_bom(load_bom(base / "devReq" / "results" / "bom.1.3.json"))
    assert s["components"] == 28 and s["scope"]["dev"] == 28
    assert s["dependencies"]["direct"] == 1 and s["dependencies"]["transitive"] == 27
    s = inspect_bom(load_bom(base / "laravel-7.12.0" / "results" / "bom.1.1.xml"))
    assert s["components"] == 62


_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))
_any = st.recursive(_scalar, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=6), c, max_size=3)),
                    max_leaves=10)
_component = st.dictionaries(
    st.sampled_from(["bom-ref", "type", "name", "group", "version", "purl", "licenses", "hashes", "scope",
                     "properties", "components", "supplier", "authors", "author", "cpe", "externalReferences",
                     "description"]), _any, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(components=st.one_of(_any, st.lists(_component, max_size=4)), deps=_any, meta=_any)
def test_hostile_sboms_never_crash(tmp_path: Path, components: Any, deps: Any, meta: Any) -> None:
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": meta, "components": components,
           "dependencies": deps}
    f = tmp_path / "h.json"
    f.write_text(json.dumps(doc))
    try:
        bom = load_bom(f)
    except InputError:
        return
    inspect_bom(bom)
    diff_boms(bom, bom)
    report = validate_bytes(f.read_bytes(), source=str(f))
    assert report.spec_version == "1.6"
    check_bytes(f.read_bytes(), source=str(f))  # reference checks: never a crash
    spdx = json.loads(to_spdx_json(bom, f.read_bytes()))  # SPDX export of whatever was readable
    assert spdx["spdxVersion"] == "SPDX-2.3" and spdx["packages"]
