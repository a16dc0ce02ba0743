"""Gate policy parity with Kyverno / policy-controller: CEL conditions on attestation predicates and
signer thresholds ("all of", "at least N of"), against the real local registry and real signatures."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.image_signing.conftest import ENV, KeyPair, make_keypair
from tests.imagebuild import File, build_image, push_image

pytestmark = [pytest.mark.registry, pytest.mark.slow]

PROVENANCE = "https://slsa.dev/provenance/v1"
GOOD_BUILDER = "https://github.com/actions/runner/github-hosted"


def _provenance(builder: str, repo: str, ref: str) -> dict[str, Any]:
    return {"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1",
                                "externalParameters": {"workflow": {"repository": repo, "ref": ref}}},
            "runDetails": {"builder": {"id": builder}}}


def _bom(when: datetime.datetime) -> dict[str, Any]:
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "metadata": {"timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ")}, "components": []}


@pytest.fixture(scope="module")
def scene(registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.specs import SignerSpec

    client = RegistryClient()
    view = RegistryView(client)
    d = tmp_path_factory.mktemp("cond")
    keys = {n: make_keypair(d, n) for n in ("release", "platform", "other")}
    host = registry.host
    now = datetime.datetime.now(datetime.UTC)

    def sign(ref: str, key: KeyPair) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
            sign_image(ref, SignerSpec(key_path=str(key.private)), registry=view)

    def attest(ref: str, doc: dict[str, Any], ptype: str) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
            attest_image(ref, json.dumps(doc).encode(), ptype, SignerSpec(key_path=str(keys["release"].private)),
                         registry=view)

    plan: dict[str, tuple[list[str], dict[str, Any], datetime.datetime]] = {
        "good": (["release", "platform"], _provenance(GOOD_BUILDER, "https://github.com/acme/app", "refs/heads/main"),
                 now),
        "onekey": (["release"], _provenance(GOOD_BUILDER, "https://github.com/acme/app", "refs/heads/main"), now),
        "evilbuilder": (["release", "platform"],
                        _provenance("https://evil.example/builder", "https://github.com/acme/app", "refs/heads/main"),
                        now),
        "oldsbom": (["release", "platform"],
                    _provenance(GOOD_BUILDER, "https://github.com/acme/app", "refs/heads/main"),
                    now - datetime.timedelta(days=90)),
    }
    images: dict[str, str] = {}
    for name, (signers, prov, when) in plan.items():
        tag = f"{host}/cond/{name}:1.0"
        digest = push_image(client, tag, build_image([[File(f"app/{name}", name.encode())]]))
        images[name] = f"{host}/cond/{name}:1.0@{digest}"
        for s in signers:
            sign(tag, keys[s])
        attest(tag, prov, PROVENANCE)
        attest(tag, _bom(when), "https://cyclonedx.org/bom")
    for n, k in keys.items():
        (d / f"{n}.pub").write_bytes(k.public.read_bytes())
    policy = d / "policy.yaml"
    policy.write_text(f"""version: 1
trusted_registries: ["{host}/cond/**"]
signers:
  - {{name: release-key, images: "{host}/cond/**", key: release.pub}}
  - {{name: platform-key, images: "{host}/none/**", key: platform.pub}}
  - {{name: other-key, images: "{host}/none/**", key: other.pub}}
signer_thresholds:
  - images: "{host}/cond/**"
    signers: [release-key, platform-key]
    all: true
  - images: "{host}/cond/**"
    signers: [release-key, platform-key, other-key]
    at_least: 2
attestations:
  - images: "{host}/cond/**"
    require: [slsaprovenance1, cyclonedx]
    conditions:
      slsaprovenance1:
        - 'predicate.runDetails.builder.id == "{GOOD_BUILDER}"'
        - expression: >-
            predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/acme/app"
            && predicate.buildDefinition.externalParameters.workflow.ref.startsWith("refs/heads/")
          message: built from acme/app on a branch
      cyclonedx:
        - expression: 'timestamp(predicate.metadata.timestamp) > now - duration("720h")'
          message: SBOM not older than 30 days
""")
    return {"images": images, "policy": policy, "dir": d}


def _gate(scene: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    r = run_cli("gate", "--image", scene["images"][name], "--policy", str(scene["policy"]), "--json")
    doc = json.loads(r.stdout)
    (image,) = doc["images"]
    return r.exit_code, image


def test_good_image_passes_conditions_and_thresholds(scene: dict[str, Any]) -> None:
    code, image = _gate(scene, "good")
    assert code == 0, json.dumps(image, indent=1)[:3000]
    assert image["decision"] == "pass" and image["findings"] == []


def test_one_signer_misses_the_all_of_and_at_least_thresholds(scene: dict[str, Any]) -> None:
    code, image = _gate(scene, "onekey")
    assert code == 1
    msgs = [f["message"] for f in image["findings"] if f["rule"] == "SC-GATE-010"]
    assert len(msgs) == 2, image["findings"]
    assert any("all of release-key, platform-key; valid signatures by release-key" in m for m in msgs)
    assert any("at least 2 of release-key, platform-key, other-key" in m for m in msgs)
    assert {f["rule"] for f in image["findings"]} == {"SC-GATE-010"}


@pytest.mark.parametrize(("name", "words"), [
    ("evilbuilder", "slsaprovenance1"), ("oldsbom", "SBOM not older than 30 days")])
def test_failed_condition_fails_the_image(scene: dict[str, Any], name: str, words: str) -> None:
    code, image = _gate(scene, name)
    assert code == 1
    assert {f["rule"] for f in image["findings"]} == {"SC-GATE-011"}
    assert words in image["findings"][0]["message"]


@pytest.mark.parametrize(("expression", "words"), [
    ("predicate.runDetails.builder.id ==", "invalid CEL expression"),
    ("predicat.x == 1", "undeclared reference to 'predicat'"),
    ("nosuchfunction(predicate)", "undeclared reference to 'nosuchfunction'"),
])
def test_bad_expressions_are_refused_at_load_by_gate_and_policy_check(tmp_path: Path, expression: str,
                                                                      words: str) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nsigners:\n  - {name: k, subject: a@example.com, issuer: https://x}\n"
                      "attestations:\n  - require: [cyclonedx]\n    conditions:\n"
                      f"      cyclonedx: [{json.dumps(expression)}]\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\nUSER 1\n")
    for args in (["policy", "check", str(tmp_path / "Dockerfile"), "--policy", str(policy)],
                 ["gate", "--image", "example.invalid/x@sha256:" + "0" * 64, "--policy", str(policy)]):
        r = run_cli(*args)
        assert r.exit_code == 2, (args, r.stdout, r.stderr)
        assert words in r.stderr and "attestations[0].conditions.cyclonedx[0]" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def test_threshold_naming_an_unknown_signer_is_refused(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nsigners:\n  - {name: k, subject: a@example.com, issuer: https://x}\n"
                      "signer_thresholds:\n  - {signers: [k, ghost], all: true}\n")
    r = run_cli("gate", "--image", "example.invalid/x@sha256:" + "0" * 64, "--policy", str(policy))
    assert r.exit_code == 2 and "no `signers:` entry is named 'ghost'" in r.stderr, r.stderr
    policy.write_text("version: 1\nsigners:\n  - {name: k, subject: a@example.com, issuer: https://x}\n"
                      "signer_thresholds:\n  - {signers: [k], at_least: 2}\n")
    r = run_cli("gate", "--image", "example.invalid/x@sha256:" + "0" * 64, "--policy", str(policy))
    assert r.exit_code == 2 and "can never be met" in r.stderr, r.stderr
