"""Red team: an admitted object naming an image the webhook did not judge must be denied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from supplychain.admission.engine import AdmissionEngine
from supplychain.admission.gatecore import GateCore
from supplychain.admission.receipts import (
    RECEIPT_ANNOTATION,
    ReceiptVerifier,
    receipt_statement,
    sign_receipt,
)
from supplychain.admission.review import parse_review
from supplychain.signing.keys import load_private_key, load_public_key
from tests.admission.conftest import review
from tests.image_signing.conftest import ENV, make_keypair

GOOD = "127.0.0.1:5999/acme/app@sha256:" + "a" * 64
EVIL = "127.0.0.1:5999/evil/x@sha256:" + "b" * 64


def _engine(tmp_path: Path) -> tuple[AdmissionEngine, str]:
    kp = make_keypair(tmp_path, "release")
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\ntrusted_registries: ['127.0.0.1:5999/**']\ngate:\n  rules: ['SC-*']\n"
                      f"signers:\n  - name: release\n    key: {kp.public}\n")
    core = GateCore(str(policy))

    def no_registry() -> Any:
        raise AssertionError("registry contacted")

    core._view_factory = no_registry
    key = load_private_key(kp.private, password=ENV["SUPPLYCHAIN_PASSWORD"].encode())
    name, digest = GOOD.split("@")
    receipt = sign_receipt(receipt_statement([(name, digest)], core.policy_digest,
                                         trust_root=core.trust_version), key)
    return AdmissionEngine(core, receipts=ReceiptVerifier([load_public_key(kp.public)])), receipt


def test_list_named_crd_cannot_hide_an_image_beside_its_items(tmp_path: Path) -> None:
    engine, receipt = _engine(tmp_path)
    try:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": [{"name": "c", "image": GOOD}]}}
        obj = {"apiVersion": "x.example/v1", "kind": "RunnerList",
               "metadata": {"name": "r", "annotations": {RECEIPT_ANNOTATION: receipt}},
               "items": [pod], "spec": {"runner": {"image": EVIL}}}
        # the receipt alone admits the good image (sanity: the object is judged on its images)
        sane = {"apiVersion": "x.example/v1", "kind": "Runner", "metadata": obj["metadata"],
                "spec": {"containers": [{"name": "c", "image": GOOD}]}}
        ok = engine.review(parse_review(json.dumps(review(sane, kind="Runner")).encode()))
        assert ok.allowed, ok.message
        resp = engine.review(parse_review(json.dumps(review(obj, kind="RunnerList")).encode()))
        assert not resp.allowed
        assert "evil/x" in resp.message
    finally:
        engine.close()
