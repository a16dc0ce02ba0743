"""SBOMs that pass an auditor's checks: every output variant through the official CycloneDX
JavaScript library and the official XSDs, SPDX export through spdx-tools and
ntia-conformance-checker, authorship metadata, CPEs, and ``sbom dir`` on a root filesystem."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REPO, run_cli
from tests.imagebuild import File, build_image, write_oci_layout
from tests.sbom.schemacheck import stock_json_errors, xml_errors

JS_DIR = REPO / "tests" / "js"
DEMO = FIXTURES / "composer" / "demo-app"
META = ["--author", "Release Team <release@example.com>", "--author", "Auditor Jane",
        "--manufacturer", "Example Manufacturing Ltd", "--supplier", "Example Supply GmbH"]

STATUS = b"""Package: libc6
Status: install ok installed
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Depends: libgcc-s1
Description: GNU C Library: Shared libraries

Package: libgcc-s1
Status: install ok installed
Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>
Architecture: amd64
Source: gcc-12
Version: 12.2.0-14
Description: GCC support library

Package: libattr1
Status: install ok installed
Maintainer: Guillem Jover <guillem@debian.org>
Architecture: amd64
Source: attr
Version: 1:2.5.1-4
Description: extended attribute handling
"""
SITE = "/usr/lib/python3/dist-packages"
ROOTFS_FILES = {
    "/etc/os-release": b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
    "/var/lib/dpkg/status": STATUS,
    "/usr/share/doc/libc6/copyright": b"Files: *\nLicense: LGPL-2.1+\n\nFiles: x\nLicense: GPL-2\n",
    "/usr/share/doc/libgcc-s1/copyright": b"Files: *\nLicense: GPL-3+ with GCC-exception\n",
    "/usr/share/doc/libattr1/copyright": b"Files: *\nLicense: LGPL-2.1\n",
    f"{SITE}/fastapi-0.115.0.dist-info/METADATA": (
        "Metadata-Version: 2.3\nName: fastapi\nVersion: 0.115.0\n"
        "Author-email: Sebastián Ramírez <tiangolo@gmail.com>\nLicense-Expression: MIT\n"
        "Requires-Dist: starlette>=0.37\n").encode(),
    f"{SITE}/starlette-0.38.6.dist-info/METADATA": (
        b"Metadata-Version: 2.3\nName: starlette\nVersion: 0.38.6\n"
        b"Author-email: Tom Christie <tom@tomchristie.com>\nLicense: BSD-3-Clause\n"),
    "/app/node_modules/express/package.json": json.dumps({
        "name": "express", "version": "4.21.1", "license": "MIT", "author": "TJ Holowaychuk <tj@vision-media.ca>",
        "maintainers": [{"name": "wesleytodd", "email": "wes@wesleytodd.com"}]}).encode(),
    "/app/package.json": json.dumps({"name": "app", "version": "1.0.0", "author": "Shop Team",
                                     "dependencies": {"express": "^4"}}).encode(),
    "/app/vendor/composer/installed.json": json.dumps({"packages": [
        {"name": "monolog/monolog", "version": "3.7.0", "type": "library", "license": ["MIT"],
         "authors": [{"name": "Jordi Boggiano", "email": "j.boggiano@seld.be"}], "require": {"psr/log": "^3"}},
        {"name": "psr/log", "version": "3.0.2", "type": "library", "license": ["MIT"],
         "authors": [{"name": "PHP-FIG", "homepage": "https://www.php-fig.org/"}]},
    ], "dev": False, "dev-package-names": []}).encode(),
    "/usr/lib/python3/dist-packages/distutils-precedence.pth": b"import os; var = 'SETUPTOOLS_USE_DISTUTILS'\n",
}


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rootfs")
    for path, data in ROOTFS_FILES.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("img") / "layout"
    write_oci_layout(out, build_image([[File(p, d) for p, d in ROOTFS_FILES.items()]]), tag="v1")
    return out


def _js_validate(files: list[Path]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "@cyclonedx" / "cyclonedx-library").is_dir():
        pytest.skip("node or tests/js/node_modules (@cyclonedx/cyclonedx-library) missing: run make setup-test")
    proc = subprocess.run([node, str(JS_DIR / "cyclonedx-validate.mjs"), *map(str, files)],
                          capture_output=True, timeout=120, cwd=JS_DIR)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


def _gen(kind: str, source: Path, spec: str, fmt: str, out: Path) -> Path:
    args = ["sbom", kind, str(source) if kind != "image" else f"oci:{source}:v1", "--spec-version", spec,
            "--output-format", fmt, "-o", str(out), *META]
    r = run_cli(*args)
    assert r.exit_code == 0, r.stderr
    return out


@pytest.mark.slow
@pytest.mark.npm
def test_every_output_variant_is_valid_cyclonedx(tmp_path: Path, rootfs: Path, layout: Path) -> None:
    """composer / dir / image x 1.4 / 1.5 / 1.6 x JSON / XML, with authors, supplier, manufacturer, CPEs."""
    json_files: list[Path] = []
    for kind, source in (("composer", DEMO), ("dir", rootfs), ("image", layout)):
        for spec in ("1.4", "1.5", "1.6"):
            for fmt in ("json", "xml"):
                out = _gen(kind, source, spec, fmt, tmp_path / f"{kind}-{spec}.{fmt}")
                data = out.read_bytes()
                r = run_cli("sbom", "validate", str(out))
                assert r.exit_code == 0, (kind, spec, fmt, r.stdout)
                if fmt == "xml":
                    assert xml_errors(data, spec) == [], (kind, spec)  # the official XSD
                else:
                    assert stock_json_errors(json.loads(data), spec) == [], (kind, spec)
                    json_files.append(out)
    results = _js_validate(json_files)
    assert [r["file"] for r in results] == [str(f) for f in json_files]
    bad = [r for r in results if not r["valid"]]
    assert not bad, json.dumps(bad)[:2000]
    # the JS library is no pushover: a mutated file fails there too
    doc = json.loads(json_files[-1].read_text())
    doc["components"][0]["cpe"] = 5
    mutated = tmp_path / "mutated.json"
    mutated.write_text(json.dumps(doc))
    assert _js_validate([mutated])[0]["valid"] is False


def test_authorship_and_cpes(tmp_path: Path, rootfs: Path) -> None:
    docs = {spec: json.loads(_gen("dir", rootfs, spec, "json", tmp_path / f"{spec}.json").read_text())
            for spec in ("1.5", "1.6")}
    d16, d15 = docs["1.6"], docs["1.5"]
    assert d16["metadata"]["authors"] == [{"name": "Release Team", "email": "release@example.com"},
                                          {"name": "Auditor Jane"}]
    assert d16["metadata"]["manufacturer"] == {"name": "Example Manufacturing Ltd"}
    assert d16["metadata"]["supplier"] == {"name": "Example Supply GmbH"}
    assert d16["metadata"]["component"]["supplier"] == {"name": "Example Supply GmbH"}
    assert d15["metadata"]["manufacture"] == {"name": "Example Manufacturing Ltd"}  # the pre-1.6 field
    by = {c["name"]: c for c in d16["components"]}
    # PyPI: Author-email alone still names the author; it is also the supplier
    assert by["fastapi"]["authors"] == [{"name": "Sebastián Ramírez", "email": "tiangolo@gmail.com"}]
    assert by["fastapi"]["supplier"] == {"name": "Sebastián Ramírez"}
    assert "author" not in by["fastapi"]  # deprecated in 1.6
    assert {c["name"]: c.get("author") for c in d15["components"]}["fastapi"] == "Sebastián Ramírez"
    # npm author and maintainers, Composer authors
    assert [a["name"] for a in by["express"]["authors"]] == ["TJ Holowaychuk", "wesleytodd"]
    assert by["monolog"]["authors"] == [{"name": "Jordi Boggiano", "email": "j.boggiano@seld.be"}]
    # CPEs: deb as syft writes them (epoch escaped), Composer vendor:product, alternatives as properties
    assert by["libattr1"]["cpe"] == "cpe:2.3:a:libattr1:libattr1:1\\:2.5.1-4:*:*:*:*:*:*:*"
    assert by["monolog"]["cpe"] == "cpe:2.3:a:monolog:monolog:3.7.0:*:*:*:*:*:*:*"
    alts = [p["value"] for p in by["libc6"]["properties"] if p["name"] == "supplychain:cpe23"]
    assert "cpe:2.3:a:glibc:glibc:2.36-9\\+deb12u4:*:*:*:*:*:*:*" in alts
    assert "cpe:2.3:a:debian:libc6:2.36-9\\+deb12u4:*:*:*:*:*:*:*" in alts
    assert by["fastapi"]["cpe"] == "cpe:2.3:a:fastapi:fastapi:0.115.0:*:*:*:*:*:*:*"
    # Debian short names become SPDX: GPL-2 -> GPL-2.0-only, LGPL-2.1+ -> LGPL-2.1-or-later, deprecated LGPL-2.1
    ids = {c["name"]: sorted(e["license"].get("id", e["license"].get("name")) for e in c["licenses"])
           for c in d16["components"] if c.get("licenses") and "license" in c["licenses"][0]}
    assert ids["libc6"] == ["GPL-2.0-only", "LGPL-2.1-or-later"]
    assert ids["libattr1"] == ["LGPL-2.1-only"]
    assert ids["libgcc-s1"] == ["GPL-3.0-or-later"]
    assert "distutils-precedence.pth" not in by


@pytest.mark.parametrize("kind", ["composer", "image"])
def test_spdx_export_passes_ntia(tmp_path: Path, kind: str, layout: Path) -> None:
    checker = pytest.importorskip("ntia_conformance_checker")
    source = DEMO if kind == "composer" else layout
    cdx = _gen(kind, source, "1.6", "json", tmp_path / "bom.cdx.json")
    spdx = tmp_path / "bom.spdx.json"
    r = run_cli("sbom", "convert", str(cdx), "--to", "spdx-json", "-o", str(spdx))
    assert r.exit_code == 0, r.stderr
    # spdx-tools parses and validates it as SPDX 2.3
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    document = parse_file(str(spdx))
    assert [m.validation_message for m in validate_full_spdx_document(document)] == []
    sbom = checker.SbomChecker(str(spdx))
    missing = {name: comps for name, comps in sbom.all_components_without_info if comps}
    assert sbom.compliant, missing
    # lossless for what both hold
    doc = json.loads(spdx.read_text())
    src = json.loads(cdx.read_text())
    assert len(doc["packages"]) == len(src["components"]) + 1
    purls = {r["referenceLocator"] for p in doc["packages"] for r in p.get("externalRefs", [])
             if r["referenceType"] == "purl"}
    assert purls == {c["purl"] for c in [*src["components"], src["metadata"]["component"]] if c.get("purl")}
    cpes = sum(1 for p in doc["packages"] for r in p.get("externalRefs", []) if r["referenceType"] == "cpe23Type")
    assert cpes >= sum(1 for c in src["components"] if c.get("cpe"))
    n_edges = sum(len(d.get("dependsOn", [])) for d in src["dependencies"])
    assert sum(1 for r in doc["relationships"] if r["relationshipType"] == "DEPENDS_ON") == n_edges
    assert "Person: Release Team (release@example.com)" in doc["creationInfo"]["creators"]
    assert doc["creationInfo"]["created"] == src["metadata"]["timestamp"]
    # converting the same file twice gives the same document
    again = tmp_path / "again.spdx.json"
    assert run_cli("sbom", "convert", str(cdx), "--to", "spdx-json", "-o", str(again)).exit_code == 0
    assert again.read_bytes() == spdx.read_bytes()


def test_convert_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_text('{"spdxVersion": "SPDX-2.3"}')
    r = run_cli("sbom", "convert", str(f), "--to", "spdx-json")
    assert r.exit_code == 2 and "not a CycloneDX BOM" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("sbom", "convert", str(tmp_path / "missing.json"), "--to", "spdx-json")
    assert r.exit_code == 2 and "missing.json" in r.stderr


def test_dir_never_follows_links_outside(tmp_path: Path) -> None:
    """A root filesystem whose package database is a link out of it reads nothing from outside."""
    if not Path("/var/lib/dpkg/status").is_file():
        pytest.skip("this host has no dpkg database to point a link at")
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").symlink_to("/var/lib/dpkg/status")  # absolute: means <root>/var/...
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/os-release").symlink_to("../../../../../../../../etc/os-release")  # climbs out
    (root / "etc").symlink_to("/etc")
    r = run_cli("sbom", "dir", str(root))
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["components"] == []
    assert not any(p["name"] == "supplychain:dir:distro" for p in doc["metadata"]["component"].get("properties", []))
    # the same tree through `sbom image` (an unpacked root filesystem is accepted there too)
    r = run_cli("sbom", "image", str(root))
    assert r.exit_code == 0 and json.loads(r.stdout)["components"] == []


def test_dir_links_inside_resolve(tmp_path: Path, rootfs: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(rootfs, root)
    os.remove(root / "etc" / "os-release")
    (root / "usr" / "lib" / "os-release").write_bytes(ROOTFS_FILES["/etc/os-release"])
    (root / "etc" / "os-release").symlink_to("/usr/lib/os-release")  # absolute, inside the root
    r = run_cli("sbom", "dir", str(root), "--name", "shop", "--version", "1.4")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    libc = next(c for c in doc["components"] if c["name"] == "libc6")
    assert "distro=debian-12" in libc["purl"]
    assert (doc["metadata"]["component"]["name"], doc["metadata"]["component"]["version"]) == ("shop", "1.4")
    r = run_cli("sbom", "dir", str(tmp_path / "nope"))
    assert r.exit_code == 2 and "nope" in r.stderr


def test_image_and_dir_agree(layout: Path, rootfs: Path) -> None:
    a = json.loads(run_cli("sbom", "image", f"oci:{layout}:v1", "--output-reproducible").stdout)
    b = json.loads(run_cli("sbom", "dir", str(rootfs), "--output-reproducible").stdout)
    assert sorted(c.get("purl", c["name"]) for c in a["components"]) == sorted(
        c.get("purl", c["name"]) for c in b["components"])


def test_author_option_errors() -> None:
    r = run_cli("sbom", "composer", str(DEMO), "--author", "Bad <not an address")
    assert r.exit_code == 2 and "--author" in r.stderr
    r = run_cli("sbom", "composer", str(DEMO), "--supplier", " ")
    assert r.exit_code == 2 and "--supplier" in r.stderr
