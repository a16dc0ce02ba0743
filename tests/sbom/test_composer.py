"""sbom composer: the bundled example, inputs, dev handling, bad input, hostile input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError
from supplychain.sbom.composer import (
    composer_bom,
    is_platform_requirement,
    packages_from_installed,
    packages_from_lock,
)
from supplychain.sbom.cyclonedx import render_bom
from supplychain.sbom.validate import json_schema_errors
from tests.conftest import FIXTURES, run_cli
from tests.sbom.schemacheck import xml_errors

DEMO = FIXTURES / "composer" / "demo-app"
DEV = ("cdx:composer:package:isDevRequirement", "true")


def _lock(packages: list[dict[str, Any]], dev: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"content-hash": "x", "packages": packages, "packages-dev": dev or []}


def _pkg(name: str, version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": version, "type": "library", **extra}


def _project(tmp_path: Path, manifest: dict[str, Any] | None, lock: dict[str, Any] | None) -> Path:
    if manifest is not None:
        (tmp_path / "composer.json").write_text(json.dumps(manifest))
    if lock is not None:
        (tmp_path / "composer.lock").write_text(json.dumps(lock))
    return tmp_path


def test_demo_app(tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    r = run_cli("sbom", "composer", str(DEMO), "--output-reproducible", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    doc = json.loads(out.read_text())
    assert json_schema_errors(doc, "1.6") == []
    root = doc["metadata"]["component"]
    assert root["purl"] == "pkg:composer/acme/invoice-service@1.4.0" and root["type"] == "application"
    by = {c["purl"]: c for c in doc["components"]}
    assert len(by) == 21
    sdk = by["pkg:composer/acme/billing-sdk@2.3.1"]
    assert sdk["hashes"] == [{"alg": "SHA-1", "content": "8f0e7a4d9b2c1e3f5a6b7c8d9e0f1a2b3c4d5e6f"}]
    assert sdk["licenses"][0]["license"]["name"] == "proprietary"  # unknown: kept as a name
    kernel = by["pkg:composer/acme/shared-kernel@dev-main"]
    assert kernel["licenses"] == [{"expression": "MIT OR Apache-2.0", "acknowledgement": "declared"}]
    assert {"type": "distribution", "url": "packages/shared-kernel",
            "comment": "dist reference: 5d1c2b9e0e1f4a6b8c0d2e4f6a8b0c2d4e6f8a0b"} in kernel["externalReferences"]
    meta = by["pkg:composer/roave/security-advisories@dev-latest"]
    assert {"name": "cdx:composer:package:type", "value": "metapackage"} in meta["properties"]
    assert meta["scope"] == "excluded"
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    # provide resolved: billing-sdk requires psr/log-implementation, which monolog provides
    assert "pkg:composer/monolog/monolog@3.5.0" in deps[sdk["bom-ref"]]
    # platform requirements (php, ext-*, lib-*) never become edges or components
    names = {c["name"] for c in doc["components"]}
    assert not names & {"php", "ext-json", "ext-pcre", "lib-pcre", "ext-ctype", "ext-mbstring"}
    assert all(d in deps for ds in deps.values() for d in ds)
    assert sorted(deps[root["bom-ref"]]) == sorted(
        c["bom-ref"] for c in doc["components"]
        if c["name"] in ("billing-sdk", "shared-kernel", "guzzle", "monolog", "phpdotenv", "mockery", "security-advisories")
    )
    # two runs, same bytes
    r2 = run_cli("sbom", "composer", str(DEMO / "composer.json"), "--output-reproducible")
    assert r2.exit_code == 0 and r2.stdout_bytes == out.read_bytes()


def test_omit_dev_and_formats(tmp_path: Path) -> None:
    root, pkgs = composer_bom(DEMO, omit_dev=True, root_version="9.9.9")
    assert root.version == "9.9.9"
    names = {p.name for p in pkgs}
    assert "mockery" not in names and "hamcrest-php" not in names and "security-advisories" not in names
    assert len(pkgs) == 18 and all(p.scope is None for p in pkgs)
    refs = {p.bom_ref for p in pkgs}
    assert all(d in refs for p in pkgs for d in p.dependencies)
    assert all(d in refs for d in root.dependencies)
    for spec in ("1.4", "1.5", "1.6"):
        assert xml_errors(render_bom(root, pkgs, spec_version=spec, fmt="xml"), spec) == []
        assert json_schema_errors(json.loads(render_bom(root, pkgs, spec_version=spec)), spec) == []
    r = run_cli("sbom", "composer", str(DEMO), "--omit", "dev", "--output-format", "xml", "--spec-version", "1.4")
    assert r.exit_code == 0 and r.stdout.startswith("<?xml") and "mockery" not in r.stdout


def test_dev_only_reached_through_dev_is_dropped(tmp_path: Path) -> None:
    # Composer 1 installed.json has no dev flags: dev = reachable only from require-dev
    (tmp_path / "vendor" / "composer").mkdir(parents=True)
    (tmp_path / "composer.json").write_text(json.dumps(
        {"name": "a/app", "require": {"a/lib": "*"}, "require-dev": {"a/test": "*"}}))
    installed = [
        _pkg("a/lib", require={"a/shared": "*"}),
        _pkg("a/test", require={"a/shared": "*", "a/testonly": "*"}),
        _pkg("a/shared"),
        _pkg("a/testonly"),
    ]
    (tmp_path / "vendor" / "composer" / "installed.json").write_text(json.dumps(installed))
    _, pkgs = composer_bom(tmp_path)
    dev = {p.name for p in pkgs if p.scope == "excluded"}
    assert dev == {"test", "testonly"}
    assert all(DEV in p.properties for p in pkgs if p.name in dev)
    _root, kept = composer_bom(tmp_path, omit_dev=True)
    assert {p.name for p in kept} == {"lib", "shared"}


def test_replace_and_provide_resolution() -> None:
    lock = _lock([
        _pkg("laravel/framework", replace={"illuminate/support": "self.version"}),
        _pkg("monolog/monolog", provide={"psr/log-implementation": "3.0"}),
        _pkg("other/logger", provide={"psr/log-implementation": "3.0"}),
        _pkg("app/thing", require={"illuminate/support": "^7", "psr/log-implementation": "*", "php": ">=8",
                                   "ext-json": "*", "composer-plugin-api": "^2", "missing/pkg": "*"}),
    ])
    pkgs = {p.name: p for p in packages_from_lock(lock, source="composer.lock")}
    assert sorted(pkgs["thing"].dependencies) == sorted(
        [pkgs["framework"].bom_ref, pkgs["monolog"].bom_ref, pkgs["logger"].bom_ref])


def test_platform_requirements() -> None:
    for name in ("php", "php-64bit", "hhvm", "ext-json", "ext-pdo_mysql", "lib-pcre", "composer-plugin-api",
                 "composer-runtime-api", "composer"):
        assert is_platform_requirement(name), name
    for name in ("psr/log", "phpunit/phpunit", "php-http/discovery", "extension/x"):
        assert not is_platform_requirement(name), name


def test_installed_v2_dev_names_and_hash() -> None:
    data = {"packages": [_pkg("a/b", dist={"type": "zip", "url": "https://x/b.zip", "shasum": "A" * 40}),
                         _pkg("a/c", dist={"type": "zip", "url": "https://x/c.zip", "shasum": "not-a-sha1"})],
            "dev": True, "dev-package-names": ["a/c"]}
    pkgs = {p.name: p for p in packages_from_installed(data, source="installed.json")}
    assert pkgs["b"].hashes == {"SHA-1": "a" * 40}
    assert pkgs["c"].hashes == {} and pkgs["c"].scope == "excluded"


# --- bad input: exit 2, a clear message, nothing on stdout, no output file ------------------


def _fails(args: list[str], tmp_path: Path, *fragments: str) -> None:
    out = tmp_path / "out.json"
    r = run_cli("sbom", "composer", *args, "-o", str(out))
    assert r.exit_code == 2, (r.exit_code, r.stderr)
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    for f in fragments:
        assert f in r.stderr, (f, r.stderr)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.json")] == []


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "composer.json").write_text('{"name": "a/b"}')
    (tmp_path / "composer.lock").write_text('{\n  "packages": [\n    {"name": "a/b",,}\n  ]\n}\n')
    _fails([str(tmp_path)], tmp_path, "composer.lock", "line 3", "column")


def test_manifest_without_lock(tmp_path: Path) -> None:
    _project(tmp_path, {"name": "a/b", "require": {"c/d": "*"}}, None)
    _fails([str(tmp_path)], tmp_path, "composer.json", "composer.lock", "composer update")
    _fails([str(tmp_path / "composer.json")], tmp_path, "composer update")


def test_entry_missing_name_or_version(tmp_path: Path) -> None:
    _project(tmp_path, None, _lock([_pkg("a/ok"), {"version": "1.0"}]))
    _fails([str(tmp_path)], tmp_path, "packages[1]", "no package name")
    _project(tmp_path, None, _lock([_pkg("a/ok")], dev=[{"name": "x/noversion"}]))
    _fails([str(tmp_path)], tmp_path, "packages-dev[0]", "x/noversion", "no version")


def test_duplicate_packages_are_an_error(tmp_path: Path) -> None:
    _project(tmp_path, None, _lock([_pkg("a/b"), _pkg("a/c")], dev=[_pkg("A/B", "2.0")]))
    _fails([str(tmp_path)], tmp_path, "listed twice", "packages[0]", "packages-dev[0]")


def test_unreadable_paths(tmp_path: Path) -> None:
    _fails([str(tmp_path / "nope")], tmp_path, "no such file")
    (tmp_path / "empty").mkdir()
    _fails([str(tmp_path / "empty")], tmp_path, "no composer.json")
    (tmp_path / "composer.lock").write_text('["not", "a", "lock"]')
    _fails([str(tmp_path / "composer.lock")], tmp_path, "not a composer.lock")
    (tmp_path / "bin.lock").write_bytes(b"\xff\xfe\x00garbage")
    _fails([str(tmp_path / "bin.lock")], tmp_path, "bin.lock")


def test_output_into_missing_directory(tmp_path: Path) -> None:
    r = run_cli("sbom", "composer", str(DEMO), "-o", str(tmp_path / "no" / "dir" / "bom.json"))
    assert r.exit_code == 2 and r.stdout == "" and "does not exist" in r.stderr


def test_lone_lock_gets_directory_root(tmp_path: Path) -> None:
    d = tmp_path / "My Project"
    d.mkdir()
    _project(d, None, _lock([_pkg("a/lib", require={"a/dep": "*"}), _pkg("a/dep")], dev=[_pkg("a/t")]))
    root, pkgs = composer_bom(d / "composer.lock")
    assert root.name == "my-project" and root.version is None
    by = {p.name: p for p in pkgs}
    assert sorted(root.dependencies) == sorted([by["lib"].bom_ref, by["t"].bom_ref])


def test_warning_for_requirement_missing_from_lock(tmp_path: Path) -> None:
    _project(tmp_path, {"name": "a/app", "require": {"a/lib": "*", "a/gone": "*"}}, _lock([_pkg("a/lib")]))
    r = run_cli("sbom", "composer", str(tmp_path))
    assert r.exit_code == 0
    assert "a/gone" in r.stderr and "outdated" in r.stderr
    json.loads(r.stdout)


# --- hostile input ---------------------------------------------------------------------------

_json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
_json = st.recursive(_json_scalar, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=8), c, max_size=4)), max_leaves=12)
_entry = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=30), "version": st.text(min_size=1, max_size=12)},
    optional={k: _json for k in ("license", "authors", "support", "dist", "source", "require", "replace",
                                  "provide", "homepage", "description", "type")},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packages=st.lists(_entry, max_size=6), dev=st.lists(_entry, max_size=3))
@example(packages=[], dev=[{"name": "/\r", "version": "0"}])  # packageurl raised TypeError (found by hypothesis)
def test_hostile_lock_entries_never_crash(packages: list[dict[str, Any]], dev: list[dict[str, Any]]) -> None:
    try:
        pkgs = packages_from_lock(_lock(packages, dev), source="composer.lock")
    except InputError:
        return
    root, _ = composer_bom_root()
    for spec in ("1.4", "1.6"):
        doc = json.loads(render_bom(root, pkgs, spec_version=spec))
        assert json_schema_errors(doc, spec) == []
    render_bom(root, pkgs, fmt="xml")


@settings(max_examples=40, deadline=None)
@given(data=_json)
def test_hostile_documents_raise_input_error_only(data: Any) -> None:
    for func in (packages_from_lock, packages_from_installed):
        try:
            func(data, source="x.json")
        except InputError:
            pass


def composer_bom_root() -> tuple[Any, None]:
    from supplychain.sbom.package import Package

    return Package(name="root", version="1", purl="pkg:composer/r/root@1", type="application"), None
