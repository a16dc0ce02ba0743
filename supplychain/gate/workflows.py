"""Workflows across domains (SBOM + signing + registry), in one place above those layers.

* :func:`attest_image` -- attach a signed attestation to an image; with ``sbom_from_image`` the
  predicate is the image's own CycloneDX SBOM, generated from the same digest it is attached to
  (``supplychain attest image --sbom-from-image``).
* :mod:`supplychain.gate.model_sbom` -- SBOM ``Package`` records of an ML model directory, hashed
  exactly as its model-signing signature hashes it (``supplychain sbom model``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from supplychain.errors import InputError
from supplychain.oci.reference import parse_reference
from supplychain.signing import attest as at
from supplychain.signing.image import Published, RegistryView
from supplychain.signing.image import attest_image as publish_attestation
from supplychain.signing.specs import SignerSpec

CYCLONEDX = at.PREDICATE_TYPES["cyclonedx"]


def image_sbom_document(reference: str, *, platform: str = "linux/amd64", insecure_registries: Iterable[str] = (),
                        on_warning: Callable[[str], None] | None = None) -> bytes:
    """The CycloneDX JSON SBOM of the image at ``reference`` (as ``sbom image`` makes it)."""
    from supplychain.sbom.cyclonedx import render_bom
    from supplychain.sbom.image import image_bom

    root, packages = image_bom(reference, platform=platform, insecure_registries=insecure_registries,
                               on_warning=on_warning)
    return render_bom(root, packages, fmt="json")


def attest_image(reference: str, signer: SignerSpec, *, predicate: bytes | None = None,
                 predicate_type: str = CYCLONEDX, sbom_from_image: bool = False, source: str = "predicate",
                 platform: str = "linux/amd64", insecure_registries: Iterable[str] = (),
                 detach_threshold: int = at.DEFAULT_DETACH_THRESHOLD,
                 on_warning: Callable[[str], None] | None = None,
                 registry: RegistryView | None = None) -> Published:
    """Attach a signed attestation (``predicate``, or the image's own SBOM) to the image's digest."""
    if (predicate is not None) == sbom_from_image:
        raise InputError("give exactly one of --predicate FILE or --sbom-from-image")
    insecure = tuple(insecure_registries)
    view = registry or RegistryView(insecure=insecure)
    if sbom_from_image:
        if predicate_type != CYCLONEDX:
            raise InputError("--sbom-from-image makes a CycloneDX SBOM: use --type cyclonedx (or leave it out)")
        # pin first, so the SBOM and the attestation are about the same digest
        reference = view.resolve(parse_reference(reference)).digest_reference
        predicate = image_sbom_document(reference, platform=platform, insecure_registries=insecure,
                                        on_warning=on_warning)
        source = "generated SBOM"
    assert predicate is not None
    return publish_attestation(reference, predicate, predicate_type, signer, registry=view,
                               detach_threshold=detach_threshold, source=source)
