"""Names shared across layers, defined once: Docker Hub's host names, the in-toto DSSE payload
type, CycloneDX specification versions and serialisations, report formats.

No imports from the package: every layer (oci, sbom, signing, policy, gate, cli) may use it, and
the CLI imports it at start-up. OCI media types live in :mod:`supplychain.oci.mediatypes`.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CYCLONEDX_JSON_VERSIONS",
    "CYCLONEDX_OUTPUT_VERSIONS",
    "CYCLONEDX_XML_VERSIONS",
    "DOCKER_HUB",
    "DOCKER_HUB_ALIASES",
    "DOCKER_HUB_API",
    "DOCKER_HUB_AUTH_KEY",
    "IN_TOTO_PAYLOAD_TYPE",
    "OutputFormat",
    "SbomFormat",
    "SpecVersion",
]

# --- Docker Hub
DOCKER_HUB = "docker.io"  # the registry name references normalise to
DOCKER_HUB_API = "registry-1.docker.io"  # the host that serves the distribution API
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"  # its key in docker config.json / credential helpers
DOCKER_HUB_ALIASES = frozenset({DOCKER_HUB, "index.docker.io", DOCKER_HUB_API, "registry.hub.docker.com"})

# --- in-toto
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"  # DSSE payloadType of an in-toto statement


# --- CycloneDX
class SpecVersion(StrEnum):
    """CycloneDX specification versions."""

    V1_0 = "1.0"
    V1_1 = "1.1"
    V1_2 = "1.2"
    V1_3 = "1.3"
    V1_4 = "1.4"
    V1_5 = "1.5"
    V1_6 = "1.6"
    V1_7 = "1.7"


# plain strings (click choices, messages)
CYCLONEDX_OUTPUT_VERSIONS: tuple[str, ...] = ("1.4", "1.5", "1.6")  # what we write
CYCLONEDX_JSON_VERSIONS: tuple[str, ...] = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")  # JSON starts at 1.2
CYCLONEDX_XML_VERSIONS: tuple[str, ...] = tuple(v.value for v in SpecVersion)


class SbomFormat(StrEnum):
    """CycloneDX serialisations (``--output-format``)."""

    JSON = "json"
    XML = "xml"


# --- reports
class OutputFormat(StrEnum):
    """Report formats (``--format``): human text, JSON, SARIF 2.1.0."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
