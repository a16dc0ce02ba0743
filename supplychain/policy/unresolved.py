"""Inputs the gate cannot resolve exactly as the deployer would: SC-GATE-007, failing closed.

Whenever a checker meets something whose deployed images it cannot know for certain -- a YAML
document that ``kubectl apply`` and ``kubectl kustomize`` read differently, a compose construct
our reader does not resolve while ``docker-compose`` is not installed, a kustomization that
cannot be rendered, an image field that is not a string -- it calls :func:`refuse`. That

* adds an SC-GATE-007 finding (always an *error*: the policy's ``rules:`` cannot lower or disable
  it) to the file's collector, so ``policy check`` fails; and
* records a placeholder :class:`ImageUse` whose text is not an image reference (``ref`` is
  None and ``unresolved`` says why), so the deploy gate, which judges every collected image use,
  fails it too (``SC-GATE-006``: not a valid reference), unless the finding is waived.

Only an explicit waiver lifts it: one whose ``rule`` is exactly ``SC-GATE-007`` (no glob) and
whose ``path`` matches the file. With such a waiver no placeholder is recorded (the gate then
judges what could be read) and the finding is reported as waived.

Hook for the gate (``supplychain.gate``): placeholders are recognisable by
``use.unresolved is not None and use.text.startswith(UNRESOLVED_PREFIX)``; the SC-GATE-007
finding sits at the same file, line and column.
"""

from __future__ import annotations

import datetime
import fnmatch

from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.findings import RULES, Finding, Rule, Severity, register_rule
from supplychain.policy.images import _glob_regex

RULE_ID = "SC-GATE-007"
UNRESOLVED_PREFIX = "<unresolved> "

if RULE_ID not in RULES:
    register_rule(Rule(
        RULE_ID, "UnresolvableInput", Severity.ERROR,
        "The images this input deploys cannot be determined exactly as the deployer determines "
        "them (ambiguous YAML, a construct only the deployer's own tool resolves, a render that failed).",
        "Make the input unambiguous, or install the deployer's resolver (`pip install "
        "'supplychain[compose]'` for docker-compose, `'supplychain[kustomize]'` for kubectl), or render "
        "it and gate the output (`helm template ... | supplychain gate - ...`). Waive it only "
        "explicitly: a waiver whose rule is exactly SC-GATE-007 and whose path names the file.",
        "gate",
    ))


def explicitly_waived(col: Collector, file: str | None = None) -> bool:
    """An active waiver names SC-GATE-007 exactly (no glob) and covers ``file`` by path."""
    target = file or col.file
    today = datetime.date.today()
    for w in col.policy.waivers:
        if w.rule != RULE_ID or w.image is not None or w.path is None or w.expired(today):
            continue
        pattern = w.path[2:] if w.path.startswith("./") else w.path
        if _glob_regex(pattern).match(target) or fnmatch.fnmatchcase(target, pattern):
            return True
    return False


def refuse(col: Collector, line: int, column: int | None, what: str, *, fix: str | None = None,
           context: str = "", file: str | None = None) -> None:
    """Record an input the gate cannot resolve (see the module docstring)."""
    target = file or col.file
    col.findings.append(Finding(
        rule=RULE_ID, severity=Severity.ERROR, file=target, line=max(1, line), column=column,
        message=what if len(what) <= 1000 else what[:997] + "...", fix=fix or RULES[RULE_ID].help,
    ))
    if not explicitly_waived(col, target):
        col.images.append(ImageUse(
            file=target, line=max(1, line), column=column, text=UNRESOLVED_PREFIX + what[:300],
            literal=False, context=context or "unresolvable input", unresolved=what[:300],
        ))


def record_image(col: Collector, use: ImageUse) -> None:
    """``col.image(use)`` for a use in another file than ``col``'s (a Dockerfile a compose service
    builds, the source file of a rendered object): its SC-IMG findings name ``use.file``."""
    if use.file == col.file:
        col.image(use)
        return
    other = Collector(col.policy, use.file)
    other.image(use)
    col.images.extend(other.images)
    col.findings.extend(other.findings)
