"""What the gate reads: every rule of the policy on every file, and the images those files deploy.

Files and directories go through the policy layer (:func:`supplychain.policy.engine.check_paths`,
``-`` is standard input), so the gate applies exactly the rules, severities and waivers that
``policy check`` applies; ``gate.rules`` in the policy may narrow them. Image references come only
from files (manifests, compose files, Dockerfiles, image lists) or from ``--image REF``: a path that
does not exist is an input error naming it, never guessed to be an image.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from supplychain.gate.decide import COMMAND_LINE, reference_findings
from supplychain.gate.policy import GatePolicy
from supplychain.gate.result import Location
from supplychain.policy.config import Policy
from supplychain.policy.engine import check_paths
from supplychain.policy.findings import Finding, Severity
from supplychain.policy.images import ImageRef, parse_image
from supplychain.policy.report.model import Waived
from supplychain.policy.waivers import find_waiver


@dataclass
class ImageUse:
    """One place an image is deployed from, with the reference findings there."""

    text: str
    location: Location
    findings: list[Finding]
    waived: list[Waived] = field(default_factory=list)


@dataclass
class Collected:
    uses: list[ImageUse] = field(default_factory=list)
    file_findings: list[Finding] = field(default_factory=list)  # every non-image finding (after waivers)
    file_waived: list[Waived] = field(default_factory=list)


def gate_reading(policy: Policy) -> Policy:
    """The policy as the gate applies it to files: ``# supplychain:ignore`` comments in the files
    being gated waive nothing unless the policy says ``inline_ignores: allow`` explicitly (the team
    whose deploy is judged must not be able to lift the gate's rules from inside its manifests;
    `policy check` keeps honouring them by default)."""
    if "inline_ignores" in policy.sections:
        return policy
    return dataclasses.replace(policy, sections={**policy.sections, "inline_ignores": "forbid"})


def collect(paths: Iterable[str], images: Iterable[str], gp: GatePolicy, *,
            today: datetime.date | None = None, exclude: tuple[str, ...] = ()) -> Collected:
    """Findings and image uses of ``paths`` (files, directories, ``-``) and ``images`` (``--image``)."""
    day = today or datetime.date.today()
    policy = gp.policy
    out = Collected()
    report = check_paths(list(paths), gate_reading(policy), exclude=exclude, today=day)
    by_key: dict[tuple[str, int, int | None], list[Finding]] = {}
    waived: dict[tuple[str, int, int | None], list[Waived]] = {}
    for f in report.findings:
        if not gp.applies(f.rule):
            continue
        if f.rule.startswith("SC-IMG-"):
            by_key.setdefault((f.file, f.line, f.column), []).append(f)
        else:
            out.file_findings.append(f)
    for w in report.waived_findings():
        if not gp.applies(w.finding.rule):
            continue
        if w.finding.rule.startswith("SC-IMG-"):
            waived.setdefault((w.finding.file, w.finding.line, w.finding.column), []).append(w)
        else:
            out.file_waived.append(w)
    for path in report.skipped:
        _skipped_template(out, gp, path, day)
    for use in report.images:
        key = (use.file, use.line, use.column)
        own = use.ref.normalized if use.ref else None
        out.uses.append(ImageUse(use.text, Location(use.file, use.line, use.column, use.context),
                                 [f for f in by_key.get(key, []) if f.image in (None, own)],
                                 [w for w in waived.get(key, []) if w.finding.image in (None, own)]))
    for text in images:
        loc = Location(COMMAND_LINE, 0, None, "--image")
        found: list[Finding] = []
        gone: list[Waived] = []
        for f in reference_findings(gp, text, loc):
            waiver = find_waiver(policy.waivers, f.rule, files=(f.file,), image=_ref(text), today=day)
            if waiver is None:
                found.append(f)
            else:
                gone.append(Waived(f, waiver.reason, waiver.expires))
        out.uses.append(ImageUse(text, loc, found, gone))
    return out


def _ref(text: str) -> ImageRef | None:
    try:
        return parse_image(text)
    except ValueError:
        return None


def _skipped_template(out: Collected, gp: GatePolicy, path: str, today: datetime.date) -> None:
    """A walked template (Helm, Jinja) the policy layer skipped: its images were never checked, so
    the gate does not pass (fail closed) unless the policy lowers SC-GATE-006 or waives it by path."""
    if not gp.applies("SC-GATE-006"):
        return
    severity = gp.policy.severity_of("SC-GATE-006") or Severity.NOTE
    f = Finding(rule="SC-GATE-006", severity=severity, file=path, line=1, column=None,
                message="template (Helm, Jinja) skipped: the images it deploys cannot be checked",
                fix="render it and gate the rendered manifests: `helm template ... | supplychain gate - --policy P`",
                image=None)
    w = find_waiver(gp.policy.waivers, f.rule, files=(path,), image=None, today=today)
    if w is None:
        out.file_findings.append(f)
    else:
        out.file_waived.append(Waived(f, w.reason, w.expires))
