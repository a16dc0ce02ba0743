"""The registry faults of issue 19 (and the refused connection of issue 16) through the real CLI:
exit 3 naming the registry, one clear line, nothing pinned, signed or lost, bounded time."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.cli_robustness.helpers import fails_cleanly
from tests.conftest import run_cli
from tests.oci.conftest import CREDS_ENV, AuthRegistry
from tests.oci.faultproxy import FaultProxy
from tests.oci.test_registry_faults import MANIFEST_PATH, _client

pytestmark = pytest.mark.registry
PW = {"SUPPLYCHAIN_PASSWORD": "pw"}
ENV = {**CREDS_ENV, **PW}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("keys")
    assert run_cli("keygen", "--output-key-prefix", str(d / "k"), env=PW).exit_code == 0
    return d


def test_refused_connection_fails_fast_with_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{s.getsockname()[1]}"
    start = time.monotonic()
    res = fails_cleanly("sbom", "image", f"{host}/app:v1", code=3, names=host)
    assert time.monotonic() - start < 10  # no retry loop with backoff (was ~8 s of sleeps)
    lines = res.stderr.strip().splitlines()
    assert lines == [f"error: {host}/app:v1: cannot connect to {host}: connection refused"], lines


def test_pin_and_sign_never_use_a_non_manifest_digest(proxy: FaultProxy, keys: Path, tmp_path: Path) -> None:
    proxy.add("junk", path=MANIFEST_PATH, times=None, body=b'{"status": "ok"}')
    dockerfile = tmp_path / "Dockerfile"
    text = f"FROM {proxy.host}/faults/app:v1\nUSER app\n"
    dockerfile.write_text(text)
    fails_cleanly("pin", str(dockerfile), code=3, names=proxy.host, env=ENV)
    assert dockerfile.read_text() == text
    fails_cleanly("sign", "image", f"{proxy.host}/faults/app:v1", "--key", str(keys / "k.key"),
                  code=3, names=proxy.host, env=ENV)
    assert not [r for r in proxy.log if r.method in ("PUT", "POST", "PATCH")]


@pytest.mark.slow
def test_sign_keeps_every_signature_when_the_index_read_fails(proxy: FaultProxy, keys: Path,
                                                              auth_registry: AuthRegistry) -> None:
    ref = f"{proxy.host}/faults/app:v1"
    direct = f"{auth_registry.host}/{auth_registry.repo}"
    subject = auth_registry.image.manifest_digest
    res = run_cli("sign", "image", ref, "--key", str(keys / "k.key"), env=ENV)
    assert res.exit_code == 0, res.stderr
    before = [d.digest for d in _client().referrers(direct, subject)]
    assert before
    proxy.add("status", method="GET", path=r"/manifests/sha256-", times=None, status=404)  # no error code
    fails_cleanly("sign", "image", ref, "--key", str(keys / "k.key"), code=3, names=proxy.host, env=ENV)
    after = [d.digest for d in _client().referrers(direct, subject)]
    assert after == before
    # and verify says it cannot tell (exit 3), not "no signatures" (exit 1)
    fails_cleanly("verify", "image", ref, "--key", str(keys / "k.pub"), "--offline", code=3, names=proxy.host,
                  env=ENV)
    proxy.clear()
    res = run_cli("verify", "image", ref, "--key", str(keys / "k.pub"), "--offline", env=ENV)
    assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize("how", ["env", "flag"])
def test_stalled_registry_hits_the_deadline(proxy: FaultProxy, how: str) -> None:
    proxy.add("drip_body", method="GET", path=MANIFEST_PATH, times=None, interval=0.05, need_auth=True)
    args = ["sbom", "image", f"{proxy.host}/faults/app:v1"]
    env = dict(CREDS_ENV)
    if how == "env":
        env["SUPPLYCHAIN_REGISTRY_TIMEOUT"] = "1.5"
    else:
        args += ["--registry-timeout", "1.5"]
    start = time.monotonic()
    res = fails_cleanly(*args, code=3, names=proxy.host, env=env)
    assert time.monotonic() - start < 15
    assert "1.5 s deadline" in res.stderr


def test_bad_registry_timeout_is_a_usage_error() -> None:
    res = run_cli("sbom", "image", "127.0.0.1:9/app:v1", "--registry-timeout", "soon")
    assert res.exit_code == 2 and "--registry-timeout" in res.stderr
    res = run_cli("sbom", "image", "127.0.0.1:9/app:v1", env={"SUPPLYCHAIN_REGISTRY_TIMEOUT": "-1"})
    assert res.exit_code == 2 and "SUPPLYCHAIN_REGISTRY_TIMEOUT" in res.stderr


def test_sbom_image_through_transient_faults(proxy: FaultProxy, auth_registry: AuthRegistry, tmp_path: Path) -> None:
    """A dropped manifest body, a 503 with Retry-After and a layer cut mid-body: retried, resumed,
    and the SBOM is the one of the image."""
    proxy.add("cut_body", method="GET", path=MANIFEST_PATH, need_auth=True)
    proxy.add("status", method="GET", path=r"/blobs/", need_auth=True, status=503, headers={"Retry-After": "0"})
    big = auth_registry.image.manifest_json["layers"][1]["digest"]
    proxy.add("cut_body", method="GET", path=f"/blobs/{big}", need_auth=True, at=70_000)
    out = tmp_path / "bom.json"
    res = run_cli("sbom", "image", f"{proxy.host}/faults/app:v1", "-o", str(out), env=CREDS_ENV)
    assert res.exit_code == 0, res.stderr
    names = {c["name"] for c in json.loads(out.read_text())["components"]}
    assert "musl" in names
    assert any("range" in r.headers for r in proxy.requests(f"/blobs/{big}"))


@pytest.mark.slow
def test_gate_cannot_decide_when_the_referrers_index_read_fails(proxy: FaultProxy, keys: Path,
                                                                 tmp_path: Path) -> None:
    """A bare 404 for the referrers tag index of a signed image is "cannot tell" (exit 3,
    undecided), never "no signature" (exit 1) and never a pass."""
    ref = f"{proxy.host}/faults/app:v1"
    res = run_cli("sign", "image", ref, "--key", str(keys / "k.key"), env=ENV)
    assert res.exit_code == 0, res.stderr
    pinned = res.stdout.strip()
    policy = tmp_path / "policy.yaml"
    policy.write_text(f'version: 1\nextends: default\ntrusted_registries: ["{proxy.host}/**"]\n'
                      f"signers:\n  - name: release\n    key: {keys / 'k.pub'}\n")
    ok = run_cli("gate", "--image", pinned, "--policy", str(policy), "--offline", "--json", env=ENV)
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    proxy.add("status", method="GET", path=r"/manifests/sha256-", times=None, status=404)
    r = run_cli("gate", "--image", pinned, "--policy", str(policy), "--offline", "--json", env=ENV)
    assert r.exit_code == 3, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["decision"] == "undecided" and proxy.host in doc["undecided"][0]["reason"]
