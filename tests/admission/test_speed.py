"""What makes cold decisions fast, and that none of it changes a decision: remembered license
answers, one shared registry client, predicates kept parsed, first-use costs paid at start."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from supplychain.gate.sbom_rules import MAX_CACHED_LICENSE, _denied_cached, denied_license
from tests.admission.conftest import Scene
from tests.conftest import REPO
from tests.image_signing.conftest import ENV
from tests.imagebuild import File, build_image, push_image
from tests.oci.conftest import PASSWORD, USER, AuthRegistry, auth_registry  # noqa: F401 (a fixture)


def _comp(*licenses: str) -> dict[str, object]:
    return {"name": "c", "licenses": [{"expression": x} for x in licenses]}


def test_remembered_license_answers_depend_on_the_deny_list_and_the_string() -> None:
    _denied_cached.cache_clear()
    agpl = _comp("AGPL-3.0-only")
    assert denied_license(agpl, ("AGPL-*",)) == "AGPL-3.0-only (denied: AGPL-3.0-only by 'AGPL-*')"
    assert denied_license(agpl, ("GPL-*",)) is None  # same string, other list: asked again
    assert denied_license(agpl, ("AGPL-*",)) is not None  # and the first answer still holds
    assert denied_license(_comp("MIT OR AGPL-3.0-only"), ("AGPL-*",)) is None  # one acceptable choice
    assert denied_license(_comp("MIT AND AGPL-3.0-only"), ("AGPL-*",)) is not None
    assert denied_license(_comp("MIT", "AGPL-3.0-only"), ("AGPL-*",)) is not None  # every entry applies
    info = _denied_cached.cache_info()
    assert info.hits >= 1 and info.currsize == 5
    # a long text is judged each time, never kept; a denied id inside it still denies
    text = "Permission is hereby granted " * 20 + " AGPL-3.0-only"
    assert len(text) > MAX_CACHED_LICENSE
    assert denied_license(_comp(text), ("AGPL-*",)) is not None
    assert _denied_cached.cache_info().currsize == 5


# --- one registry client, a fresh view per decision ------------------------------------------

@pytest.fixture(scope="module")
def speed_policy(scene: Scene) -> Path:
    policy = scene.dir / "speed.yaml"
    policy.write_text(f"""version: 1
trusted_registries: ["127.0.0.1:*/**"]
images:
  require_digest: true
signers:
  - name: release-key
    images: ["**"]
    key: keys/release.pub
attestations:
  - images: "{scene.host}/**"
    require: [cyclonedx]
sbom:
  deny_packages: ["pkg:npm/event-stream@*"]
  deny_licenses: ["AGPL-*"]
""")
    return policy


def _bom(*components: tuple[str, str]) -> bytes:
    return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                       "components": [{"type": "library", "name": p.split("/")[-1], "purl": p,
                                       "licenses": [{"license": {"id": lic}}]} for p, lic in components]}).encode()


def _push(scene: Scene, name: str, *, bom: bytes | None = None, detach: bool = False, sign: bool = True) -> str:
    from supplychain.oci.registry import RegistryClient

    tag = f"{scene.host}/speed/{name}:1.0"
    digest = push_image(RegistryClient(), tag, build_image([[File(f"app/{name}", name.encode())]]))
    if sign:
        _sign(scene, tag, bom, detach=detach)
    return f"{tag}@{digest}"


def _sign(scene: Scene, tag: str, bom: bytes | None, *, detach: bool = False) -> None:
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.specs import SignerSpec

    signer = SignerSpec(key_path=str(scene.release.private))
    view = RegistryView()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
        mp.setenv("SUPPLYCHAIN_TLOG_UPLOAD", "false")
        sign_image(tag, signer, registry=view)
        if bom is not None:
            attest_image(tag, bom, "https://cyclonedx.org/bom", signer, registry=view,
                         **({"detach_threshold": 0} if detach else {}))


def test_one_client_serves_every_decision_and_each_reads_the_registry_afresh(scene: Scene,
                                                                          speed_policy: Path) -> None:
    from supplychain.admission.gatecore import GateCore

    core = GateCore(str(speed_policy))
    ref = _push(scene, "later", sign=False)
    first = core.judge_image(ref)
    assert not first.passed and not first.undecided
    assert any("SC-GATE-001" in r for r in first.reasons), first.reasons
    _sign(scene, ref.split("@")[0], _bom(("pkg:npm/left-pad@1.3.0", "MIT")))
    second = core.judge_image(ref)  # nothing the first decision read is reused
    assert second.passed, second.reasons
    assert core.judge_image(scene.images["good"]).passed
    assert core.clients.created == 1


def test_shared_client_is_replaced_after_its_max_age() -> None:
    from supplychain.admission.gatecore import SharedClient

    now = [100.0]
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    shared = SharedClient(make, max_age=300, clock=lambda: now[0])
    a = shared.get()
    now[0] += 299
    assert shared.get() is a
    now[0] += 1
    b = shared.get()
    assert b is not a and shared.created == 2 and made == [a, b]


def test_one_client_answers_each_registry_with_its_own_credentials(
        scene: Scene, speed_policy: Path, auth_registry: AuthRegistry,  # noqa: F811 (the fixture)
        monkeypatch: pytest.MonkeyPatch) -> None:
    from supplychain.admission.gatecore import GateCore

    locked = f"{auth_registry.host}/{auth_registry.repo}@{auth_registry.image.manifest_digest}"
    monkeypatch.setenv("SUPPLYCHAIN_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("SUPPLYCHAIN_REGISTRY_PASSWORD", PASSWORD)
    monkeypatch.setenv("SUPPLYCHAIN_REGISTRY_HOST", auth_registry.host)  # the password is for that one
    core = GateCore(str(speed_policy))
    assert core.judge_image(scene.images["good"]).passed  # the open registry first
    verdict = core.judge_image(locked)  # then the one that challenges: read, unsigned, a definite no
    assert not verdict.passed and not verdict.undecided
    assert any("SC-GATE-001" in r for r in verdict.reasons), verdict.reasons
    assert core.judge_image(scene.images["good"]).passed  # and the open one again
    transport = core.clients.get().transport
    assert transport.auth.basic == {auth_registry.host}  # only the registry that asked gets a password
    assert core.clients.created == 1

    for name in ("SUPPLYCHAIN_REGISTRY_USERNAME", "SUPPLYCHAIN_REGISTRY_PASSWORD"):
        monkeypatch.delenv(name)
    bare = GateCore(str(speed_policy))
    denied = bare.judge_image(locked)  # no credentials: no decision, which the webhook denies
    assert not denied.passed and denied.undecided
    assert any("401" in r or "authentication" in r for r in denied.reasons), denied.reasons


# --- predicates kept parsed ----------------------------------------------------------------------

def test_in_band_and_referenced_sboms_are_judged_alike(scene: Scene, speed_policy: Path) -> None:
    from supplychain.admission.gatecore import GateCore
    from supplychain.signing.attest import render_predicate
    from supplychain.signing.image import RegistryView, VerifyOptions, verify_image

    clean = _bom(("pkg:npm/left-pad@1.3.0", "MIT"))
    evil = _bom(("pkg:npm/left-pad@1.3.0", "MIT"), ("pkg:npm/event-stream@3.3.6", "MIT"))
    agpl = _bom(("pkg:npm/left-pad@1.3.0", "AGPL-3.0-only"))
    refs = {"clean": _push(scene, "clean", bom=clean), "clean-ref": _push(scene, "clean-ref", bom=clean, detach=True),
            "evil": _push(scene, "evil", bom=evil), "evil-ref": _push(scene, "evil-ref", bom=evil, detach=True),
            "agpl": _push(scene, "agpl", bom=agpl), "agpl-ref": _push(scene, "agpl-ref", bom=agpl, detach=True)}
    core = GateCore(str(speed_policy))
    verdicts = {name: core.judge_image(ref) for name, ref in refs.items()}
    assert verdicts["clean"].passed and verdicts["clean-ref"].passed
    for name, rule in (("evil", "SC-GATE-003"), ("agpl", "SC-GATE-004")):
        for v in (verdicts[name], verdicts[name + "-ref"]):
            assert not v.passed and any(rule in r for r in v.reasons), v.reasons
        assert [r.split(": ", 1)[1] for r in verdicts[name].reasons] == \
            [r.split(": ", 1)[1] for r in verdicts[name + "-ref"].reasons]

    options = VerifyOptions(signers=[e.rule for e in core.gate_policy.signers], require_attestations=["https://cyclonedx.org/bom"])
    inline = verify_image(refs["evil"], options, registry=RegistryView()).trusted_attestation(
        "https://cyclonedx.org/bom")
    assert inline is not None and inline.has_predicate
    parsed, document = inline.parsed_predicate()
    assert parsed and document == json.loads(evil)
    assert inline.predicate == render_predicate(json.loads(evil))  # the bytes, when asked for, as before
    assert inline.predicate == json.dumps(json.loads(evil), indent=2).encode() + b"\n"
    assert inline.parsed_predicate() == (True, document)  # still parsed after the bytes were asked for
    referenced = verify_image(refs["evil-ref"], options, registry=RegistryView()).trusted_attestation(
        "https://cyclonedx.org/bom")
    assert referenced is not None and referenced.parsed_predicate() == (False, None)
    assert referenced.predicate == evil  # the referenced document's own bytes


def test_a_hanging_registry_holds_up_no_decision_about_another_over_the_shared_client(
        scene: Scene, speed_policy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from supplychain.admission.gatecore import GateCore

    monkeypatch.setenv("SUPPLYCHAIN_REGISTRY_TIMEOUT", "3")
    srv = socket.socket()  # a registry that accepts connections and never answers
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    hanging = f"127.0.0.1:{srv.getsockname()[1]}/hang/app:1@sha256:" + "c" * 64
    core = GateCore(str(speed_policy))
    stuck: list[Any] = []
    try:
        t = threading.Thread(target=lambda: stuck.append(core.judge_image(hanging)))
        t.start()
        time.sleep(0.3)  # the hanging read is under way on the shared client
        started = time.monotonic()
        results: list[Any] = []
        threads = [threading.Thread(target=lambda i=i: results.append(core.judge_image(scene.images[i])))
                   for i in ("good", "good2", "good", "good2")]
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
        assert time.monotonic() - started < 2.5  # decided while the hanging read still waits
        assert len(results) == 4 and all(r.passed for r in results)
        t.join(10)
    finally:
        srv.close()
    assert len(stuck) == 1 and not stuck[0].passed and stuck[0].undecided  # no answer: a denial
    assert core.clients.created == 1


def test_first_use_costs_are_paid_at_start(speed_policy: Path) -> None:
    """A fresh webhook's first burst of requests does not wait on imports: constructing the core
    already ran the manifest rules, the license parser and the signature backend once."""
    code = ("import sys\nfrom supplychain.admission.gatecore import GateCore\n"
            f"GateCore({str(speed_policy)!r})\n"
            "need = ['supplychain.policy.kubernetes', 'license_expression', 'supplychain.signing.image_verify',\n"
            "        'cryptography.hazmat.backends.openssl']\n"
            "print([m for m in need if m not in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
