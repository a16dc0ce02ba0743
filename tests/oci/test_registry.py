"""The registry client against a real registry (Debian's docker-registry 2.8 on loopback)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from supplychain.errors import InputError, RegistryError, VerificationError
from supplychain.oci.auth import CredentialStore
from supplychain.oci.descriptor import OCI_INDEX, Descriptor
from supplychain.oci.fs import Want
from supplychain.oci.image import open_image
from supplychain.oci.layers import squash
from supplychain.oci.reference import parse_reference
from supplychain.oci.registry import RegistryClient, RegistryNotFound
from tests.imagebuild import (
    Dir,
    File,
    Opaque,
    Whiteout,
    build_image,
    build_index,
    push_image,
    push_layout,
    sha256,
    write_oci_layout,
)

pytestmark = pytest.mark.registry


@pytest.fixture
def client() -> RegistryClient:
    # no ambient docker config or env credentials
    return RegistryClient(credentials=CredentialStore(env={}, config_paths=[]))


def _image(tag: bytes = b"1") -> object:
    return build_image([
        [Dir("/etc"), File("/etc/os-release", b"ID=alpine\n"), File("/lib/apk/db/installed", b"P:musl\nV:" + tag + b"\n"),
         Dir("/opt/d"), File("/opt/d/old", b"o"), File("/gone", b"g")],
        [Whiteout("/gone"), Opaque("/opt/d"), File("/opt/d/new", b"n")],
    ])


def test_push_pull_by_tag_and_digest(registry, client: RegistryClient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    img = _image()
    layout = write_oci_layout(tmp_path / "l", img, tag="v1")
    digest = push_layout(client, layout, f"{registry.host}/ocitest/team/app:v1", tag="v1")
    assert digest == img.manifest_digest
    assert client.resolve_digest(f"{registry.host}/ocitest/team/app:v1") == digest
    head = client.head_manifest(f"{registry.host}/ocitest/team/app:v1")
    assert head is not None and head[0] == digest
    assert client.head_manifest(f"{registry.host}/ocitest/team/app:nope") is None
    for source in (f"{registry.host}/ocitest/team/app:v1", f"{registry.host}/ocitest/team/app@{digest}",
                   f"docker://{registry.host}/ocitest/team/app:v1"):
        with open_image(source, client=client) as im:
            assert im.kind == "registry"
            assert im.manifest_digest == digest
            assert im.digest_reference == f"{registry.host}/ocitest/team/app@{digest}"
            tree = squash(im, lambda p: Want.CONTENT)
            assert sorted(tree.files) == ["/etc/os-release", "/lib/apk/db/installed", "/opt/d/new"]
            assert tree.files["/opt/d/new"].layer == img.layer_digests[1]
    # the default client (no client= argument) talks plain HTTP to loopback
    with open_image(f"{registry.host}/ocitest/team/app:v1") as im:
        assert im.manifest_digest == digest
    data, mt, got = client.get_manifest(parse_reference(f"{registry.host}/ocitest/team/app:v1"))
    assert got == digest and mt == img.media_type and data == img.manifest
    cfg = img.manifest_json["config"]
    assert client.get_blob_bytes(f"{registry.host}/ocitest/team/app", Descriptor.from_dict(cfg)) == img.config
    assert client.get_blob_bytes(f"{registry.host}/ocitest/team/app", cfg["digest"]) == img.config


def test_index_with_two_platforms(registry, client: RegistryClient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    amd = build_image([[File("/arch", b"amd64")]], arch="amd64")
    arm = build_image([[File("/arch", b"arm64")]], arch="arm64", variant="v8")
    index = build_index([amd, arm])
    ref = f"{registry.host}/ocitest/multi/app:1"
    assert push_image(client, ref, index) == index.index_digest
    for plat, want, mdigest in (("linux/amd64", b"amd64", amd.manifest_digest),
                                ("linux/arm64", b"arm64", arm.manifest_digest)):
        with open_image(ref, platform=plat, client=client) as im:
            assert im.index_digest == index.index_digest
            assert im.manifest_digest == mdigest
            assert im.platform.startswith(plat)
            assert squash(im, lambda p: Want.CONTENT).files["/arch"].data == want
    with pytest.raises(InputError, match="no image for platform linux/ppc64le"):
        open_image(ref, platform="linux/ppc64le", client=client)
    # the same index pushed from an OCI layout (blobs streamed from disk)
    layout = write_oci_layout(tmp_path / "l", index, tag="multi")
    ref2 = f"{registry.host}/ocitest/multi/from-layout:1"
    assert push_layout(client, layout, ref2, tag="multi") == index.index_digest
    with open_image(ref2, platform="linux/arm64", client=client) as im:
        assert im.manifest_digest == arm.manifest_digest


def test_digest_mismatch_from_registry(registry, client: RegistryClient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    img = _image(b"2")
    ref = f"{registry.host}/ocitest/tamper/app:v1"
    push_image(client, ref, img)
    # a manifest asked for by the wrong digest
    wrong = "sha256:" + "0" * 64
    with pytest.raises(RegistryNotFound):
        client.get_manifest(f"{registry.host}/ocitest/tamper/app@{wrong}")
    # a blob whose stored bytes were changed behind the registry's back
    layer = img.layer_digests[0]
    hexd = layer[7:]
    data_files = list(Path(registry.root).rglob(f"blobs/sha256/{hexd[:2]}/{hexd}/data"))
    assert data_files, "registry storage layout changed"
    original = data_files[0].read_bytes()
    try:
        tampered = bytearray(original)
        tampered[-10] ^= 0xFF
        data_files[0].write_bytes(bytes(tampered))
        with open_image(ref, client=client) as im, pytest.raises(VerificationError):
            squash(im, lambda p: Want.CONTENT)
        with pytest.raises(VerificationError):
            client.get_blob_bytes(f"{registry.host}/ocitest/tamper/app", Descriptor("", layer, len(original)))
    finally:
        data_files[0].write_bytes(original)


def test_upload_chunked_mount_list_tags_delete(registry, client: RegistryClient) -> None:  # type: ignore[no-untyped-def]
    blob = os.urandom(300_000)
    d = sha256(blob)
    repo = f"{registry.host}/ocitest/chunks/app"
    assert not client.blob_exists(repo, d)
    assert client.upload_blob(repo, blob, d, chunk_size=64 * 1024) == d
    assert client.blob_exists(repo, d)
    assert client.get_blob_bytes(repo, Descriptor("", d, len(blob))) == blob
    with pytest.raises(VerificationError):
        client.upload_blob(repo, blob + b"x", d)
    # cross-repository mount
    assert client.mount_blob(f"{registry.host}/ocitest/other/app", d, "ocitest/chunks/app") is True
    assert client.blob_exists(f"{registry.host}/ocitest/other/app", d)
    # nothing to mount: the registry opens an upload session instead, which is cancelled
    missing = sha256(b"not there")
    assert client.mount_blob(f"{registry.host}/ocitest/other/app", missing, "ocitest/chunks/app") is False
    assert not client.blob_exists(f"{registry.host}/ocitest/other/app", missing)
    client.ping(registry.host)
    # tags with pagination
    img = _image(b"3")
    for i in range(5):
        push_image(client, f"{repo}:t{i}", img)
    assert sorted(client.list_tags(repo, page_size=2)) == [f"t{i}" for i in range(5)]
    assert sorted(client.list_tags(repo)) == [f"t{i}" for i in range(5)]
    with pytest.raises(RegistryNotFound):
        client.list_tags(f"{registry.host}/ocitest/no/such/repo")
    client.delete_manifest(repo, img.manifest_digest)
    assert client.head_manifest(f"{repo}:t0") is None


def test_referrers_fallback_tag_schema(registry, client: RegistryClient) -> None:  # type: ignore[no-untyped-def]
    img = _image(b"4")
    repo = f"{registry.host}/ocitest/refs/app"
    subject = push_image(client, f"{repo}:v1", img)
    assert client.referrers(repo, subject) == []
    empty = b"{}"
    client.upload_blob(repo, empty, sha256(empty))
    payload = b'{"bom": true}'
    client.upload_blob(repo, payload, sha256(payload))
    descs = []
    for art, data in (("application/vnd.dev.sigstore.bundle.v0.3+json", payload),
                      ("application/vnd.cyclonedx+json", payload)):
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": art,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(empty), "size": 2},
            "layers": [{"mediaType": art, "digest": sha256(data), "size": len(data)}],
            "subject": {"mediaType": img.media_type, "digest": subject, "size": len(img.manifest)},
        }
        raw = json.dumps(manifest).encode()
        md = client.put_manifest(repo, sha256(raw), raw, manifest["mediaType"])
        desc = Descriptor(manifest["mediaType"], md, len(raw), artifact_type=art)
        client.add_referrer_to_tag_index(repo, subject, desc)
        client.add_referrer_to_tag_index(repo, subject, desc)  # idempotent
        descs.append(desc)
    got = client.referrers(repo, subject)
    assert [(d.digest, d.artifact_type) for d in got] == [(d.digest, d.artifact_type) for d in descs]
    only = client.referrers(repo, subject, artifact_type="application/vnd.cyclonedx+json")
    assert [d.digest for d in only] == [descs[1].digest]
    # the fallback tag is an OCI index
    tag = client.referrers_tag(subject)
    assert tag == "sha256-" + subject[7:]
    _, mt, _ = client.get_manifest(f"{repo}:{tag}")
    assert mt == OCI_INDEX
    # registry 2.8 has no referrers API: the raw endpoint really is a 404
    r = requests.get(f"{registry.url}/v2/ocitest/refs/app/referrers/{subject}", timeout=5)
    assert r.status_code == 404


def test_errors_name_the_reference(registry, client: RegistryClient) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RegistryNotFound) as exc:
        open_image(f"{registry.host}/ocitest/missing/app:v9", client=client)
    assert f"{registry.host}/ocitest/missing/app:v9" in str(exc.value) and "404" in str(exc.value)
    assert exc.value.exit_code == 3
    # plain HTTP to a non-loopback host is refused before any connection
    with pytest.raises(RegistryError, match=r"plain-HTTP|insecure") as exc2:
        client._check_scheme("http://registry.example.com/v2/", "x")
    assert exc2.value.hint and "--insecure-registry" in exc2.value.hint


def test_upload_from_a_stream(registry, client: RegistryClient) -> None:  # type: ignore[no-untyped-def]
    import io

    blob = os.urandom(200_000)
    repo = f"{registry.host}/ocitest/stream/app"
    d = sha256(blob)
    assert client.upload_blob(repo, io.BytesIO(blob), d, chunk_size=50_000) == d
    assert client.get_blob_bytes(repo, d) == blob
    other = os.urandom(1000)
    with pytest.raises(VerificationError, match="digest"):
        client.upload_blob(repo, io.BytesIO(other), sha256(b"something else"))
    assert not client.blob_exists(repo, sha256(b"something else"))
    with pytest.raises(VerificationError, match="bytes"):
        client.upload_blob(repo, io.BytesIO(other), sha256(other), size=999)
    assert client.upload_blob(repo, io.BytesIO(other), sha256(other), size=1000) == sha256(other)


def test_one_client_many_threads(registry, client: RegistryClient) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    images = {f"{registry.host}/ocitest/threads/app{i}:v1": _image(str(i).encode()) for i in range(6)}
    for ref, img in images.items():
        push_image(client, ref, img)

    def pull(ref: str) -> tuple[str, bytes | None]:
        with open_image(ref, client=client) as im:
            tree = squash(im, lambda p: Want.CONTENT)
            return im.manifest_digest, tree.files["/lib/apk/db/installed"].data

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(pull, list(images) * 3))
    for (digest, data), ref in zip(results, list(images) * 3, strict=True):
        assert digest == images[ref].manifest_digest
        assert data is not None and data.endswith(ref.split("/app")[1].split(":")[0].encode() + b"\n")
