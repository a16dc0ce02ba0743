"""signing layer: Sigstore bundles for blobs, models and images.

Public API (import from the submodules; this package imports nothing heavy):

- ``supplychain.signing.sign``: ``sign_bytes``, ``sign_file``, ``sign_digest``, ``sign_dsse``
- ``supplychain.signing.verify``: ``verify_bundle``, ``verify_dsse_bundle``, ``VerifiedSignature``
- ``supplychain.signing.keys``: ``generate_keypair``, ``load_private_key``, ``load_public_key``, ``key_hint``
- ``supplychain.signing.trust``: ``load_trust``, ``TrustedRoot``
- ``supplychain.signing.specs``: ``IdentitySpec``, ``TrustSpec``, ``SignerSpec``
"""
