"""Shared checks for the robustness sweep: every failure is a clean error, never a crash."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CliResult, run_cli


def fails_cleanly(*args: str, code: int = 2, names: str | None = None, cwd: str | Path | None = None,
                  env: dict[str, str] | None = None) -> CliResult:
    """Run the CLI; assert exit ``code``, an ``error:`` line naming ``names``, no traceback,
    no internal error and nothing on stdout."""
    res = run_cli(*args, cwd=cwd, env=env, timeout=120)
    assert "Traceback" not in res.stderr, res.stderr
    assert "internal error" not in res.stderr, res.stderr
    assert res.exit_code == code, (res.exit_code, res.stderr)
    assert "rror" in res.stderr, res.stderr
    if names is not None:
        assert names in res.stderr, res.stderr
    assert res.stdout_bytes == b"", res.stdout[:500]
    return res
