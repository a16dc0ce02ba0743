"""Workflows across domains (SBOM + signing + registry), in one place above those layers.

* :func:`attest_image` -- attach a signed attestation to an image; with ``sbom_from_image`` the
  predicate is the image's own CycloneDX SBOM, generated from the same digest it is attached to
  (``supplychain attest image --sbom-from-image``); with ``scan`` also (or only) the signed result of
  the image checks (``--scan``: secrets in every layer, config), made in the same layer pass.
* :mod:`supplychain.gate.model_sbom` -- SBOM ``Package`` records of an ML model directory, hashed
  exactly as its model-signing signature hashes it (``supplychain sbom model``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from supplychain.errors import InputError
from supplychain.oci.reference import parse_reference
from supplychain.policy.config import Policy
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


def image_documents(reference: str, *, sbom: bool, scan: bool, policy: Policy | None = None,
                    platform: str = "linux/amd64", insecure_registries: Iterable[str] = (), base_layers: int = 1,
                    on_warning: Callable[[str], None] | None = None) -> tuple[bytes | None, bytes | None, int]:
    """(CycloneDX SBOM, image-scan predicate, number of error findings) of the image at ``reference``,
    from ONE pass over its layers when both are asked."""
    from supplychain.oci.image import open_image
    from supplychain.policy.config import default_policy
    from supplychain.policy.imagecheck import register as register_image_rules
    from supplychain.policy.imagecheck.scan import ImageScan, scan_image
    from supplychain.sbom.cyclonedx import render_bom
    from supplychain.sbom.image import catalog_image

    register_image_rules()
    pol = policy or default_policy()
    bom: bytes | None = None
    checks: ImageScan | None = None
    with open_image(reference, platform=platform, insecure_registries=insecure_registries) as image:
        if sbom:
            checks = ImageScan(pol, base_layers=base_layers) if scan else None
            root, packages = catalog_image(image, on_warning=on_warning, also=checks)
            bom = render_bom(root, packages, fmt="json")
        elif scan:
            checks = scan_image(image, pol, base_layers=base_layers)
    if checks is None:
        return bom, None, 0
    if on_warning is not None:
        for note in checks.notes():
            on_warning(note)
    findings = checks.findings(reference)
    doc = json.dumps(checks.predicate(findings), indent=2, sort_keys=True).encode() + b"\n"
    return bom, doc, sum(1 for f in findings if f.severity.value == "error")


def attest_image(reference: str, signer: SignerSpec, *, predicate: bytes | None = None,
                 predicate_type: str = CYCLONEDX, sbom_from_image: bool = False, source: str = "predicate",
                 platform: str = "linux/amd64", insecure_registries: Iterable[str] = (),
                 detach_threshold: int = at.DEFAULT_DETACH_THRESHOLD,
                 on_warning: Callable[[str], None] | None = None,
                 registry: RegistryView | None = None, scan: bool = False, scan_policy: Policy | None = None,
                 base_layers: int = 1, on_scan: Callable[[Published, int], None] | None = None) -> Published:
    """Attach a signed attestation (``predicate``, or the image's own SBOM) to the image's digest.

    ``scan``: also attach the image-scan result (predicate type ``PREDICATE_TYPE`` of
    ``supplychain.policy.imagecheck``), from the same layer pass as the SBOM when both are made;
    ``on_scan(published, errors)`` is told about it. With ``scan`` alone the scan attestation is
    returned."""
    if predicate is not None and sbom_from_image:
        raise InputError("give only one of --predicate FILE or --sbom-from-image")
    if predicate is None and not sbom_from_image and not scan:
        raise InputError("give one of --predicate FILE, --sbom-from-image or --scan")
    insecure = tuple(insecure_registries)
    view = registry or RegistryView(insecure=insecure)
    if scan:
        from supplychain.policy.imagecheck import PREDICATE_TYPE

        if sbom_from_image and predicate_type != CYCLONEDX:
            raise InputError("--sbom-from-image makes a CycloneDX SBOM: use --type cyclonedx (or leave it out)")
        reference = view.resolve(parse_reference(reference)).digest_reference
        bom, scan_doc, errors = image_documents(reference, sbom=sbom_from_image, scan=True, policy=scan_policy,
                                                platform=platform, insecure_registries=insecure,
                                                base_layers=base_layers, on_warning=on_warning)
        assert scan_doc is not None
        scanned = publish_attestation(reference, scan_doc, PREDICATE_TYPE, signer, registry=view,
                                      detach_threshold=detach_threshold, source="image scan")
        if on_scan is not None:
            on_scan(scanned, errors)
        if bom is not None:
            predicate, source, sbom_from_image = bom, "generated SBOM", False
        elif predicate is None:
            return scanned
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
