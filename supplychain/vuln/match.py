"""Matching an SBOM's components against the advisory database: each component's query (see
:mod:`supplychain.vuln.components`) is looked up in one batched pass, every candidate entry is
evaluated (:mod:`supplychain.vuln.ranges`), the matching advisories are fetched once each, and
records that alias each other merge into one finding per vulnerability per component.

A component whose ecosystem has no advisories in the database is reported as *not covered*,
never as clean; one whose version its ecosystem cannot order (``dev-main``) as *not comparable*.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from supplychain.errors import InputError
from supplychain.vuln.components import Component, Query, components_from_bom, query_for
from supplychain.vuln.db import Database, DbStatus
from supplychain.vuln.ranges import RangeMatch, affected_match, simple_match
from supplychain.vuln.severity import Cvss, Severity, rate
from supplychain.vuln.versions import BadVersion, comparator_for, composer_normalize, is_composer_branch

__all__ = ["Component", "Coverage", "Finding", "ScanResult", "Suppression", "components_from_bom",
           "query_for", "scan_components", "scan_sbom"]


@dataclass(frozen=True)
class Suppression:
    """A VEX statement that suppressed a finding."""

    status: str  # "not_affected" or "fixed"
    justification: str | None
    document: str  # the VEX file / attestation it came from
    statement: str | None = None  # impact statement or detail


@dataclass
class Finding:
    id: str
    aliases: list[str]
    component: Component
    ecosystem: str
    package: str  # the package the advisory names (the source package for distros)
    installed_version: str
    fixed_versions: list[str]
    state: str  # "fixed" (a fix exists), "not-fixed" (no fix yet), "wont-fix"
    severity: Severity
    severity_source: str
    cvss: list[Cvss]
    summary: str | None
    references: list[str]
    advisory_ids: list[str]  # every database record merged into this finding
    suppressed_by: Suppression | None = None

    @property
    def all_ids(self) -> set[str]:
        return {self.id, *self.aliases, *self.advisory_ids}

    @property
    def fix_text(self) -> str:
        if self.state == "fixed":
            return "fixed in " + ", ".join(self.fixed_versions)
        return "will not fix" if self.state == "wont-fix" else "no fix yet"

    def as_dict(self) -> dict[str, Any]:
        c = self.component
        d: dict[str, Any] = {
            "id": self.id, "aliases": self.aliases, "advisories": self.advisory_ids,
            "component": {"bom-ref": c.ref, "name": c.name, "version": c.version, "purl": c.purl,
                          "location": c.location, "layer": c.layer},
            "ecosystem": self.ecosystem, "package": self.package, "installed_version": self.installed_version,
            "fixed_versions": self.fixed_versions, "state": self.state, "fix": self.fix_text,
            "severity": self.severity.label, "severity_source": self.severity_source,
            "cvss": [x.as_dict() for x in self.cvss], "summary": self.summary, "references": self.references,
        }
        if self.suppressed_by is not None:
            s = self.suppressed_by
            d["suppressed_by"] = {"status": s.status, "justification": s.justification,
                                  "document": s.document, "statement": s.statement}
        return d


@dataclass
class Coverage:
    """Per ecosystem: how many components were checked, and which were not (and why)."""

    checked: dict[str, int] = field(default_factory=dict)
    not_covered: dict[str, list[str]] = field(default_factory=dict)  # reason -> component refs/purls
    not_comparable: list[tuple[str, str]] = field(default_factory=list)  # (component, reason)

    def add_uncovered(self, reason: str, what: str) -> None:
        self.not_covered.setdefault(reason, []).append(what)


@dataclass
class ScanResult:
    target: str
    database: DbStatus
    components: int
    findings: list[Finding]
    suppressed: list[Finding]
    coverage: Coverage
    notes: list[str] = field(default_factory=list)

    def failing(self, threshold: Severity | None, *, only_fixed: bool = False,
                unknown_meets: bool = True) -> list[Finding]:
        """Findings at or above ``threshold`` (None: none fail), honouring ``only_fixed``."""
        if threshold is None:
            return []
        return [f for f in self.findings
                if f.severity.meets(threshold, unknown_meets=unknown_meets) and (f.state == "fixed" or not only_fixed)]

    def visible(self, *, only_fixed: bool = False) -> list[Finding]:
        return [f for f in self.findings if f.state == "fixed" or not only_fixed]

    def as_dict(self, *, only_fixed: bool = False) -> dict[str, Any]:
        st = self.database
        return {
            "target": self.target,
            "database": {"path": st.path, "snapshot": st.snapshot, "data_time": st.data_time,
                         "advisories": st.advisories},
            "components": self.components,
            "findings": [f.as_dict() for f in self.visible(only_fixed=only_fixed)],
            "suppressed": [f.as_dict() for f in self.suppressed],
            "coverage": {"checked": self.coverage.checked, "not_covered": self.coverage.not_covered,
                         "not_comparable": [{"component": c, "reason": r} for c, r in self.coverage.not_comparable]},
            "notes": self.notes,
        }


# --- scanning ------------------------------------------------------------------------------------


def _merge(findings: list[Finding]) -> list[Finding]:
    """One finding per vulnerability per component: records that alias each other merge."""
    if len(findings) < 2:
        return findings
    merged: list[Finding] = []
    ids: list[set[str]] = []  # all_ids of each merged finding, kept up to date
    for f in findings:
        f_ids = f.all_ids
        k = next((i for i, m in enumerate(merged) if m.component is f.component and ids[i] & f_ids), None)
        if k is None:
            merged.append(f)
            ids.append(f_ids)
            continue
        target = merged[k]
        ids[k] |= f_ids
        target.aliases = sorted((set(target.aliases) | set(f.aliases) | {f.id}) - {target.id})
        target.advisory_ids = sorted(set(target.advisory_ids) | set(f.advisory_ids))
        target.fixed_versions = list(dict.fromkeys([*target.fixed_versions, *f.fixed_versions]))
        if target.state != "fixed" and f.state == "fixed":
            target.state = "fixed"
        if f.severity > target.severity:
            target.severity, target.severity_source, target.cvss = f.severity, f.severity_source, f.cvss
        target.references = list(dict.fromkeys([*target.references, *f.references]))
        target.summary = target.summary or f.summary
    return merged


def _primary(ids: Sequence[str]) -> int:
    return 1 if ids[0].startswith("FriendsOfPHP:") else 0


def scan_components(components: Sequence[Component], db: Database, *, target: str = "SBOM") -> ScanResult:
    """Match ``components`` against ``db``. VEX is applied afterwards (see supplychain.vuln.vex)."""
    ecosystems = db.ecosystems()
    coverage = Coverage()
    findings: list[Finding] = []
    notes: list[str] = []
    planned: list[tuple[Component, str, Query, list[str]]] = []
    for comp in components:
        if comp.type in ("container", "operating-system", "file", "application") and not comp.purl:
            continue
        label = comp.purl or comp.ref
        if not comp.purl:
            coverage.add_uncovered("no purl (package cannot be identified)", label)
            continue
        q = query_for(comp.purl, comp.version, ecosystems)
        if isinstance(q, str):
            coverage.add_uncovered(q, label)
            continue
        present = [e for e in q.ecosystems if e in ecosystems]
        if not present:
            coverage.add_uncovered(f"{q.coverage_key}: no advisories for it in the database", label)
            continue
        if comparator_for(present[0]) is None:
            coverage.add_uncovered(f"{present[0]}: no version ordering implemented", label)
            continue
        if present[0] == "Packagist":
            try:
                if is_composer_branch(composer_normalize(q.version)):
                    coverage.not_comparable.append((label, f"{q.version} is a branch, not a release"))
                    continue
            except BadVersion as exc:
                coverage.not_comparable.append((label, str(exc)))
                continue
        planned.append((comp, label, q, present))
    try:
        rows = db.lookup_affected((eco, pkg) for _, _, q, present in planned for eco in present for pkg in q.packages)
        # 1. versions: which stored entries affect each component (a withdrawn advisory's entries
        # are dropped in step 2; a version one of them cannot order marks the component not
        # comparable, the conservative answer)
        hits: list[tuple[Component, Query, list[tuple[str, str, str, dict[str, Any] | None, RangeMatch]]]] = []
        for comp, label, q, present in planned:
            comp_hits: list[tuple[str, str, str, dict[str, Any] | None, RangeMatch]] = []
            bad: str | None = None
            for eco in present:
                for pkg in q.packages:
                    for aid, entry in rows[(eco, pkg)]:
                        aff: dict[str, Any] | None = None
                        try:
                            if isinstance(entry, str):
                                aff = orjson.loads(entry)
                                m = affected_match(eco, q.version, aff)
                            else:
                                m = simple_match(eco, q.version, entry)
                        except BadVersion as exc:
                            # this entry cannot order the version: the component is not comparable, and
                            # what every other entry found is reported all the same (one odd record,
                            # even a withdrawn one, must not hide the others' findings)
                            bad = bad or str(exc)
                            continue
                        if m is not None:
                            comp_hits.append((eco, pkg, aid, aff, m))
            if bad is not None:
                coverage.not_comparable.append((label, bad))
            else:
                coverage.checked[q.coverage_key] = coverage.checked.get(q.coverage_key, 0) + 1
            if comp_hits or bad is None:
                hits.append((comp, q, comp_hits))
        # 2. the advisories that matched (withdrawn ones left out), decoded once each
        adv_text = db.advisory_docs(aid for _, _, ch in hits for _, _, aid, _, _ in ch)
        adv_docs: dict[str, dict[str, Any]] = {}
        rated: dict[str, tuple[Severity, list[Cvss], str]] = {}
        for comp, q, comp_hits in hits:
            comp_findings: list[Finding] = []
            for eco, pkg, aid, aff, m in comp_hits:
                text = adv_text.get(aid)
                if text is None:
                    continue  # withdrawn
                adv = adv_docs.get(aid)
                if adv is None:
                    adv = adv_docs[aid] = orjson.loads(text)
                for n in m.notes:
                    notes.append(f"{adv['id']}: {n}")
                if aff is not None and aff.get("sev"):
                    sev, cv, src = rate(aff["sev"], adv.get("db_severity"))
                else:  # rated once per advisory, not once per matching component
                    r = rated.get(aid)
                    if r is None:
                        r = rated[aid] = rate(adv.get("severity") or [], adv.get("db_severity"))
                    sev, cv, src = r
                comp_findings.append(Finding(
                    id=adv["id"], aliases=list(adv.get("aliases") or []), component=comp, ecosystem=eco,
                    package=pkg, installed_version=q.version, fixed_versions=m.fixed, state=m.state,
                    severity=sev, severity_source=src, cvss=list(cv), summary=adv.get("summary"),
                    references=list(adv.get("references") or []), advisory_ids=[adv["id"]],
                ))
            comp_findings.sort(key=lambda f: (_primary([f.id]), f.id))
            findings.extend(_merge(comp_findings))
    except (ValueError, TypeError, AttributeError, KeyError) as exc:  # BadVersion is handled above
        # a row no import of ours writes (a hand-made or damaged file): an error, never a clean scan
        raise InputError(f"{db.path}: damaged vulnerability database ({type(exc).__name__}: {exc})",
                         hint="remove the file and import the data again") from exc
    findings.sort(key=lambda f: (-int(f.severity), f.component.name, f.id))
    return ScanResult(target=target, database=db.status(), components=len(components), findings=findings,
                      suppressed=[], coverage=coverage, notes=sorted(set(notes)))


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: a scan allocates tens of thousands of small, acyclic
    dicts and lists (decoded records, findings), and the collector's passes over them cost about
    a tenth of a 2,500-component scan. Reference counting still frees everything."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def scan_sbom(bom: Mapping[str, Any] | Sequence[Component], db: Database, *, target: str = "SBOM") -> ScanResult:
    """Scan a CycloneDX JSON document (parsed) or a list of :class:`Component` against ``db``."""
    with gc_paused():
        comps = components_from_bom(bom, source=target) if isinstance(bom, Mapping) else list(bom)
        return scan_components(comps, db, target=target)
