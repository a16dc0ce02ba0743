"""Shared fixtures: third-party data, the CLI runner, and a real OCI registry on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
EXTERNAL = Path(os.environ.get("SUPPLYCHAIN_EXTERNAL", REPO.parent / "shared" / "external"))
FIXTURES = REPO / "fixtures"
# Key signatures are logged to Rekor by default (as cosign does); tests talk only to 127.0.0.1, so
# they opt out unless a test points --rekor-url at the local Sigstore (tests/sigstore_local.py).
os.environ.setdefault("SUPPLYCHAIN_TLOG_UPLOAD", "false")


@pytest.fixture(scope="session")
def external() -> Path:
    """../shared/external (real third-party data); tests skip when it is absent."""
    if not EXTERNAL.is_dir():
        pytest.skip(f"third-party test data not found at {EXTERNAL} (set SUPPLYCHAIN_EXTERNAL)")
    return EXTERNAL


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes


def run_cli(*args: str, cwd: str | Path | None = None, env: dict[str, str] | None = None,
            input: bytes | None = None, timeout: float = 300) -> CliResult:
    """Run ``python -m supplychain ARGS`` as a real process (exit codes, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.pop("SUPPLYCHAIN_DEBUG", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "supplychain", *args],
        cwd=cwd, env=full_env, input=input, capture_output=True, timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                     proc.stderr.decode("utf-8", "replace"), proc.stdout)


@pytest.fixture
def cli():
    return run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    host: str  # "127.0.0.1:PORT"
    url: str  # "http://127.0.0.1:PORT"
    root: Path


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    """Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port, data in a temp dir."""
    exe = shutil.which("docker-registry")
    if exe is None:
        pytest.skip("Debian's docker-registry is not installed (run scripts/setup-test-env.sh as root)")
    tmp = Path(tempfile.mkdtemp(prefix="supplychain-registry-"))
    port = _free_port()
    config = tmp / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        "storage:\n  filesystem:\n    rootdirectory: " + str(tmp / "data") + "\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = open(tmp / "registry.log", "wb")
    proc = subprocess.Popen([exe, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    probe = requests.Session()
    probe.trust_env = False  # never through an HTTP(S)_PROXY: the registry is on loopback
    while True:
        try:
            if probe.get(url + "/v2/", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            raise RuntimeError("docker-registry did not start: " + (tmp / "registry.log").read_text()[-2000:])
        time.sleep(0.1)
    try:
        yield Registry(host=f"127.0.0.1:{port}", url=url, root=tmp)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
