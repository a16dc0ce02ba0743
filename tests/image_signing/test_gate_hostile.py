"""The gate judges every image on its own signatures: junk and unreachable referrers next to a
valid signature neither fail that image nor stop the run from judging the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.conftest import run_cli
from tests.image_signing.conftest import ENV
from tests.image_signing.test_junk_referrers import JUNK, _attach

pytestmark = pytest.mark.registry


def test_gate_with_junk_and_unreachable_referrers(push, keys, registry, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, a_digest = push("gatejunk/a")
    b, b_digest = push("gatejunk/b")
    c, c_digest = push("gatejunk/c")
    for ref in (a, c):
        for junk in JUNK:
            _attach(ref, junk)
    # a referrer whose bundle blob is gone (garbage-collected, a broken mirror)
    lost = b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "lost": true}'
    manifest_digest = _attach(a, lost)
    manifest = json.loads(client.get_manifest(f"{registry.host}/gatejunk/a@{manifest_digest}")[0])
    session = requests.Session()
    session.trust_env = False
    gone = session.delete(f"{registry.url}/v2/gatejunk/a/blobs/{manifest['layers'][0]['digest']}", timeout=10)
    assert gone.status_code == 202, gone.text
    for ref in (a, b):
        assert run_cli("sign", "image", ref, "--key", str(keys["release"].private), env=ENV).exit_code == 0
    (tmp_path / "release.pub").write_bytes(keys["release"].public.read_bytes())
    policy = tmp_path / "p.yaml"
    policy.write_text(f"""version: 1
extends: default
trusted_registries: ["{registry.host}/gatejunk/**"]
signers:
  - name: release
    key: release.pub
""")
    images = [f"{a.rsplit(':', 1)[0]}@{a_digest}", f"{b.rsplit(':', 1)[0]}@{b_digest}"]
    r = run_cli("gate", "--image", images[0], "--image", images[1], "--policy", str(policy), "--format", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["summary"] == {"images": 2, "passed": 2, "failed": 0, "undecided": 0}
    images.append(f"{c.rsplit(':', 1)[0]}@{c_digest}")
    r = run_cli("gate", *[x for i in images for x in ("--image", i)], "--policy", str(policy), "--format", "json")
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert json.loads(r.stdout)["summary"] == {"images": 3, "passed": 2, "failed": 1, "undecided": 0}
