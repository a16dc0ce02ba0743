"""SPDX license normalisation and allow / deny evaluation; CPE candidates."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplychain.sbom.cpe import cpe_candidates, format_cpe
from supplychain.sbom.licenses import (
    DEBIAN,
    DEPRECATED,
    classify_license,
    evaluate_license,
    is_spdx_expression,
    normalize_license,
    spdx_id,
)


@pytest.mark.parametrize("raw,expected", [
    ("GPL-2+", ("id", "GPL-2.0-or-later")),
    ("GPL-2", ("id", "GPL-2.0-only")),
    ("LGPL-2.1", ("id", "LGPL-2.1-only")),  # deprecated SPDX id
    ("LGPL-2.1+", ("id", "LGPL-2.1-or-later")),
    ("GPL-3.0+", ("id", "GPL-3.0-or-later")),
    ("Expat", ("id", "MIT")),
    ("mit", ("id", "MIT")),
    ("BSD-3-clause", ("id", "BSD-3-Clause")),
    ("Apache-2", ("id", "Apache-2.0")),
    ("CC0", ("id", "CC0-1.0")),
    ("GFDL-NIV-1.2+", ("id", "GFDL-1.2-no-invariants-or-later")),
    ("LGPLv2.1+", ("id", "LGPL-2.1-or-later")),
    ("Perl", ("expression", "Artistic-1.0-Perl OR GPL-1.0-or-later")),
    ("GPL-2.0-with-classpath-exception", ("expression", "GPL-2.0-only WITH Classpath-exception-2.0")),
    ("MIT or (GPL-2 and bsd-3-clause)", ("expression", "MIT OR (GPL-2.0-only AND BSD-3-Clause)")),
    ("Perl AND MIT", ("expression", "(Artistic-1.0-Perl OR GPL-1.0-or-later) AND MIT")),
    ("public-domain", ("name", "public-domain")),
    ("Permission is hereby granted, free of charge", ("name", "Permission is hereby granted, free of charge")),
    ("LicenseRef-Proprietary", ("expression", "LicenseRef-Proprietary")),
])
def test_classify_and_normalise(raw: str, expected: tuple[str, str]) -> None:
    assert classify_license(raw) == expected


def test_tables_name_real_spdx_ids() -> None:
    """Every normalisation target is in the SPDX list the CycloneDX schema enforces (or an expression of them)."""
    for target in [*DEPRECATED.values(), *DEBIAN.values()]:
        assert is_spdx_expression(target), target
        for token in target.replace("(", " ").replace(")", " ").split():
            if token not in ("AND", "OR", "WITH"):
                assert spdx_id(token) == token, (target, token)


def test_deprecated_table_agrees_with_license_expression() -> None:
    """The deprecated-id table agrees with the license-expression library's SPDX index."""
    from license_expression import get_spdx_licensing

    licensing = get_spdx_licensing()
    for old, new in DEPRECATED.items():
        if " " in new or old in ("BSD-2-Clause-NetBSD", "Nunit", "wxWindows", "eCos-2.0"):
            continue  # exceptions and the ids SPDX retired into something else
        assert licensing.parse(old).render("{symbol.key}") == new, old


@pytest.mark.parametrize("expr,kw,status,blocked", [
    ("MIT OR GPL-3.0-only", {"deny": ["GPL-3.0-only"]}, "allowed", []),
    ("MIT AND GPL-3.0-only", {"deny": ["GPL-3.0-only"]}, "denied", ["GPL-3.0-only"]),
    ("GPL-3+", {"deny": ["GPL-3.0-or-later"]}, "denied", ["GPL-3.0-or-later"]),  # Debian name
    ("GPL-3.0", {"deny": ["GPL-3.0-only"]}, "denied", ["GPL-3.0-only"]),  # deprecated id
    ("LGPL-2.1", {"deny": ["LGPL-2.1-or-later"]}, "allowed", []),  # "only" is another license
    ("MIT", {"deny": ["GPL-3.0+"]}, "allowed", []),
    ("(MIT OR Apache-2.0) AND BSD-3-Clause", {"allow": ["Apache-2.0", "BSD-3-Clause"]}, "allowed", []),
    ("MIT AND GPL-3.0-only", {"allow": ["MIT", "Apache-2.0"]}, "denied", []),
    ("GPL-2.0-only WITH Classpath-exception-2.0", {"deny": ["GPL-2.0-only"]}, "denied",
     ["GPL-2.0-only WITH Classpath-exception-2.0"]),
    ("GPL-2.0-only WITH Classpath-exception-2.0", {"allow": ["GPL-2.0-only"]}, "allowed", []),
    ("some words", {"deny": ["MIT"]}, "unknown", []),
    ("some words", {"deny": ["Some Words"]}, "denied", ["some words"]),
    ("", {"deny": ["MIT"]}, "unknown", []),
])
def test_evaluate_license(expr: str, kw: dict[str, list[str]], status: str, blocked: list[str]) -> None:
    d = evaluate_license(expr, **kw)  # type: ignore[arg-type]
    assert d.status == status, d
    assert d.denied == blocked
    if status == "denied" and "allow" in kw:
        assert d.not_allowed and d.reason.startswith("not in the allow list")


def test_evaluate_unknown_fails_closed_for_allow_lists() -> None:
    d = evaluate_license("Custom Corp EULA", allow=["MIT"])
    assert d.status == "unknown" and not d.allowed


def test_normalize_keeps_text() -> None:
    assert normalize_license("  GPL-2+ ") == "GPL-2.0-or-later"
    assert normalize_license("The MIT license text\nline 2") == "The MIT license text\nline 2"


def test_cpe_candidates() -> None:
    deb = cpe_candidates(name="libc6", version="2.36-9+deb12u4",
                         purl="pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc")
    assert deb[0] == "cpe:2.3:a:libc6:libc6:2.36-9\\+deb12u4:*:*:*:*:*:*:*"  # syft's choice
    assert "cpe:2.3:a:glibc:glibc:2.36-9\\+deb12u4:*:*:*:*:*:*:*" in deb
    assert "cpe:2.3:a:debian:libc6:2.36-9\\+deb12u4:*:*:*:*:*:*:*" in deb
    py = cpe_candidates(name="PyYAML", version="6.0.2", purl="pkg:pypi/pyyaml@6.0.2")
    assert py[0] == "cpe:2.3:a:pyyaml:pyyaml:6.0.2:*:*:*:*:*:*:*"
    assert "cpe:2.3:a:python:pyyaml:6.0.2:*:*:*:*:*:*:*" in py
    npm = cpe_candidates(name="core", version="7.0.0", purl="pkg:npm/%40babel/core@7.0.0")
    assert "cpe:2.3:a:babel:core:7.0.0:*:*:*:*:*:*:*" in npm
    php = cpe_candidates(name="http-kernel", version="v6.4.1", group="symfony",
                         purl="pkg:composer/symfony/http-kernel@v6.4.1")
    assert php[0] == "cpe:2.3:a:symfony:http-kernel:v6.4.1:*:*:*:*:*:*:*"
    assert "cpe:2.3:a:symfony:http_kernel:v6.4.1:*:*:*:*:*:*:*" in php
    assert cpe_candidates(name="x", version=None, purl="pkg:npm/x") == []  # no version, no CPE
    assert cpe_candidates(name="w.gguf", version="1", purl=None, component_type="machine-learning-model") == []
    assert len(set(deb)) == len(deb) <= 5
    assert format_cpe("a:b", "c*d", "1 2") == "cpe:2.3:a:a\\:b:c\\*d:1\\ 2:*:*:*:*:*:*:*"


def test_cpes_match_syft_on_debian_fixture(external: Path, tmp_path: Path) -> None:
    """syft's primary CPE for each Debian package of its own fixture is our primary one."""
    from tests.catalogers.helpers import catalog_dir

    src = external / "os-packages" / "debian" / "syft-status.d" / "var" / "lib" / "dpkg" / "status.d"
    dst = tmp_path / "var" / "lib" / "dpkg" / "status.d"
    dst.mkdir(parents=True)
    for name in ("single", "coreutils-relationships"):  # not "corrupt": a cataloger error there is right
        (dst / name).write_bytes((src / name).read_bytes())
    packages, _ = catalog_dir(tmp_path)
    got = {p.name: cpe_candidates(name=p.name, version=p.version, purl=p.purl)[0] for p in packages}
    # from `syft dir:` (1.18.1) over the same fixture
    assert got["apt"] == "cpe:2.3:a:apt:apt:1.8.2:*:*:*:*:*:*:*"
    assert got["libattr1"] == "cpe:2.3:a:libattr1:libattr1:1\\:2.5.1-4:*:*:*:*:*:*:*"
    assert got["gcc-12-base"] == "cpe:2.3:a:gcc-12-base:gcc-12-base:12.2.0-14:*:*:*:*:*:*:*"


def test_evaluate_license_globs() -> None:
    assert evaluate_license("AGPL-3.0-or-later OR LicenseRef-x", deny=["AGPL-*"]).status == "allowed"
    d = evaluate_license("agpl-3.0-only", deny=["AGPL-*"])
    assert d.status == "denied" and d.denied == ["AGPL-3.0-only"]
    d = evaluate_license("GPL-3+ AND MIT", deny=["gpl-3.0-*"])  # Debian name, normalised, then matched
    assert d.status == "denied" and d.denied == ["GPL-3.0-or-later"]
    assert evaluate_license("BSD-3-Clause", allow=["BSD-*", "MIT"]).status == "allowed"
    assert evaluate_license("Apache-2.0", allow=["BSD-*", "MIT"]).status == "denied"
