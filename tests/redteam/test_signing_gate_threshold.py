"""A signer threshold ("all of a, b" / "at least 2 of ...") counts distinct signers: one signature
(however many copies of it the image carries) never counts for two `signers:` entries that both
match it (the same key under two names, or an identity regular expression overlapping another
entry). The old gate counted each entry any signature matched: one signer passed a two-party rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.image_signing.conftest import ENV, make_keypair
from tests.imagebuild import File, build_image, push_image

pytestmark = pytest.mark.registry


def test_one_signer_does_not_meet_a_two_signer_threshold(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView, sign_image
    from supplychain.signing.specs import SignerSpec

    view = RegistryView(RegistryClient())
    release, security = make_keypair(tmp_path, "release"), make_keypair(tmp_path, "security")
    host = registry.host
    images = {}
    for name, signers in (("one", [release]), ("two", [release, security])):
        tag = f"{host}/thresh/{name}:1.0"
        digest = push_image(view.client, tag, build_image([[File(f"app/{name}", name.encode())]]))
        images[name] = f"{tag}@{digest}"
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
            for key in signers:
                sign_image(tag, SignerSpec(key_path=str(key.private)), registry=view)
    (tmp_path / "release.pub").write_bytes(release.public.read_bytes())
    (tmp_path / "release-copy.pub").write_bytes(release.public.read_bytes())  # one key, two entries
    (tmp_path / "security.pub").write_bytes(security.public.read_bytes())
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"""version: 1
trusted_registries: ["{host}/thresh/**"]
signers:
  - {{name: release-key, images: "{host}/thresh/**", key: release.pub}}
  - {{name: release-again, images: "{host}/none/**", key: release-copy.pub}}
  - {{name: security-key, images: "{host}/none/**", key: security.pub}}
signer_thresholds:
  - images: "{host}/thresh/**"
    signers: [release-key, release-again]
    all: true
  - images: "{host}/thresh/**"
    signers: [release-key, release-again, security-key]
    at_least: 2
""")

    def gate(name: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        r = run_cli("gate", "--image", images[name], "--policy", str(policy), "--json")
        return r.exit_code, json.loads(r.stdout)["images"][0]

    code, image = gate("one")  # old code: exit 0, decision pass
    assert code == 1 and image["decision"] == "fail", image
    msgs = [f["message"] for f in image["findings"] if f["rule"] == "SC-GATE-010"]
    assert len(msgs) == 2 and all("valid signatures by release-" in m for m in msgs), msgs
    # two different keys do meet "at least 2 of" (release counts once, security once)...
    code, image = gate("two")
    msgs = [f["message"] for f in image["findings"] if f["rule"] == "SC-GATE-010"]
    assert len(msgs) == 1 and "all of release-key, release-again" in msgs[0], image
    assert code == 1
