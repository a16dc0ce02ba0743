"""A file argument `-` is standard input (issue 16), for the SBOM tools as for policy check and gate."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

BOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
       "components": [{"type": "library", "name": "zlib", "version": "1.3", "bom-ref": "pkg:generic/zlib@1.3",
                       "purl": "pkg:generic/zlib@1.3"}]}


def test_sbom_tools_read_standard_input(tmp_path: Path) -> None:
    raw = json.dumps(BOM).encode()
    r = run_cli("sbom", "validate", "-", input=raw)
    assert r.exit_code == 0 and "valid CycloneDX 1.6" in r.stdout, r.stderr
    r = run_cli("sbom", "inspect", "-", "--format", "json", input=raw)
    assert r.exit_code == 0, r.stderr
    r = run_cli("sbom", "convert", "-", "--to", "spdx-json", input=raw)
    assert r.exit_code == 0 and json.loads(r.stdout)["spdxVersion"] == "SPDX-2.3", r.stderr
    newer = dict(BOM, components=[*BOM["components"], {"type": "library", "name": "x", "version": "1",  # type: ignore[list-item]
                                                       "bom-ref": "pkg:generic/x@1", "purl": "pkg:generic/x@1"}])
    (tmp_path / "new.json").write_text(json.dumps(newer))
    r = run_cli("sbom", "diff", "-", str(tmp_path / "new.json"), "--fail-on", "added", input=raw)
    assert r.exit_code == 1 and "pkg:generic/x@1" in r.stdout, r.stdout + r.stderr


def test_bad_standard_input_is_an_input_error() -> None:
    r = run_cli("sbom", "validate", "-", input=b"")
    assert r.exit_code == 2 and r.stderr.startswith("error: -:"), r.stderr
