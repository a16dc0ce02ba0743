"""The ``sbom:`` rules on an attested CycloneDX SBOM: denied packages (SC-GATE-003) and licenses (SC-GATE-004).

``deny_packages`` are purl globs (``fnmatch``) matched against the purl as written, without
qualifiers and subpath, percent-decoded (``%40scope`` -> ``@scope``) and with its type lowercased;
``deny_licenses`` are SPDX license ids or globs (``AGPL-*``, case-insensitive), matched after
normalising to SPDX, with expressions evaluated (``OR``: one acceptable choice suffices; ``AND``:
every part must be acceptable): see :func:`denied_license`. Components are read with the one CycloneDX
reader (:func:`supplychain.sbom.cdxjson.iter_components`), nested ones and ``metadata.component``
included.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from supplychain.errors import InputError
from supplychain.gate.policy import SbomRules
from supplychain.sbom.cdxjson import iter_components, license_strings

# (rule id, message) -> records a finding on the image being decided
Report = Callable[[str, str], None]


def check_sbom(document: bytes, rules: SbomRules, report: Report) -> int | None:
    """Apply ``rules`` to one SBOM document; returns the number of components (None: not JSON)."""
    try:
        bom = json.loads(document)
    except (ValueError, RecursionError):
        report("SC-GATE-002", "the attested CycloneDX SBOM is not JSON")
        return None
    return check_sbom_document(bom, rules, report)


def check_sbom_document(bom: Any, rules: SbomRules, report: Report) -> int | None:
    """:func:`check_sbom` on a document already parsed (an in-band attested predicate)."""
    try:
        components = list(iter_components(bom, include_metadata=True))
    except InputError as exc:  # too many components to judge all of them: never judge a part
        report("SC-GATE-002", f"the attested CycloneDX SBOM cannot be judged: {exc.message}")
        return None
    for comp in components:
        purl = comp.get("purl")
        if isinstance(purl, str):
            forms = purl_forms(purl)
            for pattern in rules.deny_packages:
                if any(fnmatch.fnmatchcase(form, pattern) for form in forms):
                    report("SC-GATE-003", f"attested SBOM contains {purl} (denied by {pattern!r})")
                    break
        if rules.deny_licenses:
            why = denied_license(comp, rules.deny_licenses)
            if why is not None:
                name = comp.get("purl") or comp.get("name") or "?"
                report("SC-GATE-004", f"attested SBOM: {name} is licensed {why}")
    return len(components)


MAX_LICENSE_TEXT = 4096  # longer "expressions" are license texts: matched token by token


def denied_license(comp: dict[str, Any], deny: tuple[str, ...]) -> str | None:
    """Why a component's licenses are denied (``"X (denied: Y by 'Z')"``), or None.

    Each entry of ``licenses`` (an expression, or a license id / name) is read as SPDX after
    normalisation (:func:`supplychain.sbom.licenses.evaluate_license`: Debian short names and
    deprecated ids become current SPDX ids; ``A OR B`` is allowed when one choice avoids every
    denied license, ``A AND B`` needs both). Several entries all apply. What cannot be read as
    SPDX (free text, a license text, too many alternatives) is matched token by token, so a denied
    id inside it still denies (fail closed)."""
    for lic in license_strings(comp.get("licenses")):
        why = _denied_cached(lic, tuple(deny)) if len(lic) <= MAX_CACHED_LICENSE else _denied_one(lic, deny)
        if why is not None:
            return why
    return None


MAX_CACHED_LICENSE = 256  # longer strings (license texts) are judged each time, never kept


@lru_cache(maxsize=4096)
def _denied_cached(lic: str, deny: tuple[str, ...]) -> str | None:
    """:func:`_denied_one`, remembered: the answer depends on nothing but the license string and the
    deny list, which are the whole key (an SBOM repeats a few licenses across hundreds of
    components, and every image's SBOM the same ones; parsing one costs ~0.1 ms)."""
    return _denied_one(lic, deny)


def _denied_one(lic: str, deny: tuple[str, ...]) -> str | None:
    """Why one license entry is denied, or None."""
    from supplychain.sbom.licenses import evaluate_license

    decision = evaluate_license(lic, deny=deny) if len(lic) <= MAX_LICENSE_TEXT else None
    if decision is not None and decision.status == "denied":
        blocked = ", ".join(decision.denied)
        pattern = next((p for p in deny for b in decision.denied
                        if fnmatch.fnmatchcase(b.upper(), p.upper())), None)
        by = f" by {pattern!r}" if pattern else ""
        return f"{decision.expression} (denied: {blocked}{by})"
    if decision is None or decision.status == "unknown":
        for token in _tokens(lic):
            hit = next((p for p in deny if fnmatch.fnmatchcase(token.upper(), p.upper())), None)
            if hit is not None:
                return f"{token} (denied by {hit!r}; not a readable SPDX expression: matched as written)"
    return None


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\s()]+", text) if t and t not in ("AND", "OR", "WITH")]


def purl_forms(purl: str) -> set[str]:
    """A purl as written, without qualifiers, percent-decoded (`%40scope` -> `@scope`), and with its
    case-insensitive `pkg:type` lowercased: a deny glob matches any of them."""
    head, sep, rest = purl.partition("/")
    forms = {purl, head.lower() + sep + rest}
    for f in list(forms):
        forms.add(unquote(f))
    for f in list(forms):
        forms.add(f.split("?", 1)[0].split("#", 1)[0])
    return forms
