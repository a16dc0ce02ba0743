"""JSON that parses but cannot be used: over-long integers, lone surrogate escapes, deep nesting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_robustness.helpers import fails_cleanly

BOM_HEAD = '{"bomFormat": "CycloneDX", "specVersion": "1.5", '


@pytest.fixture
def bad_boms(tmp_path: Path) -> dict[str, Path]:
    files = {
        # json.loads raises a plain ValueError (not JSONDecodeError) for > 4300 digits
        "bignum": BOM_HEAD + '"version": ' + "9" * 5000 + "}",
        # a lone surrogate escape parses, but can never be written out as UTF-8
        "surrogate": BOM_HEAD + '"components": [{"type": "library", "name": "a\\ud800"}]}',
    }
    out = {}
    for name, text in files.items():
        p = tmp_path / f"{name}.json"
        p.write_text(text)
        out[name] = p
    good = tmp_path / "good.json"
    good.write_text(BOM_HEAD + '"components": [{"type": "library", "name": "a", "version": "1"}]}')
    out["good"] = good
    return out


@pytest.mark.parametrize("name", ["bignum", "surrogate"])
def test_sbom_tools_reject_unusable_json(bad_boms: dict[str, Path], name: str) -> None:
    bad = str(bad_boms[name])
    for args in (["sbom", "validate", bad], ["sbom", "inspect", bad], ["sbom", "inspect", "--json", bad],
                 ["sbom", "diff", str(bad_boms["good"]), bad]):
        res = fails_cleanly(*args, names=bad)
        assert "invalid JSON" in res.stderr


def test_composer_lock_with_lone_surrogate_writes_nothing(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "composer.json").write_text('{"name": "acme/app"}')
    (proj / "composer.lock").write_text(
        json.dumps({"packages": [{"name": "a/b", "version": "1.0", "description": "x"}]}).replace('"x"', '"\\udc80"'))
    out = tmp_path / "bom.json"
    for fmt in ("json", "xml"):
        fails_cleanly("sbom", "composer", str(proj), "--output-format", fmt, names="composer.lock")
        fails_cleanly("sbom", "composer", str(proj), "--output-format", fmt, "-o", str(out), names="composer.lock")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]  # no output, no temp file


def test_bundle_with_over_long_integer(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("data")
    (tmp_path / "key.pub").write_text("unused")
    bundle = tmp_path / "a.txt.sigstore.json"
    bundle.write_text('{"mediaType": ' + "1" * 5000 + "}")
    fails_cleanly("verify", "blob", str(tmp_path / "a.txt"), "--key", str(tmp_path / "key.pub"),
                  names=str(bundle))


def test_valid_surrogate_pairs_still_accepted(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    p = tmp_path / "emoji.json"
    p.write_text(BOM_HEAD + '"components": [{"type": "library", "name": "\\ud83d\\ude00", "version": "1"}]}')
    assert run_cli("sbom", "validate", str(p)).exit_code == 0
    empty = tmp_path / "empty.json"
    empty.write_text(BOM_HEAD + '"components": []}')
    res = run_cli("sbom", "diff", "--json", str(empty), str(p))
    assert res.exit_code == 0, res.stderr
    assert "\U0001f600" in json.dumps(json.loads(res.stdout), ensure_ascii=False)
