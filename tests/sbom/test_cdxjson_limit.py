"""The one walk over a CycloneDX document's components never stops silently at its bound: a part of
an SBOM judged as if it were all of it would hide whatever lies past the bound (found by the red
team: iter_components used to end quietly after 1,000,000 components)."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import InputError
from supplychain.gate import sbom_rules
from supplychain.gate.policy import SbomRules
from supplychain.sbom.cdxjson import iter_components


def _doc(n: int, nested: bool = False) -> dict[str, Any]:
    comps = [{"type": "library", "name": f"c{i}", "purl": f"pkg:npm/c{i}@1.0.0"} for i in range(n)]
    if nested:
        comps = [{"type": "library", "name": "outer", "components": comps}]
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": comps}


@pytest.mark.parametrize("nested", [False, True])
def test_more_components_than_the_bound_is_an_error(nested: bool) -> None:
    extra = 1 if nested else 0
    assert len(list(iter_components(_doc(5, nested), limit=5 + extra))) == 5 + extra
    with pytest.raises(InputError, match="refusing to read only part"):
        list(iter_components(_doc(6, nested), limit=5 + extra))


def test_the_gate_denies_an_sbom_it_cannot_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # the gate's SBOM rules with the walk's bound lowered to 5 (the real bound is 1,000,000)
    monkeypatch.setattr(sbom_rules, "iter_components", functools.partial(iter_components, limit=5))
    found: list[tuple[str, str]] = []
    doc = _doc(6)
    doc["components"][5]["purl"] = "pkg:npm/evil@6.6.6"
    rules = SbomRules(images=("*",), deny_packages=("pkg:npm/evil*",), deny_licenses=())
    assert sbom_rules.check_sbom_document(doc, rules, lambda rid, msg: found.append((rid, msg))) is None
    assert found and found[0][0] == "SC-GATE-002" and "refusing to read only part" in found[0][1]


def test_sbom_inspect_refuses_instead_of_truncating(tmp_path: Path) -> None:
    # a real process over a real file past the real bound, components written as one JSON stream
    path = tmp_path / "huge.cdx.json"
    with path.open("w") as f:
        f.write('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [')
        f.write(",".join('{"type":"library","name":"c"}' for _ in range(1_000_001)))
        f.write("]}")
    p = subprocess.run([sys.executable, "-m", "supplychain", "sbom", "inspect", str(path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], p.stderr[-500:])
    assert "refusing to read only part" in p.stderr and "Traceback" not in p.stderr
