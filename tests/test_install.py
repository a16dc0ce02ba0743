"""Installation a security team can trust: the container image passes our own policy, the
pre-commit hooks run what they say, the lock files follow pyproject.toml (scripts/lock.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from tests.conftest import REPO, run_cli

CONTAINERFILE = REPO / "Containerfile"


def test_containerfile_passes_our_policy_check(tmp_path: Path) -> None:
    r = run_cli("policy", "check", str(CONTAINERFILE), "--format", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert '"findings": []' in r.stdout and '"dockerfile": 1' in r.stdout
    assert run_cli("pin", "--check", "--offline", str(CONTAINERFILE)).exit_code == 0  # every FROM pinned by digest
    text = CONTAINERFILE.read_text()
    # the same check fails the file once it would run as root or from a tag
    as_root = tmp_path / "Containerfile"
    as_root.write_text(text.replace("USER 10001:10001\n", ""))
    r = run_cli("policy", "check", str(as_root))
    assert r.exit_code == 1 and "DF-001" in r.stdout, r.stdout
    tagged = tmp_path / "tagged" / "Containerfile"
    tagged.parent.mkdir()
    tagged.write_text(re.sub(r"@sha256:[0-9a-f]{64}", "", text))
    assert run_cli("pin", "--check", "--offline", str(tagged)).exit_code == 1
    r = run_cli("policy", "check", str(tagged))
    assert r.exit_code == 1 and "SC-IMG-002" in r.stdout, r.stdout


def test_containerfile_installs_from_the_locks_as_non_root() -> None:
    text = CONTAINERFILE.read_text()
    assert "--require-hashes --only-binary=:all: -r requirements.lock" in text
    assert "--require-hashes -r requirements-build.lock" in text
    final = text.rsplit("\nFROM ", 1)[1]
    assert "\nUSER 10001:10001\n" in final and "pip install --no-deps /wheels/" not in final


def test_pre_commit_hooks_run_their_commands(tmp_path: Path) -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"supplychain-policy-check", "supplychain-pin-check"}
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM nginx:1.27\n")
    for hook in hooks:
        assert hook["language"] == "python" and set(hook["types_or"]) == {"dockerfile", "yaml"}
        command, *args = hook["entry"].split()
        assert command == "supplychain"  # the console script pyproject.toml installs
        assert "supplychain" in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
        ok = run_cli(*args, str(CONTAINERFILE), str(REPO / "policies" / "default.yaml"))
        assert ok.exit_code == 0, (hook["id"], ok.stdout, ok.stderr)
        assert run_cli(*args, str(bad)).exit_code == 1, hook["id"]  # tag-only, runs as root


def _lock_tree(tmp_path: Path) -> Path:
    """scripts/lock.py with this pyproject.toml and a lock pinning what it declares, stamped."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "lock.py", tmp_path / "scripts" / "lock.py")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for lock, reqs in (("requirements.lock", project["dependencies"]),
                       ("requirements-test.lock", project["dependencies"] + project["optional-dependencies"]["test"])):
        names = {re.match(r"[A-Za-z0-9._-]+", r).group(0) for r in reqs}  # type: ignore[union-attr]
        (tmp_path / lock).write_text("".join(f"{n.lower()}==1.0 \\\n    --hash=sha256:{'0' * 64}\n" for n in sorted(names)))
        subprocess.run([sys.executable, str(tmp_path / "scripts" / "lock.py"), "stamp", lock], check=True, timeout=60)
    return tmp_path


def _check(root: Path, *locks: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(root / "scripts" / "lock.py"), "check", *locks],
                          capture_output=True, text=True, timeout=60)


def test_lock_check_notices_pyproject_changes(tmp_path: Path) -> None:
    root = _lock_tree(tmp_path)
    r = _check(root, "requirements.lock", "requirements-test.lock")
    assert r.returncode == 0, r.stderr
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace("dependencies = [\n", 'dependencies = [\n    "tqdm>=4.67,<5",\n', 1))
    r = _check(root, "requirements.lock")
    assert r.returncode == 1
    assert "requirements.lock does not pin tqdm" in r.stderr and "run `make lock`" in r.stderr, r.stderr
    # a changed range of a pinned package is a change too
    pyproject.write_text(text.replace('"click>=8.5.1,<9"', '"click>=8.5.1,<8.6"', 1))
    r = _check(root, "requirements.lock", "requirements-test.lock")
    assert r.returncode == 1 and r.stderr.count("was not made from") == 2, r.stderr


def test_runtime_dependencies_are_ranges_and_locked_exactly() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == "supplychain-cli"  # PyPI's "supplychain" is an unrelated package
    for req in project["dependencies"]:
        assert ">=" in req and "<" in req and "==" not in req, req
    lock = (REPO / "requirements.lock").read_text()
    assert "--hash=sha256:" in lock and "pytest==" not in lock and "mypy==" not in lock
    assert "pytest==" in (REPO / "requirements-test.lock").read_text()
