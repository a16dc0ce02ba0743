"""The webhook against the real registry and signing stack, called as the API server calls it."""

from __future__ import annotations

import datetime
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.admission.conftest import (
    DNS,
    Running,
    Scene,
    deployment,
    render,
    review,
    start_webhook,
    with_receipt,
)
from tests.image_signing.conftest import ENV

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def hook(scene: Scene, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with start_webhook(scene.policy, tmp_path_factory.mktemp("hook")) as running:
        yield running


def _deploy(tmp: Path, image: str, **kw: Any) -> dict[str, Any]:
    (obj,) = render(deployment(image, **kw), tmp)
    return obj


def test_signed_and_attested_image_is_admitted(hook: Running, scene: Scene, tmp_path: Path) -> None:
    resp = hook.api.admit(review(_deploy(tmp_path, scene.images["good"])))
    assert resp["allowed"] is True, resp.get("status")
    audit = resp["auditAnnotations"]
    assert audit["decision"] == "allow"
    assert audit["policy-digest"].startswith("sha256:")
    assert "evidence-age" in audit


@pytest.mark.parametrize(("name", "rule"), [
    ("unsigned", "SC-GATE-001"),
    ("wrongsig", "SC-GATE-001"),
    ("noattest", "SC-GATE-002"),
])
def test_bad_images_are_denied_with_the_reason(hook: Running, scene: Scene, tmp_path: Path,
                                               name: str, rule: str) -> None:
    resp = hook.api.admit(review(_deploy(tmp_path, scene.images[name])))
    assert resp["allowed"] is False
    assert resp["status"]["code"] == 403
    msg = resp["status"]["message"]
    assert rule in msg and scene.images[name] in msg, msg


def test_tag_reference_is_refused_never_verified_by_tag(hook: Running, scene: Scene, tmp_path: Path) -> None:
    resp = hook.api.admit(review(_deploy(tmp_path, scene.images["good:tag"])))
    assert resp["allowed"] is False
    assert "by digest only" in resp["status"]["message"]


def test_policy_rules_on_the_object_apply_too(hook: Running, scene: Scene, tmp_path: Path) -> None:
    """A signed image in a privileged container is denied: every rule of the policy applies."""
    resp = hook.api.admit(review(_deploy(tmp_path, scene.images["good"], privileged=True)))
    assert resp["allowed"] is False
    assert "K8S-001" in resp["status"]["message"]


def test_cronjob_pod_with_init_and_ephemeral_containers(hook: Running, scene: Scene, tmp_path: Path) -> None:
    good, bad = scene.images["good"], scene.images["unsigned"]
    cron = f"""apiVersion: batch/v1
kind: CronJob
metadata: {{name: nightly}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          securityContext: {{runAsNonRoot: true, runAsUser: 10001, seccompProfile: {{type: RuntimeDefault}}}}
          automountServiceAccountToken: false
          initContainers:
            - name: migrate
              image: {bad}
              securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
              resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}
          containers:
            - name: job
              image: {good}
              securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
              resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}
"""
    (obj,) = render(cron, tmp_path)
    resp = hook.api.admit(review(obj))
    assert resp["allowed"] is False
    assert bad in resp["status"]["message"] and good not in resp["status"]["message"].split("denied:", 1)[1]


def _pod(good: str) -> dict[str, Any]:
    sc = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "automountServiceAccountToken": False,
                     "containers": [{"name": "app", "image": good, "securityContext": sc,
                                     "resources": {"limits": {"cpu": "1", "memory": "64Mi"}}}]}}


def test_ephemeral_container_update_is_judged(hook: Running, scene: Scene) -> None:
    """`kubectl debug` adds an ephemeral container through the pods/ephemeralcontainers subresource."""
    old = _pod(scene.images["good"])
    new = json.loads(json.dumps(old))
    new["spec"]["ephemeralContainers"] = [{"name": "debugger", "image": scene.images["unsigned"],
                                           "targetContainerName": "app",
                                           "securityContext": old["spec"]["containers"][0]["securityContext"]}]
    resp = hook.api.admit(review(new, operation="UPDATE", old=old, sub_resource="ephemeralcontainers"))
    assert resp["allowed"] is False
    assert scene.images["unsigned"] in resp["status"]["message"]
    new["spec"]["ephemeralContainers"][0]["image"] = scene.images["good2"]
    resp = hook.api.admit(review(new, operation="UPDATE", old=old, sub_resource="ephemeralcontainers"))
    assert resp["allowed"] is True, resp.get("status")


def test_unknown_kind_with_image_fields_fails_closed(hook: Running, scene: Scene) -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
           "spec": {"runner": {"image": scene.images["unsigned"]}}}
    resp = hook.api.admit(review(obj, kind="Widget"))
    assert resp["allowed"] is False
    # either the policy layer finds the image (and the gate judges it) or the webhook refuses the
    # object as not understood: never an allow for an unchecked image
    msg = resp["status"]["message"]
    assert "does not understand" in msg or scene.images["unsigned"] in msg, msg


def test_delete_is_allowed_and_malformed_review_is_denied(hook: Running) -> None:
    resp = hook.api.admit(review(None, operation="DELETE", old={"apiVersion": "v1", "kind": "Pod",
                                                                "metadata": {"name": "x"}}))
    assert resp["allowed"] is True
    body = review({"apiVersion": "v1", "kind": "Pod"})
    body["request"]["operation"] = "PATCH"
    status, answer = hook.api.call(body)
    assert status == 200 and answer["response"]["allowed"] is False
    assert answer["response"]["uid"] == body["request"]["uid"]
    status, answer = hook.api.call(b"not json at all")
    assert status == 400


def test_tls_is_checked_against_the_ca_bundle_and_service_name(hook: Running) -> None:
    import ssl

    assert hook.api.get("/healthz")[0] == 200
    wrong = type(hook.api)(hook.api.port, hook.api.ca_file, server_name="evil.example.com")
    with pytest.raises(ssl.SSLCertVerificationError):
        wrong.get("/healthz")


def test_health_readiness_and_metrics(hook: Running, scene: Scene, tmp_path: Path) -> None:
    hook.api.admit(review(_deploy(tmp_path, scene.images["good"])))
    assert hook.api.get("/readyz") == (200, b"ok\n")
    status, text = hook.api.get("/metrics")
    assert status == 200
    body = text.decode()
    assert 'supplychain_admission_decisions_total{result="allow"}' in body
    assert "supplychain_admission_latency_seconds_bucket" in body
    assert "supplychain_admission_cache_hits_total" in body
    records = [json.loads(line) for line in hook.log.read_text().splitlines() if line.strip()]
    decisions = [r for r in records if r.get("event") == "decision"]
    assert decisions and {"uid", "kind", "allowed", "latency_ms"} <= set(decisions[-1])


def test_cache_serves_the_second_request_without_the_registry(scene: Scene, tmp_path: Path) -> None:
    with start_webhook(scene.policy, tmp_path) as running:
        obj = _deploy(tmp_path, scene.images["good"])
        first = running.api.admit(review(obj))
        assert first["allowed"] is True and first["auditAnnotations"]["cache-hits"] == "0"

        def no_registry() -> Any:
            raise AssertionError("registry contacted for a cached decision")

        running.engine.core._view_factory = no_registry
        second = running.api.admit(review(obj))
        assert second["allowed"] is True, second
        assert second["auditAnnotations"]["cache-hits"] == "1"
        assert running.engine.metrics.cache_hits >= 1


def test_concurrent_requests_for_one_digest_share_one_verification(scene: Scene, tmp_path: Path) -> None:
    with start_webhook(scene.policy, tmp_path) as running:
        calls: list[str] = []
        real = running.engine.core.judge_image

        def counting(image: str, **kw: Any) -> Any:
            calls.append(image)
            time.sleep(0.3)  # keep the first computation in flight while the others arrive
            return real(image, **kw)

        running.engine.core.judge_image = counting
        obj = _deploy(tmp_path, scene.images["good2"])
        answers: list[dict[str, Any]] = []

        def one() -> None:
            answers.append(running.api.admit(review(obj)))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 8 and all(a["allowed"] for a in answers)
        assert calls == [scene.images["good2"]]


@pytest.fixture
def hanging_registry() -> Iterator[str]:
    """A registry that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                held.append(conn)
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


def test_hanging_registry_gives_a_timely_denial(scene: Scene, tmp_path: Path, hanging_registry: str) -> None:
    image = f"{hanging_registry}/hang/app:1@sha256:" + "b" * 64
    with start_webhook(scene.policy, tmp_path) as running:
        started = time.monotonic()
        resp = running.api.admit(review(_deploy(tmp_path, image)), timeout="3s")
        elapsed = time.monotonic() - started
        assert resp["allowed"] is False
        assert "deadline" in resp["status"]["message"]
        assert elapsed < 3.0, elapsed  # answered before the API server's own timeout


def test_receipt_admits_with_the_registry_stopped(scene: Scene, tmp_path: Path) -> None:
    from supplychain.admission.receipts import (
        RECEIPT_ANNOTATION,
        ReceiptVerifier,
        receipt_statement,
        sign_receipt,
    )
    from supplychain.signing.keys import load_private_key, load_public_key

    verifier = ReceiptVerifier([load_public_key(scene.release.public)])
    with start_webhook(scene.policy, tmp_path, receipts=verifier) as running:
        policy_digest = running.engine.core.policy_digest
        image = scene.images["unsigned"]  # the receipt vouches for it: no registry call is made
        name, digest = image.split(":1.0@")
        key = load_private_key(scene.release.private, password=ENV["SUPPLYCHAIN_PASSWORD"].encode())
        trust = running.engine.core.trust_version
        envelope = sign_receipt(receipt_statement([(name, digest)], policy_digest, trust_root=trust), key)
        annotated = deployment(image, extra=f"\n      annotations:\n        {RECEIPT_ANNOTATION}: '{envelope}'")
        (obj,) = render(annotated, tmp_path)

        def no_registry() -> Any:
            raise AssertionError("registry contacted although a valid receipt covers the image")

        running.engine.core._view_factory = no_registry
        resp = running.api.admit(review(obj))
        assert resp["allowed"] is True, resp.get("status")
        assert resp["auditAnnotations"]["receipt-images"] == "1"

        # a receipt signed by another key, for another policy, or too old is ignored (full check)
        other = load_private_key(scene.other.private, password=ENV["SUPPLYCHAIN_PASSWORD"].encode())
        old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
        for bad, why in ((sign_receipt(receipt_statement([(name, digest)], policy_digest, trust_root=trust), other),
                          "signature"),
                         (sign_receipt(receipt_statement([(name, digest)], "sha256:" + "0" * 64, trust_root=trust), key),
                          "policy"),
                         (sign_receipt(receipt_statement([(name, digest)], policy_digest, trust_root=trust, now=old),
                                       key), "older"),
                         (sign_receipt(receipt_statement([(name, digest)], policy_digest, trust_root="sha256:" + "1" * 64),
                                       key), "trust root"),
                         (sign_receipt(receipt_statement([(name, digest)], policy_digest), key), "trust root"),
                         (sign_receipt(receipt_statement([("evil.example/x", digest)], policy_digest, trust_root=trust),
                                       key), "")):
            (obj,) = render(deployment(image, extra=f"\n      annotations:\n        {RECEIPT_ANNOTATION}: '{bad}'"),
                            tmp_path)
            running.engine.cache._entries.clear()
            running.engine.core._view_factory = no_registry
            resp = running.api.admit(review(obj))
            assert resp["allowed"] is False, resp
            # a receipt for another image name admits nothing for this one (no warning: it is valid)
            assert any("receipt ignored" in w and why in w for w in resp.get("warnings", [])) == bool(why), resp


def test_certificate_rotation_is_picked_up(scene: Scene, tmp_path: Path) -> None:
    import ssl

    from supplychain.admission.tls import make_self_signed, service_names

    with start_webhook(scene.policy, tmp_path) as running:
        assert running.api.get("/healthz")[0] == 200
        tls = running.server.tls.__self__  # the ReloadingContext
        fresh = make_self_signed(service_names("supplychain-admission", "supplychain"))
        Path(tls.cert_file).write_bytes(fresh.cert_pem)
        Path(tls.key_file).write_bytes(fresh.key_pem)
        time.sleep(0.5)
        with pytest.raises(ssl.SSLCertVerificationError):  # the old CA no longer vouches for it
            running.api.get("/healthz")
        new_ca = tmp_path / "new-ca.pem"
        new_ca.write_bytes(fresh.ca_pem)
        assert type(running.api)(running.api.port, new_ca).get("/healthz")[0] == 200
        assert DNS.endswith(".svc")


def test_a_receipt_made_with_another_key_beside_the_same_policy_file_admits_nothing(scene: Scene,
                                                                                    tmp_path: Path) -> None:
    """The policy digest names the policy file *and* the public keys it loads: a pipeline whose copy
    of release.yaml is byte-identical but whose keys/release.pub holds another key has judged under
    another policy, and its receipt must not stand in for the webhook's own check (before, both
    were named by the file's bytes alone and the webhook admitted an image signed by a key it does
    not trust)."""
    import shutil

    from supplychain.admission.receipts import ReceiptVerifier
    from supplychain.gate.policy import load_gate_policy, policy_digest
    from supplychain.signing.keys import load_public_key
    from tests.conftest import run_cli

    pipeline = tmp_path / "pipeline"
    (pipeline / "keys").mkdir(parents=True)
    shutil.copy(scene.policy, pipeline / "release.yaml")
    (pipeline / "keys" / "release.pub").write_bytes(scene.other.public.read_bytes())
    assert (pipeline / "release.yaml").read_bytes() == scene.policy.read_bytes()
    image = scene.images["wrongsig"]  # signed and attested by the other key: passes the pipeline's copy
    out = tmp_path / "receipt.json"
    r = run_cli("gate", "--image", image, "--policy", str(pipeline / "release.yaml"), "--receipt-out", str(out),
                "--receipt-key", str(scene.release.private), env=ENV)
    assert r.exit_code == 0, r.stdout + r.stderr
    theirs = policy_digest((pipeline / "release.yaml").read_bytes(), load_gate_policy(pipeline / "release.yaml"))
    ours = policy_digest(scene.policy.read_bytes(), load_gate_policy(scene.policy))
    assert theirs != ours
    assert json.loads(out.read_text())["payload"]  # a signed receipt was written

    verifier = ReceiptVerifier([load_public_key(scene.release.public)])  # the cluster trusts the receipt key
    with start_webhook(scene.policy, tmp_path, receipts=verifier) as running:
        assert running.engine.core.policy_digest == ours
        envelope = out.read_text().strip()
        resp = running.api.admit(review(with_receipt(image, envelope, tmp_path)))
        assert resp["allowed"] is False, resp
        assert any("receipt ignored" in w and "policy" in w for w in resp.get("warnings", [])), resp
