"""The deploy gate: for everything a deployment uses, every rule of the policy, then per image
signatures, attestations and SBOM rules; one answer (pass, fail, or undecided) with reasons.

Modules, one concern each:

* :mod:`.rules` -- the gate's rule ids and policy sections; :func:`register` hands them to the
  policy layer (called by the entry points below and the CLI; nothing registers on import);
* :mod:`.policy` -- :class:`GatePolicy` (signers, attestations, sbom, scope) and
  :func:`load_gate_policy`;
* :mod:`.collect` -- files through the policy engine (every rule), image uses, ``--image`` refs;
* :mod:`.decide` -- :func:`decide_image`: one image, reusable (admission webhook, vulnerability checks);
* :mod:`.sbom_rules` -- ``sbom:`` rules on an attested CycloneDX SBOM;
* :mod:`.result` -- typed results :class:`ImageDecision`, :class:`GateResult` and their decisions;
* :mod:`.report` -- the result as the policy layer's report model (text / JSON / SARIF);
* :mod:`.run` -- :func:`run_gate`;
* :mod:`.workflows` -- cross-domain workflows (attest an image, with its own SBOM if asked);
  :mod:`.model_sbom` -- SBOM packages of an ML model, hashed as its signature hashes it.

Attributes are imported lazily, so ``from supplychain.gate import register`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supplychain.gate.decide import decide_image
    from supplychain.gate.policy import (
        AttestationRequirement,
        GatePolicy,
        SbomRules,
        SignerEntry,
        gate_policy,
        load_gate_policy,
    )
    from supplychain.gate.report import gate_error, gate_report, render_gate
    from supplychain.gate.result import GateResult, ImageDecision, Location
    from supplychain.gate.rules import GATE_RULES, register
    from supplychain.gate.run import run_gate
    from supplychain.gate.sbom_rules import check_sbom

_EXPORTS = {
    "register": "rules", "GATE_RULES": "rules",
    "GatePolicy": "policy", "SbomRules": "policy", "SignerEntry": "policy", "AttestationRequirement": "policy",
    "load_gate_policy": "policy", "gate_policy": "policy",
    "decide_image": "decide",
    "ImageDecision": "result", "GateResult": "result", "Location": "result",
    "gate_report": "report", "render_gate": "report", "gate_error": "report",
    "run_gate": "run",
    "check_sbom": "sbom_rules",
}

__all__ = [
    "GATE_RULES", "AttestationRequirement", "GatePolicy", "GateResult", "ImageDecision", "Location", "SbomRules",
    "SignerEntry", "check_sbom", "decide_image", "gate_error", "gate_policy", "gate_report", "load_gate_policy",
    "register", "render_gate", "run_gate",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
