"""Image signatures and attestations in an OCI registry: sign, attest, find and verify.

What we write is what cosign v3 writes: a Sigstore bundle (v0.3) holding a DSSE envelope around an
in-toto statement whose subject is the image manifest digest, attached to the image as an OCI 1.1
referrer (artifactType ``application/vnd.dev.sigstore.bundle.v0.3+json``). Image signatures use
predicate type ``https://sigstore.dev/cosign/sign/v1``; attestations use the predicate's own type.
Registries without the referrers API (Debian's docker-registry 2.8) get the referrers tag schema:
a ``sha256-<hex>`` tag pointing at an image index that lists the referrers.

What we read: those referrers, and cosign v2's legacy ``sha256-<hex>.sig`` / ``.att`` tags.

Verification is two steps, so one pass can serve many acceptable signers (the gate):
each signature is first verified cryptographically (against the given public keys, or against
the Sigstore trusted root for certificates), which tells *who* signed it; then the signer is
matched against the :class:`SignerRule` list.

The code lives in modules by concern; this module is the package's facade and re-exports their
public names (import from here):

- :mod:`supplychain.signing.image_registry`: the cached registry view, references, ``$COSIGN_REPOSITORY``
- :mod:`supplychain.signing.image_publish`: sign and attest (referrers, legacy tags)
- :mod:`supplychain.signing.image_bundles`: verify one bundle or cosign v2 layer (who signed)
- :mod:`supplychain.signing.image_verify`: find and verify every signature of an image
- :mod:`supplychain.signing.image_result`: findings, the verdict, its rendering
"""

from __future__ import annotations

from supplychain.signing.image_bundles import (
    VerifiedBundle,
    sign_statement,
    verify_bundle_json,
    verify_legacy_attestation,
    verify_legacy_layer,
)
from supplychain.signing.image_publish import Published, attest_image, sign_image
from supplychain.signing.image_registry import (
    COSIGN_REPOSITORY_ENV,
    MAX_BUNDLE,
    MAX_REFERRERS,
    RegistryView,
    ResolvedImage,
    parse_image_reference,
    signature_repository,
)
from supplychain.signing.image_result import Finding, ImageVerification, render_verification
from supplychain.signing.image_verify import VerifyOptions, verify_image
from supplychain.signing.trust import TrustRoots

__all__ = [
    "COSIGN_REPOSITORY_ENV",
    "MAX_BUNDLE",
    "MAX_REFERRERS",
    "Finding",
    "ImageVerification",
    "Published",
    "RegistryView",
    "ResolvedImage",
    "TrustRoots",
    "VerifiedBundle",
    "VerifyOptions",
    "attest_image",
    "parse_image_reference",
    "render_verification",
    "sign_image",
    "sign_statement",
    "signature_repository",
    "verify_bundle_json",
    "verify_image",
    "verify_legacy_attestation",
    "verify_legacy_layer",
]
