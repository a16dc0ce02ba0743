"""The CLI's shape: help everywhere, exit codes, no tracebacks."""

from __future__ import annotations

from supplychain.cli.main import COMMANDS, GROUP_HELP, _available
from tests.conftest import run_cli


def test_top_level_help_lists_groups() -> None:
    r = run_cli("--help")
    assert r.exit_code == 0
    assert "Usage:" in r.stdout
    for group in ("sbom",):
        assert group in r.stdout


def test_every_available_command_has_help_with_an_example() -> None:
    checked = 0
    for path, (target, _) in COMMANDS.items():
        if not _available(target):
            continue
        r = run_cli(*path.split(), "--help")
        assert r.exit_code == 0, (path, r.stderr)
        assert "Example" in r.stdout, f"'supplychain {path} --help' shows no example"
        checked += 1
    assert checked >= 1


def test_group_help() -> None:
    for group in GROUP_HELP:
        if any(p.startswith(group + " ") and _available(t) for p, (t, _) in COMMANDS.items()):
            r = run_cli(group, "--help")
            assert r.exit_code == 0, r.stderr


def test_unknown_command_is_usage_error() -> None:
    r = run_cli("no-such-command")
    assert r.exit_code == 2
    assert "Traceback" not in r.stderr


def test_version() -> None:
    r = run_cli("--version")
    assert r.exit_code == 0
    assert "supplychain" in r.stdout
