"""The admission webhook as the API server sees it: real TLS checked against the caBundle with the
Service's DNS name, ``POST /validate?timeout=10s``, AdmissionReview v1 bodies built from real
manifests (rendered by kubectl), the real local registry and signing stack behind the decision."""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.image_signing.conftest import ENV, KeyPair, make_keypair
from tests.imagebuild import File, build_image, push_image

SERVICE = "supplychain-admission"
NAMESPACE = "supplychain"
DNS = f"{SERVICE}.{NAMESPACE}.svc"

GROUPS = {"Deployment": "apps", "StatefulSet": "apps", "DaemonSet": "apps", "ReplicaSet": "apps",
          "Job": "batch", "CronJob": "batch", "Pod": "", "ReplicationController": ""}


def render(manifest: str, tmp: Path) -> list[dict[str, Any]]:
    """Objects as kubectl renders them (``kubectl kustomize`` over a directory holding the file);
    PyYAML when kubectl is not installed."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return [d for d in yaml.safe_load_all(manifest) if d]
    d = tmp / f"k-{uuid.uuid4().hex[:8]}"
    d.mkdir()
    (d / "m.yaml").write_text(manifest)
    (d / "kustomization.yaml").write_text("resources: [m.yaml]\n")
    out = subprocess.run([kubectl, "kustomize", str(d)], capture_output=True, text=True, timeout=60, check=True)
    return [o for o in yaml.safe_load_all(out.stdout) if o]


def review(obj: dict[str, Any] | None, *, operation: str = "CREATE", old: dict[str, Any] | None = None,
           sub_resource: str | None = None, namespace: str = "shop", kind: str | None = None) -> dict[str, Any]:
    """An AdmissionReview v1 request as the API server sends it."""
    k = kind or (obj or old or {}).get("kind", "Pod")
    api = (obj or old or {}).get("apiVersion", "v1")
    version = api.split("/")[-1]
    req: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": {"group": GROUPS.get(k, ""), "version": version, "kind": k},
        "resource": {"group": GROUPS.get(k, ""), "version": version, "resource": k.lower() + "s"},
        "requestKind": {"group": GROUPS.get(k, ""), "version": version, "kind": k},
        "name": ((obj or old or {}).get("metadata") or {}).get("name", ""),
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
        "object": obj,
        "oldObject": old,
        "dryRun": False,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
    }
    if sub_resource:
        req["subResource"] = sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}


class _Conn(http.client.HTTPSConnection):
    """Connects to 127.0.0.1 but checks the certificate for the Service's DNS name, as the API
    server does when it calls ``<service>.<namespace>.svc``."""

    def __init__(self, port: int, ctx: ssl.SSLContext, server_name: str, timeout: float) -> None:
        super().__init__("127.0.0.1", port, context=ctx, timeout=timeout)
        self._server_name = server_name
        self._ctx = ctx

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self._server_name)


@dataclass
class ApiServer:
    """Calls the webhook the way kube-apiserver does."""

    port: int
    ca_file: Path
    server_name: str = DNS

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.check_hostname = True
        return ctx

    def call(self, body: dict[str, Any] | bytes, *, timeout: str | None = "10s",
             path: str = "/validate") -> tuple[int, dict[str, Any]]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        seconds = 30.0
        conn = _Conn(self.port, self.context(), self.server_name, seconds)
        try:
            url = path + (f"?timeout={timeout}" if timeout else "")
            conn.request("POST", url, body=raw, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        return resp.status, json.loads(data) if data else {}

    def get(self, path: str) -> tuple[int, bytes]:
        conn = _Conn(self.port, self.context(), self.server_name, 10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def admit(self, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        status, answer = self.call(body, **kw)
        assert status == 200, answer
        assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
        resp: dict[str, Any] = answer["response"]
        assert resp["uid"] == body["request"]["uid"]
        return resp


@dataclass
class Scene:
    host: str
    images: dict[str, str]
    release: KeyPair
    other: KeyPair
    policy: Path
    dir: Path


@pytest.fixture(scope="module")
def scene(registry, tmp_path_factory: pytest.TempPathFactory) -> Scene:  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.specs import SignerSpec

    client = RegistryClient()
    view = RegistryView(client)
    d = tmp_path_factory.mktemp("admission")
    release, other = make_keypair(d, "release"), make_keypair(d, "other")
    host = registry.host
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
           "components": [{"type": "library", "name": "zlib", "version": "1.3",
                           "purl": "pkg:deb/debian/zlib@1.3?arch=amd64"}]}
    images: dict[str, str] = {}
    for name in ("good", "good2", "unsigned", "wrongsig", "noattest"):
        ref = f"{host}/adm/{name}:1.0"
        digest = push_image(client, ref, build_image([[File(f"app/{name}", name.encode())]]))
        images[name] = f"{host}/adm/{name}:1.0@{digest}"
        images[name + ":tag"] = ref
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
        for name, key in (("good", release), ("good2", release), ("noattest", release), ("wrongsig", other)):
            sign_image(images[name + ":tag"], SignerSpec(key_path=str(key.private)), registry=view)
        for name, key in (("good", release), ("good2", release), ("wrongsig", other)):
            attest_image(images[name + ":tag"], json.dumps(bom).encode(), "https://cyclonedx.org/bom",
                         SignerSpec(key_path=str(key.private)), registry=view)
    (d / "keys").mkdir()
    (d / "keys" / "release.pub").write_bytes(release.public.read_bytes())
    policy = d / "release.yaml"
    policy.write_text(f"""version: 1
trusted_registries:
  - {host}/adm/**
  - 127.0.0.1:*/hang/**
images:
  require_digest: true
signers:
  - name: release-key
    images: ["**"]
    key: keys/release.pub
attestations:
  - images: "{host}/adm/**"
    require: [cyclonedx]
""")
    return Scene(host, images, release, other, policy, d)


def policy_beside_release_key(scene: Scene, directory: Path, filename: str, text: str) -> Path:
    """A policy file ``directory/filename`` holding ``text``, with the scene's release public key at
    ``directory/keys/release.pub`` (where the policies of these tests name it)."""
    (directory / "keys").mkdir(exist_ok=True)
    shutil.copy(scene.release.public, directory / "keys" / "release.pub")
    policy = directory / filename
    policy.write_text(text)
    return policy


def with_receipt(image: str, envelope: str, tmp: Path, *, name: str = "api") -> dict[str, Any]:
    """The Deployment of ``image`` rendered by kubectl, carrying the gate receipt ``envelope`` in
    its annotation (receipts.RECEIPT_ANNOTATION)."""
    from supplychain.admission.receipts import RECEIPT_ANNOTATION

    (obj,) = render(deployment(image, name=name, extra=f"\n      annotations:\n        {RECEIPT_ANNOTATION}: '{envelope}'"),
                    tmp)
    return obj


def deployment(image: str, *, name: str = "api", privileged: bool = False, extra: str = "") -> str:
    sc = "privileged: true" if privileged else "allowPrivilegeEscalation: false"
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}{extra}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {{type: RuntimeDefault}}
      automountServiceAccountToken: false
      containers:
        - name: app
          image: {image}
          securityContext:
            {sc}
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
"""


@dataclass
class Running:
    api: ApiServer
    engine: Any
    server: Any
    log: Path


@contextlib.contextmanager
def start_webhook(policy: Path, tmp: Path, **engine_kw: Any) -> Iterator[Running]:
    from supplychain.admission.cache import DecisionCache
    from supplychain.admission.engine import AdmissionEngine
    from supplychain.admission.gatecore import GateCore
    from supplychain.admission.server import bind
    from supplychain.admission.tls import ReloadingContext, make_self_signed, service_names, write_self_signed

    material = make_self_signed(service_names(SERVICE, NAMESPACE))
    tls_dir = tmp / f"tls-{uuid.uuid4().hex[:6]}"
    cert, key = write_self_signed(material, str(tls_dir))
    ca = tls_dir / "ca.pem"
    ca.write_bytes(material.ca_pem)
    cache = engine_kw.pop("cache", None) or DecisionCache()
    core = GateCore(str(policy))
    engine = AdmissionEngine(core, cache=cache, **engine_kw)
    log = tmp / f"log-{uuid.uuid4().hex[:6]}.jsonl"
    fh = log.open("w")
    server = bind("127.0.0.1", 0, engine, ReloadingContext(cert, key, check_every=0.2).current, log=fh)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield Running(ApiServer(server.server_address[1], ca), engine, server, log)
    finally:
        server.shutdown()
        server.server_close()
        engine.close()
        fh.close()
