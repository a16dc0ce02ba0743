"""Red team: inputs that deploy an image the gate did not judge (must fail closed)."""

from __future__ import annotations

from pathlib import Path

from supplychain.policy.engine import check_paths
from supplychain.policy.unresolved import UNRESOLVED_PREFIX
from tests.policy.deployers.test_cases import policy

CRD = """apiVersion: x.example/v1
kind: Runner
metadata: {name: r}
spec:
  containers: [{name: c, image: "trusted.io/app:1"}]
  runner:
    image: {repository: evil.io/x, tag: "2"}
"""


def test_operator_image_mapping_is_refused_not_skipped(tmp_path: Path) -> None:
    # an operator deploys spec.runner.image (repository + tag); the gate used to judge only the
    # string image beside it and pass
    f = tmp_path / "runner.yaml"
    f.write_text(CRD)
    report = check_paths([str(f)], policy())
    refusals = [x for x in report.findings if x.rule == "SC-GATE-007"]
    assert refusals and "spec.runner.image" in refusals[0].message
    assert any(u.text.startswith(UNRESOLVED_PREFIX) for u in report.images)


def test_image_volume_of_a_pod_is_still_read(tmp_path: Path) -> None:
    f = tmp_path / "pod.yaml"
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
                 "  containers: [{name: c, image: 'trusted.io/app:1'}]\n"
                 "  volumes: [{name: v, image: {reference: 'trusted.io/data:1'}}]\n")
    report = check_paths([str(f)], policy())
    assert not [x for x in report.findings if x.rule == "SC-GATE-007"]
    assert sorted(u.text for u in report.images) == ["trusted.io/app:1", "trusted.io/data:1"]


INJECTED = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        sidecar.istio.io/proxyImage: evil.io/proxy:1
        vault.hashicorp.com/agent-image: "evil.io/vault:1"
    spec:
      containers: [{name: c, image: "trusted.io/app:1"}]
"""


def test_sidecar_injector_image_annotations_are_judged(tmp_path: Path) -> None:
    # Istio / Vault inject a container running the annotated image into every pod of the template;
    # the gate used to judge only trusted.io/app:1 and pass
    f = tmp_path / "web.yaml"
    f.write_text(INJECTED)
    report = check_paths([str(f)], policy())
    assert sorted(u.text for u in report.images) == ["evil.io/proxy:1", "evil.io/vault:1", "trusted.io/app:1"]
    untrusted = {x.image for x in report.findings if x.rule == "SC-IMG-001"}
    assert untrusted == {"evil.io/proxy:1", "evil.io/vault:1"}
