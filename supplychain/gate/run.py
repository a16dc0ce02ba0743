"""``run_gate``: collect what deploys, decide every image (in parallel), one typed result."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from supplychain.errors import InputError
from supplychain.gate.collect import ImageUse, collect
from supplychain.gate.decide import decide_image
from supplychain.gate.policy import GatePolicy, load_gate_policy
from supplychain.gate.result import GateResult, ImageDecision
from supplychain.oci.deadline import watch
from supplychain.policy.findings import Finding
from supplychain.policy.report.model import Waived
from supplychain.signing.image import RegistryView
from supplychain.signing.specs import TrustSpec


def run_gate(
    paths: Iterable[str],
    policy: str | Path | GatePolicy,
    *,
    images: Iterable[str] = (),
    trust: TrustSpec | None = None,
    registry: RegistryView | None = None,
    workers: int = 8,
    today: datetime.date | None = None,
    extra_trusted: Iterable[str] = (),
    insecure_registries: Iterable[str] = (),
    exclude: tuple[str, ...] = (),
    deadline: float | None = None,
) -> GateResult:
    """Decide whether what ``paths`` deploy (and ``images``) may go ahead under ``policy``.

    ``paths``: Kubernetes manifests, compose files, Dockerfiles, image lists, directories, or
    ``-`` (standard input). ``images``: references given explicitly. Every rule of the policy is
    applied to every file read; every image is decided by :func:`~supplychain.gate.decide.decide_image`.
    ``deadline``: seconds for the whole run's registry work; an image not decided in time is
    undecided (never a pass).
    """
    gp = policy if isinstance(policy, GatePolicy) else load_gate_policy(policy)
    gp.policy = gp.policy.with_trusted(tuple(extra_trusted))
    day = today or datetime.date.today()
    paths, images = list(paths), list(images)
    found = collect(paths, images, gp, today=day, exclude=exclude)
    if not found.uses:
        raise InputError("no image references found in " + ", ".join([*paths, *images]),
                         hint="pass Kubernetes manifests, compose files, Dockerfiles or image lists, or --image REF")
    grouped: dict[str, list[ImageUse]] = {}
    for use in found.uses:
        grouped.setdefault(use.text, []).append(use)
    view = registry or RegistryView(insecure=insecure_registries)
    spec = trust or TrustSpec()

    ends = None if deadline is None else time.monotonic() + deadline

    def check(uses: list[ImageUse]) -> ImageDecision:
        findings: list[Finding] = []
        waived: list[Waived] = []
        for use in uses:
            findings.extend(f for f in use.findings if f.rule not in {x.rule for x in findings})
            waived.extend(w for w in use.waived if w.finding.rule not in {x.finding.rule for x in waived})
        def decide() -> ImageDecision:
            return decide_image(uses[0].text, gp, registry=view, trust=spec, locations=[u.location for u in uses],
                                findings=findings, waived=waived, today=day)

        if ends is None:
            return decide()
        with watch(max(ends - time.monotonic(), 0.001)) as w:  # every registry call of this image shares it
            d = decide()
        if w.expired and d.undecided is not None:
            d.undecided = f"the gate's deadline of {deadline:g} s passed ({d.undecided})"
        return d

    todo = list(grouped.values())
    if len(todo) == 1 or workers <= 1:
        results = [check(u) for u in todo]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            results = list(pool.map(check, todo))
    return GateResult(str(policy if not isinstance(policy, GatePolicy) else gp.policy.source), results,
                      found.file_findings, found.file_waived, list(gp.policy.warnings))
