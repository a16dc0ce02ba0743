"""Report formats: SARIF 2.1.0 validity and rule metadata, text grouping and colour."""

from __future__ import annotations

import json
from pathlib import Path

from supplychain.policy.findings import RULES
from tests.conftest import run_cli

CORPUS = Path(__file__).parent / "corpus"
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0-rtm.5.json"


def test_sarif_is_valid_and_carries_rule_metadata(tmp_path: Path) -> None:
    import jsonschema  # a test dependency (the `test` extra): never skipped
    out = tmp_path / "report.sarif"
    r = run_cli("policy", "check", str(CORPUS / "bad"), "--format", "sarif", "-o", str(out))
    assert r.exit_code == 1 and r.stdout == ""
    doc = json.loads(out.read_text())
    schema = json.loads(SARIF_SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    # (IMG-* rules are listed when images are checked: tests/imagecheck)
    assert {rule["id"] for rule in rules} == {r for r in RULES if RULES[r].kind not in ("gate", "image-contents")}
    for rule in rules:
        assert rule["help"]["text"] and rule["shortDescription"]["text"] and rule["name"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    results = run["results"]
    assert results
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert not loc["artifactLocation"]["uri"].startswith("/") or "uriBaseId" not in loc["artifactLocation"]
        assert loc["region"]["startLine"] >= 1
        assert "Fix:" in res["message"]["text"]


def test_sarif_of_a_clean_run_is_valid(tmp_path: Path) -> None:
    import jsonschema  # a test dependency (the `test` extra): never skipped
    r = run_cli("policy", "check", str(CORPUS / "good"), "--format", "sarif",
                "--trusted-registry", "ghcr.io/acme/**", "--trusted-registry", "registry.internal:5000/*")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(doc)
    assert doc["runs"][0]["results"] == []


def test_text_report_groups_by_file_and_colours_only_when_asked() -> None:
    r = run_cli("policy", "check", str(CORPUS / "bad"))
    assert r.exit_code == 1
    assert "\033[" not in r.stdout  # not a terminal
    headers = [ln for ln in r.stdout.splitlines() if ln and not ln.startswith(" ")]
    files = [h for h in headers if not h.startswith("FAILED")]
    assert len(files) == len(set(files)) == len(list((CORPUS / "bad").iterdir()))
    assert "fix:" in r.stdout
    coloured = run_cli("policy", "check", str(CORPUS / "bad"), "--color")
    assert "\033[31;1m" in coloured.stdout
