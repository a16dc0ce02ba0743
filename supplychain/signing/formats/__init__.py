"""Signature wire formats, parsed into the verifier's input (:class:`~supplychain.signing.verifier.SignedMaterial`).

- :mod:`.bundle`: Sigstore bundles (v0.1-v0.3, protobuf-specs JSON), and building key-signed ones
- :mod:`.cosign`: cosign's registry layouts (v2 legacy ``.sig`` / ``.att`` layers, v3 bundle referrers)
- :mod:`.model_signing`: OpenSSF model-signing signatures (``model.sig``)

No cryptography happens here.
"""
