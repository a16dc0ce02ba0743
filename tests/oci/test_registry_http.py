"""Registry client behaviour docker-registry cannot show: bearer and basic auth, credential
sources, retries, dropped connections and cross-host redirects. A small real HTTP server
on 127.0.0.1 plays the registry (real sockets, no mocking of requests)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from supplychain.errors import InputError, NetworkError, RegistryError, VerificationError
from supplychain.oci.auth import CredentialStore
from supplychain.oci.descriptor import Descriptor
from supplychain.oci.registry import RegistryAuthError, RegistryClient, parse_challenge

MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": "sha256:" + "1" * 64, "size": 2}, "layers": []}).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
BLOB = b"blob-data" * 1000
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


class State:
    def __init__(self) -> None:
        self.log: list[tuple[str, str, str | None]] = []  # method, path, Authorization
        self.fail_counts: dict[str, int] = {}
        self.token_requests: list[dict[str, list[str]]] = []
        self.storage_auth: list[str | None] = []
        self.port = 0
        self.storage_port = 0
        self.lock = threading.Lock()


def make_handler(state: State, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _fail_first(self, key: str, n: int) -> bool:
            with state.lock:
                c = state.fail_counts.get(key, 0)
                state.fail_counts[key] = c + 1
            return c < n

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.log.append(("POST", url.path, self.headers.get("Authorization")))
            if url.path == "/token":
                form = parse_qs(body.decode())
                state.token_requests.append(form)
                if form.get("grant_type") == ["refresh_token"] and form.get("refresh_token") == ["refresh-me"]:
                    scope = form.get("scope", [""])[0]
                    self._send(200, json.dumps({"access_token": "tok:" + scope, "expires_in": 300}).encode(),
                               {"Content-Type": "application/json"})
                    return
                self._send(401, b"")
                return
            self._send(404, b"")

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            auth = self.headers.get("Authorization")
            with state.lock:
                state.log.append((self.command, url.path, auth))
            if role == "storage":
                state.storage_auth.append(auth)
                self._send(200, BLOB, {"Content-Type": "application/octet-stream"})
                return
            p = url.path
            if p == "/token":
                q = parse_qs(url.query)
                state.token_requests.append(q)
                if auth != "Basic " + base64.b64encode(b"alice:s3cret").decode():
                    self._send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad creds"}]}')
                    return
                scope = q.get("scope", [""])[0]
                self._send(200, json.dumps({"token": "tok:" + scope, "expires_in": 300}).encode(),
                           {"Content-Type": "application/json"})
                return
            if p.startswith("/v2/bearer/"):
                scope = "repository:bearer/app:pull"
                if auth != "Bearer tok:" + scope:
                    realm = f"http://127.0.0.1:{state.port}/token"
                    self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                               {"WWW-Authenticate": f'Bearer realm="{realm}",service="test-registry",scope="{scope}"'})
                    return
                self._manifest()
                return
            if p.startswith("/v2/basic/"):
                if auth != "Basic " + base64.b64encode(b"bob:pw").decode():
                    self._send(401, b"", {"WWW-Authenticate": 'Basic realm="test"'})
                    return
                self._manifest()
                return
            if p.startswith("/v2/ratelimited/"):
                if self._fail_first(p, 2):
                    self._send(429, b'{"errors":[{"code":"TOOMANYREQUESTS"}]}', {"Retry-After": "0"})
                    return
                self._manifest()
                return
            if p.startswith("/v2/broken/"):
                self._send(503, b"down")
                return
            if p.startswith("/v2/dropped/"):
                if self._fail_first(p, 1):
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._manifest()
                return
            if p.startswith("/v2/redirect/") and "/blobs/" in p:
                if auth != "Bearer secret-token":
                    self._send(401, b"", {"WWW-Authenticate": 'Basic realm="x"'})
                    return
                self._send(307, b"", {"Location": f"http://localhost:{state.storage_port}/storage/{p.rsplit('/', 1)[1]}"})
                return
            if p.startswith("/v2/resume/") and "/blobs/" in p:
                rng = self.headers.get("Range")
                if rng is None:
                    # promise the whole blob, send half, drop the connection
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(BLOB)))
                    self.end_headers()
                    self.wfile.write(BLOB[: len(BLOB) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                start = int(rng.split("=", 1)[1].rstrip("-"))
                if p.startswith("/v2/resume/norange/"):
                    self._send(200, BLOB)
                    return
                self._send(206, BLOB[start:], {"Content-Range": f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}"})
                return
            if p.startswith("/v2/withapi/app/referrers/"):
                q = parse_qs(url.query)
                page = q.get("page", ["1"])[0]
                entries = [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": "sha256:" + c * 64, "size": 10, "artifactType": at}
                           for c, at in (("a", "application/x-sig"), ("b", "application/x-sbom"))]
                if page == "2":
                    entries = [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "digest": "sha256:" + "c" * 64, "size": 10, "artifactType": "application/x-sig"}]
                headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
                if page == "1":
                    headers["Link"] = f'<{p}?page=2>; rel="next"'
                body = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries}
                self._send(200, json.dumps(body).encode(), headers)
                return
            if p.startswith("/v2/lying/"):
                self._send(200, MANIFEST, {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                                           "Docker-Content-Digest": "sha256:" + "f" * 64})
                return
            self._send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}')

        def _manifest(self) -> None:
            self._send(200, MANIFEST, {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                                       "Docker-Content-Digest": MANIFEST_DIGEST})

    return Handler


@pytest.fixture
def servers() -> Iterator[State]:
    state = State()
    reg = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state, "registry"))
    storage = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state, "storage"))
    state.port = reg.server_address[1]
    state.storage_port = storage.server_address[1]
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True) for s in (reg, storage)]
    for t in threads:
        t.start()
    try:
        yield state
    finally:
        for s in (reg, storage):
            s.shutdown()
            s.server_close()


def _client(env: dict[str, str] | None = None, paths: list[Path] | None = None, **kw: Any) -> RegistryClient:
    return RegistryClient(credentials=CredentialStore(env=env or {}, config_paths=paths or []), backoff=0.01, **kw)


def test_bearer_token_flow_with_env_credentials(servers: State) -> None:
    host = f"127.0.0.1:{servers.port}"
    c = _client({"SUPPLYCHAIN_REGISTRY_USERNAME": "alice", "SUPPLYCHAIN_REGISTRY_PASSWORD": "s3cret"})
    data, mt, digest = c.get_manifest(f"{host}/bearer/app:v1")
    assert data == MANIFEST and digest == MANIFEST_DIGEST and mt.endswith("manifest.v1+json")
    assert servers.token_requests[0]["scope"] == ["repository:bearer/app:pull"]
    assert servers.token_requests[0]["service"] == ["test-registry"]
    # the token is cached per scope: a second request goes straight through
    c.get_manifest(f"{host}/bearer/app:v2")
    assert len(servers.token_requests) == 1
    assert sum(1 for m, p, a in servers.log if p.startswith("/v2/bearer/") and a is None) == 1


def test_bearer_with_wrong_credentials_says_what_to_do(servers: State) -> None:
    host = f"127.0.0.1:{servers.port}"
    c = _client({"SUPPLYCHAIN_REGISTRY_USERNAME": "alice", "SUPPLYCHAIN_REGISTRY_PASSWORD": "wrong"})
    with pytest.raises(RegistryAuthError) as exc:
        c.get_manifest(f"{host}/bearer/app:v1")
    assert host in str(exc.value) and "401" in str(exc.value)
    assert exc.value.hint and "docker login" in exc.value.hint
    assert exc.value.exit_code == 3
    # anonymous: the token service refuses too
    with pytest.raises(RegistryAuthError, match="anonymous"):
        _client().get_manifest(f"{host}/bearer/app:v1")


def test_env_credentials_scoped_to_a_host(servers: State) -> None:
    host = f"127.0.0.1:{servers.port}"
    env = {"SUPPLYCHAIN_REGISTRY_USERNAME": "alice", "SUPPLYCHAIN_REGISTRY_PASSWORD": "s3cret",
           "SUPPLYCHAIN_REGISTRY_HOST": "other.example.com"}
    with pytest.raises(RegistryAuthError):
        _client(env).get_manifest(f"{host}/bearer/app:v1")
    env["SUPPLYCHAIN_REGISTRY_HOST"] = host
    assert _client(env).get_manifest(f"{host}/bearer/app:v1")[2] == MANIFEST_DIGEST


def test_basic_auth_from_docker_config(servers: State, tmp_path: Path) -> None:
    host = f"127.0.0.1:{servers.port}"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"auths": {f"http://{host}": {"auth": base64.b64encode(b"bob:pw").decode()}}}))
    assert _client(paths=[cfg]).get_manifest(f"{host}/basic/app:1")[2] == MANIFEST_DIGEST
    # DOCKER_CONFIG points at the directory
    store = CredentialStore(env={"DOCKER_CONFIG": str(tmp_path)})
    creds = store.get(host)
    assert creds is not None and creds.username == "bob" and "pw" not in repr(creds)
    with pytest.raises(RegistryAuthError, match="requires authentication"):
        _client().get_manifest(f"{host}/basic/app:1")
    # DOCKER_AUTH_CONFIG holds a whole config document (GitLab CI)
    inline = json.dumps({"auths": {host: {"username": "bob", "password": "pw"}}})
    assert _client({"DOCKER_AUTH_CONFIG": inline}).get_manifest(f"{host}/basic/app:1")[2] == MANIFEST_DIGEST
    cfg.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        _client(paths=[cfg]).get_manifest(f"{host}/basic/app:1")


def _helper(bin_dir: Path, name: str, user: str, secret: str, host: str) -> None:
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 1\n'
        "read server\n"
        f'if [ "$server" = "{host}" ]; then\n'
        f'  printf \'{{"ServerURL":"%s","Username":"{user}","Secret":"{secret}"}}\' "$server"\n'
        "else\n"
        "  echo 'credentials not found in native keychain'; exit 1\n"
        "fi\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_credential_helpers(servers: State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host = f"127.0.0.1:{servers.port}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _helper(bin_dir, "test", "alice", "s3cret", host)
    _helper(bin_dir, "store", "bob", "pw", host)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    cfg = tmp_path / "config.json"
    # credHelpers for this host
    cfg.write_text(json.dumps({"credHelpers": {host: "test"}}))
    assert _client(paths=[cfg]).get_manifest(f"{host}/bearer/app:1")[2] == MANIFEST_DIGEST
    # credsStore as the default store
    cfg.write_text(json.dumps({"credsStore": "store"}))
    assert _client(paths=[cfg]).get_manifest(f"{host}/basic/app:1")[2] == MANIFEST_DIGEST
    # a helper that has nothing for the host: anonymous, then a clear auth error
    cfg.write_text(json.dumps({"credHelpers": {"elsewhere.example.com": "test"}}))
    with pytest.raises(RegistryAuthError):
        _client(paths=[cfg]).get_manifest(f"{host}/basic/app:1")
    # REGISTRY_AUTH_FILE (podman / skopeo auth.json) comes first
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"auths": {host: {"username": "bob", "password": "pw"}}}))
    store = CredentialStore(env={"REGISTRY_AUTH_FILE": str(auth_file), "HOME": str(tmp_path)})
    c = RegistryClient(credentials=store)
    assert c.get_manifest(f"{host}/basic/app:1")[2] == MANIFEST_DIGEST


def test_retries_on_429_then_success(servers: State) -> None:
    host = f"127.0.0.1:{servers.port}"
    assert _client().get_manifest(f"{host}/ratelimited/app:1")[2] == MANIFEST_DIGEST
    assert servers.fail_counts["/v2/ratelimited/app/manifests/1"] == 3


def test_retries_are_bounded(servers: State) -> None:
    host = f"127.0.0.1:{servers.port}"
    with pytest.raises(RegistryError, match="503") as exc:
        _client(max_retries=2).get_manifest(f"{host}/broken/app:1")
    assert f"{host}/broken/app:1" in str(exc.value)
    assert sum(1 for _, p, _ in servers.log if p.startswith("/v2/broken/")) == 3


def test_dropped_connection_is_retried(servers: State) -> None:
    host = f"127.0.0.1:{servers.port}"
    assert _client().get_manifest(f"{host}/dropped/app:1")[2] == MANIFEST_DIGEST


def test_unreachable_registry_is_a_network_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError) as exc:
        _client(max_retries=1).get_manifest(f"127.0.0.1:{port}/app:1")
    assert exc.value.exit_code == 3 and f"127.0.0.1:{port}" in str(exc.value)


def test_no_credentials_across_cross_host_redirect(servers: State) -> None:
    host = f"127.0.0.1:{servers.port}"
    c = _client()
    # prime the client as if the registry had asked for a bearer token
    c._tokens[(host, "repository:redirect/app:pull")] = ("secret-token", 1e18)
    data = c.get_blob_bytes(f"{host}/redirect/app", Descriptor("", BLOB_DIGEST, len(BLOB)))
    assert data == BLOB
    assert servers.storage_auth == [None]
    assert any(p.startswith("/v2/redirect/") and a == "Bearer secret-token" for _, p, a in servers.log)


def test_lying_registry_digest_header(servers: State) -> None:
    host = f"127.0.0.1:{servers.port}"
    with pytest.raises(VerificationError, match="Docker-Content-Digest"):
        _client().get_manifest(f"{host}/lying/app:1")
    # asked by digest, the body is checked against the pinned digest
    with pytest.raises(VerificationError):
        _client().get_manifest(f"{host}/lying/app@sha256:" + "e" * 64)


def test_plain_http_policy() -> None:
    c = _client(insecure_registries=["registry.internal:5000"])
    assert c._scheme("127.0.0.1:5000") == "http"
    assert c._scheme("localhost:5000") == "http"
    assert c._scheme("[::1]:5000") == "http"
    assert c._scheme("127.8.9.10") == "http"
    assert c._scheme("registry.internal:5000") == "http"
    assert c._scheme("ghcr.io") == "https"
    assert c._scheme("128.0.0.1:5000") == "https"
    assert c._scheme("registry.internal:5001") == "https"
    assert _client(insecure_registries=["registry.internal"])._scheme("registry.internal:5001") == "http"
    with pytest.raises(RegistryError, match="plain-HTTP"):
        c._check_scheme("http://ghcr.io/v2/", "x")


def test_parse_challenge() -> None:
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/alpine:pull,push"')
    assert scheme == "bearer"
    assert params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                      "scope": "repository:library/alpine:pull,push"}
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})
    assert parse_challenge("")[0] == ""


def test_dropped_blob_download_resumes_with_range(servers: State) -> None:
    host = f"127.0.0.1:{servers.port}"
    c = _client()
    assert c.get_blob_bytes(f"{host}/resume/app", Descriptor("", BLOB_DIGEST, len(BLOB))) == BLOB
    ranges = [p for m, p, _ in servers.log if p.startswith("/v2/resume/app/blobs/")]
    assert len(ranges) == 2
    # a server that ignores Range (answers 200) restarts the download (issue 19, item 7): the
    # bytes already read are skipped and the whole blob still verifies
    assert c.get_blob_bytes(f"{host}/resume/norange/app", Descriptor("", BLOB_DIGEST, len(BLOB))) == BLOB


def test_referrers_api_with_pagination_and_filter(servers: State) -> None:
    host = f"127.0.0.1:{servers.port}"
    c = _client()
    subject = "sha256:" + "9" * 64
    got = c.referrers(f"{host}/withapi/app", subject)
    assert [d.digest[7] for d in got] == ["a", "b", "c"]
    sigs = c.referrers(f"{host}/withapi/app", subject, artifact_type="application/x-sig")
    assert [d.digest[7] for d in sigs] == ["a", "c"]
    # the API was used: no fallback tag was asked for
    assert not any("/manifests/sha256-" in p for _, p, _ in servers.log)


def test_identity_token_oauth2_refresh(servers: State, tmp_path: Path) -> None:
    host = f"127.0.0.1:{servers.port}"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"auths": {host: {"identitytoken": "refresh-me"}}}))
    assert _client(paths=[cfg]).get_manifest(f"{host}/bearer/app:v1")[2] == MANIFEST_DIGEST
    form = servers.token_requests[-1]
    assert form["grant_type"] == ["refresh_token"] and form["service"] == ["test-registry"]
    assert form["scope"] == ["repository:bearer/app:pull"]
