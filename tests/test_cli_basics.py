"""The CLI's shape: help everywhere, exit codes, no tracebacks."""

from __future__ import annotations

import sys

from supplychain.cli.main import COMMANDS, GROUP_HELP, _available
from supplychain.errors import EXIT_INTERNAL, InputError, NetworkError
from tests.conftest import run_cli


def _groups() -> dict[str, set[str]]:
    """Every group path of the command table (``sbom``, ``vuln db``) -> its immediate children."""
    groups: dict[str, set[str]] = {"": set()}
    for path in COMMANDS:
        words = path.split()
        for i in range(len(words)):
            groups.setdefault(" ".join(words[:i]), set()).add(words[i])
    return groups


def test_top_level_help_lists_groups() -> None:
    r = run_cli("--help")
    assert r.exit_code == 0
    assert "Usage:" in r.stdout
    for name in _groups()[""]:
        assert f"  {name} " in r.stdout, name
    assert "70 internal error" in " ".join(r.stdout.split())


def test_every_command_has_help_with_an_example() -> None:
    # every entry of the table points at a command that exists: a missing module is a bug, not a skip
    missing = [path for path, (target, _) in COMMANDS.items() if not _available(target)]
    assert missing == []
    for path in COMMANDS:
        r = run_cli(*path.split(), "--help")
        assert r.exit_code == 0, (path, r.stderr)
        assert "Example" in r.stdout, f"'supplychain {path} --help' shows no example"


def test_group_help() -> None:
    groups = {g: children for g, children in _groups().items() if g}
    # every group described in GROUP_HELP has commands (its last word names a group of the table)
    assert {g.split()[-1] for g in groups} >= set(GROUP_HELP), set(GROUP_HELP) - {g.split()[-1] for g in groups}
    for group, children in groups.items():
        r = run_cli(*group.split(), "--help")
        assert r.exit_code == 0, r.stderr
        for name in children:
            assert f"  {name} " in r.stdout, (group, name, r.stdout)


def test_unknown_command_is_usage_error() -> None:
    r = run_cli("no-such-command")
    assert r.exit_code == 2
    assert "Traceback" not in r.stderr


def test_version() -> None:
    r = run_cli("--version")
    assert r.exit_code == 0
    assert "supplychain" in r.stdout


def test_internal_error_has_its_own_exit_code() -> None:
    """A bug (an exception that is not one of ours) is exit 70 with one clear line, never 2 (bad input)."""
    import subprocess

    code = ("import click, supplychain.cli.main as m\n"
            "@m.cli.command('boom')\n"
            "def boom() -> None:\n"
            "    raise KeyError('invariant')\n"
            "m.main(['boom'])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == EXIT_INTERNAL == 70, proc.stderr
    assert "error: internal error: KeyError" in proc.stderr and "Traceback" not in proc.stderr


def test_reraising_keeps_class_and_hint() -> None:
    err = NetworkError("registry.example: connection refused", hint="check the network")
    again = err.with_prefix("deploy.yaml:3")
    assert type(again) is NetworkError and again.exit_code == 3
    assert again.message == "deploy.yaml:3: registry.example: connection refused" == str(again)
    assert again.hint == "check the network"
    assert err.message == "registry.example: connection refused"  # the original is untouched
    assert type(InputError("x").with_prefix("p")) is InputError
