"""The gate's view of a policy: who signs which images, required attestations, SBOM rules, scope.

:func:`load_gate_policy` loads a policy file (after :func:`supplychain.gate.rules.register`) and
reads the sections the gate registered: ``signers:``, ``attestations:``, ``sbom:`` and ``gate:``
(``gate.rules``: rule id globs the gate applies; default every rule). Key files named by
``signers[].key`` are resolved relative to the policy file.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.fileio import read_bytes
from supplychain.gate.rules import register
from supplychain.policy.config import Policy, load_policy
from supplychain.policy.images import ImageRef, glob_match, normalize_glob
from supplychain.signing import attest as at
from supplychain.signing import cosign as cs
from supplychain.signing.image import SignerRule, _compile


def image_globs(value: Any) -> tuple[str, ...]:
    """An ``images:`` field (one glob or a list; absent = every image) as normalised globs."""
    if value is None:
        return ("**",)
    items = [value] if isinstance(value, str) else list(value)
    # "**" is every image (normalize_glob would read a bare glob as a Docker Hub short name)
    return tuple("**" if str(g).strip() == "**" else normalize_glob(str(g)) for g in items)


def covers(globs: tuple[str, ...], ref: ImageRef) -> bool:
    return any(g == "**" or glob_match(g, ref) for g in globs)


@dataclass(frozen=True)
class SignerEntry:
    images: tuple[str, ...]
    rule: SignerRule


@dataclass(frozen=True)
class AttestationRequirement:
    images: tuple[str, ...]
    types: tuple[str, ...]  # predicate type URIs


@dataclass(frozen=True)
class SbomRules:
    images: tuple[str, ...]
    deny_packages: tuple[str, ...]
    deny_licenses: tuple[str, ...]


@dataclass
class GatePolicy:
    policy: Policy
    signers: list[SignerEntry] = field(default_factory=list)
    attestations: list[AttestationRequirement] = field(default_factory=list)
    sbom: SbomRules | None = None
    scope: tuple[str, ...] = ("*",)  # rule id globs the gate applies

    def applies(self, rule_id: str) -> bool:
        """Does the gate apply this rule (``gate.rules`` of the policy)?"""
        return any(fnmatch.fnmatchcase(rule_id, g) for g in self.scope)

    def signers_for(self, ref: ImageRef) -> list[SignerRule]:
        return [e.rule for e in self.signers if covers(e.images, ref)]

    def attestations_for(self, ref: ImageRef) -> list[str]:
        out: list[str] = []
        for req in self.attestations:
            if covers(req.images, ref):
                out.extend(t for t in req.types if t not in out)
        if self.sbom is not None and covers(self.sbom.images, ref):
            cdx = at.PREDICATE_TYPES["cyclonedx"]
            if cdx not in out:
                out.append(cdx)
        return out


def _signer(entry: Any, i: int, path: str | Path, base: Path) -> SignerEntry:
    name = str(entry.get("name") or f"signers[{i}]")
    where = f"{path}: signers[{i}] ({name})"
    # contradictory fields are refused, as on the command line (--key with --cert-identity ...)
    keyless = [f"`{f}`" for f in ("subject", "subject_regexp", "issuer", "issuer_regexp") if entry.get(f)]
    if entry.get("key") and keyless:
        raise InputError(f"{where}: give `key` or {', '.join(keyless)} (keyless identity), not both")
    for exact in ("subject", "issuer"):
        if entry.get(exact) and entry.get(exact + "_regexp"):
            raise InputError(f"{where}: give `{exact}` or `{exact}_regexp`, not both")
    if entry.get("key"):
        value = str(entry["key"])
        try:
            if value.lstrip().startswith("-----BEGIN"):  # an inline PEM public key
                key = cs.load_public_key(value.strip().encode() + b"\n", name=name)
            else:
                key_path = Path(value)
                if not key_path.is_absolute():
                    key_path = base / key_path
                raw = read_bytes(key_path, what="public key")
                key = cs.load_public_key(raw, name=name, path=str(key_path))
        except InputError as exc:
            raise exc.with_prefix(where) from exc
        rule = SignerRule(name=name, keys=(key,))
    else:
        if not (entry.get("issuer") or entry.get("issuer_regexp")):
            raise InputError(f"{where}: a keyless signer needs `issuer` or `issuer_regexp`")
        try:
            rule = SignerRule(name=name, identity=entry.get("subject"), identity_regexp=entry.get("subject_regexp"),
                              issuer=entry.get("issuer"), issuer_regexp=entry.get("issuer_regexp"))
            _compile(rule.identity_regexp)
            _compile(rule.issuer_regexp)
        except InputError as exc:
            raise exc.with_prefix(where) from exc
    return SignerEntry(image_globs(entry.get("images")), rule)


def gate_policy(policy: Policy, path: str | Path) -> GatePolicy:
    """The gate sections of a loaded policy (key files relative to ``path``'s directory)."""
    base = Path(path).resolve().parent
    sections = policy.sections
    gp = GatePolicy(policy)
    for i, entry in enumerate(sections.get("signers") or []):
        gp.signers.append(_signer(entry, i, path, base))
    for i, entry in enumerate(sections.get("attestations") or []):
        try:
            types = tuple(at.predicate_type_for(str(t)) for t in entry["require"])
        except InputError as exc:
            raise exc.with_prefix(f"{path}: attestations[{i}].require") from exc
        gp.attestations.append(AttestationRequirement(image_globs(entry.get("images")), types))
    sb = sections.get("sbom")
    if sb:
        gp.sbom = SbomRules(image_globs(sb.get("images")), tuple(str(p) for p in sb.get("deny_packages") or ()),
                            tuple(str(x) for x in sb.get("deny_licenses") or ()))
    scope = (sections.get("gate") or {}).get("rules")
    if scope:
        gp.scope = tuple(str(g) for g in scope)
    return gp


def load_gate_policy(path: str | Path) -> GatePolicy:
    """Load a policy file and its gate sections (keys resolved relative to the policy file)."""
    register()
    return gate_policy(load_policy(path), path)
