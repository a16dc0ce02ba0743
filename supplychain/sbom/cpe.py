"""CPE 2.3 candidates for packages, for scanners that match on CPEs (NVD data, Dependency-Track).

A purl says exactly what a package is; the NVD, though, indexes vulnerabilities by CPE, and a
CPE's vendor and product are chosen by NVD analysts, not by the ecosystem. So, like syft, we
write *candidates*: a primary one (CycloneDX ``cpe``) and a few alternatives (properties
``supplychain:cpe23``), built per ecosystem from what the package says:

========  ============================================  ==========================================
purl      primary (vendor:product)                      alternatives
========  ============================================  ==========================================
deb, apk  name:name (syft's choice)                     source package (``upstream``) as vendor
rpm                                                     and product, the distro as vendor
                                                        (``debian:libc6``)
pypi      name:name                                     python:name, python-name:python-name
                                                        (syft's heuristic)
npm       name:name                                     scope:name, name_project:name
composer  vendor:name (``symfony:http-kernel``)         name:name, vendor:vendor
other     name:name                                     group:name
========  ============================================  ==========================================

The underscore spelling of a hyphenated primary (``symfony:http_kernel``) comes first among the
alternatives; at most :data:`MAX_ALTERNATIVES` are written.

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

MAX_ALTERNATIVES = 3
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
        slash = purl.find("/", 4)
        ptype = purl[4:slash].lower() if slash > 0 else ""
        body = purl[slash + 1 :].split("?", 1)[0]
        if "/" in body:
            namespace = body.split("/", 1)[0]
            if "%" in namespace:
                namespace = unquote(namespace)
    n = name.lower()
    alts: list[tuple[str, str]]
    if ptype in ("deb", "apk", "rpm", "alpm"):
        primary = (n, n)
        upstream = _qualifier(purl or "", "upstream") if "upstream=" in (purl or "") else None
        src = upstream.split("@", 1)[0].lower() if upstream else ""
        alts = [(src, src)] if src and src != n else []
        if namespace:
            alts.append((namespace.lower(), n))
    elif ptype == "pypi":
        primary = (n, n)
        alts = [("python", n), (f"python-{n}", f"python-{n}")]
    elif ptype == "npm":
        primary = (n, n)
        scope = (namespace or "").lstrip("@").lower()
        alts = [(scope, n)] if scope else []
        alts.append((f"{n}_project", n))
    elif ptype == "composer" and (namespace or group):
        vendor = (namespace or group or "").lower()
        primary = (vendor, n)
        alts = [(n, n), (vendor, vendor)]
    else:
        primary = (n, n)
        alts = [(group.lower(), n)] if group else []
    # right after the primary: the underscore spelling NVD often uses for hyphenated names
    if "-" in primary[0] or "-" in primary[1]:
        alts.insert(0, (primary[0].replace("-", "_"), primary[1].replace("-", "_")))
    ver = _escape(version)
    out = [f"cpe:2.3:a:{_escape(primary[0])}:{_escape(primary[1])}:{ver}:*:*:*:*:*:*:*"]
    for vendor, product in alts:
        cpe = f"cpe:2.3:a:{_escape(vendor)}:{_escape(product)}:{ver}:*:*:*:*:*:*:*"
        if cpe not in out:
            out.append(cpe)
            if len(out) > MAX_ALTERNATIVES:
                break
    return out
