"""Policy files: loading, validation with line-numbered errors, and the packaged default.

The schema is ``policy.schema.json`` next to this module (copied to ``policies/`` for editors).
It is checked by :mod:`.schema` (jsonschema-rs, errors in the loader's words with paths that
become ``file:line:column`` here); the test-suite cross-checks the schema and the shipped
policies with ``jsonschema`` itself.

Extension points for other layers (the deploy gate); nothing here knows those layers:

* :func:`register_section` adds (or tightens) the schema of a top-level section such as
  ``signers``, ``attestations`` or ``sbom``; the raw section (a :class:`~.yamlsrc.YMap` /
  :class:`~.yamlsrc.YSeq` with line numbers) is then available as ``policy.sections[name]``.
* :func:`supplychain.policy.findings.register_rule` adds rule ids, which ``rules:`` and
  ``waivers:`` may then name.
"""

from __future__ import annotations

import copy
import datetime
import fnmatch
import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.policy.findings import RULES, Severity
from supplychain.policy.images import normalize_glob
from supplychain.policy.schema import Path_, schema_errors
from supplychain.policy.schema import describe as _describe
from supplychain.policy.yamlsrc import Pos, YMap, YSeq, decode_text, load_one, read_text

POLICY_MAX_SIZE = 1024 * 1024

_EXTRA_SECTIONS: dict[str, dict[str, Any]] = {}

def _known_rule(rule_id: str) -> bool:
    return rule_id in RULES


DEFAULT_SECRET_NAMES = (
    "PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "API_KEY", "APIKEY", "ACCESS_KEY",
    "PRIVATE_KEY", "PRIVATEKEY", "CLIENT_SECRET", "CREDENTIAL", "AUTH_KEY", "SIGNING_KEY",
    "ENCRYPTION_KEY", "MASTER_KEY", "SESSION_KEY", "DSN", "CONNECTION_STRING", "PWD",
)


def register_section(name: str, schema: dict[str, Any]) -> None:
    """Register the JSON Schema of a top-level policy section owned by another layer."""
    _EXTRA_SECTIONS[name] = schema
    _schema.cache_clear()


@lru_cache(maxsize=1)
def _base_schema() -> dict[str, Any]:
    text = resources.files("supplychain.policy").joinpath("policy.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    schema = copy.deepcopy(_base_schema())
    for name, section in _EXTRA_SECTIONS.items():
        schema["properties"][name] = section
    return schema


def policy_schema() -> dict[str, Any]:
    """The effective policy JSON Schema (with registered extension sections)."""
    return copy.deepcopy(_schema())


def _locate(root: Any, path: Path_) -> Pos | None:
    node = root
    pos: Pos | None = getattr(root, "pos", None)
    for step in path:
        if isinstance(node, YMap) and step in node:
            pos = node.where(step) if not isinstance(node.get(step), (YMap, YSeq)) else node.where_key(step)
            node = node[step]
        elif isinstance(node, YMap):
            pos = node.key_pos.get(step, node.pos)
            break
        elif isinstance(node, YSeq) and isinstance(step, int) and step < len(node):
            pos = node.where(step)
            node = node[step]
        else:
            break
    return pos


def _fmt_path(path: Path_) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(top level)"


def validate_document(doc: Any, source: str) -> None:
    """Raise InputError listing every schema violation with its line number."""
    if not isinstance(doc, dict):
        raise InputError(f"{source}: a policy must be a YAML mapping, not {_describe(doc)}",
                         hint="start from policies/default.yaml")
    errors = schema_errors(doc, _schema())
    if errors:
        lines = []
        for path, msg in errors[:20]:
            pos = _locate(doc, path)
            where = f"{source}:{pos.line}:{pos.column}" if pos else source
            lines.append(f"{where}: {_fmt_path(path)}: {msg}")
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise InputError(
            "invalid policy:\n  " + "\n  ".join(lines) + more,
            hint="see docs/policy.md and policies/policy.schema.json",
        )


# --- the Policy object ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Waiver:
    rule: str
    reason: str
    expires: datetime.date
    path: str | None = None
    image: str | None = None
    line: int = 0
    column: int | None = None

    def expired(self, today: datetime.date) -> bool:
        return today > self.expires

    def matches_rule(self, rule_id: str) -> bool:
        return fnmatch.fnmatchcase(rule_id, self.rule)


@dataclass(frozen=True, slots=True)
class RuleConfig:
    severity: Severity | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Policy:
    source: str
    trusted_registries: tuple[str, ...] = ()
    require_digest: bool = True
    forbid_mutable_tags: bool = True
    rules: dict[str, RuleConfig] = field(default_factory=dict)
    secret_names: tuple[str, ...] = DEFAULT_SECRET_NAMES
    secret_ignore_names: tuple[str, ...] = ()
    entropy_threshold: float = 4.3
    entropy_min_length: int = 20
    waivers: tuple[Waiver, ...] = ()
    sections: dict[str, Any] = field(default_factory=dict)  # raw top-level sections (with positions)
    extends: str | None = None  # "default", "none", or None when the file does not say
    warnings: tuple[str, ...] = ()  # e.g. a policy that does not extend the default and is weaker

    def severity_of(self, rule_id: str) -> Severity | None:
        """Effective severity of a rule, or None when the policy disables it."""
        cfg = self.rules.get(rule_id)
        if cfg is not None and not cfg.enabled:
            return None
        if cfg is not None and cfg.severity:
            return cfg.severity
        rule = RULES.get(rule_id)
        return rule.severity if rule else Severity.ERROR

    def with_trusted(self, globs: list[str] | tuple[str, ...]) -> Policy:
        """A copy that also trusts ``globs`` (from --trusted-registry)."""
        if not globs:
            return self
        for g in globs:
            if not g or any(c.isspace() for c in g):
                raise InputError(f"--trusted-registry {g!r}: not a valid glob")
        return replace(self, trusted_registries=(*self.trusted_registries, *globs))


def _rule_config(key: str, value: Any) -> RuleConfig:
    if isinstance(value, bool):
        return RuleConfig(enabled=value)
    if isinstance(value, str):
        return RuleConfig(enabled=False) if value == "off" else RuleConfig(severity=Severity.parse(value))
    sev = value.get("severity")
    return RuleConfig(severity=Severity.parse(sev) if sev else None, enabled=bool(value.get("enabled", True)))


def policy_from_document(doc: Any, source: str) -> Policy:
    """Validate a loaded YAML document and build a :class:`Policy`.

    ``extends: default`` starts from the packaged default policy: this document's ``rules``,
    ``images`` and ``secrets`` entries override the default's key by key; its lists
    (``trusted_registries``, ``waivers``) replace the default's when given. A policy without
    ``extends`` that is weaker than the default (a rule lower or off, a digest or tag rule off) gets
    a warning naming what it weakens (``extends: none`` says that is meant).
    """
    validate_document(doc, source)
    extends = doc.get("extends")
    base = _default_document() if extends == "default" else {}
    rules: dict[str, RuleConfig] = {}
    for key, value in (base.get("rules") or {}).items():
        rules[key] = _rule_config(key, value)
    rules_map = doc.get("rules") or {}
    for key, value in rules_map.items():
        if not _known_rule(key):
            pos = rules_map.where_key(key) if isinstance(rules_map, YMap) else None
            where = f"{source}:{pos.line}:{pos.column}" if pos else source
            raise InputError(f"{where}: rules: unknown rule id {key!r}",
                             hint="run `supplychain policy check --list-rules` to see the rule ids")
        rules[key] = _rule_config(key, value)
    waivers = []
    seq = doc.get("waivers") or []
    for i, w in enumerate(seq):
        pos = seq.where(i) if isinstance(seq, YSeq) else None
        rule = str(w["rule"])
        if not any(fnmatch.fnmatchcase(r, rule) for r in RULES) and not _known_rule(rule):
            where = f"{source}:{pos.line}" if pos else source
            raise InputError(f"{where}: waivers[{i}].rule: {rule!r} matches no known rule id")
        expires = w["expires"]
        if not isinstance(expires, datetime.date):
            expires = datetime.date.fromisoformat(str(expires))
        if isinstance(expires, datetime.datetime):
            expires = expires.date()
        waivers.append(Waiver(
            rule=rule, reason=str(w["reason"]), expires=expires,
            path=w.get("path"), image=normalize_glob(w["image"]) if w.get("image") else None,
            line=pos.line if pos else 0, column=pos.column if pos else None,
        ))
    images = {**(base.get("images") or {}), **(doc.get("images") or {})}
    secrets = {**(base.get("secrets") or {}), **(doc.get("secrets") or {})}
    names = tuple(DEFAULT_SECRET_NAMES) + tuple(str(n).upper() for n in secrets.get("names", ()))
    trusted = doc.get("trusted_registries") if "trusted_registries" in doc else base.get("trusted_registries")
    policy = Policy(
        source=source,
        trusted_registries=tuple(trusted or ()),
        require_digest=bool(images.get("require_digest", True)),
        forbid_mutable_tags=bool(images.get("forbid_mutable_tags", True)),
        rules=rules,
        secret_names=names,
        secret_ignore_names=tuple(secrets.get("ignore_names", ())),
        entropy_threshold=float(secrets.get("entropy_threshold", 4.3)),
        entropy_min_length=int(secrets.get("min_length", 20)),
        waivers=tuple(waivers),
        sections=dict(doc),
        extends=str(extends) if extends else None,
    )
    if extends is None and source != DEFAULT_SOURCE:
        weaker = _weaker_than_default(policy)
        if weaker:
            policy = replace(policy, warnings=(
                f"{source}: this policy does not extend the packaged default and is weaker than it: "
                + "; ".join(weaker) + ". Add `extends: default` to start from the default (your entries "
                "still override it), or `extends: none` to say the difference is meant.",))
    return policy


DEFAULT_SOURCE = "<default policy>"


@lru_cache(maxsize=1)
def _default_document() -> dict[str, Any]:
    doc: dict[str, Any] = load_one(default_policy_text(), DEFAULT_SOURCE)
    return doc


def _weaker_than_default(policy: Policy) -> list[str]:
    """What ``policy`` checks less strictly than the packaged default (rules, image settings)."""
    default = default_policy()
    out: list[str] = []
    lowered = []
    for rid in sorted(RULES):
        if RULES[rid].kind == "policy":
            continue
        want, got = default.severity_of(rid), policy.severity_of(rid)
        if want is not None and (got is None or got.rank < want.rank):
            lowered.append(f"{rid} {got.value if got else 'off'} (default {want.value})")
    if lowered:
        out.append("rules " + ", ".join(lowered))
    if default.require_digest and not policy.require_digest:
        out.append("images.require_digest false (default true)")
    if default.forbid_mutable_tags and not policy.forbid_mutable_tags:
        out.append("images.forbid_mutable_tags false (default true)")
    return out


def load_policy(path: str | Path, raw: bytes | None = None) -> Policy:
    """Load and validate a policy file; errors name the file, line and column. ``raw``: the
    file's bytes, already read (the policy is then judged from exactly those bytes)."""
    source = str(path)
    if raw is None:
        text = read_text(path, limit=POLICY_MAX_SIZE, source=source)
    elif len(raw) > POLICY_MAX_SIZE:
        raise InputError(f"{source}: policy is too large (larger than {POLICY_MAX_SIZE} bytes)")
    else:
        text = decode_text(raw, source)
    doc = load_one(text, source)
    return policy_from_document(doc, source)


def default_policy_text() -> str:
    return resources.files("supplychain.policy").joinpath("default.yaml").read_text("utf-8")


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The packaged strict default policy (same content as policies/default.yaml)."""
    text = default_policy_text()
    return policy_from_document(load_one(text, DEFAULT_SOURCE), DEFAULT_SOURCE)


def resolve_policy(path: str | None, trusted: list[str] | tuple[str, ...] = ()) -> Policy:
    """The policy at ``path`` (or the packaged default) plus extra trusted-registry globs."""
    policy = load_policy(path) if path else default_policy()
    return policy.with_trusted(tuple(trusted))


def parse_build_args(values: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` strings from --build-arg into a dict."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--build-arg {item!r}: expected KEY=VALUE")
        out[key] = value
    return out
