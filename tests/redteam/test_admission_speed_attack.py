"""Red team of the admission webhook's speed changes (shared registry client, predicates kept
parsed, remembered license answers, warm-up) and of the policy digest that names receipts and
cache entries: real registry, real signing, real gate runs, the webhook called as the API server
calls it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.admission.conftest import (  # noqa: F401 (scene is a fixture)
    Scene,
    deployment,
    policy_beside_release_key,
    render,
    review,
    scene,
    start_webhook,
    with_receipt,
)
from tests.conftest import run_cli
from tests.image_signing.conftest import ENV
from tests.oci.conftest import PASSWORD, USER, AuthRegistry, auth_registry  # noqa: F401 (a fixture)


def _two_signer_policy(scene: Scene) -> str:  # noqa: F811 (the fixture)
    return f"""version: 1
trusted_registries:
  - {scene.host}/adm/**
images:
  require_digest: true
signers:
  - name: prod
    images: ["{scene.host}/adm/wrongsig"]
    key: keys/prod.pub
  - name: dev
    images: ["{scene.host}/dev/**"]
    key: keys/dev.pub
attestations:
  - images: "{scene.host}/adm/**"
    require: [cyclonedx]
"""


def test_a_receipt_made_with_the_policy_keys_swapped_between_its_signers_admits_nothing(
        scene: Scene, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    """The policy digest named the policy file and the *set* of its public keys, not which signer
    entry loads which key: a pipeline whose release.yaml is byte-identical but whose prod.pub and
    dev.pub are swapped judged prod images with the dev key, yet its receipts carried the
    webhook's own digest and were taken in place of the webhook's check (an image signed by the
    key the cluster trusts only for dev/** was admitted for prod)."""
    from supplychain.admission.receipts import ReceiptVerifier
    from supplychain.gate.policy import load_gate_policy, policy_digest
    from supplychain.signing.keys import load_public_key

    text = _two_signer_policy(scene)
    cluster, pipeline = tmp_path / "cluster", tmp_path / "pipeline"
    for where, prod, dev in ((cluster, scene.release, scene.other), (pipeline, scene.other, scene.release)):
        (where / "keys").mkdir(parents=True)
        (where / "release.yaml").write_text(text)
        shutil.copy(prod.public, where / "keys" / "prod.pub")
        shutil.copy(dev.public, where / "keys" / "dev.pub")
    image = scene.images["wrongsig"]  # signed and attested by `other`: the cluster's dev key only

    out = tmp_path / "receipt.json"
    r = run_cli("gate", "--image", image, "--policy", str(pipeline / "release.yaml"), "--receipt-out", str(out),
                "--receipt-key", str(scene.release.private), env=ENV)
    assert r.exit_code == 0, r.stdout + r.stderr  # the pipeline's prod key is `other`: it passes there
    ours = policy_digest((cluster / "release.yaml").read_bytes(), load_gate_policy(cluster / "release.yaml"))

    verifier = ReceiptVerifier([load_public_key(scene.release.public)])
    with start_webhook(cluster / "release.yaml", tmp_path, receipts=verifier) as running:
        assert running.engine.core.policy_digest == ours
        plain = running.api.admit(review(render(deployment(image), tmp_path)[0]))
        assert plain["allowed"] is False, plain  # the webhook's own check says no
        envelope = out.read_text().strip()
        resp = running.api.admit(review(with_receipt(image, envelope, tmp_path)))
        assert resp["allowed"] is False, resp
        assert any("receipt ignored" in w and "policy" in w for w in resp.get("warnings", [])), resp
    assert json.loads(envelope)["payload"]
    theirs = policy_digest((pipeline / "release.yaml").read_bytes(), load_gate_policy(pipeline / "release.yaml"))
    assert theirs != ours


def test_a_receipt_does_not_carry_a_path_waiver_of_a_gate_finding_into_the_cluster(
        scene: Scene, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    """A `path:` waiver of an SC-GATE finding lifts it only where every file deploying the image
    matches; the webhook judges images under one name (`<admission>`) that no such waiver names,
    so it denies an unsigned image whatever the pipeline's file layout. A gate run over
    `legacy/` passed that image on the waiver and its receipt listed it: the webhook took the
    receipt and admitted the unsigned image into any namespace."""
    from supplychain.admission.receipts import ReceiptVerifier
    from supplychain.signing.keys import load_public_key

    policy = policy_beside_release_key(scene, tmp_path, "release.yaml", scene.policy.read_text() + """waivers:
  - rule: "SC-GATE-*"
    path: "legacy/*"
    reason: "legacy app, signing tracked in OPS-1"
    expires: 2099-12-31
""")
    image, good = scene.images["unsigned"], scene.images["good"]
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "app.yaml").write_text(deployment(image) + "---\n" + deployment(good, name="web"))
    out = tmp_path / "receipt.json"
    r = run_cli("gate", "legacy", "--policy", str(policy), "--receipt-out", str(out),
                "--receipt-key", str(scene.release.private), cwd=tmp_path, env=ENV)
    assert r.exit_code == 0, r.stdout + r.stderr  # both pass there, the unsigned one on the waiver
    envelope = out.read_text().strip()

    verifier = ReceiptVerifier([load_public_key(scene.release.public)])
    with start_webhook(policy, tmp_path, receipts=verifier) as running:
        plain = running.api.admit(review(render(deployment(image), tmp_path)[0]))
        assert plain["allowed"] is False, plain  # the webhook's own check: unsigned, no waiver applies
        resp = running.api.admit(review(with_receipt(image, envelope, tmp_path)))
        assert resp["allowed"] is False, resp
        assert any("SC-GATE-001" in line for line in resp["status"]["message"].split("; ")), resp
        ok = running.api.admit(review(with_receipt(good, envelope, tmp_path, name="web")))  # the image that passed on its own evidence: on the receipt
        assert ok["allowed"] is True, ok
        assert ok["auditAnnotations"].get("receipt-images") == "1", ok


def test_with_resolve_tags_a_moved_tag_is_not_admitted_on_the_decision_about_its_old_digest(
        scene: Scene, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    """`--resolve-tags` resolves a tag reference and verifies the digest it names ("never verified
    by tag"). The decision cache keyed such a decision by the tag itself, so for --cache-ttl
    seconds (300) after the tag was moved to an unsigned image, the webhook answered for the tag
    with the verdict about the digest it used to name, and admitted the unsigned image."""
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.specs import SignerSpec
    from tests.imagebuild import File, build_image, push_image

    policy = policy_beside_release_key(scene, tmp_path, "tags.yaml", scene.policy.read_text().replace("  require_digest: true\n", "  require_digest: false\n"))
    tag = f"{scene.host}/adm/moving:1.0"
    client = RegistryClient()
    push_image(client, tag, build_image([[File("app/v1", b"signed release")]]))
    bom = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}).encode()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
        mp.setenv("SUPPLYCHAIN_TLOG_UPLOAD", "false")
        view = RegistryView(client)
        sign_image(tag, SignerSpec(key_path=str(scene.release.private)), registry=view)
        attest_image(tag, bom, "https://cyclonedx.org/bom", SignerSpec(key_path=str(scene.release.private)),
                     registry=view)
    with start_webhook(policy, tmp_path, resolve_tags=True) as running:
        first = running.api.admit(review(render(deployment(tag), tmp_path)[0]))
        assert first["allowed"] is True, first  # the signed image the tag names now
        push_image(client, tag, build_image([[File("app/v2", b"unsigned, pushed over the tag")]]))
        again = running.api.admit(review(render(deployment(tag), tmp_path)[0]))
        assert again["allowed"] is False, again  # the tag names an unsigned image now
        assert "SC-GATE-001" in again["status"]["message"], again


def test_the_shared_client_never_keeps_no_credentials_for_a_registry_asked_while_they_load(
        scene: Scene, auth_registry: AuthRegistry, tmp_path: Path,  # noqa: F811 (fixtures)
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The credential store of the one registry client all decisions share read its config files
    while other decisions could already see a half-read list: a decision asking for another
    registry meanwhile found no credentials and the store kept that None for the client's life
    (300 s), so every decision about that registry was undecided (denied) until the client was
    renewed. The auth file here is a FIFO whose writer is late: a slow secret mount, made exact."""
    import base64
    import os
    import threading
    import time

    from supplychain.admission.gatecore import GateCore

    port = auth_registry.host.split(":")[1]
    hosts = (f"localhost:{port}", f"127.0.0.1:{port}")
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {h: {"auth": auth} for h in hosts}}))
    fifo = tmp_path / "auth.json"
    os.mkfifo(fifo)
    for name in ("SUPPLYCHAIN_REGISTRY_USERNAME", "SUPPLYCHAIN_REGISTRY_PASSWORD", "SUPPLYCHAIN_REGISTRY_HOST",
                 "DOCKER_AUTH_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(fifo))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    policy = policy_beside_release_key(scene, tmp_path, "auth.yaml", """version: 1
trusted_registries: ["127.0.0.1:*/**", "localhost:*/**"]
images:
  require_digest: true
signers:
  - name: release-key
    images: ["**"]
    key: keys/release.pub
""")
    refs = [f"{h}/{auth_registry.repo}@{auth_registry.image.manifest_digest}" for h in hosts]
    core = GateCore(str(policy))
    verdicts: dict[str, object] = {}

    def judge(ref: str) -> None:
        verdicts[ref] = core.judge_image(ref)

    def late_writer() -> None:
        time.sleep(1.5)
        until = time.monotonic() + 25
        while time.monotonic() < until:  # never blocks the test run when no one reads
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.05)
                continue
            os.write(fd, b"{}")
            os.close(fd)
            return

    writer = threading.Thread(target=late_writer, daemon=True)
    writer.start()
    first = threading.Thread(target=judge, args=(refs[0],))  # reads the config files: waits on the FIFO
    first.start()
    time.sleep(0.7)
    second = threading.Thread(target=judge, args=(refs[1],))  # another registry, meanwhile
    second.start()
    for t in (first, second, writer):
        t.join(30)
    for ref in refs:  # both read with their credentials: unsigned, a definite no
        v = verdicts[ref]
        assert not v.passed and not v.undecided, v  # type: ignore[attr-defined]
    later = core.judge_image(refs[1])  # and nothing wrong was kept for the client's life
    assert not later.passed and not later.undecided, later.reasons
    assert core.clients.created == 1


def test_a_cached_pass_that_rested_on_a_waiver_ends_with_the_waiver(scene: Scene,  # noqa: F811 (the fixture)
                                                                     tmp_path: Path) -> None:
    """A waiver applies through its `expires` day. A pass that rested on one was cached for
    --cache-ttl (300 s by default, up to a day) whatever the date: the day after the waiver
    expired, the webhook still admitted the unsigned image it had waived."""
    import datetime

    policy = policy_beside_release_key(scene, tmp_path, "waived.yaml", scene.policy.read_text() + """waivers:
  - rule: "SC-GATE-*"
    image: "*/adm/unsigned"
    reason: "signing the unsigned image, tracked in OPS-2"
    expires: 2026-06-30
""")
    image = scene.images["unsigned"]
    with start_webhook(policy, tmp_path) as running:
        core = running.engine.core
        core._today = datetime.date(2026, 6, 30)  # the waiver's last day
        first = running.api.admit(review(render(deployment(image), tmp_path)[0]))
        assert first["allowed"] is True, first
        core._today = datetime.date(2026, 7, 1)  # the day after: the waiver no longer applies
        after = running.api.admit(review(render(deployment(image), tmp_path)[0]))
        assert after["allowed"] is False, after
        assert "SC-GATE-001" in after["status"]["message"], after
