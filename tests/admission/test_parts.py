"""The webhook's parts on their own: the protocol, the cache, the deadline, the CLI, deploy/."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from supplychain.admission.cache import DecisionCache
from supplychain.admission.review import AdmissionResponse, ReviewError, new_ephemeral_only, parse_review
from supplychain.admission.server import parse_timeout
from tests.admission.conftest import ApiServer, review
from tests.conftest import REPO, run_cli


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda b: b.update(apiVersion="admission.k8s.io/v1beta1"), "expected apiVersion"),
    (lambda b: b.pop("request"), "request is missing"),
    (lambda b: b["request"].pop("uid"), "request.uid is missing"),
    (lambda b: b["request"].update(uid=""), "request.uid is empty"),
    (lambda b: b["request"].update(operation="PATCH"), "request.operation"),
    (lambda b: b["request"].update(object=[1, 2]), "request.object must be an object"),
    (lambda b: b["request"].update(dryRun="yes"), "dryRun must be a boolean"),
    (lambda b: b["request"].update(kind="Pod"), "request.kind is missing or not an object"),
    (lambda b: b["request"].update(namespace=5), "request.namespace must be a string"),
])
def test_malformed_reviews_name_the_field(mutate: Any, message: str) -> None:
    body = review({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})
    mutate(body)
    with pytest.raises(ReviewError, match=message):
        parse_review(json.dumps(body).encode())


def test_hostile_bodies_are_review_errors() -> None:
    for raw in (b"", b"[]", b"\xff\xfe", b"[" * 100_000, b"{" + b'"a":' * 50_000):
        with pytest.raises(ReviewError):
            parse_review(raw)
    with pytest.raises(ReviewError, match="exceeds"):
        parse_review(b" " * (4 * 1024 * 1024))


def test_response_shape_and_limits() -> None:
    r = AdmissionResponse(uid="u1", allowed=False, code=403, message="x" * 10_000,
                          warnings=[f"w{i} " + "y" * 500 for i in range(30)], audit={"decision": "deny"})
    out = r.review()
    assert out["apiVersion"] == "admission.k8s.io/v1" and out["kind"] == "AdmissionReview"
    resp = out["response"]
    assert resp["uid"] == "u1" and resp["allowed"] is False
    assert resp["status"]["code"] == 403 and len(resp["status"]["message"]) <= 4000
    assert len(resp["warnings"]) == 21 and all(len(w) <= 240 for w in resp["warnings"])
    ok = AdmissionResponse(uid="u2", allowed=True).review()["response"]
    assert ok == {"uid": "u2", "allowed": True}


def test_ephemeral_update_judges_only_added_or_changed_entries() -> None:
    old = {"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "x"}],
                                   "ephemeralContainers": [{"name": "d1", "image": "e1"}]}}
    new = json.loads(json.dumps(old))
    new["spec"]["ephemeralContainers"].append({"name": "d2", "image": "e2"})
    body = review(new, operation="UPDATE", old=old, sub_resource="ephemeralcontainers")
    reduced = new_ephemeral_only(parse_review(json.dumps(body).encode()))
    assert reduced is not None
    assert reduced["spec"]["containers"] == []
    assert reduced["spec"]["ephemeralContainers"] == [{"name": "d2", "image": "e2"}]
    # an existing entry whose image changed is judged again (the API server forbids it; we fail closed)
    new["spec"]["ephemeralContainers"][0]["image"] = "changed"
    body = review(new, operation="UPDATE", old=old, sub_resource="ephemeralcontainers")
    reduced = new_ephemeral_only(parse_review(json.dumps(body).encode()))
    assert reduced is not None and {c["image"] for c in reduced["spec"]["ephemeralContainers"]} == {"changed", "e2"}


def test_go_durations() -> None:
    assert parse_timeout("10s") == 10
    assert parse_timeout("1m30s") == 90
    assert parse_timeout("500ms") == 0.5
    assert parse_timeout("") is None and parse_timeout("ten") is None and parse_timeout("10") is None


def test_cache_ttl_lru_and_undecided_ttl() -> None:
    now = [0.0]
    cache: DecisionCache[str] = DecisionCache(max_entries=2, ttl=60, undecided_ttl=5, clock=lambda: now[0])
    cache.put("a", "A")
    cache.put("b", "B", undecided=True)
    now[0] = 6
    assert cache.get("b") is None  # undecided answers expire sooner
    assert cache.get("a") is not None
    cache.put("c", "C")
    cache.put("d", "D")  # evicts the least recently used ("a" was used after "c"? no: a, c, d -> a goes)
    assert len(cache) == 2 and cache.get("a") is None
    now[0] = 100
    assert cache.get("c") is None and cache.get("d") is None


def test_single_flight_and_errors_are_not_cached() -> None:
    cache: DecisionCache[int] = DecisionCache()
    calls = []
    gate = threading.Event()

    def compute() -> tuple[int, bool]:
        calls.append(1)
        gate.wait(5)
        return 42, False

    results: list[int] = []

    def ask() -> None:
        fut, _cached = cache.get_or_compute("k", compute)
        results.append(fut.result(5).value)

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join()
    assert results == [42] * 10 and len(calls) == 1

    def boom() -> tuple[int, bool]:
        raise RuntimeError("registry exploded")

    fut, _ = cache.get_or_compute("e", boom)
    with pytest.raises(RuntimeError):
        fut.result()
    assert cache.get("e") is None


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    policy = REPO / "policies" / "release.yaml"
    r = run_cli("serve", "admission", "--policy", str(policy))
    assert r.exit_code == 2 and "--self-signed" in r.stderr
    r = run_cli("serve", "admission", "--policy", str(policy), "--self-signed", "--tls-cert", str(policy),
                "--tls-key", str(policy))
    assert r.exit_code == 2
    r = run_cli("serve", "admission", "--policy", str(policy), "--self-signed", "--receipt-max-age", "soon",
                "--receipt-key", str(policy))
    assert r.exit_code == 2
    assert "serve admission" in run_cli("serve", "admission", "--help").stdout


def test_cli_serves_and_shuts_down_gracefully(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "supplychain", "serve", "admission", "--policy", str(REPO / "policies" / "release.yaml"),
         "--self-signed", "--ca-bundle-out", str(ca), "--host", "127.0.0.1", "--port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first = json.loads(proc.stderr.readline())
        assert first["event"] == "listening" and first["policy_digest"].startswith("sha256:")
        port = int(first["address"].rsplit(":", 1)[1])
        api = ApiServer(port, ca)
        assert api.get("/healthz")[0] == 200
        # a Pod with a tag reference: denied with the reason, as the API server would receive it
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
               "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}
        resp = api.admit(review(pod))
        assert resp["allowed"] is False and "denied" in resp["status"]["message"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        rest = [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]
        assert any(r.get("event") == "decision" and r["allowed"] is False for r in rest)
        assert any(r.get("event") == "shutdown" for r in rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_deploy_manifests_are_valid_kubernetes_and_pass_our_policy() -> None:
    kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is in the test extra")
    docs = [d for f in sorted((REPO / "deploy").glob("*.yaml")) if f.name != "kustomization.yaml"
            for d in yaml.safe_load_all(f.read_text()) if d]
    kinds = {d["kind"] for d in docs}
    assert {"Namespace", "ServiceAccount", "Deployment", "Service", "ValidatingWebhookConfiguration",
            "NetworkPolicy"} <= kinds
    for doc in docs:
        kv.validate(doc, "1.33.0", strict=True)
    hook = next(d for d in docs if d["kind"] == "ValidatingWebhookConfiguration")["webhooks"][0]
    assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None" and hook["timeoutSeconds"] <= 30
    excluded = hook["namespaceSelector"]["matchExpressions"][0]
    assert excluded["operator"] == "NotIn" and {"supplychain", "kube-system"} <= set(excluded["values"])
    r = run_cli("policy", "check", str(REPO / "deploy"), "--trusted-registry", "registry.example.com/platform/*")
    assert r.exit_code == 0, r.stdout + r.stderr
