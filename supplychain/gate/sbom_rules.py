"""The ``sbom:`` rules on an attested CycloneDX SBOM: denied packages (SC-GATE-003) and licenses (SC-GATE-004).

``deny_packages`` are purl globs (``fnmatch``) matched against the purl as written, without
qualifiers and subpath, percent-decoded (``%40scope`` -> ``@scope``) and with its type lowercased;
``deny_licenses`` are license id globs matched case-insensitively against every license id or name
of a component (an expression is split into its ids). Components are read with the one CycloneDX
reader (:func:`supplychain.sbom.cdxjson.iter_components`), nested ones and ``metadata.component``
included.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

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
    components = list(iter_components(bom, include_metadata=True))
    for comp in components:
        purl = comp.get("purl")
        if isinstance(purl, str):
            forms = purl_forms(purl)
            for pattern in rules.deny_packages:
                if any(fnmatch.fnmatchcase(form, pattern) for form in forms):
                    report("SC-GATE-003", f"attested SBOM contains {purl} (denied by {pattern!r})")
                    break
        for lic in license_ids(comp):
            # SPDX license identifiers are case-insensitive
            hit = next((p for p in rules.deny_licenses if fnmatch.fnmatchcase(lic.upper(), p.upper())), None)
            if hit is not None:
                name = comp.get("purl") or comp.get("name") or "?"
                report("SC-GATE-004", f"attested SBOM: {name} is licensed {lic} (denied by {hit!r})")
                break
    return len(components)


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


def license_ids(comp: dict[str, Any]) -> list[str]:
    """License ids and names of a component; expressions split into their ids."""
    out: list[str] = []
    entries = comp.get("licenses")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        out.extend(license_strings([{"license": entry["license"]}] if "license" in entry else []))
        expr = entry.get("expression")
        if isinstance(expr, str):
            out.extend(t for t in re.split(r"[\s()]+", expr) if t and t not in ("AND", "OR", "WITH"))
    return out
