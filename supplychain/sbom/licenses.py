"""SPDX licenses: ids, expressions, normalisation of legacy names, and allow / deny decisions.

Used by the CycloneDX writers (how a license string is carried) and by policy checks that match
licenses (the gate's ``deny_licenses``).

Normalisation (:func:`normalize_license`, also applied by :func:`classify_license`):

* case: ``mit`` -> ``MIT``, ``bsd-3-clause`` -> ``BSD-3-Clause``;
* deprecated SPDX ids -> their current form: ``LGPL-2.1`` -> ``LGPL-2.1-only``,
  ``GPL-2.0+`` -> ``GPL-2.0-or-later``, ``GPL-2.0-with-classpath-exception`` ->
  ``GPL-2.0-only WITH Classpath-exception-2.0``;
* Debian copyright-format (DEP-5) short names -> SPDX: ``GPL-2`` -> ``GPL-2.0-only``,
  ``GPL-2+`` -> ``GPL-2.0-or-later``, ``LGPL-2.1+`` -> ``LGPL-2.1-or-later``, ``Expat`` -> ``MIT``,
  ``Apache-2`` -> ``Apache-2.0``, ``CC0`` -> ``CC0-1.0``, ``GFDL-NIV-1.2+`` ->
  ``GFDL-1.2-no-invariants-or-later``, ``Perl`` -> ``Artistic-1.0-Perl OR GPL-1.0-or-later``, ...
  A version-less ``GPL`` / ``LGPL`` means "any version" (the GPL's own rule): ``GPL-1.0-or-later``
  / ``LGPL-2.0-or-later``.
* anything else (``public-domain``, whole license texts) is left as written: it is a license
  *name*, never guessed into an id.

Allow / deny decisions (:func:`evaluate_license`)::

    from supplychain.sbom.licenses import evaluate_license

    d = evaluate_license("MIT OR GPL-3.0-only", deny=["GPL-3.0-only"])
    d.status        # "allowed": one choice (MIT) avoids every denied license
    d = evaluate_license("GPL-3+", deny=["GPL-3.0-or-later"])
    d.status, d.denied   # ("denied", ["GPL-3.0-or-later"]): Debian name normalised first
    d = evaluate_license("MIT AND GPL-3.0-only", allow=["MIT", "Apache-2.0"])
    d.status, d.not_allowed  # ("denied", ["GPL-3.0-only"]): AND needs every part allowed

``expression`` is an SPDX expression, a single id, a deprecated id, a Debian short name or a
free-text name; ``allow`` (None = no allow list) and ``deny`` are lists of ids / names,
normalised the same way, or glob patterns (``AGPL-*``, case-insensitive) matched against the
normalised ids. Semantics: the expression is expanded into its choices (``OR``
alternatives; ``AND`` combines, ``WITH`` stays attached to its license). A choice is acceptable
when none of its licenses is denied and, with an allow list, every one is allowed (a
``X WITH exc`` term matches an entry for ``X WITH exc`` or for ``X``). The result is
``"allowed"`` when some choice is acceptable, ``"denied"`` when none is, and ``"unknown"``
when the expression cannot be parsed as SPDX (free text) and no list entry equals it, or it
has more than :data:`MAX_CHOICES` choices: a caller that must fail closed treats "unknown" as
not allowed. ``denied`` / ``not_allowed`` name the licenses that blocked the choices, so a
report can say which license triggered a denial. An empty or missing expression is
``"unknown"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from supplychain.errors import InputError

__all__ = [
    "DEPRECATED",
    "MAX_CHOICES",
    "LicenseDecision",
    "classify_license",
    "evaluate_license",
    "is_spdx_expression",
    "normalize_license",
    "spdx_id",
]

# deprecated SPDX ids -> current form (the SPDX license list's deprecation notes)
DEPRECATED: dict[str, str] = {
    "AGPL-1.0": "AGPL-1.0-only",
    "AGPL-3.0": "AGPL-3.0-only",
    "BSD-2-Clause-FreeBSD": "BSD-2-Clause-Views",
    "BSD-2-Clause-NetBSD": "BSD-2-Clause",
    "bzip2-1.0.5": "bzip2-1.0.6",
    "eCos-2.0": "GPL-2.0-or-later WITH eCos-exception-2.0",
    "GFDL-1.1": "GFDL-1.1-only",
    "GFDL-1.2": "GFDL-1.2-only",
    "GFDL-1.3": "GFDL-1.3-only",
    "GPL-1.0": "GPL-1.0-only",
    "GPL-1.0+": "GPL-1.0-or-later",
    "GPL-2.0": "GPL-2.0-only",
    "GPL-2.0+": "GPL-2.0-or-later",
    "GPL-2.0-with-autoconf-exception": "GPL-2.0-only WITH Autoconf-exception-2.0",
    "GPL-2.0-with-bison-exception": "GPL-2.0-or-later WITH Bison-exception-2.2",
    "GPL-2.0-with-classpath-exception": "GPL-2.0-only WITH Classpath-exception-2.0",
    "GPL-2.0-with-font-exception": "GPL-2.0-only WITH Font-exception-2.0",
    "GPL-2.0-with-GCC-exception": "GPL-2.0-only WITH GCC-exception-2.0",
    "GPL-3.0": "GPL-3.0-only",
    "GPL-3.0+": "GPL-3.0-or-later",
    "GPL-3.0-with-autoconf-exception": "GPL-3.0-only WITH Autoconf-exception-3.0",
    "GPL-3.0-with-GCC-exception": "GPL-3.0-only WITH GCC-exception-3.1",
    "LGPL-2.0": "LGPL-2.0-only",
    "LGPL-2.0+": "LGPL-2.0-or-later",
    "LGPL-2.1": "LGPL-2.1-only",
    "LGPL-2.1+": "LGPL-2.1-or-later",
    "LGPL-3.0": "LGPL-3.0-only",
    "LGPL-3.0+": "LGPL-3.0-or-later",
    "Nunit": "zlib-acknowledgement",
    "StandardML-NJ": "SMLNJ",
    "wxWindows": "GPL-2.0-or-later WITH WxWindows-exception-3.1",
}
_DEPRECATED_LOWER = {k.lower(): v for k, v in DEPRECATED.items()}

# Debian copyright-format 1.0 short names (and common spellings in /usr/share/doc/*/copyright)
# that are not SPDX ids; the versioned (A|L)GPL / GFDL forms are handled by _DEBIAN_GNU_RE.
DEBIAN: dict[str, str] = {
    "expat": "MIT", "mit/x11": "MIT", "apache": "Apache-2.0", "apache-2": "Apache-2.0",
    "apache2": "Apache-2.0", "apache-1": "Apache-1.0", "artistic": "Artistic-1.0",
    "artistic-1": "Artistic-1.0", "artistic-2": "Artistic-2.0", "cc0": "CC0-1.0",
    "perl": "Artistic-1.0-Perl OR GPL-1.0-or-later", "python": "Python-2.0", "psf-2": "PSF-2.0",
    "mpl-2": "MPL-2.0", "mpl-1": "MPL-1.0", "zope-2.1": "ZPL-2.1", "zpl": "ZPL-2.1",
    "sil-ofl-1.1": "OFL-1.1", "ofl": "OFL-1.1", "boost-1.0": "BSL-1.0", "bsl": "BSL-1.0",
    "epl-1": "EPL-1.0", "epl-2": "EPL-2.0", "cddl": "CDDL-1.0", "cddl-1": "CDDL-1.0", "lppl": "LPPL-1.3c",
    "isc-license": "ISC", "bsd-2": "BSD-2-Clause", "bsd-3": "BSD-3-Clause", "bsd-4": "BSD-4-Clause",
    "bsd-2-clause-freebsd": "BSD-2-Clause-Views", "gpl": "GPL-1.0-or-later", "gpl+": "GPL-1.0-or-later",
    "lgpl": "LGPL-2.0-or-later", "lgpl+": "LGPL-2.0-or-later", "gfdl": "GFDL-1.1-or-later",
    "gfdl+": "GFDL-1.1-or-later", "agpl": "AGPL-3.0-or-later", "unicode": "Unicode-DFS-2016",
    "zlib/libpng": "Zlib", "libpng": "Libpng", "openssl-exception": "OpenSSL",
    "ssleay": "SSLeay-standalone", "fsf-unlimited": "FSFUL", "fsf-unlimited-disclaimer": "FSFULLR",
    "x11": "X11", "public-domain-cc0": "CC0-1.0",
}

# GPL-2, GPL-2+, LGPL-2.1+, AGPL-3, GFDL-1.3+, GFDL-NIV-1.2, GPL-2.0+, LGPLv2.1+, GPLv3 ...
_DEBIAN_GNU_RE = re.compile(
    r"^(A?GPL|LGPL|GFDL(?:-NIV)?)(?:-|v|-v)?(\d)(?:\.(\d))?(?:\.0)?(\+|-or-later|-only)?$", re.IGNORECASE
)
_GNU_SUFFIX = {"": "-only", "-only": "-only", "+": "-or-later", "-or-later": "-or-later"}

MAX_CHOICES = 1024  # an expression with more OR-choices than this is "unknown" (not evaluated)


@lru_cache(maxsize=1)
def _spdx_ids() -> tuple[frozenset[str], dict[str, str]]:
    """SPDX license and exception ids from the list cyclonedx-python-lib ships (what the schema allows)."""
    path = _schema_dir() / "spdx.SNAPSHOT.schema.json"
    try:
        ids = frozenset(json.loads(path.read_text("utf-8"))["enum"])
    except (OSError, ValueError, KeyError) as exc:  # pragma: no cover - broken installation
        raise InputError(f"{path}: cannot load the SPDX license list: {exc}") from exc
    return ids, {i.lower(): i for i in ids}


def _schema_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("cyclonedx")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - broken installation
        raise InputError("cyclonedx-python-lib is not installed (needed for the CycloneDX schemas)")
    return Path(next(iter(spec.submodule_search_locations))) / "schema" / "_res"


def spdx_id(value: str) -> str | None:
    """The canonical SPDX id for ``value`` (case-insensitive; deprecated ids as written), or None."""
    ids, lower = _spdx_ids()
    if value in ids:
        return value
    return lower.get(value.lower())


def _gnu(value: str) -> str | None:
    m = _DEBIAN_GNU_RE.match(value)
    if m is None:
        return None
    family, major, minor, suffix = m.group(1).upper(), m.group(2), m.group(3), (m.group(4) or "").lower()
    version = f"{major}.{minor or '0'}"
    if family == "GFDL-NIV":
        ident = f"GFDL-{version}-no-invariants{_GNU_SUFFIX[suffix]}"
    else:
        ident = f"{family}-{version}{_GNU_SUFFIX[suffix]}"
    return spdx_id(ident)


@lru_cache(maxsize=8192)
def _normalize_symbol(value: str) -> str | None:
    """The current SPDX id (or small expression) for one license symbol, or None."""
    dep = _DEPRECATED_LOWER.get(value.lower())
    if dep is not None:
        return dep
    ident = spdx_id(value)
    if ident is not None:
        return ident
    deb = DEBIAN.get(value.lower())
    if deb is not None:
        return deb
    return _gnu(value)


_TOKEN_RE = re.compile(r"\s*(\(|\)|[^\s()]+)")
_REF_RE = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-[A-Za-z0-9.\-]+$")
_WS_RE = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def _normalize_expression(value: str) -> str | None:
    """The SPDX expression with current ids and canonical operators, or None when it is not one."""
    tokens = _TOKEN_RE.findall(value)
    if not tokens or "".join(tokens).replace(" ", "") != _WS_RE.sub("", value):
        return None
    out: list[str] = []
    pos = 0

    def operand() -> bool:
        nonlocal pos
        if pos >= len(tokens):
            return False
        tok = tokens[pos]
        if tok == "(":
            pos += 1
            out.append("(")
            if not expr():
                return False
            if pos >= len(tokens) or tokens[pos] != ")":
                return False
            pos += 1
            out.append(")")
            return True
        if tok.upper() in ("AND", "OR", "WITH") or tok == ")":
            return False
        ident = _normalize_symbol(tok)
        if ident is None:
            plus = tok.endswith("+") and len(tok) > 1
            base = tok[:-1] if plus else tok
            ident = spdx_id(base) or (base if _REF_RE.match(base) else None)
            if ident is None:
                return False
            ident += "+" if plus else ""
        pos += 1
        if pos < len(tokens) and tokens[pos].upper() == "WITH":
            if " " in ident:  # a mapping that is itself an expression cannot take an exception
                return False
            pos += 1
            if pos >= len(tokens):
                return False
            exc = spdx_id(tokens[pos]) or (tokens[pos] if _REF_RE.match(tokens[pos]) else None)
            if exc is None:
                return False
            out.extend((ident, "WITH", exc))
            pos += 1
            return True
        if " OR " in ident or " AND " in ident:
            out.append(f"({ident})")
        else:
            out.append(ident)
        return True

    def expr() -> bool:
        nonlocal pos
        if not operand():
            return False
        while pos < len(tokens) and tokens[pos].upper() in ("AND", "OR"):
            out.append(tokens[pos].upper())
            pos += 1
            if not operand():
                return False
        return True

    if not expr() or pos != len(tokens):
        return None
    text = " ".join(out).replace("( ", "(").replace(" )", ")")
    if text.startswith("(") and _balanced_outer(text):
        text = text[1:-1]
    return text


def _balanced_outer(text: str) -> bool:
    """True when the first "(" of ``text`` closes at its last character."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def is_spdx_expression(value: str) -> bool:
    """True when ``value`` is (or normalises to) a valid SPDX license expression; an id counts."""
    return _normalize_expression(value.strip()) is not None


def normalize_license(value: str) -> str:
    """``value`` as a current SPDX id or expression where it maps to one, else as written (stripped)."""
    text = value.strip()
    norm = _normalize_expression(text) if text else None
    return norm if norm is not None else text


def classify_license(value: str) -> tuple[str, str]:
    """How CycloneDX should carry ``value``: ("id", id), ("expression", expr) or ("name", text).

    Deprecated SPDX ids and Debian short names are normalised first (``GPL-2+`` -> id
    ``GPL-2.0-or-later``; ``Perl`` -> an expression).
    """
    text = value.strip()
    norm = _normalize_expression(text) if text else None
    if norm is None:
        return "name", text
    ids, _ = _spdx_ids()
    if norm in ids:
        return "id", norm
    return "expression", norm


# --- allow / deny -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenseDecision:
    """The outcome of :func:`evaluate_license` (see the module docstring)."""

    status: str  # "allowed" | "denied" | "unknown"
    expression: str  # the normalised expression (or the text as written when it is not SPDX)
    denied: list[str] = field(default_factory=list)  # denied licenses that blocked a choice
    not_allowed: list[str] = field(default_factory=list)  # licenses missing from the allow list
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.status == "allowed"


def _term_keys(term: str) -> set[str]:
    """The keys a term matches in an allow / deny list: the term and, for ``X WITH e``, ``X``."""
    key = term.lower()
    keys = {key}
    if " with " in key:
        keys.add(key.split(" with ", 1)[0])
    return keys


def _choices(node: Any) -> list[frozenset[str]] | None:
    """Disjunctive normal form of a license-expression AST: a list of AND-sets of terms."""
    from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol

    if isinstance(node, LicenseWithExceptionSymbol):
        return [frozenset({f"{node.license_symbol.key} WITH {node.exception_symbol.key}"})]
    if isinstance(node, LicenseSymbol):
        return [frozenset({node.key})]
    if isinstance(node, OR):
        out: list[frozenset[str]] = []
        for arg in node.args:
            sub = _choices(arg)
            if sub is None:
                return None
            out.extend(sub)
            if len(out) > MAX_CHOICES:
                return None
        return out
    if isinstance(node, AND):
        acc: list[frozenset[str]] = [frozenset()]
        for arg in node.args:
            sub = _choices(arg)
            if sub is None:
                return None
            acc = [a | b for a in acc for b in sub]
            if len(acc) > MAX_CHOICES:
                return None
        return acc
    return None


class _Keys:
    """A normalised allow / deny list: exact keys, and glob patterns (``AGPL-*``) matched
    case-insensitively with :func:`fnmatch.fnmatchcase`."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.exact: set[str] = set()
        self.globs: list[str] = []
        for e in entries:
            if not e or not e.strip():
                continue
            if any(ch in e for ch in "*?["):
                self.globs.append(e.strip().lower())
                continue
            self.exact.add(e.strip().lower())
            self.exact.add(normalize_license(e).lower())

    def match(self, keys: set[str]) -> bool:
        if keys & self.exact:
            return True
        from fnmatch import fnmatchcase

        return any(fnmatchcase(k, g) for k in keys for g in self.globs)


def evaluate_license(
    expression: str | None, *, allow: Iterable[str] | None = None, deny: Iterable[str] = ()
) -> LicenseDecision:
    """Decide whether a component's license ``expression`` passes ``allow`` / ``deny`` lists.

    See the module docstring for the rules and examples.
    """
    raw = (expression or "").strip()
    if not raw:
        return LicenseDecision("unknown", "", reason="no license")
    deny_keys = _Keys(deny)
    allow_keys = _Keys(allow) if allow is not None else None
    norm = _normalize_expression(raw)
    if norm is None:
        # free text: only an exact (case-insensitive) list entry can decide it
        key = {raw.lower()}
        if deny_keys.match(key):
            return LicenseDecision("denied", raw, denied=[raw], reason=f"license {raw!r} is denied")
        if allow_keys is not None and allow_keys.match(key):
            return LicenseDecision("allowed", raw)
        return LicenseDecision("unknown", raw, reason=f"license {raw!r} is not an SPDX expression")
    from license_expression import ExpressionError, Licensing

    try:
        tree = Licensing().parse(norm, simple=False)
    except ExpressionError as exc:  # pragma: no cover - our parser accepted it first
        return LicenseDecision("unknown", norm, reason=f"cannot parse {norm!r}: {exc}")
    choices = _choices(tree) if tree is not None else None
    if not choices:
        return LicenseDecision("unknown", norm, reason=f"{norm!r} has too many alternatives to evaluate")
    denied: list[str] = []
    missing: list[str] = []
    for choice in choices:
        bad = sorted(t for t in choice if deny_keys.match(_term_keys(t)))
        absent = (
            sorted(t for t in choice if not allow_keys.match(_term_keys(t))) if allow_keys is not None else []
        )
        if not bad and not absent:
            return LicenseDecision("allowed", norm)
        denied.extend(b for b in bad if b not in denied)
        missing.extend(a for a in absent if a not in missing)
    parts = []
    if denied:
        parts.append("denied: " + ", ".join(denied))
    if missing:
        parts.append("not in the allow list: " + ", ".join(missing))
    return LicenseDecision("denied", norm, denied=denied, not_allowed=missing, reason="; ".join(parts))
