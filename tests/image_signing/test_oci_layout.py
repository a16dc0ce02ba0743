"""sign / attest / verify image on an OCI image layout directory (oci:DIR[:TAG]), as docs/images.md
promises for image sources: the signature is a referrer manifest listed in index.json."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.image_signing.conftest import ENV
from tests.imagebuild import File, build_image, write_oci_layout


def test_sign_attest_verify_oci_layout(keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    layout = tmp_path / "layout"
    write_oci_layout(layout, build_image([[File("app/x", b"layout image")]]), tag="v1")
    ref = f"oci:{layout}:v1"
    assert run_cli("verify", "image", ref, "--key", str(keys["release"].public)).exit_code == 1  # unsigned
    r = run_cli("sign", "image", ref, "--key", str(keys["release"].private), env=ENV)
    assert r.exit_code == 0, r.stderr
    bom = tmp_path / "bom.json"
    bom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}))
    r = run_cli("attest", "image", ref, "--predicate", str(bom), "--key", str(keys["release"].private), env=ENV)
    assert r.exit_code == 0, r.stderr
    v = run_cli("verify", "image", ref, "--key", str(keys["release"].public), "--attestation", "cyclonedx", "--json")
    assert v.exit_code == 0, v.stdout + v.stderr
    doc = json.loads(v.stdout)
    assert [s["trusted"] for s in doc["signatures"]] == [True] and [a["trusted"] for a in doc["attestations"]] == [True]
    # the tag still names the image; the referrers are untagged manifests in index.json
    index = json.loads((layout / "index.json").read_text())
    tagged = [m for m in index["manifests"] if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name")]
    assert len(tagged) == 1 and len(index["manifests"]) == 3
    assert run_cli("verify", "image", ref, "--key", str(keys["other"].public)).exit_code == 1
    # by digest too
    v = run_cli("verify", "image", f"oci:{layout}@{doc['digest']}", "--key", str(keys["release"].public))
    assert v.exit_code == 0, v.stdout + v.stderr
    bad = run_cli("verify", "image", f"oci:{tmp_path / 'nope'}", "--key", str(keys["release"].public))
    assert bad.exit_code == 2 and "OCI image layout" in bad.stderr, bad.stderr
