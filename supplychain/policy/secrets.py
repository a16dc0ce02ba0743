"""Secret detection for environment-like settings: by name and by high-entropy value."""

from __future__ import annotations

import fnmatch
import math
import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supplychain.policy.config import Policy

# name suffixes that describe a secret without being one (DB_PASSWORD_FILE=/run/secrets/db)
_HARMLESS_SUFFIXES = (
    "_FILE", "_PATH", "_DIR", "_TTL", "_LENGTH", "_LEN", "_EXPIRY", "_EXPIRES", "_TIMEOUT",
    "_NAME", "_USER", "_USERNAME", "_HEADER", "_TYPE", "_ENABLED", "_ENABLE", "_REQUIRED",
    "_ID", "_URL_PATH", "_ALGORITHM", "_ALGO", "_ISSUER", "_AUDIENCE", "_REF", "_KEYREF",
    "_SECRET_NAME", "_LIFETIME", "_COUNT", "_SIZE", "_MIN", "_MAX", "_POLICY", "_MODE", "_REGEX",
)
_REFERENCE_RE = re.compile(
    r"^(\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$\([^)]*\)|`[^`]*`|\{\{.*\}\}|<[^>]*>)$"
)
_PLACEHOLDER_VALUES = {"", "true", "false", "yes", "no", "on", "off", "null", "none", "changeme_in_runtime"}
# scheme://user:password@ and scheme://:password@ (an empty user name, as Redis URLs write it)
_URL_CREDS_RE = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@", re.IGNORECASE)
_CHECKSUM_RE = re.compile(r"^(?:sha(?:1|256|384|512):)?[0-9a-fA-F]{32,128}$")


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_reference(value: str) -> bool:
    """``${VAR}``, ``$VAR``, ``$(cat file)``, Helm ``{{ ... }}`` and ``<placeholder>`` are not secrets."""
    v = value.strip()
    if _REFERENCE_RE.match(v):
        return True
    # a value made only of variable references and separators: "${USER}:${PASS}"
    stripped = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*", "", v)
    return v != stripped and not re.search(r"[A-Za-z0-9]{4,}", stripped)


def secret_name(name: str, policy: Policy) -> bool:
    upper = name.upper().replace("-", "_")
    if any(fnmatch.fnmatchcase(name, g) for g in policy.secret_ignore_names):
        return False
    if upper.endswith(_HARMLESS_SUFFIXES) or "PUBLIC" in upper:
        return False
    return any(frag in upper for frag in policy.secret_names)


def looks_random(value: str, policy: Policy) -> bool:
    v = value.strip()
    if len(v) < policy.entropy_min_length or any(c.isspace() for c in v):
        return False
    if _CHECKSUM_RE.match(v) or "@sha256:" in v:
        return False
    if v.startswith(("/", "./", "../", "~/")) or re.match(r"^[a-z][a-z0-9+.-]*://", v, re.IGNORECASE):
        return False
    if not (re.search(r"[0-9]", v) and re.search(r"[A-Za-z]", v)):
        return False
    return shannon_entropy(v) >= policy.entropy_threshold


def secret_reason(name: str, value: object, policy: Policy) -> str | None:
    """Why ``name=value`` looks like a literal secret, or None."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value)
    if is_reference(text):
        return None
    if _URL_CREDS_RE.match(text.strip()) and not is_reference(_URL_CREDS_RE.match(text.strip()).group(1)):  # type: ignore[union-attr]
        return "its value is a URL with an embedded password"
    if text.strip().lower() in _PLACEHOLDER_VALUES:
        return None
    if secret_name(name, policy):
        if text.startswith(("/run/secrets/", "/var/run/secrets/")):
            return None
        return f"its name ({name}) marks it as a secret"
    if isinstance(value, (int, float)):
        return None
    if looks_random(text, policy):
        return f"its value looks like a generated secret (entropy {shannon_entropy(text.strip()):.1f} bits/char)"
    return None
