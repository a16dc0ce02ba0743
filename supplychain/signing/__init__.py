"""signing layer: Sigstore signatures for blobs, models and images.

One module per concept (shaped like sigstore-python's verifier), each written once:

- ``dsse``: envelopes, the PAE, in-toto statements (size-capped)
- ``x509``: certificate loading, identity (SAN incl. otherName), chains, SCTs, leaf profile
- ``keys``: the public-key type (cosign hint), the one loader, key pairs and private keys
- ``trust``: the trusted-root model, its loader (strict validity periods), ``TrustRoots`` cache
- ``policy``: who may sign (``SignerPolicy``: key, exact or regex identity; any-of)
- ``tlog``: transparency-log entries (inclusion proofs, checkpoints, promises, bodies)
- ``verifier``: ``verify(material, policy, trust)`` and ``verify_bundle``
- ``formats``: Sigstore bundle, cosign registry layouts, model-signing: parsing only
- ``sign``, ``attest``, ``image``, ``model``: signing and the registry / model workflows

This package imports nothing heavy.
"""
