"""The gate's rule ids and policy sections, registered with the policy layer by :func:`register`.

Nothing is registered on import: the gate's entry points (``load_gate_policy``, ``run_gate``) and
the CLI call :func:`register` (idempotent) before a policy is loaded, so the policy layer knows
the gate only through its hooks (``register_rule``, ``register_section``).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from supplychain.policy.config import register_section
from supplychain.policy.findings import Rule, Severity, register_rule

GATE_RULES = (
    Rule("SC-GATE-001", "ImageNotSigned", Severity.ERROR,
         "Image has no valid signature by a signer the policy accepts for it.",
         "Sign the image by digest (`supplychain sign image REF --key ...` or keyless in CI) with a "
         "signer listed for it under `signers:` in the policy.", "gate"),
    Rule("SC-GATE-002", "AttestationMissing", Severity.ERROR,
         "A required attestation (SBOM, provenance, ...) is missing or not validly signed.",
         "Attach it with `supplychain attest image REF --type TYPE --predicate FILE` (or "
         "`--sbom-from-image`), signed by an accepted signer.", "gate"),
    Rule("SC-GATE-003", "DeniedPackage", Severity.ERROR,
         "The attested SBOM contains a package the policy denies.",
         "Remove or upgrade the package, rebuild, and attest the new SBOM.", "gate"),
    Rule("SC-GATE-004", "DeniedLicense", Severity.ERROR,
         "The attested SBOM contains a component under a license the policy denies.",
         "Replace the component, or get the license approved and change `sbom.deny_licenses`.", "gate"),
    Rule("SC-GATE-005", "NoSignerPolicy", Severity.ERROR,
         "No entry of the policy's `signers:` section covers this image, so nothing can vouch for it.",
         "Add a `signers:` entry whose `images:` globs match the image.", "gate"),
    Rule("SC-GATE-006", "ImageUnavailable", Severity.ERROR,
         "The image could not be resolved or read from its registry.",
         "Check the reference and that the registry is reachable and the image pushed.", "gate"),
    Rule("SC-GATE-010", "SignerThresholdNotMet", Severity.ERROR,
         "The image lacks valid signatures by all (or at least N) of the signers `signer_thresholds:` names for it.",
         "Sign the image by digest with each required signer (e.g. the release key and the platform key).", "gate"),
    Rule("SC-GATE-011", "AttestationConditionFailed", Severity.ERROR,
         "No trusted attestation of a required type meets the policy's CEL conditions on its predicate.",
         "Rebuild / re-attest so the predicate meets the conditions (builder, source, freshness, scan "
         "results), or change `attestations[].conditions` in the policy.", "gate"),
)


@cache
def section_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of the gate's policy sections: signers, attestations, sbom, gate."""
    text = resources.files("supplychain.gate").joinpath("policy_sections.json").read_text("utf-8")
    data: dict[str, dict[str, Any]] = json.loads(text)
    return data


_done = False


def register() -> None:
    """Register the gate's rules and policy sections with the policy layer (idempotent)."""
    global _done
    if _done:
        return
    for rule in GATE_RULES:
        register_rule(rule)
    for name, schema in section_schemas().items():
        register_section(name, schema)
    _done = True
    # the image_scan: section and its SC-GATE-02x rules (a module of its own: it imports decide)
    from supplychain.gate.image_scan import register as register_image_scan

    register_image_scan()
    # the vulnerabilities: section and its SC-GATE-03x rules (scans the attested SBOM, supplychain.vuln)
    from supplychain.gate.vuln_rules import register as register_vulnerabilities

    register_vulnerabilities()
