"""The real deployers, run the way the tests compare against them (kubectl, docker-compose).

``kubectl annotate --local -f FILE -o json`` reads files through kubectl's resource builder, the
same reader ``kubectl apply -f`` uses (YAML-or-JSON stream, go-yaml v2 via sigs.k8s.io/yaml, list
flattening), and prints what it would send, with no API server. ``kubectl kustomize`` renders
with kyaml (go-yaml v3). ``docker-compose config --format json`` is Compose v2's own model.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from supplychain.policy import render


def kubectl() -> str | None:
    return render.kubectl()


def docker_compose() -> str | None:
    return render.docker_compose()


def images_of(obj: Any) -> list[str]:
    """Every image a deployed object names: ``image`` strings and image volumes, outside metadata."""
    out: list[str] = []
    stack: list[tuple[Any, bool]] = [(obj, True)]
    while stack:
        node, top = stack.pop()
        if isinstance(node, dict):
            img = node.get("image")
            if isinstance(img, str):
                out.append(img)
            elif isinstance(img, dict) and isinstance(img.get("reference"), str):
                out.append(img["reference"])
            for k, v in node.items():
                if top and k in ("metadata", "status"):
                    continue
                stack.append((v, False))
        elif isinstance(node, list):
            stack.extend((v, False) for v in node)
    return out


def apply_objects(path: Path, server: str | None = None) -> tuple[bool, list[dict[str, Any]], str]:
    """What ``kubectl apply -f PATH`` would send: (ok, objects, stderr). With ``server`` (the
    loopback stub API server, :mod:`.stub_apiserver`) it is ``kubectl apply --dry-run=client``
    itself; without, ``kubectl annotate --local`` (same reader, no server)."""
    tool = kubectl()
    assert tool is not None
    if server:
        argv = [tool, "apply", "--dry-run=client", "-o", "json", "--validate=false", "-s", server, "-R", "-f", str(path)]
        env: dict[str, str] | None = {"KUBECONFIG": os.devnull, "HOME": str(path.parent), "PATH": os.environ.get("PATH", "")}
    else:
        argv = [tool, "annotate", "--local", "-R", "-f", str(path), "supplychain-test=1", "-o", "json"]
        env = None
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60, env=env)
    if proc.returncode != 0:
        return False, [], proc.stderr
    text = proc.stdout.strip()
    objs: list[dict[str, Any]] = []
    decoder = json.JSONDecoder()
    idx = 0
    while idx < len(text):
        value, end = decoder.raw_decode(text, idx)
        if value.get("kind") == "List" and isinstance(value.get("items"), list):
            objs.extend(value["items"])
        else:
            objs.append(value)
        idx = end
        while idx < len(text) and text[idx].isspace():
            idx += 1
    for o in objs:
        ann = (o.get("metadata") or {}).get("annotations") or {}
        ann.pop("supplychain-test", None)
        ann.pop("kubectl.kubernetes.io/last-applied-configuration", None)
        (o.get("metadata") or {}).pop("namespace", None)
        if not ann and "annotations" in (o.get("metadata") or {}):
            del o["metadata"]["annotations"]
    return True, objs, proc.stderr


def kustomize_objects(directory: Path) -> tuple[bool, list[dict[str, Any]], str]:
    tool = kubectl()
    assert tool is not None
    proc = subprocess.run([tool, "kustomize", str(directory)], capture_output=True, text=True, check=False,
                          timeout=60)
    if proc.returncode != 0:
        return False, [], proc.stderr
    return True, [d for d in yaml.safe_load_all(proc.stdout) if d], proc.stderr


def compose_model(files: list[Path], project: Path, env: dict[str, str] | None = None
                  ) -> tuple[bool, dict[str, Any], str]:
    tool = docker_compose()
    assert tool is not None
    argv = [tool]
    for f in files:
        argv += ["-f", str(f)]
    argv += ["--project-directory", str(project), "--profile", "*", "config", "--format", "json"]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60, cwd=project, env=env)
    if proc.returncode != 0 or not proc.stdout.strip():  # (config exits 0 on some validation errors)
        return False, {}, proc.stderr
    model: dict[str, Any] = json.loads(proc.stdout)
    return True, model, proc.stderr
