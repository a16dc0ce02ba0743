"""The team whose deploy is gated cannot lift the gate's rules with `# supplychain:ignore` comments
in its own manifests: the gate honours inline ignores only when its policy says
`inline_ignores: allow` (`policy check` keeps honouring them by default)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

DIG = "sha256:" + "ab" * 32
POD = f"""apiVersion: v1
kind: Pod
metadata: {{name: web}}
spec:
  containers:
    - name: app
      image: ghcr.io/acme/app:1@{DIG}
      securityContext:
        privileged: true # supplychain:ignore K8S-001 reason: trust me
"""


def _run(tmp_path: Path, extra: str) -> dict[str, object]:
    (tmp_path / "pod.yaml").write_text(POD)
    policy = tmp_path / "gate.yaml"
    policy.write_text("version: 1\nextends: default\ntrusted_registries: ['ghcr.io/acme/**']\n" + extra +
                      "gate:\n  rules: ['K8S-*']\n")
    r = run_cli("gate", str(tmp_path / "pod.yaml"), "--policy", str(policy), "--format", "json")
    return {"exit": r.exit_code, "doc": json.loads(r.stdout) if r.stdout.strip().startswith("{") else r.stderr}


def _k8s001(doc: object) -> tuple[list[str], list[str]]:
    """K8S-001 messages among the findings, and K8S-001 entries among the waived."""
    assert isinstance(doc, dict), doc
    found = [f["message"] for f in doc["findings"] if f["rule"] == "K8S-001"]
    waived = [w["rule"] for w in doc["waived"] if w["rule"] == "K8S-001"]
    return found, waived


def test_gate_refuses_inline_ignores_by_default(tmp_path: Path) -> None:
    got = _run(tmp_path, "")
    assert got["exit"] == 1, got
    found, waived = _k8s001(got["doc"])
    assert len(found) == 1 and "inline ignore is refused" in found[0] and waived == []


def test_gate_honours_them_only_when_the_policy_allows(tmp_path: Path) -> None:
    got = _run(tmp_path, "inline_ignores: allow\n")
    found, waived = _k8s001(got["doc"])
    assert found == [] and waived == ["K8S-001"]


def test_policy_check_still_honours_them_by_default(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    r = run_cli("policy", "check", str(tmp_path / "pod.yaml"), "--trusted-registry", "ghcr.io/acme/**",
                "--format", "json")
    doc = json.loads(r.stdout)
    assert "K8S-001" not in {f["rule"] for f in doc["findings"]}
    assert "K8S-001" in {w["rule"] for w in doc["waived"]}
