"""SBOM generation (Composer projects, container images, ML models) and SBOM tools.

Catalogers emit :class:`supplychain.sbom.package.Package` records; one module
(``supplychain.sbom.cyclonedx``) turns them into CycloneDX JSON or XML.
"""
