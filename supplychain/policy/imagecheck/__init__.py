"""Checks of the image as built: secrets in any layer (deleted ones included) and config hardening.

* :mod:`.table` -- the one table of rules (ids ``IMG-SEC-nnn`` and ``IMG-CFG-nnn``), allow-lists
* :mod:`.content` -- content matching (a literal prefilter, then each rule's pattern and check)
* :mod:`.scan` -- :class:`~.scan.ImageScan`, the layer-pass hook, and :func:`~.scan.scan_image`

:func:`register` adds the rules to the policy catalogue (idempotent); the CLI and the gate call it
before loading a policy, so a policy may configure or waive ``IMG-*`` rules.
"""

from __future__ import annotations

from supplychain.policy.findings import Rule, register_rule
from supplychain.policy.imagecheck.table import CONFIG_RULES, RULESET_VERSION, SECRET_RULES

KIND = "image-contents"
PREDICATE_TYPE = "https://supplychain.dev/attestations/image-scan/v1"

_done = False


def rules() -> list[Rule]:
    out = [Rule(r.id, r.name, r.severity, r.summary, r.help, KIND) for r in SECRET_RULES]
    out += [Rule(r.id, r.name, r.severity, r.summary, r.help, KIND) for r in CONFIG_RULES]
    return out


def register() -> None:
    """Register the image check rules with the policy catalogue (idempotent)."""
    global _done
    if _done:
        return
    for rule in rules():
        register_rule(rule)
    _done = True


__all__ = ["KIND", "PREDICATE_TYPE", "RULESET_VERSION", "register", "rules"]
