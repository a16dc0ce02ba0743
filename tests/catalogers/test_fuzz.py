"""Property-based tests: catalogers fed junk never crash with anything but InputError."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError
from supplychain.sbom.catalogers.rpm import HeaderError, parse_header, read_blobs
from tests.catalogers.helpers import catalog, tree_from_files

SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_N", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# line-ish junk that looks like the real formats often enough to get past the first check
_control_lines = st.lists(
    st.one_of(
        st.sampled_from(["Package: a", "Version: 1", "Status: install ok installed", "Depends: a | b (", "",
                         " continuation", "Provides: x,", "Source: s (", "Package:", "P:x", "V:1", "D:so:", "F:usr",
                         "R:bin", "p:cmd:x=1", "L:GPL2+ MIT", "A:x86_64", "o:", "Architecture: all"]),
        st.text(max_size=40),
    ),
    max_size=30,
)


def _run(path: str, data: bytes) -> None:
    try:
        catalog(tree_from_files({path: data}))
    except InputError:
        pass


@SETTINGS
@given(_control_lines)
def test_dpkg_junk(lines: list[str]) -> None:
    _run("/var/lib/dpkg/status", "\n".join(lines).encode("utf-8", "surrogatepass"))


@SETTINGS
@given(_control_lines)
def test_apk_junk(lines: list[str]) -> None:
    _run("/lib/apk/db/installed", "\n".join(lines).encode("utf-8", "surrogatepass"))


@SETTINGS
@given(st.binary(max_size=600))
def test_rpm_header_junk(blob: bytes) -> None:
    try:
        parse_header(blob)
    except HeaderError:
        pass


@SETTINGS
@given(st.sampled_from([b"SQLite format 3\x00", b"RpmP", b"\x00" * 12 + b"\x61\x15\x06\x00", b""]),
       st.binary(max_size=5000))
def test_rpm_db_junk(prefix: bytes, body: bytes) -> None:
    data = prefix + body
    try:
        list(read_blobs("/var/lib/rpm/Packages", data))
    except InputError:
        pass
    _run("/var/lib/rpm/Packages", data)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["name", "version", "license", "licenses", "dependencies", "packages", "type",
                         "node_modules/a", "requires", "dev", "integrity", "lockfileVersion", "author"]),
        children, max_size=5),
    max_leaves=20,
)


@SETTINGS
@given(_json)
def test_npm_and_composer_junk(doc: object) -> None:
    raw = json.dumps(doc).encode()
    packages, _ = catalog(tree_from_files({
        "/app/node_modules/x/package.json": raw,
        "/app/package-lock.json": raw,
        "/srv/vendor/composer/installed.json": raw,
        "/srv/composer.lock": raw,
    }))
    for p in packages:
        assert p.name and p.version


@SETTINGS
@given(st.binary(max_size=400))
def test_python_and_os_release_junk(data: bytes) -> None:
    catalog(tree_from_files({
        "/usr/lib/python3/dist-packages/x.dist-info/METADATA": data,
        "/usr/lib/python3/dist-packages/y.egg-info": data,
        "/etc/os-release": data,
    }))


@settings(max_examples=int(os.environ.get("FUZZ_N", "25")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(max_size=30), st.sampled_from([
    "git@github.com:o/r.git", "github:o/r", "o/r", "UNKNOWN", "https://x.org/a b", "git://h/x", "::", "a:b",
    "http://[::1", "javascript:alert(1)", "mailto:x@y"])), min_size=3, max_size=3))
def test_metadata_urls_always_give_a_valid_bom(urls: list[str]) -> None:
    """Whatever URLs npm / PyPI / apk metadata carry, the SBOM validates against the schema."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from supplychain.sbom.cyclonedx import render_bom
    from supplychain.sbom.package import Package

    home, repo, py_home = urls
    pj = json.dumps({"name": "x", "version": "1.0.0", "homepage": home, "repository": {"url": repo},
                     "resolved": repo})
    meta = f"Name: y\nVersion: 1\nHome-page: {py_home}\nProject-URL: Source, {home}\n".replace("\r", "")
    packages, _ = catalog(tree_from_files({
        "/a/node_modules/x/package.json": pj.encode(),
        "/s/y-1.dist-info/METADATA": meta.encode("utf-8", "surrogatepass"),
        "/lib/apk/db/installed": f"P:z\nV:1\nU:{py_home}\n".replace("\r", "").encode("utf-8", "surrogatepass")
        if "\n" not in py_home else b"P:z\nV:1\n",
    }))
    raw = render_bom(Package(name="root", version="1", type="container"), packages)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(raw.decode()) is None
