"""The deploy gate against the real local registry: exactly the right decision per image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.image_signing.conftest import ENV, KeyPair, make_keypair
from tests.imagebuild import File, build_image, push_image

pytestmark = pytest.mark.registry

# a container that passes every Kubernetes rule of the policy (the gate applies them all)
HARDENED = ("{allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 10001, readOnlyRootFilesystem: true, "
            "capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}")


def _push(client: Any, host: str, repo: str, tag: str, files: list[Any]) -> tuple[str, str]:
    ref = f"{host}/{repo}:{tag}"
    return ref, push_image(client, ref, build_image([files]))


@pytest.fixture(scope="module")
def scene(registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient

    client = RegistryClient()
    d = tmp_path_factory.mktemp("gate")
    release, other = make_keypair(d, "release"), make_keypair(d, "other")
    host = registry.host
    bom_ok = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
              "components": [{"type": "library", "name": "zlib", "version": "1.3",
                              "purl": "pkg:deb/debian/zlib@1.3?arch=amd64",
                              "licenses": [{"license": {"id": "Zlib"}}]}]}
    bom_bad = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
               "components": [{"type": "library", "name": "event-stream", "version": "3.3.6",
                               "purl": "pkg:npm/event-stream@3.3.6"},
                              {"type": "library", "name": "ghostscript", "version": "10",
                               "purl": "pkg:deb/debian/ghostscript@10",
                               "licenses": [{"expression": "AGPL-3.0-or-later AND LicenseRef-x"}]}]}
    (d / "ok.json").write_text(json.dumps(bom_ok))
    (d / "bad.json").write_text(json.dumps(bom_bad))

    # in-process (the CLI path is covered by tests/image_signing); keys are encrypted with ENV's password
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.specs import SignerSpec

    view = RegistryView(client)

    def sign(ref: str, key: KeyPair) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
            sign_image(ref, SignerSpec(key_path=str(key.private)), registry=view)

    def attest(ref: str, key: KeyPair, bom: str) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
            attest_image(ref, (d / bom).read_bytes(), "https://cyclonedx.org/bom",
                         SignerSpec(key_path=str(key.private)), registry=view)

    images: dict[str, str] = {}
    for name, files in {
        "good": [File("app/good", b"good")],
        "unsigned": [File("app/unsigned", b"unsigned")],
        "wrongsig": [File("app/wrong", b"wrong")],
        "unpinned": [File("app/unpinned", b"unpinned")],
        "noattest": [File("app/noattest", b"noattest")],
        "badsbom": [File("app/badsbom", b"badsbom")],
    }.items():
        ref, digest = _push(client, host, f"gate/{name}", "1.0", files)
        images[name] = f"{host}/gate/{name}:1.0@{digest}"
        images[name + ":tag"] = ref
    for name in ("good", "unpinned", "noattest", "badsbom"):
        sign(images[name + ":tag"], release)
    sign(images["wrongsig:tag"], other)
    for name in ("good", "unpinned"):
        attest(images[name + ":tag"], release, "ok.json")
    attest(images["wrongsig:tag"], other, "ok.json")
    attest(images["badsbom:tag"], release, "bad.json")
    untrusted = "docker.io/library/nginx:1.27@sha256:" + "a" * 64

    keydir = d / "keys"
    keydir.mkdir()
    (keydir / "release.pub").write_bytes(release.public.read_bytes())
    policy = d / "release.yaml"
    policy.write_text(f"""version: 1
trusted_registries:
  - {host}/gate/**
images:
  require_digest: true
signers:
  - name: release-key
    images: ["{host}/gate/**"]
    key: keys/release.pub
attestations:
  - images: "{host}/gate/**"
    require: [cyclonedx]
sbom:
  deny_packages: ["pkg:npm/event-stream@*"]
  deny_licenses: ["AGPL-*"]
""")
    compose = d / "compose.yaml"
    hardened = ("    user: '10001'\n    security_opt: [no-new-privileges:true]\n"  # no CMP-020/021 hygiene warnings
                "    read_only: true\n    cap_drop: [ALL]\n")  # nor CMP-031/032
    compose.write_text(f"""services:
  web:
    image: {images['good']}
{hardened}  worker:
    image: {images['unsigned']}
{hardened}  cache:
    image: {untrusted}
{hardened}  batch:
    image: {images['unpinned:tag']}
{hardened}""")
    k8s = d / "deploy.yaml"
    k8s.write_text(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      automountServiceAccountToken: false
      containers:
        - name: api
          image: {images['good']}
          securityContext: {HARDENED}
        - name: sidecar
          image: {images['wrongsig']}
          securityContext: {HARDENED}
      initContainers:
        - name: migrate
          image: {images['noattest']}
          securityContext: {HARDENED}
---
apiVersion: v1
kind: Pod
metadata:
  name: scan
spec:
  automountServiceAccountToken: false
  containers:
    - name: scan
      image: {images['badsbom']}
      securityContext: {HARDENED}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: default-deny}}
spec: {{podSelector: {{}}, policyTypes: [Ingress]}}
""")
    return {"images": images, "policy": policy, "compose": compose, "k8s": k8s, "untrusted": untrusted,
            "dir": d, "release": release}


def _decisions(doc: dict[str, Any]) -> dict[str, tuple[str, set[str]]]:
    return {i["image"]: (i["decision"], {f["rule"] for f in i["findings"]}) for i in doc["images"]}


def test_gate_gives_exactly_the_right_decisions(scene: dict[str, Any]) -> None:
    im = scene["images"]
    r = run_cli("gate", str(scene["compose"]), str(scene["k8s"]), "--policy", str(scene["policy"]), "--json")
    assert r.exit_code == 1, r.stderr
    doc = json.loads(r.stdout)
    got = _decisions(doc)
    assert got == {
        im["good"]: ("pass", set()),
        im["unsigned"]: ("fail", {"SC-GATE-001", "SC-GATE-002"}),
        scene["untrusted"]: ("fail", {"SC-IMG-001"}),
        im["unpinned:tag"]: ("fail", {"SC-IMG-002"}),
        im["wrongsig"]: ("fail", {"SC-GATE-001", "SC-GATE-002"}),
        im["noattest"]: ("fail", {"SC-GATE-002"}),
        im["badsbom"]: ("fail", {"SC-GATE-003", "SC-GATE-004"}),
    }, json.dumps(doc, indent=1)[:4000]
    assert doc["decision"] == "fail"
    assert doc["summary"] == {"images": 7, "passed": 1, "failed": 6, "undecided": 0}
    assert doc["undecided"] == [] and doc["errors"] == []
    assert {f["rule"] for f in doc["findings"]} == set().union(*(rules for _, rules in got.values()))
    good = next(i for i in doc["images"] if i["image"] == im["good"])
    assert len(good["locations"]) == 2  # used in compose and in the Deployment
    assert good["signatures"][0]["trusted"] and good["attestations"][0]["type"] == "cyclonedx"
    wrong = next(i for i in doc["images"] if i["image"] == im["wrongsig"])
    assert "signed with another key" in json.dumps(wrong["findings"])
    assert "gate: 6 of 7 images failed" in r.stderr


def test_gate_passes_when_every_image_passes(scene: dict[str, Any]) -> None:
    good = scene["images"]["good"]
    lst = scene["dir"] / "images.txt"
    lst.write_text(f"# release images\n{good}\n")
    r = run_cli("gate", str(lst), "--policy", str(scene["policy"]))
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout and "signed by key release-key" in r.stdout
    r = run_cli("gate", "--image", good, "--policy", str(scene["policy"]), "--offline")
    assert r.exit_code == 0, r.stdout + r.stderr
    dockerfile = scene["dir"] / "Dockerfile"
    dockerfile.write_text(f"FROM {good} AS build\nRUN true\nFROM build\nUSER 1000\n")
    r = run_cli("gate", str(dockerfile), "--policy", str(scene["policy"]), "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    (only,) = json.loads(r.stdout)["images"]
    assert only["image"] == good and only["locations"][0]["line"] == 1


def test_gate_sarif(scene: dict[str, Any]) -> None:
    out = scene["dir"] / "gate.sarif"
    r = run_cli("gate", str(scene["compose"]), "--policy", str(scene["policy"]), "--format", "sarif", "-o", str(out))
    assert r.exit_code == 1
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    schema_file = Path(__file__).resolve().parents[1] / "policy" / "data" / "sarif-2.1.0-rtm.5.json"
    import jsonschema

    validator = jsonschema.Draft4Validator(json.loads(schema_file.read_text()))
    assert [e.message for e in validator.iter_errors(sarif)] == []
    driver = sarif["runs"][0]["tool"]["driver"]
    for rule in driver["rules"]:  # full metadata for every rule, as policy check has
        assert rule["fullDescription"]["text"] and rule["helpUri"].startswith("https://") and rule["help"]["text"]
    for res in sarif["runs"][0]["results"]:
        assert res["partialFingerprints"]["supplychainFinding/v1"]
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
    assert sarif["runs"][0]["properties"]["decision"] == "fail"
    rules = {res["ruleId"] for res in sarif["runs"][0]["results"]}
    assert rules == {"SC-GATE-001", "SC-GATE-002", "SC-IMG-001", "SC-IMG-002"}
    for res in sarif["runs"][0]["results"]:
        assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("compose.yaml")


def test_gate_waiver_and_uncovered_image(scene: dict[str, Any], registry) -> None:  # type: ignore[no-untyped-def]
    im = scene["images"]
    policy = scene["dir"] / "waived.yaml"
    text = scene["policy"].read_text().replace(
        "sbom:", f"waivers:\n  - rule: SC-GATE-002\n    image: {registry.host}/gate/noattest\n"
        "    reason: SBOM pipeline for the migrator lands next sprint (TICKET-1)\n    expires: 2999-01-01\nsbom:")
    policy.write_text(text)
    r = run_cli("gate", "--image", im["noattest"], "--policy", str(policy), "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["images"][0]["waived"][0]["rule"] == "SC-GATE-002"
    # an image no signers entry covers fails closed
    narrow = scene["dir"] / "narrow.yaml"
    narrow.write_text(scene["policy"].read_text().replace(f'images: ["{registry.host}/gate/**"]',
                                                          f'images: ["{registry.host}/gate/other"]'))
    r = run_cli("gate", "--image", im["good"], "--policy", str(narrow), "--json")
    assert r.exit_code == 1
    assert _decisions(json.loads(r.stdout))[im["good"]] == ("fail", {"SC-GATE-005"})


def test_gate_bad_policy_is_input_error(scene: dict[str, Any]) -> None:
    bad = scene["dir"] / "bad.yaml"
    bad.write_text("version: 1\nsigners:\n  - name: x\n    images: ['**']\n    colour: blue\n")
    r = run_cli("gate", "--image", scene["images"]["good"], "--policy", str(bad))
    assert r.exit_code == 2
    assert "bad.yaml:5" in r.stderr and "colour" in r.stderr
    assert "Traceback" not in r.stderr


def test_waived_untrusted_registry_still_needs_a_signature(scene: dict[str, Any], registry) -> None:  # type: ignore[no-untyped-def]
    """A waiver for SC-IMG-001 accepts the registry; it must not skip signature verification."""
    im = scene["images"]
    policy = scene["dir"] / "waive-registry.yaml"
    text = scene["policy"].read_text().replace(f"  - {registry.host}/gate/**\n", "  - ghcr.io/acme/**\n")
    text = text.replace(
        "sbom:", "waivers:\n  - rule: SC-IMG-001\n"
        f"    image: {registry.host}/gate/unsigned:*\n"
        "    reason: mirror not yet moved\n    expires: 2999-01-01\nsbom:")
    policy.write_text(text)
    # on the command line (no policy-engine waiver pass) and in a file (engine and gate globs differ)
    lst = scene["dir"] / "waive-registry.txt"
    lst.write_text(im["unsigned"] + "\n")
    for args in (("--image", im["unsigned"]), (str(lst),)):
        r = run_cli("gate", *args, "--policy", str(policy), "--json")
        assert r.exit_code == 1, r.stdout + r.stderr
        doc = json.loads(r.stdout)
        assert _decisions(doc)[im["unsigned"]] == ("fail", {"SC-GATE-001", "SC-GATE-002"}), r.stdout
        assert [w["rule"] for w in doc["images"][0]["waived"]] == ["SC-IMG-001"]


def test_path_waiver_does_not_cover_other_uses_of_the_image(scene: dict[str, Any]) -> None:
    """A path-scoped waiver of a gate finding must not waive the image where it is used elsewhere."""
    im = scene["images"]
    d = scene["dir"] / "paths"
    (d / "dev").mkdir(parents=True)
    (d / "prod").mkdir()
    (d / "dev" / "images.txt").write_text(im["unsigned"] + "\n")
    (d / "prod" / "images.txt").write_text(im["unsigned"] + "\n")
    policy = scene["dir"] / "waive-dev.yaml"
    policy.write_text(scene["policy"].read_text().replace(
        "sbom:", "waivers:\n  - rule: SC-GATE-*\n    path: '*/dev/*'\n"
        "    reason: dev images are not signed\n    expires: 2999-01-01\nsbom:"))
    r = run_cli("gate", str(d / "dev"), "--policy", str(policy), "--json")
    assert r.exit_code == 0, r.stdout + r.stderr  # only dev uses: waived
    r = run_cli("gate", str(d), "--policy", str(policy), "--json")
    assert r.exit_code == 1, r.stdout + r.stderr  # also deployed from prod: not waived
    assert _decisions(json.loads(r.stdout))[im["unsigned"]] == ("fail", {"SC-GATE-001", "SC-GATE-002"})


def test_unparsable_reference_never_passes(scene: dict[str, Any]) -> None:
    """An image the gate cannot even parse cannot have been verified: it fails even when the policy
    turns the reference rules down to warnings."""
    policy = scene["dir"] / "lenient-refs.yaml"
    policy.write_text(scene["policy"].read_text().replace(
        "images:\n  require_digest: true\n",
        "images:\n  require_digest: true\nrules:\n  SC-IMG-004: warning\n  SC-IMG-005: warning\n"))
    compose = scene["dir"] / "compose-bad-ref.yaml"
    compose.write_text("services:\n  web:\n    image: 'UPPER/Case::bad'\n  api:\n    image: ${API_IMAGE}\n")
    r = run_cli("gate", str(compose), "--policy", str(policy), "--json")
    assert r.exit_code == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["images"] and all(i["decision"] == "fail" for i in doc["images"]), r.stdout


def test_every_trusted_sbom_is_checked(scene: dict[str, Any], registry) -> None:  # type: ignore[no-untyped-def]
    """Two accepted CycloneDX attestations of one digest (re-attested with a newer scanner): a denied
    package in either fails the image, whichever the registry lists first."""
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.specs import SignerSpec

    view = RegistryView(RegistryClient())
    ref, digest = _push(view.client, registry.host, "gate/twoboms", "1.0", [File("app/twoboms", b"twoboms")])
    signer = SignerSpec(key_path=str(scene["release"].private))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
        sign_image(ref, signer, registry=view)
        for bom in ("ok.json", "bad.json"):
            attest_image(ref, (scene["dir"] / bom).read_bytes(), "https://cyclonedx.org/bom", signer, registry=view)
    image = f"{ref}@{digest}"
    r = run_cli("gate", "--image", image, "--policy", str(scene["policy"]), "--json")
    assert r.exit_code == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert _decisions(doc)[image] == ("fail", {"SC-GATE-003", "SC-GATE-004"}), r.stdout
    assert len(doc["images"][0]["findings"]) == 2  # each denied component reported once


def test_skipped_template_fails_the_gate(scene: dict[str, Any]) -> None:
    """A walked Helm template cannot be checked (its images are unknown until rendered): the gate
    does not pass the directory as if it had been."""
    d = scene["dir"] / "chart"
    (d / "templates").mkdir(parents=True)
    (d / "images.txt").write_text(scene["images"]["good"] + "\n")
    (d / "templates" / "deploy.yaml").write_text(
        "{{- if .Values.enabled }}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n"
        "    - name: x\n      image: {{ .Values.image | quote }}\n{{- end }}\n")
    r = run_cli("gate", str(d), "--policy", str(scene["policy"]), "--json")
    assert r.exit_code == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["decision"] == "fail"
    assert any("deploy.yaml" in e and "template" in e for e in doc["errors"]), doc["errors"]
    assert _decisions(doc)[scene["images"]["good"]] == ("pass", set())
    waived = scene["dir"] / "waive-templates.yaml"
    waived.write_text(scene["policy"].read_text().replace(
        "sbom:", "waivers:\n  - rule: SC-GATE-006\n    path: '*/chart/templates/*'\n"
        "    reason: chart is gated after helm template\n    expires: 2999-01-01\nsbom:"))
    r = run_cli("gate", str(d), "--policy", str(waived), "--json")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_double_star_images_glob_means_every_image(scene: dict[str, Any], registry) -> None:  # type: ignore[no-untyped-def]
    """`images: "**"` (every image) must not shrink to Docker Hub library images: requirements
    written that way still apply to the image."""
    im = scene["images"]
    policy = scene["dir"] / "double-star.yaml"
    text = scene["policy"].read_text()
    text = text.replace(f'  - images: "{registry.host}/gate/**"\n    require: [cyclonedx]',
                        '  - images: "**"\n    require: [cyclonedx]')
    text = text.replace("sbom:\n", 'sbom:\n  images: ["**"]\n')
    assert text.count('"**"') == 2, text
    policy.write_text(text)
    r = run_cli("gate", "--image", im["noattest"], "--image", im["badsbom"], "--image", im["good"], "--policy",
                str(policy), "--json")
    assert r.exit_code == 1, r.stdout + r.stderr
    got = _decisions(json.loads(r.stdout))
    assert got == {im["noattest"]: ("fail", {"SC-GATE-002"}),
                   im["badsbom"]: ("fail", {"SC-GATE-003", "SC-GATE-004"}),
                   im["good"]: ("pass", set())}, r.stdout
    # and a signer for "**" covers the image (no SC-GATE-005)
    policy.write_text(text.replace(f'images: ["{registry.host}/gate/**"]\n    key:', 'images: "**"\n    key:'))
    r = run_cli("gate", "--image", im["good"], "--policy", str(policy))
    assert r.exit_code == 0, r.stdout + r.stderr


def test_image_checks_plug_into_decide_image(scene: dict[str, Any]) -> None:
    """A later check (vulnerabilities, image contents) registered with register_image_check runs for
    every resolved image with its verification, and its findings decide like the gate's own."""
    from supplychain.gate import decide as decide_module
    from supplychain.gate import decide_image, load_gate_policy
    from supplychain.oci.registry import RegistryClient
    from supplychain.policy.report import Decision
    from supplychain.signing.image import ImageVerification, RegistryView
    from supplychain.signing.specs import TrustSpec

    seen: list[str] = []

    def check(d: Any, gp: Any, verification: ImageVerification) -> None:
        assert verification.signed
        seen.append(d.image)
        decide_module.add_finding(d, gp, "SC-GATE-003", "test check: denied by a later scanner")

    gp = load_gate_policy(scene["policy"])
    view = RegistryView(RegistryClient())
    decide_module.register_image_check(check)
    decide_module.register_image_check(check)  # idempotent
    try:
        d = decide_image(scene["images"]["good"], gp, registry=view, trust=TrustSpec())
    finally:
        decide_module._IMAGE_CHECKS.remove(check)
    assert seen == [scene["images"]["good"]]
    assert d.decision is Decision.FAIL and [f.rule for f in d.findings] == ["SC-GATE-003"]
    again = decide_image(scene["images"]["good"], gp, registry=view, trust=TrustSpec())
    assert again.decision is Decision.PASS and seen == [scene["images"]["good"]]


def test_gate_receipt_is_accepted_by_the_admission_webhook(scene: dict[str, Any]) -> None:
    """`gate --receipt-out --receipt-key` (docs/admission.md): a receipt of exactly the passed images,
    for this policy file, that the webhook's receipt verifier admits; none when the gate fails."""
    import hashlib

    from supplychain.admission.receipts import ReceiptVerifier
    from supplychain.gate.policy import load_gate_policy, policy_digest
    from supplychain.signing.keys import load_public_key

    good = scene["images"]["good"]
    out = scene["dir"] / "receipt.json"
    key = scene["release"]
    r = run_cli("gate", "--image", good, "--policy", str(scene["policy"]), "--receipt-out", str(out),
                "--receipt-key", str(key.private), env=ENV)
    assert r.exit_code == 0, r.stdout + r.stderr
    # the policy's name covers its file and the keys it loads (supplychain.gate.policy.policy_digest)
    digest = policy_digest(scene["policy"].read_bytes(), load_gate_policy(scene["policy"]))
    if "key:" not in scene["policy"].read_text():
        assert digest == "sha256:" + hashlib.sha256(scene["policy"].read_bytes()).hexdigest()
    verifier = ReceiptVerifier(keys=[load_public_key(key.public)])
    admitted, warning = verifier.admitted(out.read_text().strip(), digest)
    assert warning == "" and admitted == {good.split(":1.0@")[0] + "@" + good.split("@")[1]}
    assert verifier.admitted(out.read_text().strip(), "sha256:" + "0" * 64)[0] == set()  # another policy
    failed = scene["dir"] / "no-receipt.json"
    r = run_cli("gate", "--image", scene["images"]["unsigned"], "--policy", str(scene["policy"]),
                "--receipt-out", str(failed), "--receipt-key", str(key.private), env=ENV)
    assert r.exit_code == 1 and not failed.exists()
    r = run_cli("gate", "--image", good, "--policy", str(scene["policy"]), "--receipt-out", str(failed))
    assert r.exit_code == 2 and "go together" in r.stderr
