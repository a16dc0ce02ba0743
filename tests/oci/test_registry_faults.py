"""The registry client under faults (issue 19): a fault-injecting proxy on loopback in front of the
real docker-registry with password auth (tests/oci/conftest.py), and a second loopback server that
blob downloads are redirected to. One test per defect of the issue and per fault class."""

from __future__ import annotations

import base64
import email.utils
import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import NetworkError, RegistryError, VerificationError
from supplychain.oci.answer import RegistryAuthError, RegistryNotFound, retry_after_seconds
from supplychain.oci.auth import CredentialStore
from supplychain.oci.descriptor import (
    EMPTY_JSON_DIGEST,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    digest_of,
)
from supplychain.oci.registry import RegistryClient
from tests.oci.conftest import CREDS_ENV, PASSWORD, USER, AuthRegistry
from tests.oci.faultproxy import FaultProxy, Storage, Upstream

pytestmark = pytest.mark.registry

BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
MANIFEST_PATH = r"/v2/faults/app/manifests/v1$"


def _client(timeout: float = 10.0, retries: int = 3) -> RegistryClient:
    return RegistryClient(credentials=CredentialStore(env=CREDS_ENV, config_paths=[]), backoff=0.01,
                          max_retries=retries, timeout=timeout)


def _ref(proxy: FaultProxy, tag: str = "v1") -> str:
    return f"{proxy.host}/faults/app:{tag}"


def _layer(reg: AuthRegistry) -> Descriptor:
    return Descriptor.from_dict(reg.image.manifest_json["layers"][1])


# ---------------------------------------------------------------- 1. credentials bound to their host


@pytest.fixture
def storage(auth_registry: AuthRegistry, request: pytest.FixtureRequest) -> Iterator[Storage]:
    s = Storage(auth_registry.image.blobs, getattr(request, "param", "none"))
    try:
        yield s
    finally:
        s.stop()


def _redirect_blobs(proxy: FaultProxy, storage: Storage) -> None:
    proxy.add("redirect", method="GET", path=r"/blobs/sha256:", times=None, need_auth=True,
              headers={"Location": f"http://{storage.host}/blob/"})


@pytest.mark.parametrize("storage", ["none", "bearer"], indirect=True)
def test_redirect_target_gets_no_registry_credentials(proxy: FaultProxy, storage: Storage,
                                                      auth_registry: AuthRegistry) -> None:
    _redirect_blobs(proxy, storage)
    layer = _layer(auth_registry)
    data = _client().get_blob_bytes(f"{proxy.host}/faults/app", layer)
    assert data == auth_registry.image.blobs[layer.digest]
    seen = [r.headers.get("authorization") for r in storage.log]
    assert BASIC not in seen and all(a is None or a == f"Bearer {storage.token}" for a in seen), seen
    if storage.challenge == "bearer":  # its token was asked for anonymously and used only there
        assert [r.headers.get("authorization") for r in storage.log if r.path.startswith("/token")] == [None]
    assert all(r.headers.get("authorization") in (None, BASIC) for r in proxy.log)


@pytest.mark.parametrize("storage", ["basic", "bearer-norealm", "bearer-refuses", "unknown"], indirect=True)
def test_redirect_target_challenge_fails_as_its_own(proxy: FaultProxy, storage: Storage,
                                                    auth_registry: AuthRegistry) -> None:
    _redirect_blobs(proxy, storage)
    with pytest.raises(RegistryAuthError) as exc:
        _client().get_blob_bytes(f"{proxy.host}/faults/app", _layer(auth_registry))
    assert f"{storage.host} (redirected to from {proxy.host})" in str(exc.value), str(exc.value)
    assert exc.value.exit_code == 3
    assert all(r.headers.get("authorization") != BASIC for r in storage.log)


# ---------------------------------------------------------------- 2. a digest only from a manifest


@pytest.mark.parametrize("body", [
    b'{"status": "ok"}',
    b'{"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]}',
    b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
    b'{"schemaVersion": 2, "mediaType": "text/plain", "config": {}, "layers": []}',
    b"<html>rate limited</html>",
])
def test_non_manifest_page_never_gives_a_digest(proxy: FaultProxy, body: bytes) -> None:
    proxy.add("junk", method="GET", path=MANIFEST_PATH, times=None, body=body)
    proxy.add("status", method="HEAD", path=MANIFEST_PATH, times=None, status=200,
              headers={"Content-Type": "application/json"})
    c = _client()
    for call in (lambda: c.get_manifest(_ref(proxy)), lambda: c.resolve_digest(_ref(proxy))):
        with pytest.raises(RegistryError) as exc:
            call()
        assert proxy.host in str(exc.value) and exc.value.exit_code == 3


# ---------------------------------------------------------------- 3. the referrers tag index


def _artifact(client: RegistryClient, reg: AuthRegistry, subject: str) -> Descriptor:
    client.upload_blob(f"{reg.host}/{reg.repo}", b"{}", EMPTY_JSON_DIGEST)
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/x-test",
           "config": {"mediaType": OCI_EMPTY, "digest": EMPTY_JSON_DIGEST, "size": 2},
           "layers": [{"mediaType": OCI_EMPTY, "digest": EMPTY_JSON_DIGEST, "size": 2}],
           "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 10},
           "annotations": {"n": uuid.uuid4().hex}}
    raw = json.dumps(doc).encode()
    digest = client.put_manifest(f"{reg.host}/{reg.repo}", digest_of(raw),
                                 raw, OCI_MANIFEST)
    return Descriptor(OCI_MANIFEST, digest, len(raw), artifact_type="application/x-test")


@pytest.fixture
def signed(auth_registry: AuthRegistry) -> tuple[str, list[Descriptor]]:
    """A fresh subject digest whose referrers tag index lists three artifacts."""
    subject = "sha256:" + uuid.uuid4().hex * 2
    direct = _client()
    entries = [_artifact(direct, auth_registry, subject) for _ in range(3)]
    for d in entries:
        direct.add_referrer(f"{auth_registry.host}/{auth_registry.repo}", subject, d)
    return subject, entries


def _listed(reg: AuthRegistry, subject: str) -> list[str]:
    return [d.digest for d in _client().referrers(f"{reg.host}/{reg.repo}", subject)]


@pytest.mark.parametrize("fault", [
    {"action": "status", "status": 404},  # a 404 that does not say MANIFEST_UNKNOWN
    {"action": "status", "status": 404, "body": b'{"errors":[{"code":"NAME_UNKNOWN"}]}'},
    {"action": "junk", "body": b"<html>maintenance</html>", "headers": {"Content-Type": "text/html"}},
    {"action": "junk", "body": b'{"ok": true}'},
    {"action": "junk", "body": json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {},
                                           "layers": []}).encode(),
     "headers": {"Content-Type": OCI_MANIFEST}},
    {"action": "status", "status": 500},
])
def test_referrers_index_never_replaced_after_a_bad_read(proxy: FaultProxy, auth_registry: AuthRegistry,
                                                         signed: tuple[str, list[Descriptor]],
                                                         fault: dict[str, Any]) -> None:
    subject, entries = signed
    new = _artifact(_client(), auth_registry, subject)
    proxy.add(fault.pop("action"), method="GET", path=r"/manifests/sha256-", times=None, **fault)
    with pytest.raises(RegistryError) as exc:
        _client().add_referrer(f"{proxy.host}/{auth_registry.repo}", subject, new)
    assert proxy.host in str(exc.value) and exc.value.exit_code == 3
    assert not proxy.requests(r"/manifests/sha256-", "PUT")
    assert _listed(auth_registry, subject) == [d.digest for d in entries]


def test_referrers_index_update_is_conditional_and_confirmed(proxy: FaultProxy, auth_registry: AuthRegistry,
                                                             signed: tuple[str, list[Descriptor]]) -> None:
    subject, entries = signed
    new = _artifact(_client(), auth_registry, subject)
    # the registry says the index changed since our read: read again and merge, never overwrite
    proxy.add("status", method="PUT", path=r"/manifests/sha256-", status=412,
              body=b'{"errors":[{"code":"PRECONDITION_FAILED"}]}')
    _client().add_referrer(f"{proxy.host}/{auth_registry.repo}", subject, new)
    assert _listed(auth_registry, subject) == [d.digest for d in entries] + [new.digest]
    puts = proxy.requests(r"/manifests/sha256-", "PUT")
    assert len(puts) == 2 and all(p.headers.get("if-match", "").startswith('"sha256:') for p in puts)
    gets = proxy.requests(r"/manifests/sha256-", "GET")
    assert len(gets) >= 3  # read, read again after the 412, read back to confirm
    # adding it again changes nothing
    _client().add_referrer(f"{proxy.host}/{auth_registry.repo}", subject, new)
    assert len(proxy.requests(r"/manifests/sha256-", "PUT")) == 2


def test_first_referrer_creates_the_index_only_on_manifest_unknown(proxy: FaultProxy,
                                                                   auth_registry: AuthRegistry) -> None:
    subject = "sha256:" + uuid.uuid4().hex * 2
    first = _artifact(_client(), auth_registry, subject)
    _client().add_referrer(f"{proxy.host}/{auth_registry.repo}", subject, first)
    assert _listed(auth_registry, subject) == [first.digest]
    put = proxy.requests(r"/manifests/sha256-", "PUT")
    assert len(put) == 1 and "if-match" not in put[0].headers
    assert json.loads(put[0].body)["mediaType"] == OCI_INDEX


# ---------------------------------------------------------------- 4. every failure is a registry failure


@pytest.mark.parametrize("fault", [
    {"action": "status", "status": 503, "times": None},
    {"action": "status", "status": 429, "times": None, "headers": {"Retry-After": "0"}},
    {"action": "junk", "times": None, "body": b"<html>login</html>", "headers": {"Content-Type": "text/html"}},
])
def test_undecidable_answers_are_registry_errors(proxy: FaultProxy, fault: dict[str, Any]) -> None:
    proxy.add(fault.pop("action"), path=r"/manifests/", **fault)
    with pytest.raises(RegistryError) as exc:
        _client().get_manifest(_ref(proxy))
    assert type(exc.value).__name__ in ("RegistryError", "NetworkError", "RegistryAuthError")
    assert exc.value.exit_code == 3 and proxy.host in str(exc.value)


def test_failing_token_service_is_a_registry_error(proxy: FaultProxy) -> None:
    token = FaultProxy("127.0.0.1:9")  # every request to it gets a rule below
    token.add("junk", times=None, status=502, body=b"<html>bad gateway</html>", headers={"Content-Type": "text/html"})
    try:
        proxy.add("status", path=r"/manifests/", times=None, status=401,
                  headers={"WWW-Authenticate": f'Bearer realm="http://{token.host}/token",service="x"'})
        with pytest.raises(RegistryError) as exc:
            _client().get_manifest(_ref(proxy))
        assert exc.value.exit_code == 3 and proxy.host in str(exc.value) and token.host in str(exc.value)
    finally:
        token.stop()


# ---------------------------------------------------------------- 5. deadlines


@pytest.mark.parametrize("fault", [
    {"action": "stall_headers", "interval": 0.1},  # slow loris headers
    {"action": "drip_body", "interval": 0.05},  # a manifest dripped byte by byte
    {"action": "stall", "interval": 30},  # reads the request, never answers
])
def test_manifest_deadline(proxy: FaultProxy, fault: dict[str, Any]) -> None:
    proxy.add(fault.pop("action"), method="GET", path=MANIFEST_PATH, times=None, **fault)
    start = time.monotonic()
    with pytest.raises(NetworkError, match="deadline") as exc:
        _client(timeout=1.0).get_manifest(_ref(proxy))
    assert time.monotonic() - start < 4
    assert proxy.host in str(exc.value) and exc.value.exit_code == 3


def test_blob_deadline_per_read(proxy: FaultProxy, auth_registry: AuthRegistry) -> None:
    proxy.add("drip_body", method="GET", path=r"/blobs/sha256:", times=None, interval=0.01, need_auth=True)
    start = time.monotonic()
    with pytest.raises(NetworkError, match="deadline") as exc:
        _client(timeout=1.0, retries=0).get_blob_bytes(f"{proxy.host}/faults/app", _layer(auth_registry))
    assert time.monotonic() - start < 4 and proxy.host in str(exc.value)


# ---------------------------------------------------------------- 6. size caps


def test_huge_referrers_and_error_bodies_are_not_read_whole(proxy: FaultProxy, signed: tuple[str, list[Descriptor]],
                                                            auth_registry: AuthRegistry) -> None:
    subject, _ = signed
    proxy.add("huge_body", method="GET", path=r"/manifests/sha256-", size=1536 << 20,
              headers={"Content-Type": OCI_INDEX})
    with pytest.raises(RegistryError, match="more than the 4194304 bytes"):
        _client(retries=0).referrers(f"{proxy.host}/{auth_registry.repo}", subject)
    assert proxy.sent < 64 << 20, proxy.sent  # the client stopped reading long before 1.5 GiB
    proxy.sent = 0
    proxy.add("huge_body", method="GET", path=MANIFEST_PATH, size=1536 << 20, status=500,
              headers={"Content-Type": "application/json"})
    with pytest.raises(RegistryError, match="HTTP 500"):
        _client(retries=0).get_manifest(_ref(proxy))
    assert proxy.sent < 64 << 20, proxy.sent
    # an announced size over the cap is refused before reading
    proxy.add("junk", method="GET", path=MANIFEST_PATH, body=b"{" * (5 << 20))
    with pytest.raises(RegistryError, match="announced 5242880 bytes"):
        _client(retries=0).get_manifest(_ref(proxy))


# ---------------------------------------------------------------- 7. transient faults are retried


@pytest.mark.parametrize("fault", [
    {"action": "reset"},  # connection reset before any answer
    {"action": "cut_headers", "at": 30},  # truncated in the middle of the headers
    {"action": "cut_body"},  # truncated in the middle of the manifest body
    {"action": "status", "status": 502},  # a 5xx without Retry-After
    {"action": "status", "status": 503, "headers": {"Retry-After": "1"}},
    {"action": "status", "status": 429, "body": b'{"errors":[{"code":"TOOMANYREQUESTS"}]}'},
])
def test_transient_manifest_faults_are_retried(proxy: FaultProxy, auth_registry: AuthRegistry,
                                               fault: dict[str, Any]) -> None:
    proxy.add(fault.pop("action"), method="GET", path=MANIFEST_PATH, times=2, need_auth=True, **fault)
    start = time.monotonic()
    data, _, digest = _client().get_manifest(_ref(proxy))
    assert digest == auth_registry.image.manifest_digest and data == auth_registry.image.manifest
    if "headers" in fault:
        assert time.monotonic() - start >= 1.9  # Retry-After: 1, twice


def test_retry_after_http_date(proxy: FaultProxy, auth_registry: AuthRegistry) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    assert 0.5 < (retry_after_seconds(when) or 0) <= 2.0
    proxy.add("status", method="GET", path=MANIFEST_PATH, status=503, need_auth=True, headers={"Retry-After": when})
    start = time.monotonic()
    assert _client().get_manifest(_ref(proxy))[2] == auth_registry.image.manifest_digest
    assert time.monotonic() - start >= 0.9
    # a Retry-After beyond the deadline fails at once instead of sleeping past it
    proxy.add("status", method="GET", path=MANIFEST_PATH, status=429, times=None, headers={"Retry-After": "25"})
    start = time.monotonic()
    with pytest.raises(NetworkError, match="deadline") as exc:
        _client(timeout=10.0).get_manifest(_ref(proxy))
    assert time.monotonic() - start < 5  # neither slept 25 s nor waited for the 10 s deadline
    assert "retry after 25 s" in str(exc.value)


def test_referrers_index_read_is_retried(proxy: FaultProxy, signed: tuple[str, list[Descriptor]],
                                         auth_registry: AuthRegistry) -> None:
    subject, entries = signed
    proxy.add("cut_body", method="GET", path=r"/manifests/sha256-", need_auth=True)
    assert _listed_via(proxy, auth_registry, subject) == [d.digest for d in entries]


def _listed_via(proxy: FaultProxy, reg: AuthRegistry, subject: str) -> list[str]:
    return [d.digest for d in _client().referrers(f"{proxy.host}/{reg.repo}", subject)]


def test_blob_resume_restart_and_bad_resume(proxy: FaultProxy, auth_registry: AuthRegistry) -> None:
    layer = _layer(auth_registry)
    blob = auth_registry.image.blobs[layer.digest]
    repo = f"{proxy.host}/faults/app"
    # dropped mid-body, resumed with Range
    proxy.add("cut_body", method="GET", path=r"/blobs/sha256:", need_auth=True, at=100_000)
    assert _client().get_blob_bytes(repo, layer) == blob
    assert "range" in proxy.requests(r"/blobs/sha256:")[-1].headers
    # dropped mid-body, and the registry answers the Range with 200: the download restarts
    proxy.add("cut_body", method="GET", path=r"/blobs/sha256:", need_auth=True, at=100_000)
    proxy.add("ignore_range", method="GET", path=r"/blobs/sha256:")
    assert _client().get_blob_bytes(repo, layer) == blob
    # the resumed bytes are not the blob's: a network fault (exit 3), not a corrupt layer
    proxy.add("cut_body", method="GET", path=r"/blobs/sha256:", need_auth=True, at=100_000)
    proxy.add("bad_range", method="GET", path=r"/blobs/sha256:")
    with pytest.raises(NetworkError) as exc:
        _client().get_blob_bytes(repo, layer)
    assert exc.value.exit_code == 3 and proxy.host in str(exc.value)


def test_manifest_rewritten_to_another_digest_is_not_trusted(proxy: FaultProxy) -> None:
    """Retries never turn a lying answer into a digest: a body that does not match the
    registry's Docker-Content-Digest is refused."""

    def swap(up: Upstream) -> Upstream:
        doc = json.loads(up.body)
        doc["annotations"] = {"evil": "1"}
        return Upstream(up.status, up.reason, up.headers, json.dumps(doc).encode())

    proxy.add("rewrite", method="GET", path=MANIFEST_PATH, need_auth=True, rewrite=swap)
    with pytest.raises(VerificationError, match="Docker-Content-Digest"):
        _client().get_manifest(_ref(proxy))



def test_not_found_tells_a_registry_answer_from_a_bare_404(proxy: FaultProxy) -> None:
    """Callers that treat "not found" as "absent" (legacy signature tags) can tell the registry's
    MANIFEST_UNKNOWN from a 404 a proxy or CDN made up."""
    with pytest.raises(RegistryNotFound) as exc:
        _client().get_manifest(_ref(proxy, "no-such-tag"))
    assert exc.value.says_unknown and exc.value.codes == ["MANIFEST_UNKNOWN"]
    proxy.add("status", method="GET", path=MANIFEST_PATH, status=404, body=b"<html>not here</html>")
    with pytest.raises(RegistryNotFound) as exc:
        _client().get_manifest(_ref(proxy))
    assert not exc.value.says_unknown and exc.value.exit_code == 3


def test_tls_failure_is_one_clear_error_without_retries(tmp_path: Path) -> None:
    """A certificate the client does not trust: one attempt, the reason in words, exit 3."""
    import datetime
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(hours=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            accepted.append(1)
            try:
                ctx.wrap_socket(conn, server_side=True).close()
            except (OSError, ssl.SSLError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    host = f"127.0.0.1:{srv.getsockname()[1]}"
    c = _client()
    try:
        with pytest.raises(NetworkError) as exc, c.transport.operation():
            c.transport.send("GET", f"https://{host}/v2/", "probe")
    finally:
        srv.close()
    assert f"cannot connect to {host}: TLS error: " in str(exc.value) and "certificate" in str(exc.value)
    assert exc.value.hint and "REQUESTS_CA_BUNDLE" in exc.value.hint
    assert len(accepted) == 1  # not retried
