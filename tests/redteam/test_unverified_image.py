"""Red team: an image the gate could not verify (tampered manifest, unreadable, missing) never passes,
even when the policy lowers, turns off or waives SC-GATE-006 (docs/gate.md: "an image that was not
verified never passes")."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from supplychain.gate import decide_image, load_gate_policy
from supplychain.policy.report.model import Decision
from supplychain.signing.image import RegistryView
from supplychain.signing.specs import TrustSpec
from tests.image_signing.conftest import make_keypair

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": "sha256:" + "c" * 64, "size": 2},
                       "layers": []}).encode()
CLAIMED = "sha256:" + hashlib.sha256(b"another manifest").hexdigest()  # not MANIFEST's digest


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer(True)

    def do_HEAD(self) -> None:
        self._answer(False)

    def _answer(self, body: bool) -> None:
        if self.path.rstrip("/") == "/v2":
            data, ctype, code = b"{}", "application/json", 200
        elif "/manifests/" in self.path and "/tampered/" in self.path:
            data, ctype, code = MANIFEST, "application/vnd.oci.image.manifest.v1+json", 200
        else:
            data, ctype, code = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}', \
                "application/json", 404
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("lowering", ["rules:\n  SC-GATE-006: warning\n", "rules:\n  SC-GATE-006: off\n",
                                      "gate:\n  rules: ['SC-IMG-*', 'SC-GATE-001']\n",
                                      "waivers:\n  - rule: SC-GATE-006\n    image: \"127.0.0.1:*/**\"\n    reason: images are pushed later\n"
                                      "    expires: 2099-12-31\n"])
@pytest.mark.parametrize("repo", ["tampered", "missing"])
def test_unverified_image_never_passes(fake_registry: str, tmp_path: Path, lowering: str, repo: str) -> None:
    kp = make_keypair(tmp_path, "release")
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\nextends: none\ntrusted_registries: ['{fake_registry}/**']\n"
                      f"signers:\n  - name: release\n    key: {kp.public}\n" + lowering)
    gp = load_gate_policy(policy)
    d = decide_image(f"{fake_registry}/acme/{repo}@{CLAIMED}", gp, registry=RegistryView(), trust=TrustSpec())
    assert d.decision is not Decision.PASS, (d.findings, d.waived)
