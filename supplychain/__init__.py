"""supplychain: CycloneDX SBOMs, Sigstore signing, release policy and a deploy gate.

Keep this module free of heavy imports: ``supplychain --help`` must start fast.
"""

__version__ = "0.1.0"
