"""CPE 2.3 candidates for packages, for scanners that match on CPEs (NVD data, Dependency-Track).

A purl says exactly what a package is; the NVD, though, indexes vulnerabilities by CPE, and a
CPE's vendor and product are chosen by NVD analysts, not by the ecosystem. So, like syft, we
write *candidates*: a primary one (CycloneDX ``cpe``) and a few alternatives (properties
``supplychain:cpe23``), built per ecosystem from what the package says:

========  ============================================  ==========================================
purl      primary (vendor:product)                      alternatives
========  ============================================  ==========================================
deb, apk  name:name                                     source package (``upstream``) as vendor
rpm                                                     and product, the distro as vendor
                                                        (``debian:openssl``), ``-`` -> ``_``
pypi      name:name                                     python:name, python-name:python-name
                                                        (syft's choice), name_project:name
npm       name:name                                     name_project:name, scope:name
composer  vendor:name (``symfony:http-kernel``)         name:name, vendor:vendor
other     name:name                                     group:name
========  ============================================  ==========================================

Values are lowercased and escaped per the CPE 2.3 formatted-string binding (``\\`` before any
character but letters, digits, ``_``, ``-`` and ``.``), so ``1:2.5.1-4`` becomes ``1\\:2.5.1-4``
as syft writes it. Packages without a version get no CPE (a ``*`` version would match every
vulnerability of the product), nor do files, ML models and container images.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote

__all__ = ["MAX_ALTERNATIVES", "cpe_candidates", "format_cpe"]

MAX_ALTERNATIVES = 4
_ESCAPE_RE = re.compile(r"[^a-z0-9_.\-]")
_SAFE_RE = re.compile(r"[a-z0-9_.\-]+")
_NO_CPE_TYPES = frozenset({"file", "machine-learning-model", "data", "container", "operating-system"})


@lru_cache(maxsize=65536)
def _escape(value: str) -> str:
    v = value.strip().lower()
    if _SAFE_RE.fullmatch(v):
        return v
    if not v:
        return "*"
    return _ESCAPE_RE.sub(lambda m: "\\" + m.group(0), v)


def format_cpe(vendor: str, product: str, version: str, part: str = "a") -> str:
    """``cpe:2.3:<part>:<vendor>:<product>:<version>:*:*:*:*:*:*:*`` with each value escaped."""
    return f"cpe:2.3:{part}:{_escape(vendor)}:{_escape(product)}:{_escape(version)}:*:*:*:*:*:*:*"


def _qualifier(purl: str, key: str) -> str | None:
    _, _, query = purl.partition("?")
    for pair in query.split("#", 1)[0].split("&"):
        k, _, v = pair.partition("=")
        if k == key and v:
            return unquote(v)
    return None


def cpe_candidates(
    *,
    name: str,
    version: str | None,
    purl: str | None,
    group: str | None = None,
    component_type: str = "library",
) -> list[str]:
    """CPE 2.3 candidates, primary first (empty when none apply)."""
    if not version or not name or component_type in _NO_CPE_TYPES:
        return []
    ptype = ""
    namespace = group
    if purl and purl.startswith("pkg:"):
        ptype = purl[4:].split("/", 1)[0].lower()
        body = purl[4:].split("?", 1)[0].split("#", 1)[0]
        parts = body.split("/")
        if len(parts) >= 3:
            namespace = unquote(parts[1])
    pairs: list[tuple[str, str]] = []
    n = name.lower()
    if ptype in ("deb", "apk", "rpm", "alpm"):
        pairs.append((n, n))
        upstream = _qualifier(purl or "", "upstream")
        if upstream:
            src = upstream.split("@", 1)[0].lower()
            if src and src != n:
                pairs += [(src, src), (src, n)]
        distro = (namespace or "").lower()
        if distro:
            pairs.append((distro, n))
    elif ptype == "pypi":
        pairs += [(n, n), ("python", n), (f"python-{n}", f"python-{n}"), (f"{n}_project", n)]
    elif ptype == "npm":
        pairs += [(n, n), (f"{n}_project", n)]
        scope = (namespace or "").lstrip("@").lower()
        if scope:
            pairs.append((scope, n))
    elif ptype == "composer":
        vendor = (namespace or group or "").lower()
        if vendor:
            pairs += [(vendor, n), (n, n), (vendor, vendor)]
        else:
            pairs.append((n, n))
    else:
        pairs.append((n, n))
        if group:
            pairs.append((group.lower(), n))
    # the underscore spellings NVD often uses for hyphenated names
    for vendor, product in list(pairs):
        if "-" in product or "-" in vendor:
            pairs.append((vendor.replace("-", "_"), product.replace("-", "_")))
    out: list[str] = []
    for vendor, product in pairs:
        cpe = format_cpe(vendor, product, version)
        if cpe not in out:
            out.append(cpe)
            if len(out) > MAX_ALTERNATIVES:
                break
    return out
