"""Inline ignores (`# supplychain:ignore ID reason: ...`) in every output format, refused when the
policy forbids them; secrets in URLs with an empty user name; hygiene rules on real text."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

DIG = "sha256:" + "ab" * 32
DOCKERFILE = (f"FROM ghcr.io/acme/base:1@{DIG}\n"
              "# supplychain:ignore DF-012 reason: the vendored rootfs is meant to be unpacked\n"
              "ADD rootfs.tar.gz /\n"
              "WORKDIR app # supplychain:ignore DF-014 reason: relative to the base image's /srv\n"
              "USER 10001\n")
TRUST = ["--trusted-registry", "ghcr.io/acme/**"]


def test_inline_ignores_are_waived_in_text_json_and_sarif(tmp_path: Path) -> None:
    f = tmp_path / "Dockerfile"
    f.write_text(DOCKERFILE)
    r = run_cli("policy", "check", str(f), *TRUST, "--fail-on", "warning", "--format", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["findings"] == []
    assert [(w["rule"], w["line"], w["waiver"]["inline"], w["waiver"]["expires"]) for w in doc["waived"]] == \
        [("DF-012", 3, True, None), ("DF-014", 4, True, None)]
    assert "vendored rootfs" in doc["waived"][0]["waiver"]["reason"]
    text = run_cli("policy", "check", str(f), *TRUST, "--fail-on", "warning")
    assert text.exit_code == 0 and text.stdout.count("(inline ignore)") == 2, text.stdout
    sarif = run_cli("policy", "check", str(f), *TRUST, "--format", "sarif")
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert [(x["ruleId"], x["suppressions"][0]["kind"]) for x in results] == [("DF-012", "inSource"),
                                                                              ("DF-014", "inSource")]


def test_inline_ignores_refused_when_the_policy_forbids_them(tmp_path: Path) -> None:
    f = tmp_path / "Dockerfile"
    f.write_text(DOCKERFILE)
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nextends: default\ntrusted_registries: ['ghcr.io/acme/**']\ninline_ignores: forbid\n")
    r = run_cli("policy", "check", str(f), "--policy", str(policy), "--fail-on", "warning", "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["waived"] == []
    assert [x["rule"] for x in doc["findings"]] == ["DF-012", "DF-014"]
    assert all("inline ignore is refused" in x["message"] for x in doc["findings"])
    policy.write_text("version: 1\nextends: default\ninline_ignores: sometimes\n")
    bad = run_cli("policy", "check", str(f), "--policy", str(policy))
    assert bad.exit_code == 2 and "inline_ignores" in bad.stderr


def test_an_ignore_without_reason_or_with_an_unknown_rule_waives_nothing(tmp_path: Path) -> None:
    f = tmp_path / "Dockerfile"
    f.write_text(f"FROM ghcr.io/acme/base:1@{DIG}\n# supplychain:ignore DF-013\nRUN sudo true\n"
                 "RUN sudo true # supplychain:ignore DF-999 reason: x\nUSER 1\n")
    r = run_cli("policy", "check", str(f), *TRUST, "--format", "json")
    got = sorted((x["rule"], x["line"]) for x in json.loads(r.stdout)["findings"])
    assert got == [("DF-013", 3), ("DF-013", 4), ("SC-POL-002", 2), ("SC-POL-002", 4)]


def test_urls_with_passwords_are_secrets_also_with_an_empty_user(tmp_path: Path) -> None:
    k8s = tmp_path / "pod.yaml"
    k8s.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n"
                   f"    image: ghcr.io/acme/a:1@{DIG}\n    env:\n"
                   "    - {name: CACHE, value: 'redis://:hunter2-not-real@cache:6379/0'}\n"
                   "    - {name: PLAIN, value: 'redis://cache:6379/0'}\n"
                   "    - {name: REF, value: 'redis://:$(REDIS_PASSWORD)@cache:6379/0'}\n")
    r = run_cli("policy", "check", str(k8s), *TRUST, "--format", "json")
    hits = [x for x in json.loads(r.stdout)["findings"] if x["rule"] == "K8S-010"]
    assert [x["line"] for x in hits] == [9] and "URL with an embedded password" in hits[0]["message"]
