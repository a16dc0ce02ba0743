"""Registry faults while verifying an image must leave it undecided (RegistryError, exit 3), not
failed (exit 1) nor unsigned: a detached SBOM blob answered with a 5xx, a cosign legacy ``.sig``
tag answered with a bare 404 (no MANIFEST_UNKNOWN: a proxy, a CDN). A registry that says the
thing is unknown still gives a definite no. The registry is the real docker-registry; faults are
injected in a thin wrapper around the real client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import RegistryError
from supplychain.oci.answer import RegistryNotFound

pytestmark = pytest.mark.registry


class FaultyClient:
    """The real RegistryClient, except for the blob digests / manifest references named."""

    def __init__(self, real: Any, *, blob_5xx: set[str] = frozenset(),  # type: ignore[assignment]
                 manifest_404: dict[str, list[str]] | None = None) -> None:
        self.real = real
        self.blob_5xx = set(blob_5xx)
        self.manifest_404 = manifest_404 or {}

    def get_blob_bytes(self, ref: Any, digest: str, **kw: Any) -> bytes:
        if digest in self.blob_5xx:
            raise RegistryError(f"{ref}: blob {digest}: HTTP 503 Service Unavailable")
        data: bytes = self.real.get_blob_bytes(ref, digest, **kw)
        return data

    def get_manifest(self, ref: Any, *a: Any, **kw: Any) -> Any:
        for suffix, codes in self.manifest_404.items():
            if str(ref).endswith(suffix):
                raise RegistryNotFound(f"{ref}: not found (HTTP 404)", codes=codes)
        return self.real.get_manifest(ref, *a, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _publish(registry: Any, tmp_path: Path, repo: str, *, detached: bool) -> tuple[Any, str, Any, Any]:
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.specs import SignerSpec
    from tests.image_signing.conftest import ENV, make_keypair
    from tests.imagebuild import File, build_image, push_image

    key = make_keypair(tmp_path, "release")
    view = RegistryView(RegistryClient())
    ref = f"{registry.host}/{repo}:1.0"
    digest = push_image(view.client, ref, build_image([[File("app/x", repo.encode())]]))
    signer = SignerSpec(key_path=str(key.private))
    published = None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
        sign_image(ref, signer, registry=view)
        if detached:
            bom = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                              "components": [{"type": "library", "name": f"c{i}", "version": "1"}
                                             for i in range(100)]}).encode()
            published = attest_image(ref, bom, "https://cyclonedx.org/bom", signer, registry=view,
                                     detach_threshold=1024)
    return key, f"{ref.rsplit(':', 1)[0]}@{digest}", published, view.client


def _options(key: Any, require: list[str]) -> Any:
    from supplychain.signing.image import VerifyOptions
    from supplychain.signing.policy import SignerPolicy

    return VerifyOptions(signers=[SignerPolicy.create(key=str(key.public))], require_attestations=require)


def test_detached_sbom_blob_5xx_is_undecided_not_failed(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from supplychain.signing.image import RegistryView, verify_image

    key, image, published, real = _publish(registry, tmp_path, "redteam/detached5xx", detached=True)
    assert published is not None and published.detached_digest is not None
    opts = _options(key, ["https://cyclonedx.org/bom"])
    assert verify_image(image, opts, registry=RegistryView(real)).passed
    faulty = RegistryView(FaultyClient(real, blob_5xx={published.detached_digest}))
    with pytest.raises(RegistryError) as err:  # old code: a failed result (exit 1)
        verify_image(image, opts, registry=faulty)
    assert type(err.value) is RegistryError and err.value.exit_code == 3
    assert published.detached_digest in err.value.message


def test_detached_sbom_5xx_but_signature_missing_is_a_definite_no(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """When the image fails for a reason the registry did answer, the fault changes nothing."""
    from supplychain.signing.image import RegistryView, verify_image

    key, image, published, real = _publish(registry, tmp_path, "redteam/detached5xxnosig", detached=True)
    assert published is not None and published.detached_digest is not None
    opts = _options(key, ["https://cyclonedx.org/bom", "https://slsa.dev/provenance/v1"])
    result = verify_image(image, opts, registry=RegistryView(FaultyClient(real, blob_5xx={published.detached_digest})))
    assert not result.passed and any("slsa" in r for r in result.reasons)


def test_legacy_sig_bare_404_is_undecided_not_unsigned(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Only referrer-less images reach the legacy tags; a referrer-signed image is signed by
    another key so that the legacy tag decides."""
    from supplychain.signing.image import RegistryView, verify_image
    from tests.image_signing.conftest import make_keypair

    _, image, _, real = _publish(registry, tmp_path, "redteam/legacy404", detached=False)
    (tmp_path / "o").mkdir()
    other = make_keypair(tmp_path / "o", "other")
    opts = _options(other, [])
    # a registry saying MANIFEST_UNKNOWN: no legacy signature, a definite no
    told = RegistryView(FaultyClient(real, manifest_404={".sig": ["MANIFEST_UNKNOWN"], ".att": ["MANIFEST_UNKNOWN"]}))
    result = verify_image(image, opts, registry=told)
    assert not result.passed
    # a bare 404 (no error code): the registry did not answer; old code: "not signed" (exit 1)
    bare = RegistryView(FaultyClient(real, manifest_404={".sig": [], ".att": []}))
    with pytest.raises(RegistryError) as err:
        verify_image(image, opts, registry=bare)
    assert err.value.exit_code == 3 and ".sig" in err.value.message
