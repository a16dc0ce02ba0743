"""Conformance: the package databases in shared/external/os-packages give exactly the packages
their SOURCES.md lists (EXPECTED-packages.tsv where present); corrupt ones a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplychain.errors import InputError
from tests.catalogers.helpers import by_name, catalog, catalog_dir, read_tsv, tree_from_files


@pytest.fixture(scope="module")
def os_packages(external: Path) -> Path:
    root = external / "os-packages"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    return root


# --- apk ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["syft-multiple-1", "trivy-apk"])
def test_apk_expected_tsv(os_packages: Path, case: str) -> None:
    root = os_packages / "alpine" / case
    packages, _ = catalog_dir(root)
    expected = read_tsv(root / "EXPECTED-packages.tsv")
    got = {(p.name, p.version) for p in packages}
    assert got == {(r["name"], r["version"]) for r in expected}
    assert len(packages) == len(expected)
    pk = by_name(packages)
    for row in expected:
        p = pk[row["name"]]
        assert p.purl is not None and p.purl.startswith(f"pkg:apk/alpine/{row['name']}@")
        assert f"arch={row['arch']}" in p.purl
        assert ("supplychain:apk:origin", row["origin"]) in p.properties
        assert p.ecosystem == "apk" and p.location == "/lib/apk/db/installed"


def test_apk_multiple_dependencies(os_packages: Path) -> None:
    packages, _ = catalog_dir(os_packages / "alpine" / "syft-multiple-1")
    pk = by_name(packages)
    ref = {n: p.bom_ref for n, p in pk.items()}
    assert set(pk["bash"].dependencies) == {ref["busybox-binsh"], ref["readline"], ref["musl"]}
    assert pk["readline"].dependencies == [ref["musl"]]
    assert pk["musl"].dependencies == []
    assert pk["busybox-binsh"].licenses == ["GPL-2.0-only"]
    assert pk["bash"].licenses == ["GPL-3.0-or-later"]


def test_apk_trivy_licenses_and_missing_version(os_packages: Path) -> None:
    packages, ctx = catalog_dir(os_packages / "alpine" / "trivy-apk")
    pk = by_name(packages)
    assert "invalidPackageWithoutAVersion" not in pk
    assert any("invalidPackageWithoutAVersion" in n for n in ctx.notes)
    assert pk["musl-utils"].licenses == ["MIT", "BSD", "GPL-2.0-or-later"]
    assert pk["busybox"].licenses == ["GPL-2.0-only"]
    assert pk["alpine-keys"].licenses == ["GPL-2.0-or-later"]
    assert pk["ada-libs"].license_expression == "( Apache-2.0 OR MIT ) AND MPL-2.0"


def test_apk_single_and_base(os_packages: Path) -> None:
    packages, _ = catalog_dir(os_packages / "alpine" / "syft-single")
    assert [(p.name, p.version) for p in packages] == [("musl-utils", "1.1.24-r2")]
    assert ("supplychain:apk:checksum", "Q1bTtF5526tETKfL+lnigzIDvm+2o=") in packages[0].properties
    packages, _ = catalog_dir(os_packages / "alpine" / "syft-base")
    assert [(p.name, p.version, p.licenses) for p in packages] == [("alpine-baselayout", "3.2.0-r6", ["GPL-2.0-only"])]
    packages, _ = catalog_dir(os_packages / "alpine" / "syft-empty-deps-and-provides")
    assert [(p.name, p.dependencies) for p in packages] == [("alpine-baselayout-data", [])]


def test_apk_corrupt_is_a_clear_error(os_packages: Path) -> None:
    with pytest.raises(InputError) as err:
        catalog_dir(os_packages / "alpine" / "syft-corrupt")
    assert "/lib/apk/db/installed:1" in err.value.message


# --- dpkg --------------------------------------------------------------------------------------


def _status_d(os_packages: Path, name: str) -> bytes:
    return (os_packages / "debian" / "syft-status.d" / "var/lib/dpkg/status.d" / name).read_bytes()


def test_dpkg_image(os_packages: Path) -> None:
    packages, ctx = catalog_dir(os_packages / "debian" / "syft-image-dpkg")
    assert ctx.distro.qualifier == "debian-12"
    assert len(packages) == 1
    p = packages[0]
    assert (p.name, p.version) == ("libpam-runtime", "1.1.8-3.6")
    assert p.purl == "pkg:deb/debian/libpam-runtime@1.1.8-3.6?arch=all&distro=debian-12&upstream=pam"
    assert p.licenses == ["GPL-1", "GPL-2", "LGPL-2.1"]
    assert ("supplychain:deb:source", "pam") in p.properties
    assert p.location == "/var/lib/dpkg/status"


def test_dpkg_distroless(os_packages: Path) -> None:
    packages, _ = catalog_dir(os_packages / "debian" / "syft-image-distroless-deb")
    assert len(packages) == 1
    p = packages[0]
    assert (p.name, p.version) == ("libsqlite3-0", "3.34.1-3")
    assert "arch=arm64" in (p.purl or "") and "upstream=sqlite3" in (p.purl or "")
    assert sorted(p.licenses) == sorted(["public-domain", "GPL-2+", "GPL-2"])
    assert p.location == "/var/lib/dpkg/status.d/libsqlite3-0"


def test_dpkg_status_d_single_and_multiple(os_packages: Path) -> None:
    packages, _ = catalog(tree_from_files({"/var/lib/dpkg/status.d/single": _status_d(os_packages, "single")}))
    assert [(p.name, p.version) for p in packages] == [("apt", "1.8.2")]
    assert packages[0].supplier == "APT Development Team <deity@lists.debian.org>"
    assert ("supplychain:deb:installed-size-kib", "4064") in packages[0].properties
    packages, ctx = catalog(tree_from_files({"/var/lib/dpkg/status.d/multiple": _status_d(os_packages, "multiple")}))
    assert sorted((p.name, p.version) for p in packages) == [("tzdata", "2020a-0+deb10u1"), ("util-linux", "2.33.1-0.1")]
    assert any("no-version" in n for n in ctx.notes)


def test_dpkg_relationships(os_packages: Path) -> None:
    files = {"/var/lib/dpkg/status": _status_d(os_packages, "coreutils-relationships")}
    packages, _ = catalog(tree_from_files(files))
    assert len(packages) == 9
    pk = by_name(packages)
    ref = {n: p.bom_ref for n, p in pk.items()}

    def deps(name: str) -> set[str]:
        return set(pk[name].dependencies)

    assert deps("coreutils") == {ref[n] for n in ("libacl1", "libattr1", "libc6", "libgmp10", "libselinux1")}
    for n in ("libacl1", "libattr1", "libgmp10", "libpcre2-8-0"):
        assert deps(n) == {ref["libc6"]}
    assert deps("libc6") == {ref["libgcc-s1"]}
    assert deps("libgcc-s1") == {ref["gcc-12-base"], ref["libc6"]}
    assert deps("libselinux1") == {ref["libc6"], ref["libpcre2-8-0"]}
    assert (pk["libgcc-s1"].purl or "").endswith("&upstream=gcc-12")
    selinux = pk["libselinux1"]  # "Source: libselinux (3.4-1)": name and version
    assert ("supplychain:deb:source-version", "3.4-1") in selinux.properties
    assert "upstream=libselinux%403.4-1" in (selinux.purl or "")


def test_dpkg_deinstall_and_empty(os_packages: Path) -> None:
    packages, _ = catalog(tree_from_files({"/var/lib/dpkg/status": _status_d(os_packages, "deinstall")}))
    assert [(p.name, p.version) for p in packages] == [("linux-image-6.14.0-1012-aws", "6.14.0-1012.12~24.04.1")]
    packages, _ = catalog(tree_from_files({"/var/lib/dpkg/status": _status_d(os_packages, "empty")}))
    assert packages == []


def test_dpkg_corrupt_is_a_clear_error(os_packages: Path) -> None:
    with pytest.raises(InputError) as err:
        catalog(tree_from_files({"/var/lib/dpkg/status.d/corrupt": _status_d(os_packages, "corrupt")}))
    assert err.value.message.startswith("/var/lib/dpkg/status.d/corrupt:5:")
    with pytest.raises(InputError):
        catalog_dir(os_packages / "debian" / "syft-status.d")


def test_dpkg_trivy_third_party(os_packages: Path) -> None:
    root = os_packages / "debian" / "trivy-third-party"
    packages, _ = catalog_dir(root)
    expected = read_tsv(root / "EXPECTED-packages.tsv")
    assert sorted((p.name, p.version) for p in packages) == sorted((r["name"], r["version"]) for r in expected)
    docker = by_name(packages)["docker-ce"]
    assert docker.purl == "pkg:deb/debian/docker-ce@5:20.10.7~3-0~debian-buster?arch=amd64"


# --- rpm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["go-rpmdb-cbl-mariner-2.0", "syft-bdb"])
def test_rpm_expected_tsv(os_packages: Path, case: str) -> None:
    root = os_packages / "rpm" / case
    packages, _ = catalog_dir(root)
    expected = read_tsv(root / "EXPECTED-packages.tsv")
    assert len(packages) == len(expected)

    def key(r: dict[str, str]) -> tuple[str, ...]:
        epoch = "" if r["epoch"] == "(none)" else r["epoch"]
        return (r["name"], epoch, r["version"], r["release"], r["arch"], r["license"], r["sourcerpm"])

    got = set()
    for p in packages:
        props = dict(p.properties)
        version, _, release = (p.version or "").split(":")[-1].rpartition("-")
        got.add(
            (p.name, props.get("supplychain:rpm:epoch", ""), version, release, props["supplychain:rpm:arch"],
             p.license_expression or "", props["supplychain:rpm:sourcerpm"])
        )
    assert got == {key(r) for r in expected}


def test_rpm_mariner_details(os_packages: Path) -> None:
    packages, _ = catalog_dir(os_packages / "rpm" / "go-rpmdb-cbl-mariner-2.0")
    pk = by_name(packages)
    curl = pk["curl"]
    assert curl.version == "7.76.0-6.cm2"
    assert curl.supplier == "Microsoft Corporation"
    assert ("supplychain:rpm:size", "326023") in curl.properties
    assert curl.purl == "pkg:rpm/redhat/curl@7.76.0-6.cm2?arch=x86_64&upstream=curl-7.76.0-6.cm2.src.rpm"
    assert curl.dependencies, "curl requires libcurl, glibc, ..."
    epoch_pkgs = [p for p in packages if "epoch=1" in (p.purl or "")]
    assert epoch_pkgs and all(p.name.startswith("ca-certificates") for p in epoch_pkgs)
    assert all((p.version or "").startswith("1:") for p in epoch_pkgs)
    assert "gpg-pubkey" not in pk


# --- composer installed.json -------------------------------------------------------------------


def test_composer_installed_v1_v2(os_packages: Path) -> None:
    for case in ("syft-composer_1", "syft-composer_2"):
        packages, _ = catalog_dir(os_packages / "composer-installed" / case)
        assert sorted(p.purl or "" for p in packages) == [
            "pkg:composer/asm89/stack-cors@1.3.0",
            "pkg:composer/behat/mink@v1.8.1",
        ]
        assert all(p.location == "/vendor/composer/installed.json" for p in packages)
    packages, _ = catalog_dir(os_packages / "composer-installed" / "syft-composer_2")
    assert by_name(packages)["behat/mink"].scope == "excluded"


def test_composer_nextcloud(os_packages: Path) -> None:
    root = os_packages / "composer-installed" / "nextcloud-3rdparty-v2"
    packages, _ = catalog_dir(root)
    expected = read_tsv(root / "EXPECTED-packages.tsv")
    assert len(packages) == 93
    assert {p.purl for p in packages} == {r["purl"] for r in expected}
    assert all(p.location == "/vendor/composer/installed.json" for p in packages)
