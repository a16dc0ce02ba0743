"""The gate fails closed on what the policy layer cannot resolve (SC-GATE-007), and only an
explicit waiver (rule exactly SC-GATE-007, path naming the file) lifts it."""

from __future__ import annotations

from pathlib import Path

from supplychain.gate.collect import collect
from supplychain.gate.policy import load_gate_policy
from supplychain.policy.unresolved import UNRESOLVED_PREFIX
from tests.conftest import run_cli

DIGEST = "sha256:" + "ab" * 32
AMBIGUOUS = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
             f"  - name: a\n    image: trusted.io/app:1@{DIGEST}\n    <<: {{image: trusted.io/other:1@{DIGEST}}}\n")


def _policy(tmp_path: Path, waiver_rule: str | None) -> Path:
    text = "version: 1\ntrusted_registries: ['trusted.io/**']\n"
    if waiver_rule:
        text += (f"waivers:\n  - rule: '{waiver_rule}'\n    path: '*pod.yaml'\n    reason: reviewed\n"
                 "    expires: 2999-01-01\n")
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    return p


def test_gate_collects_a_failing_placeholder_for_an_ambiguous_manifest(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(AMBIGUOUS)
    gp = load_gate_policy(_policy(tmp_path, None))
    got = collect([str(tmp_path / "pod.yaml")], [], gp)
    assert any(u.text.startswith(UNRESOLVED_PREFIX) for u in got.uses)
    assert any(f.rule == "SC-GATE-007" and f.severity == "error" for f in got.file_findings)


def test_a_glob_waiver_does_not_lift_the_refusal_an_explicit_one_does(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(AMBIGUOUS)
    for rule, lifted in (("SC-GATE-*", False), ("SC-GATE-007", True)):
        gp = load_gate_policy(_policy(tmp_path, rule))
        got = collect([str(tmp_path / "pod.yaml")], [], gp)
        placeholders = [u for u in got.uses if u.text.startswith(UNRESOLVED_PREFIX)]
        assert (not placeholders) == lifted, rule


def test_gate_cli_fails_and_names_the_ambiguity(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(AMBIGUOUS)
    r = run_cli("gate", str(tmp_path / "pod.yaml"), "--policy", str(_policy(tmp_path, None)), "--offline")
    assert r.exit_code == 1
    assert "SC-GATE-007" in r.stdout and "ambiguous" in r.stdout


def test_policy_check_glob_waiver_does_not_lift_sc_gate_007(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(AMBIGUOUS)
    for rule, code in (("SC-GATE-*", 1), ("*", 1)):
        r = run_cli("policy", "check", str(tmp_path / "pod.yaml"), "--policy", str(_policy(tmp_path, rule)),
                    "--format", "json")
        assert r.exit_code == code and '"SC-GATE-007"' in r.stdout, rule
