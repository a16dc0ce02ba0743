"""Registry commands against a closed port and a loopback server answering junk: exit 3, the
registry named, no traceback, and nothing pinned, signed or written."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_robustness.helpers import fails_cleanly
from tests.conftest import run_cli

PW = {"SUPPLYCHAIN_PASSWORD": "pw"}
MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
               "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
    "layers": []}).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
DEEP = b"[" * 100_000 + b"]" * 100_000


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "html"

    def _send(self, status: int, ctype: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/v2/":
            self._send(200, "application/json", b"{}")
        elif self.mode == "html":
            self._send(200, "text/html", b"<html><body>proxy login</body></html>")
        elif self.mode == "deep":
            self._send(200, "application/octet-stream", DEEP)
        elif "/referrers/" in self.path:  # mode "deep-referrers": a good manifest, junk referrers
            self._send(200, "application/vnd.oci.image.index.v1+json", DEEP)
        else:
            self._send(200, "application/vnd.oci.image.manifest.v1+json", MANIFEST,
                       {"Docker-Content-Digest": MANIFEST_DIGEST})

    do_HEAD = do_GET

    def do_PUT(self) -> None:
        self._send(500, "text/plain", b"no")

    do_POST = do_PUT

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def junk_registry() -> Iterator[dict[str, str]]:
    hosts: dict[str, str] = {}
    servers = []
    for mode in ("html", "deep", "deep-referrers"):
        handler = type(f"H_{mode}", (_Handler,), {"mode": mode})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        hosts[mode] = f"127.0.0.1:{srv.server_address[1]}"
    yield hosts
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("keys")
    assert run_cli("keygen", "--output-key-prefix", str(d / "k"), env=PW).exit_code == 0
    (d / "pred.json").write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6"}')
    return d


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def _image_commands(ref: str, keys: Path) -> list[list[str]]:
    return [
        ["sbom", "image", ref],
        ["sign", "image", ref, "--key", str(keys / "k.key")],
        ["verify", "image", ref, "--key", str(keys / "k.pub"), "--offline"],
        ["attest", "image", ref, "--key", str(keys / "k.key"), "--predicate", str(keys / "pred.json")],
    ]


@pytest.mark.parametrize("mode", ["html", "deep"])
def test_image_commands_name_the_failing_registry(junk_registry: dict[str, str], keys: Path, mode: str) -> None:
    for args in _image_commands(f"{junk_registry[mode]}/app:v1", keys):
        fails_cleanly(*args, code=3, names=junk_registry[mode], env=PW)


def test_closed_port_is_a_registry_failure() -> None:
    # one command only: connection refused is retried with backoff (several seconds)
    host = _closed_port()
    fails_cleanly("sbom", "image", f"{host}/app:v1", code=3, names=host)


@pytest.mark.parametrize("mode", ["html", "deep"])
def test_pin_never_writes_a_junk_digest(junk_registry: dict[str, str], tmp_path: Path, mode: str) -> None:
    host = junk_registry[mode]
    dockerfile = tmp_path / "Dockerfile"
    text = f"FROM {host}/app:v1\nUSER app\n"
    dockerfile.write_text(text)
    fails_cleanly("pin", str(dockerfile), code=3, names=host)
    assert dockerfile.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Dockerfile"]


def test_deeply_nested_referrers_answer(junk_registry: dict[str, str], keys: Path) -> None:
    host = junk_registry["deep-referrers"]
    fails_cleanly("verify", "image", f"{host}/app:v1", "--key", str(keys / "k.pub"), "--offline",
                  code=3, names=host)


class _BasicAuth(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="x"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


def test_deeply_nested_docker_config(tmp_path: Path) -> None:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BasicAuth)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        (tmp_path / "config.json").write_text("[" * 100_000)
        fails_cleanly("sbom", "image", f"127.0.0.1:{srv.server_address[1]}/app:v1",
                      names=str(tmp_path / "config.json"), env={"DOCKER_CONFIG": str(tmp_path)})
    finally:
        srv.shutdown()
        srv.server_close()
