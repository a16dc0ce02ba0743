"""End to end: ``supplychain sbom image`` on images the tests build (OCI layout, docker-archive,
a real registry on loopback), including packages deleted in an upper layer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.imagebuild import (
    Dir,
    File,
    Opaque,
    Symlink,
    Whiteout,
    build_image,
    push_image,
    write_docker_archive,
    write_oci_layout,
)

STATUS_BASE = b"""Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u5
Maintainer: Santiago Vila <sanvila@debian.org>

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Depends: libgcc-s1

Package: libgcc-s1
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
Depends: libc6

Package: nginx
Status: install ok installed
Architecture: amd64
Version: 1.22.1-9
Depends: libc6
"""
# the upper layer's dpkg database after `apt-get purge nginx`
STATUS_UPPER = STATUS_BASE.split(b"\nPackage: nginx")[0] + b"\n"

SITE = "/opt/venv/lib/python3.11/site-packages"
# a real torch.save() checkpoint (torch 2.13.0; see tests/sbom/data/models/README.md): models are
# recognised by content, and a model-named text file is not one
WEIGHTS = (Path(__file__).resolve().parent.parent / "sbom" / "data" / "models" / "tiny.pt").read_bytes()
_HEADER = b'{"__metadata__":{"format":"pt"}}'
SAFETENSORS = len(_HEADER).to_bytes(8, "little") + _HEADER


def _pj(name: str, version: str, **kw: Any) -> File:
    return File(f"/app/node_modules/{name}/package.json", json.dumps({"name": name, "version": version, **kw}).encode())


def _layers() -> list[list[Any]]:
    installed = {"packages": [
        {"name": "monolog/monolog", "version": "3.7.0", "type": "library", "license": ["MIT"],
         "require": {"php": ">=8.1", "psr/log": "^3"}},
        {"name": "psr/log", "version": "3.0.2", "type": "library", "license": ["MIT"]},
    ], "dev": False, "dev-package-names": []}
    base = [
        Dir("/etc"),
        File("/etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'),
        Dir("/var/lib/dpkg/info"),
        File("/var/lib/dpkg/status", STATUS_BASE),
        File("/var/lib/dpkg/info/libc6:amd64.list", b"/lib\n"),
        File("/var/lib/dpkg/info/nginx.list", b"/usr/sbin/nginx\n"),
        File("/usr/share/doc/libc6/copyright", b"Files: *\nLicense: LGPL-2.1+\n"),
        File("/usr/share/doc/nginx/copyright", b"Files: *\nLicense: BSD-2-clause\n"),
        File(f"{SITE}/PyYAML-6.0.2.dist-info/METADATA", b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0.2\nLicense: MIT\n"),
        File(f"{SITE}/requests-2.32.3.dist-info/METADATA",
             b"Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nLicense: Apache-2.0\nRequires-Dist: idna<4,>=2.5\n"),
        File(f"{SITE}/idna-3.10.dist-info/METADATA", b"Metadata-Version: 2.1\nName: idna\nVersion: 3.10\n"),
        _pj("express", "4.21.1", license="MIT", dependencies={"left-pad": "^1"}),
        _pj("left-pad", "1.3.0", license="WTFPL"),
        File("/app/package.json", json.dumps({"name": "app", "version": "1.0.0", "dependencies": {"express": "^4"}}).encode()),
        File("/app/vendor/composer/installed.json", json.dumps(installed).encode()),
        File("/models/bert/config.json", b"{}"),
        File("/models/bert/pytorch_model.bin", WEIGHTS),
        File("/opt/old/model.safetensors", SAFETENSORS),
        File(f"{SITE}/distutils-precedence.pth", b"import os; var = 'SETUPTOOLS_USE_DISTUTILS'\n"),
    ]
    upper = [
        File("/var/lib/dpkg/status", STATUS_UPPER),
        Whiteout("/var/lib/dpkg/info/nginx.list"),
        Whiteout("/usr/share/doc/nginx"),
        Whiteout(f"{SITE}/PyYAML-6.0.2.dist-info"),
        Whiteout("/app/node_modules/left-pad"),
        Opaque("/opt/old"),
        File("/opt/old/README", b"weights moved"),
        File("/models/llm.gguf", b"GGUF\x03\x00\x00\x00"),
    ]
    return [base, upper]


@pytest.fixture(scope="module")
def image() -> Any:
    return build_image(_layers())


def _components(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for c in doc["components"]:
        name = f"{c['group']}/{c['name']}" if c.get("group") else c["name"]
        out[(name, c.get("version", ""))] = c
    return out


def _props(c: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in c.get("properties", []):
        out.setdefault(p["name"], []).append(p["value"])
    return out


def _validate(raw: str, version: str = "1.6", fmt: str = "json") -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from cyclonedx.validation.xml import XmlValidator

    sv = SchemaVersion.from_version(version)
    validator = JsonStrictValidator(sv) if fmt == "json" else XmlValidator(sv)
    errors = validator.validate_str(raw)
    assert errors is None, str(errors)


def _check(doc: dict[str, Any], image: Any, *, uncompressed: bool = False) -> None:
    comps = _components(doc)
    names = set(comps)
    assert {("base-files", "12.4+deb12u5"), ("libc6", "2.36-9+deb12u4"), ("libgcc-s1", "12.2.0-14")} <= names
    assert {("requests", "2.32.3"), ("idna", "3.10"), ("express", "4.21.1"), ("app", "1.0.0"),
            ("monolog/monolog", "3.7.0"), ("psr/log", "3.0.2")} <= names
    # deleted in the upper layer: never reported
    for gone in ("nginx", "PyYAML", "left-pad", "model.safetensors", "distutils-precedence.pth"):
        assert not any(n == gone for n, _ in names), gone
    libc = comps[("libc6", "2.36-9+deb12u4")]
    assert libc["purl"] == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
    assert "LGPL-2.1-or-later" in json.dumps(libc["licenses"])  # Debian "LGPL-2.1+", normalised
    props = _props(libc)
    assert props["supplychain:package:location"] == ["/var/lib/dpkg/status"]
    if uncompressed:  # docker save tars hold uncompressed layers: their digests are the diff_ids
        lower, upper = json.loads(image.config)["rootfs"]["diff_ids"]
    else:
        lower, upper = (d["digest"] for d in json.loads(image.manifest)["layers"])
    assert props["supplychain:package:layer"] == [lower]
    # base-files has no info/*.list: the layer that last wrote the status file
    assert _props(comps[("base-files", "12.4+deb12u5")])["supplychain:package:layer"] == [upper]
    gguf = comps[("llm.gguf", "")]
    assert gguf["type"] == "machine-learning-model"
    assert _props(gguf)["supplychain:package:layer"] == [upper]
    import hashlib

    bert = comps[("pytorch_model.bin", "")]
    assert bert["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(WEIGHTS).hexdigest()}]
    # edges
    deps = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    assert deps[libc["bom-ref"]] == {comps[("libgcc-s1", "12.2.0-14")]["bom-ref"]}
    assert deps[comps[("requests", "2.32.3")]["bom-ref"]] == {comps[("idna", "3.10")]["bom-ref"]}
    assert deps[comps[("monolog/monolog", "3.7.0")]["bom-ref"]] == {comps[("psr/log", "3.0.2")]["bom-ref"]}
    assert deps[comps[("express", "4.21.1")]["bom-ref"]] == set()  # left-pad is gone
    # root: the image
    root = doc["metadata"]["component"]
    assert root["type"] == "container"
    from packageurl import PackageURL

    # a docker save tar has no registry manifest: the reader synthesises one (its own digest)
    assert root["version"] == image.manifest_digest or (uncompressed and root["version"].startswith("sha256:"))
    assert root["purl"].startswith("pkg:oci/")
    assert PackageURL.from_string(root["purl"]).version == root["version"]
    rp = _props(root)
    assert rp["supplychain:image:user"] == ["1000"]
    assert rp["supplychain:image:exposed-port"] == ["8080/tcp"]
    assert rp["supplychain:image:cmd"] == ['["/bin/sh"]']
    assert rp["supplychain:image:label:org.example"] == ["yes"]
    assert sorted(rp["supplychain:image:env-name"]) == ["PATH", "SECRET"]
    assert rp["supplychain:image:distro"] == ["debian-12"]
    assert "hunter2" not in json.dumps(doc)  # Env values never leave the image


def test_oci_layout_and_docker_archive(image: Any, tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "layout", image, tag="v1")
    r = run_cli("sbom", "image", f"oci:{layout}:v1", "-o", str(tmp_path / "a.json"))
    assert r.exit_code == 0, r.stderr
    raw = (tmp_path / "a.json").read_text()
    _validate(raw)
    doc = json.loads(raw)
    _check(doc, image)
    archive = write_docker_archive(tmp_path / "d.tar", image, repo_tag="example.com/team/app:v1")
    r = run_cli("sbom", "image", f"docker-archive:{archive}", "--output-reproducible")
    assert r.exit_code == 0, r.stderr
    doc2 = json.loads(r.stdout)
    _check(doc2, image, uncompressed=True)
    assert set(_components(doc2)) == set(_components(doc))
    assert doc["metadata"]["component"]["name"] == "layout"
    assert doc["metadata"]["component"]["purl"].startswith("pkg:oci/layout@sha256")
    root = doc2["metadata"]["component"]
    assert root["name"] == "example.com/team/app"
    assert "repository_url=example.com/team/app" in root["purl"]


def test_reproducible_xml_and_older_specs(image: Any, tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "layout", image, tag="v1")
    outs = []
    for _ in range(2):
        r = run_cli("sbom", "image", str(layout), "--output-reproducible", "--output-format", "xml",
                    "--spec-version", "1.5", env={"SOURCE_DATE_EPOCH": "1700000000"})
        assert r.exit_code == 0, r.stderr
        outs.append(r.stdout_bytes)
    assert outs[0] == outs[1]
    _validate(outs[0].decode(), "1.5", "xml")
    r = run_cli("sbom", "image", str(layout), "--spec-version", "1.4")
    assert r.exit_code == 0, r.stderr
    _validate(r.stdout, "1.4")


@pytest.mark.registry
def test_from_registry(registry: Any, image: Any, tmp_path: Path) -> None:
    from supplychain.oci.auth import CredentialStore
    from supplychain.oci.registry import RegistryClient

    client = RegistryClient(credentials=CredentialStore(env={}, config_paths=[]))
    ref = f"{registry.host}/team/app:v1"
    push_image(client, ref, image)
    r = run_cli("sbom", "image", ref, "-o", str(tmp_path / "r.json"))
    assert r.exit_code == 0, r.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    _check(doc, image)
    root = doc["metadata"]["component"]
    assert root["name"] == f"{registry.host}/team/app"
    assert _props(root)["supplychain:image:reference"] == [f"{registry.host}/team/app@{image.manifest_digest}"]


def test_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = build_image([[File("/var/lib/dpkg/status", b"Package: a\nthis is not a field\n")]])
    layout = write_oci_layout(tmp_path / "layout", bad, tag="v1")
    r = run_cli("sbom", "image", f"oci:{layout}")
    assert r.exit_code == 2
    assert "/var/lib/dpkg/status:2" in r.stderr and "Traceback" not in r.stderr


def test_hostile_members_are_warnings(tmp_path: Path) -> None:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"P:musl\nV:1.2.4-r0\nA:x86_64\n"
        info = tarfile.TarInfo("../../lib/apk/db/installed")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
        dev = tarfile.TarInfo("dev/null")
        dev.type = tarfile.CHRTYPE
        tf.addfile(dev)
    img = build_image([buf.getvalue()])
    layout = write_oci_layout(tmp_path / "layout", img, tag="v1")
    r = run_cli("sbom", "image", f"oci:{layout}")
    assert r.exit_code == 0, r.stderr
    assert "warning:" in r.stderr
    names = {c["name"] for c in json.loads(r.stdout)["components"]}
    assert names == {"musl"}  # kept inside the root, never written outside it


def test_rpm_and_apk_images_from_real_databases(external: Path, tmp_path: Path) -> None:
    """Real package databases (shared/external/os-packages) inside built images, read through layers."""
    base = external / "os-packages"
    rpmdb = base / "rpm/go-rpmdb-cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite"
    apkdb = base / "alpine/syft-multiple-1/lib/apk/db/installed"
    if not rpmdb.is_file() or not apkdb.is_file():
        pytest.skip("os-packages test data is absent")
    rpm_image = build_image([[
        File("/etc/os-release", b'ID=mariner\nVERSION_ID="2.0"\n'),
        Dir("/usr/lib/sysimage/rpm"),
        File("/usr/lib/sysimage/rpm/rpmdb.sqlite", rpmdb.read_bytes()),
    ], [
        # /var/lib/rpm -> ../../usr/lib/sysimage/rpm, as Fedora ships it
        Symlink("/var/lib/rpm", "../../usr/lib/sysimage/rpm"),
    ]])
    r = run_cli("sbom", "image", f"oci:{write_oci_layout(tmp_path / 'rpm', rpm_image, tag='v1')}")
    assert r.exit_code == 0, r.stderr
    comps = json.loads(r.stdout)["components"]
    assert len(comps) == 129
    curl = next(c for c in comps if c["name"] == "curl")
    assert curl["purl"] == ("pkg:rpm/mariner/curl@7.76.0-6.cm2?arch=x86_64&distro=mariner-2.0"
                            "&upstream=curl-7.76.0-6.cm2.src.rpm")
    apk_image = build_image([[
        File("/etc/os-release", b"ID=alpine\nVERSION_ID=3.19.0\n"),
        File("/lib/apk/db/installed", apkdb.read_bytes()),
    ]])
    r = run_cli("sbom", "image", f"oci:{write_oci_layout(tmp_path / 'apk', apk_image, tag='v1')}")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    purls = sorted(c["purl"] for c in doc["components"])
    assert purls == [
        "pkg:apk/alpine/bash@5.2.21-r0?arch=x86_64&distro=alpine-3.19.0",
        "pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=alpine-3.19.0&upstream=busybox",
        "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.0",
        "pkg:apk/alpine/readline@8.2.1-r2?arch=x86_64&distro=alpine-3.19.0",
    ]
