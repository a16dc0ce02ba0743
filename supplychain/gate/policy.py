"""The gate's view of a policy: who signs which images, required attestations, SBOM rules, scope.

:func:`load_gate_policy` loads a policy file (after :func:`supplychain.gate.rules.register`) and
reads the sections the gate registered: ``signers:``, ``attestations:``, ``sbom:`` and ``gate:``
(``gate.rules``: rule id globs the gate applies; default every rule). Key files named by
``signers[].key`` are resolved relative to the policy file.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.fileio import read_bytes
from supplychain.gate.conditions import Condition, parse_conditions
from supplychain.gate.rules import register
from supplychain.policy.config import Policy, load_policy
from supplychain.policy.images import ImageRef, glob_match, normalize_glob
from supplychain.signing import attest as at
from supplychain.signing.keys import parse_public_key
from supplychain.signing.policy import SignerPolicy


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
    rule: SignerPolicy


@dataclass(frozen=True)
class AttestationRequirement:
    images: tuple[str, ...]
    types: tuple[str, ...]  # predicate type URIs
    conditions: tuple[Condition, ...] = ()  # CEL conditions on the predicates (gate.conditions)


@dataclass(frozen=True)
class SignerThreshold:
    """``signer_thresholds:``: the image needs valid signatures by ``need`` of the named signers."""

    images: tuple[str, ...]
    signers: tuple[SignerPolicy, ...]
    need: int
    text: str  # "all of a, b" / "at least 2 of a, b, c"


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
    thresholds: list[SignerThreshold] = field(default_factory=list)

    def applies(self, rule_id: str) -> bool:
        """Does the gate apply this rule (``gate.rules`` of the policy)?"""
        return any(fnmatch.fnmatchcase(rule_id, g) for g in self.scope)

    def signers_for(self, ref: ImageRef) -> list[SignerPolicy]:
        return [e.rule for e in self.signers if covers(e.images, ref)]

    def thresholds_for(self, ref: ImageRef) -> list[SignerThreshold]:
        return [t for t in self.thresholds if covers(t.images, ref)]

    def conditions_for(self, ref: ImageRef, predicate_type: str) -> list[Condition]:
        out: list[Condition] = []
        for req in self.attestations:
            if covers(req.images, ref):
                out.extend(c for c in req.conditions if at.same_predicate_type(c.type, predicate_type))
        return out

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
    # contradictory fields are refused exactly as on the command line: SignerPolicy.create decides
    spell = {"key": "`key`", "identity": "`subject`", "identity_regexp": "`subject_regexp`", "issuer": "`issuer`",
             "issuer_regexp": "`issuer_regexp`"}
    def field(k: str) -> str | None:
        return str(entry[k]) if entry.get(k) else None

    identity = {"identity": field("subject"), "identity_regexp": field("subject_regexp"), "issuer": field("issuer"),
                "issuer_regexp": field("issuer_regexp")}
    if entry.get("key"):
        try:
            SignerPolicy.create(key=str(entry["key"]), options=spell, identity=identity["identity"],
                                identity_regexp=identity["identity_regexp"], issuer=identity["issuer"],
                                issuer_regexp=identity["issuer_regexp"])
        except InputError as exc:
            raise exc.with_prefix(where) from exc
        value = str(entry["key"])
        try:
            if value.lstrip().startswith("-----BEGIN"):  # an inline PEM public key
                key = parse_public_key(value.strip().encode() + b"\n", source=name, name=name)
            else:
                key_path = Path(value)
                if not key_path.is_absolute():
                    key_path = base / key_path
                raw = read_bytes(key_path, what="public key")
                key = parse_public_key(raw, source=name, name=name, path=str(key_path))
        except InputError as exc:
            raise exc.with_prefix(where) from exc
        rule = SignerPolicy(name=name, keys=(key,))
    else:
        try:
            rule = SignerPolicy.create(name=name, options=spell, identity=identity["identity"],
                                       identity_regexp=identity["identity_regexp"], issuer=identity["issuer"],
                                       issuer_regexp=identity["issuer_regexp"])
        except InputError as exc:
            raise exc.with_prefix(where) from exc
    return SignerEntry(image_globs(entry.get("images")), rule)


def _thresholds(sections: dict[str, Any], by_name: dict[str, SignerPolicy], path: str | Path) -> list[SignerThreshold]:
    out: list[SignerThreshold] = []
    for i, entry in enumerate(sections.get("signer_thresholds") or []):
        where = f"{path}: signer_thresholds[{i}]"
        names = [str(n) for n in entry["signers"]]
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise InputError(f"{where}: no `signers:` entry is named {', '.join(map(repr, unknown))}",
                             hint="name the signers entries (`name:`) and list those names here")
        if len(set(names)) != len(names):
            raise InputError(f"{where}: a signer is listed twice")
        if entry.get("all") is True:
            need, text = len(names), "all of " + ", ".join(names)
        else:
            need = int(entry["at_least"])
            if need > len(names):
                raise InputError(f"{where}: at_least {need} of {len(names)} signer(s) can never be met")
            text = f"at least {need} of " + ", ".join(names)
        out.append(SignerThreshold(image_globs(entry.get("images")), tuple(by_name[n] for n in names), need, text))
    return out


def validate_sections(policy: Policy, path: str | Path) -> None:
    """Check what the gate reads beyond the schema without loading key files (for ``policy check``):
    CEL conditions compile, signer thresholds name existing signers and can be met."""
    sections = policy.sections
    for i, entry in enumerate(sections.get("attestations") or []):
        try:
            types = tuple(at.predicate_type_for(str(t)) for t in entry["require"])
        except InputError as exc:
            raise exc.with_prefix(f"{path}: attestations[{i}].require") from exc
        parse_conditions(entry, types, f"{path}: attestations[{i}]")
    names = {str(e.get("name") or f"signers[{i}]") for i, e in enumerate(sections.get("signers") or [])}
    _thresholds(sections, {n: SignerPolicy(name=n) for n in names}, path)


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
        conditions = parse_conditions(entry, types, f"{path}: attestations[{i}]")
        gp.attestations.append(AttestationRequirement(image_globs(entry.get("images")), types, tuple(conditions)))
    gp.thresholds = _thresholds(sections, {e.rule.name: e.rule for e in gp.signers}, path)
    sb = sections.get("sbom")
    if sb:
        gp.sbom = SbomRules(image_globs(sb.get("images")), tuple(str(p) for p in sb.get("deny_packages") or ()),
                            tuple(str(x) for x in sb.get("deny_licenses") or ()))
    scope = (sections.get("gate") or {}).get("rules")
    if scope:
        gp.scope = tuple(str(g) for g in scope)
    return gp


def policy_digest(raw: bytes, gp: GatePolicy) -> str:
    """What names the policy a decision was made with (receipts, the webhook's cache and audit
    annotations): the policy file's bytes and, when it names public keys (``signers[].key``, read
    from files next to it when the policy is loaded), those keys. The same policy file beside
    another key file is another policy: a receipt or a cached decision made with one key never
    stands for a webhook that trusts another. A policy without keys is named by its bytes alone
    (``sha256sum policy.yaml``).

    Each key is named with the signer entry that loads it (its position in ``signers:``), not as
    a set: the same two key files swapped between a prod and a dev entry are another policy, though
    the set of keys is the same. (``signer_thresholds`` name those same entries.)"""
    keyed = [(i, k.der) for i, e in enumerate(gp.signers) for k in e.rule.keys]
    h = hashlib.sha256(raw)
    if not keyed:
        return "sha256:" + h.hexdigest()
    for i, der in keyed:
        h.update(b"\x00public-key\x00" + i.to_bytes(4, "big") + len(der).to_bytes(4, "big") + der)
    return "sha256:" + h.hexdigest()


def load_gate_policy(path: str | Path, raw: bytes | None = None) -> GatePolicy:
    """Load a policy file and its gate sections (keys resolved relative to the policy file).
    ``raw``: the file's bytes, already read (for :func:`policy_digest`: the digest then names the
    very bytes judged by, even if the file changes or is a pipe that reads once)."""
    register()
    return gate_policy(load_policy(path, raw), path)
