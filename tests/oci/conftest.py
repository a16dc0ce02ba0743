"""A second real registry for the fault tests: Debian's docker-registry with password auth
(htpasswd, bcrypt), holding one small image, and a fault-injecting proxy in front of it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import _free_port
from tests.imagebuild import BuiltImage, Dir, File, build_image, push_image
from tests.oci.faultproxy import FaultProxy

USER, PASSWORD = "alice", "s3cret-pw"
CREDS_ENV = {"SUPPLYCHAIN_REGISTRY_USERNAME": USER, "SUPPLYCHAIN_REGISTRY_PASSWORD": PASSWORD}


@dataclass
class AuthRegistry:
    host: str  # "127.0.0.1:PORT" of the registry itself
    image: BuiltImage  # pushed as app:v1
    repo: str = "faults/app"


def _image() -> BuiltImage:
    return build_image([
        [Dir("/etc"), File("/etc/os-release", b"ID=alpine\nVERSION_ID=3.19.0\n"),
         Dir("/lib"), Dir("/lib/apk"), Dir("/lib/apk/db"),
         File("/lib/apk/db/installed", b"P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\n\n")],
        [Dir("/app"), File("/app/data.bin", bytes(range(256)) * 2048)],  # a 512 KiB layer to cut
    ], compression="none")


@pytest.fixture(scope="session")
def auth_registry() -> Iterator[AuthRegistry]:
    """docker-registry (distribution 2.8) with htpasswd auth on a free 127.0.0.1 port."""
    exe = shutil.which("docker-registry")
    if exe is None:
        pytest.skip("Debian's docker-registry is not installed (run scripts/setup-test-env.sh as root)")
    bcrypt = pytest.importorskip("bcrypt", reason="bcrypt (test extra) makes the htpasswd file")
    tmp = Path(tempfile.mkdtemp(prefix="supplychain-authreg-"))
    (tmp / "htpasswd").write_bytes(USER.encode() + b":" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)) + b"\n")
    port = _free_port()
    (tmp / "config.yml").write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        "storage:\n  filesystem:\n    rootdirectory: " + str(tmp / "data") + "\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        f"auth:\n  htpasswd:\n    realm: faults\n    path: {tmp / 'htpasswd'}\n"
    )
    log = open(tmp / "registry.log", "wb")
    proc = subprocess.Popen([exe, "serve", str(tmp / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v2/"
    probe = requests.Session()
    probe.trust_env = False
    deadline = time.monotonic() + 20
    while True:
        try:
            if probe.get(url, timeout=1).status_code == 401:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            raise RuntimeError("docker-registry did not start: " + (tmp / "registry.log").read_text()[-2000:])
        time.sleep(0.1)
    try:
        from supplychain.oci.auth import CredentialStore
        from supplychain.oci.registry import RegistryClient

        host = f"127.0.0.1:{port}"
        image = _image()
        client = RegistryClient(credentials=CredentialStore(env=CREDS_ENV, config_paths=[]))
        push_image(client, f"{host}/faults/app:v1", image)
        yield AuthRegistry(host, image)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def proxy(auth_registry: AuthRegistry) -> Iterator[FaultProxy]:
    p = FaultProxy(auth_registry.host)
    try:
        yield p
    finally:
        p.stop()
