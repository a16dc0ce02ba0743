"""`tree`, `download` and `copy` between TWO real local registries (Debian's docker-registry,
which has no referrers API: the referrers tag schema and cosign's legacy tags are exercised)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Registry, run_cli
from tests.image_signing.conftest import ENV, make_keypair
from tests.imagebuild import File, build_image, push_image

pytestmark = [pytest.mark.registry, pytest.mark.slow]


@pytest.fixture(scope="module")
def registry2() -> Iterator[Registry]:
    """A second registry, started exactly as the session's `registry` fixture starts one."""
    from tests import conftest

    gen = conftest.registry.__wrapped__()  # type: ignore[attr-defined]
    yield next(gen)
    gen.close()


@pytest.fixture(scope="module")
def signed(registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient

    d = tmp_path_factory.mktemp("regcmds")
    key, other = make_keypair(d, "release"), make_keypair(d, "other")
    client = RegistryClient()
    ref = f"{registry.host}/parity/app:1.0"
    big = bytes(range(256)) * 4096  # a 1 MiB layer
    digest = push_image(client, ref, build_image([[File("app/bin", big)], [File("etc/app.conf", b"x=1\n")]]))
    bom = d / "bom.json"
    bom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                               "components": [{"type": "library", "name": "zlib", "version": "1.3"}]}))
    prov = d / "prov.json"
    prov.write_text(json.dumps({"buildDefinition": {"buildType": "https://builder.example/t", "externalParameters": {}},
                                "runDetails": {"builder": {"id": "https://builder.example/1"}}}))
    for args in (["sign", "image", ref, "--key", str(key.private), "--legacy-tags"],
                 ["attest", "image", ref, "--predicate", str(bom), "--type", "cyclonedx", "--key", str(key.private)],
                 ["attest", "image", ref, "--predicate", str(prov), "--type", "slsaprovenance1",
                  "--key", str(key.private), "--legacy-tags"]):
        r = run_cli(*args, env=ENV)
        assert r.exit_code == 0, (args, r.stderr)
    return {"ref": ref, "digest": digest, "key": key, "other": other, "dir": d, "host": registry.host}


def _tree(ref: str) -> dict[str, Any]:
    r = run_cli("tree", ref, "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def test_tree_shows_referrers_and_legacy_tags(signed: dict[str, Any]) -> None:
    doc = _tree(signed["ref"])
    assert doc["digest"] == signed["digest"]
    sources = sorted((a["kind"], a["source"]) for a in doc["signatures"] + doc["attestations"])
    assert sources == [("attestation", "legacy .att"), ("attestation", "referrer"), ("attestation", "referrer"),
                       ("signature", "legacy .sig"), ("signature", "referrer")]
    types = {a["predicate_type"] for a in doc["attestations"]}
    assert types == {"https://cyclonedx.org/bom", "https://slsa.dev/provenance/v1"}
    assert [a["predicate_type"] for a in doc["sboms"]] == ["https://cyclonedx.org/bom"]
    assert all(a["size"] > 0 and a["signer"] for a in doc["signatures"] + doc["attestations"])
    text = run_cli("tree", signed["ref"])
    assert text.exit_code == 0 and f"@{signed['digest']}" in text.stdout
    assert "Signatures (2)" in text.stdout and "Attestations (3)" in text.stdout and "SBOMs (1)" in text.stdout
    assert "unverified" in text.stdout


def test_download_raw_says_so_and_verified_only_with_the_right_key(signed: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    r = run_cli("download", "sbom", signed["ref"], "-o", str(out))
    assert r.exit_code == 0 and "NOT verified" in r.stderr
    assert json.loads(out.read_text())["components"][0]["name"] == "zlib"
    r = run_cli("download", "attestation", signed["ref"], "--type", "slsaprovenance1", "--key",
                str(signed["key"].public), "--offline", "-o", str(tmp_path / "prov.json"))
    assert r.exit_code == 0, r.stderr
    assert "NOT verified" not in r.stderr
    lines = (tmp_path / "prov.json").read_text().splitlines()
    assert lines and all(json.loads(x)["runDetails"]["builder"]["id"] == "https://builder.example/1" for x in lines)
    r = run_cli("download", "sbom", signed["ref"], "--key", str(signed["other"].public), "--offline",
                "-o", str(tmp_path / "none.json"))
    assert r.exit_code == 1 and "no sbom verified" in r.stderr
    assert not (tmp_path / "none.json").exists()
    r = run_cli("download", "signature", signed["ref"])
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 2  # the referrer bundle and the legacy .sig layer
    raw = sorted(r.stdout.splitlines())
    v = run_cli("download", "signature", signed["ref"], "--key", str(signed["key"].public), "--offline")
    assert v.exit_code == 0 and "NOT verified" not in v.stderr, v.stderr
    assert sorted(v.stdout.splitlines()) == raw  # both verify: the same stored content
    v = run_cli("download", "signature", signed["ref"], "--key", str(signed["other"].public), "--offline")
    assert v.exit_code == 1 and v.stdout == ""
    r = run_cli("download", "sbom", signed["ref"], "--type", "cyclonedx")
    assert r.exit_code == 2 and "--type applies to `download attestation` only" in r.stderr


def test_copy_between_two_registries_keeps_digests_and_signatures(signed: dict[str, Any],
                                                                  registry2: Registry) -> None:
    dst = f"{registry2.host}/promoted/app:1.0"
    r = run_cli("copy", signed["ref"], dst, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["digest"] == signed["digest"] and rep["blobs"]["copied"] >= 3 and len(rep["attached"]) == 5
    src_tree, dst_tree = _tree(signed["ref"]), _tree(dst)
    assert dst_tree["digest"] == signed["digest"]
    for kind in ("signatures", "attestations", "sboms"):
        assert sorted(a["digest"] for a in dst_tree[kind]) == sorted(a["digest"] for a in src_tree[kind])
    v = run_cli("verify", "image", dst, "--key", str(signed["key"].public), "--offline",
                "--attestation", "cyclonedx", "--attestation", "slsaprovenance1")
    assert v.exit_code == 0, v.stdout + v.stderr
    again = run_cli("copy", signed["ref"], dst, "--format", "json")  # idempotent: everything already there
    assert again.exit_code == 0 and json.loads(again.stdout)["blobs"]["copied"] == 0


def test_copy_only_signatures_and_mounts_within_a_registry(signed: dict[str, Any], registry2: Registry) -> None:
    only = f"{registry2.host}/sigs-only/app"
    r = run_cli("copy", signed["ref"], only, "--only", "sig", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert {a["kind"] for a in json.loads(r.stdout)["attached"]} == {"signature"}
    tags = run_cli("tree", f"{only}@{signed['digest']}")
    assert tags.exit_code == 3  # the image itself was not copied
    mirror = f"{signed['host']}/mirror/app:1.0"
    r = run_cli("copy", signed["ref"], mirror, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["blobs"]["mounted"] >= 3 and rep["blobs"]["copied"] == 0  # same registry: cross-repository mounts
    assert _tree(mirror)["digest"] == signed["digest"]
    bad = run_cli("copy", signed["ref"], mirror, "--only", "sig,bogus")
    assert bad.exit_code == 2 and "bogus" in bad.stderr


def test_copy_streams_a_large_layer(registry, registry2: Registry) -> None:  # type: ignore[no-untyped-def]
    import os

    from supplychain.oci.registry import RegistryClient

    client = RegistryClient()
    src = f"{registry.host}/parity/big:1"
    digest = push_image(client, src, build_image([[File("blob.bin", os.urandom(17 * 1024 * 1024))]]))
    r = run_cli("copy", src, f"{registry2.host}/parity/big:1", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["blobs"]["copied"] == 2  # config and the 17 MiB layer (streamed)
    assert _tree(f"{registry2.host}/parity/big:1")["digest"] == digest
