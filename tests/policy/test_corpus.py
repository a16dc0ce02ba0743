"""The good/bad corpus: every rule fires where a bad file says it must, and nowhere in good files."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest

from supplychain.policy.config import default_policy
from supplychain.policy.engine import check_paths
from supplychain.policy.findings import RULES
from tests.conftest import run_cli

CORPUS = Path(__file__).parent / "corpus"
TRUST = ("ghcr.io/acme/**", "registry.internal:5000/*")


def _expected(path: Path) -> list[str]:
    """The `# expect:` lines of a file, or of every file in a case directory (a build context,
    a compose project with its env files)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    out: list[str] = []
    for file in files:
        for line in file.read_text().splitlines():
            m = re.match(r"#\s*expect:\s*(.*)", line)
            if m:
                out.extend(m.group(1).split())
    return out


def _policy():  # type: ignore[no-untyped-def]
    return default_policy().with_trusted(TRUST)


BAD = sorted((CORPUS / "bad").iterdir())


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_file_gives_exactly_the_expected_findings(path: Path) -> None:
    report = check_paths([str(path)], _policy())
    got = collections.Counter(f"{f.rule}@{f.line}" for f in report.findings)
    want = collections.Counter(_expected(path))
    assert want, f"{path} declares no expectations"
    assert got == want, f"missing {want - got}, unexpected {got - want}"


def test_good_corpus_has_no_findings() -> None:
    report = check_paths([str(CORPUS / "good")], _policy())
    assert [f"{f.file}:{f.line} {f.rule} {f.message}" for f in report.findings] == []
    kinds = {fr.kind for fr in report.files}
    assert kinds == {"dockerfile", "compose", "kubernetes", "images"}


def test_every_rule_is_exercised_by_the_bad_corpus() -> None:
    fired = {e.split("@")[0] for p in BAD for e in _expected(p)}
    # SC-POL-001 (expired waiver) is about the policy file; covered in test_policy_config
    # SC-GATE-* rules belong to the deploy gate (registered when supplychain.gate is imported);
    # IMG-* rules check images, not files (tests/imagecheck)
    assert {r for r in set(RULES) - fired if RULES[r].kind not in ("gate", "image-contents")} == {"SC-POL-001"}


def test_cli_exit_codes_and_json_shape() -> None:
    args = [a for g in TRUST for a in ("--trusted-registry", g)]
    good = run_cli("policy", "check", str(CORPUS / "good"), *args)
    assert good.exit_code == 0, good.stderr
    assert "passed" in good.stdout
    bad = run_cli("policy", "check", str(CORPUS / "bad"), *args, "--format", "json")
    assert bad.exit_code == 1
    assert "policy check failed" in bad.stderr
    doc = json.loads(bad.stdout)
    assert set(doc) == {"findings", "waived", "summary"}
    # only the inline ignores of bad/hygiene.Dockerfile waive anything (no policy waivers here)
    assert [(w["rule"], w["waiver"]["inline"], w["waiver"]["expires"]) for w in doc["waived"]] == \
        [("DF-014", True, None), ("DF-008", True, None)]
    for f in doc["findings"]:
        assert set(f) == {"rule", "severity", "file", "line", "column", "message", "fix", "image"}
        assert f["image"] is None or (f["rule"].startswith("SC-IMG-") and isinstance(f["image"], str))
        assert f["rule"] in RULES and f["severity"] in ("error", "warning", "note")
        assert isinstance(f["line"], int) and f["line"] >= 1
        assert f["column"] is None or isinstance(f["column"], int)
        assert f["message"] and f["fix"]
    s = doc["summary"]
    assert s["files"] == len(BAD) and s["passed"] is False
    assert s["by_severity"]["error"] == sum(1 for f in doc["findings"] if f["severity"] == "error")


def test_fail_on_thresholds(tmp_path: Path) -> None:
    # only warnings: DF-007 (EXPOSE 6379) under the default policy
    d = tmp_path / "Dockerfile"
    d.write_text("FROM alpine:3.20@sha256:" + "ab" * 32 + "\nEXPOSE 6379\nUSER 1000\n")
    r = run_cli("policy", "check", str(d))
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "DF-007" in r.stdout
    assert run_cli("policy", "check", str(d), "--fail-on", "warning").exit_code == 1
    assert run_cli("policy", "check", str(d), "--fail-on", "note").exit_code == 1
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\ntrusted_registries: [docker.io/library/*]\nrules:\n  DF-007: note\n")
    assert run_cli("policy", "check", str(d), "--policy", str(p), "--fail-on", "warning").exit_code == 0
    assert run_cli("policy", "check", str(d), "--policy", str(p), "--fail-on", "note").exit_code == 1
    p.write_text("version: 1\ntrusted_registries: [docker.io/library/*]\nrules:\n  DF-007: {enabled: false}\n")
    r = run_cli("policy", "check", str(d), "--policy", str(p), "--fail-on", "note")
    assert r.exit_code == 0 and "DF-007" not in r.stdout


def test_trusted_registry_option_and_globs(tmp_path: Path) -> None:
    lst = tmp_path / "images.txt"
    digest = "@sha256:" + "cd" * 32
    lst.write_text(f"ghcr.io/acme/team/app:1{digest}\nregistry.internal:5000/app:2{digest}\n"
                   f"registry.internal:5000/deep/app:2{digest}\nacme/tool:1{digest}\n")
    r = run_cli("policy", "check", str(lst), "--format", "json")
    assert {f["line"] for f in json.loads(r.stdout)["findings"] if f["rule"] == "SC-IMG-001"} == {1, 2, 3, 4}
    r = run_cli("policy", "check", str(lst), "--format", "json", "--trusted-registry", "ghcr.io/acme/**",
                "--trusted-registry", "registry.internal:5000/*", "--trusted-registry", "acme/*")
    assert [f["line"] for f in json.loads(r.stdout)["findings"]] == [3]
    r = run_cli("policy", "check", str(lst), "--trusted-registry", "ghcr.io", "--trusted-registry",
                "registry.internal:5000", "--trusted-registry", "docker.io/acme/tool")
    assert r.exit_code == 0, r.stdout


def test_directory_walk_skips_vendor_and_git(tmp_path: Path) -> None:
    for d in (".git", "node_modules", "vendor", "src"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "Dockerfile").write_text("FROM nginx\n")
    (tmp_path / "README.md").write_text("FROM nginx\n")
    report = check_paths([str(tmp_path)], default_policy())
    assert {fr.path.rsplit("/", 2)[-2] for fr in report.files} == {"src"}
    report = check_paths([str(tmp_path)], default_policy(), exclude=("src",))
    assert report.files == []


def test_walked_helm_templates_are_skipped_but_explicit_ones_fail(tmp_path: Path) -> None:
    t = tmp_path / "chart" / "templates"
    t.mkdir(parents=True)
    (t / "deployment.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\n{{- if .Values.x }}\nspec: {}\n{{- end }}\n")
    (tmp_path / "broken.yaml").write_text("a: [\n")
    r = run_cli("policy", "check", str(tmp_path / "chart"), "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["summary"]["skipped_templates"] == 1
    assert run_cli("policy", "check", str(t / "deployment.yaml")).exit_code == 2
    assert run_cli("policy", "check", str(tmp_path)).exit_code == 2  # plain broken YAML is an error
