"""Policy files: schema validation with line numbers, shipped files, waivers (incl. expired)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from supplychain.errors import InputError
from supplychain.policy.config import default_policy, load_policy, policy_schema
from supplychain.policy.engine import check_paths
from tests.conftest import REPO, run_cli

POLICIES = REPO / "policies"


def test_shipped_copies_match_the_packaged_ones() -> None:
    pkg = REPO / "supplychain" / "policy"
    assert (POLICIES / "default.yaml").read_text() == (pkg / "default.yaml").read_text()
    # the editors' schema is the packaged one plus the sections the gate registers, nothing else
    from supplychain.gate.rules import register, section_schemas

    register()
    shipped = json.loads((POLICIES / "policy.schema.json").read_text())
    packaged = json.loads((pkg / "policy.schema.json").read_text())
    assert shipped == policy_schema()
    assert {k: v for k, v in shipped.items() if k != "properties"} == \
        {k: v for k, v in packaged.items() if k != "properties"}
    assert shipped["properties"] == {**packaged["properties"], **section_schemas()}
    assert not set(packaged["properties"]) & set(section_schemas())  # the policy layer holds no gate section


def test_schema_and_shipped_policies_validate_with_jsonschema() -> None:
    import jsonschema  # a test dependency (the `test` extra): never skipped
    import yaml

    # the file editors use, as shipped: it describes every section, the gate's included
    schema = json.loads((POLICIES / "policy.schema.json").read_text())
    assert schema == policy_schema()  # no section is tightened behind the editors' back
    from supplychain.gate.rules import register

    register()  # the gate's sections and rule ids, which the shipped release policy uses
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    files = sorted(POLICIES.glob("*.yaml"))
    assert len(files) >= 3
    for f in files:
        doc = yaml.safe_load(f.read_text())
        doc = json.loads(json.dumps(doc, default=str))  # YAML dates -> strings, as for editors
        errors = list(validator.iter_errors(doc))
        assert errors == [], (f, [e.message for e in errors])
        load_policy(f)  # and our own loader agrees


@pytest.mark.parametrize(("text", "line", "needle"), [
    ("version: 2\n", 1, "must be one of 1"),
    ("version: 1\ntrusted_registries: docker.io\n", 2, "must be array"),
    ("version: 1\nimages:\n  require_digest: yes please\n", 3, "must be boolean"),
    ("version: 1\nimagez: {}\n", 2, "unknown key 'imagez'"),
    ("version: 1\nrules:\n  DF-001: loud\n", 3, "error | warning | note | off"),
    ("version: 1\nrules:\n  NOPE-1: off\n", 3, "unknown rule id 'NOPE-1'"),
    ("version: 1\nrules:\n  DF-001: {severity: warning, enable: false}\n", 3, "unknown key 'enable'"),
    ("version: 1\nwaivers:\n  - rule: DF-001\n    reason: x\n    expires: 2030-01-01\n", 3, "needs at least one of 'path' or 'image'"),
    ("version: 1\nwaivers:\n  - rule: DF-001\n    path: a\n    reason: x\n    expires: next week\n", 6, "not a date"),
    ("version: 1\nwaivers:\n  - rule: DF-001\n    path: a\n    expires: 2030-01-01\n", 3, "missing required key 'reason'"),
    ("trusted_registries: []\n", 1, "missing required key 'version'"),
    ("version: 1\nsecrets:\n  min_length: 2\n", 3, "at least 8"),
])
def test_invalid_policies_name_the_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    with pytest.raises(InputError) as exc:
        load_policy(p)
    msg = str(exc.value)
    assert f"{p}:{line}:" in msg, msg
    assert needle in msg, msg


def test_invalid_policy_cli_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text("version: 1\ntrusted_registries:\n  - 42\n  - [x]\n")
    r = run_cli("policy", "check", str(tmp_path), "--policy", str(p))
    assert r.exit_code == 2
    assert f"{p}:4:" in r.stderr and "Traceback" not in r.stderr
    assert run_cli("policy", "check", ".", "--policy", str(tmp_path / "missing.yaml")).exit_code == 2
    p.write_text("- just\n- a list\n")
    r = run_cli("policy", "check", str(tmp_path), "--policy", str(p))
    assert r.exit_code == 2 and "must be a YAML mapping" in r.stderr


def _setup(tmp_path: Path, waivers: str) -> tuple[Path, Path]:
    (tmp_path / "app").mkdir()
    (tmp_path / "legacy").mkdir()
    (tmp_path / "app" / "images.txt").write_text("nginx:1.27\nredis:7\n")
    (tmp_path / "legacy" / "images.txt").write_text("nginx:1.27\n")
    p = tmp_path / "policy.yaml"
    p.write_text("version: 1\ntrusted_registries: [docker.io/library/*]\nwaivers:\n" + waivers)
    return p, tmp_path


def test_waivers_by_path_image_and_expiry(tmp_path: Path) -> None:
    p, root = _setup(tmp_path, (
        "  - rule: SC-IMG-002\n    path: '**/legacy/**'\n    reason: legacy stack\n    expires: 2099-01-01\n"
        "  - rule: SC-IMG-*\n    image: redis\n    reason: mirrored\n    expires: 2099-12-31\n"
        "  - rule: DF-001\n    path: nowhere\n    reason: old\n    expires: 2020-01-01\n"
    ))
    policy = load_policy(p)
    report = check_paths([str(root / "app"), str(root / "legacy")], policy,
                         today=datetime.date(2026, 6, 1))
    got = sorted((f.rule, Path(f.file).parent.name, f.line) for f in report.findings)
    # nginx in app/ stays; legacy/ waived by path; redis waived by image glob; expired waiver reported
    assert got == [("SC-IMG-002", "app", 1), ("SC-POL-001", tmp_path.name, 12)]
    assert len(report.waived) == 2
    expired = next(f for f in report.findings if f.rule == "SC-POL-001")
    assert "expired on 2020-01-01" in expired.message and expired.file.endswith("policy.yaml")
    # the day after expiry the waiver stops applying, and the expiry day itself still counts
    later = check_paths([str(root / "legacy")], policy, today=datetime.date(2099, 1, 2))
    assert sorted(f.rule for f in later.findings) == ["SC-IMG-002", "SC-POL-001", "SC-POL-001"]
    same_day = check_paths([str(root / "legacy")], policy, today=datetime.date(2099, 1, 1))
    assert sorted(f.rule for f in same_day.findings) == ["SC-POL-001"]


def test_expired_waiver_fails_the_cli(tmp_path: Path) -> None:
    p, root = _setup(tmp_path, "  - rule: SC-IMG-002\n    path: '**'\n    reason: r\n    expires: 2001-02-03\n")
    (root / "app" / "images.txt").write_text("nginx:1.27@sha256:" + "ef" * 32 + "\n")
    r = run_cli("policy", "check", str(root / "app"), "--policy", str(p), "--format", "json")
    assert r.exit_code == 1
    rules = [f["rule"] for f in json.loads(r.stdout)["findings"]]
    assert rules == ["SC-POL-001"]


def test_default_policy_is_strict() -> None:
    pol = default_policy()
    assert pol.require_digest and pol.forbid_mutable_tags
    assert pol.trusted_registries == ("docker.io/library/*",)
    assert pol.severity_of("SC-IMG-002") == "error"
    assert pol.severity_of("K8S-009") == "warning"


def test_list_rules() -> None:
    r = run_cli("policy", "check", "--list-rules")
    assert r.exit_code == 0
    assert "SC-IMG-001" in r.stdout and "K8S-011" in r.stdout


def test_relative_waiver_path_matches_absolute_and_relative_arguments(tmp_path: Path) -> None:
    p, root = _setup(tmp_path, "  - rule: SC-IMG-002\n    path: ./legacy/*.txt\n    reason: r\n    expires: 2099-01-01\n")
    for arg in ("legacy", str(root / "legacy")):
        r = run_cli("policy", "check", arg, "--policy", str(p), "--format", "json", cwd=root)
        assert r.exit_code == 0, (arg, r.stdout, r.stderr)
        assert json.loads(r.stdout)["summary"]["waived"] == 1


def test_gate_rule_ids_may_be_configured_without_the_gate(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text("version: 1\nrules:\n  SC-GATE-001: warning\nwaivers:\n  - rule: SC-GATE-*\n"
                 "    image: ghcr.io/acme/**\n    reason: r\n    expires: 2099-01-01\n")
    r = run_cli("policy", "check", str(tmp_path), "--policy", str(p))
    assert r.exit_code == 0, r.stderr


def test_gate_sections_are_validated_by_policy_check_too(tmp_path: Path) -> None:
    bad = tmp_path / "release.yaml"
    bad.write_text("version: 1\nsigners:\n  - name: ci\n    images: 'ghcr.io/acme/**'\n"
                   "attestations:\n  - images: 'ghcr.io/**'\n    require: []\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    r = run_cli("policy", "check", str(tmp_path / "Dockerfile"), "--policy", str(bad))
    assert r.exit_code == 2, r.stderr
    assert "release.yaml:3:5: signers[0]: needs at least one of" in r.stderr, r.stderr
    assert "release.yaml:7:5: attestations[0].require" in r.stderr, r.stderr
