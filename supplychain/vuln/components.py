"""What matching needs of an SBOM: its components, and the advisory query for each.

Each component is mapped from its purl to the OSV ecosystem and package that advisories use:

* ``pkg:deb/debian/libssl3@3.0.11-1?distro=debian-12&upstream=openssl@3.0.11-1`` -> ``Debian:12`` /
  ``openssl`` at the *source* version (Debian advisories name source packages);
* ``pkg:apk/alpine/libcrypto3@3.1.4-r5?distro=alpine-3.19.1&upstream=openssl`` (or ``origin=``) ->
  ``Alpine:v3.19`` / ``openssl``;
* ``pkg:rpm/...?distro=almalinux-9.3&epoch=1`` -> ``AlmaLinux:9`` (likewise Rocky, Red Hat, SUSE);
* ``pkg:composer`` -> Packagist, ``pkg:pypi`` -> PyPI (PEP 503 name), ``pkg:npm`` -> npm.

:func:`query_for` returns the reason instead of a query when a component cannot be checked (no
version, an unknown distro release ...): matching reports it as *not covered*, never as clean.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import unquote

from supplychain.errors import InputError
from supplychain.vuln.osv import normalize_package_name

__all__ = ["Component", "Purl", "Query", "components_from_bom", "parse_purl", "query_for"]


@dataclass(frozen=True)
class Component:
    """What matching needs of one SBOM component."""

    ref: str
    name: str
    version: str | None
    purl: str | None
    type: str = "library"
    location: str | None = None
    layer: str | None = None



# --- reading components ------------------------------------------------------------------------

_LOCATION_KEYS = ("supplychain:package:location", "syft:location:0:path", "aquasecurity:trivy:FilePath")
_LAYER_KEYS = ("supplychain:package:layer", "syft:location:0:layerID", "aquasecurity:trivy:LayerDigest")


def _s(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _component_list(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(c, dict) for c in value))


def components_from_bom(bom: Mapping[str, Any], *, source: str = "SBOM") -> list[Component]:
    """The components of a CycloneDX JSON document (nested ones included, the root excluded)."""
    if not isinstance(bom, Mapping) or bom.get("bomFormat") != "CycloneDX":
        raise InputError(f"{source}: not a CycloneDX JSON SBOM (bomFormat is not 'CycloneDX')")
    from supplychain.sbom.cdxjson import iter_components

    if not _component_list(bom.get("components")):  # the reader skips what is not an object: not clean
        raise InputError(f"{source}: 'components' is not a list of component objects")
    out: list[Component] = []
    for i, c in enumerate(iter_components(dict(bom))):
        if "components" in c and not _component_list(c["components"]):
            raise InputError(f"{source}: component {c.get('bom-ref') or c.get('name') or f'#{i}'!s:.200}: "
                             "'components' is not a list of component objects")
        location = layer = None
        properties = c.get("properties")
        if properties:
            props: dict[str, str] = {}
            for p in properties if isinstance(properties, list) else ():
                if isinstance(p, dict):
                    name, value = p.get("name"), p.get("value")
                    if isinstance(name, str) and isinstance(value, str) and name not in props:
                        props[name] = value
            for k in _LOCATION_KEYS:
                if k in props:
                    location = props[k]
                    break
            for k in _LAYER_KEYS:
                if k in props:
                    layer = props[k]
                    break
        ev = c.get("evidence")
        if location is None and isinstance(ev, Mapping):
            occ = ev.get("occurrences")
            if isinstance(occ, list) and occ and isinstance(occ[0], Mapping):
                location = _s(occ[0].get("location"))
        name = _s(c.get("name")) or ""
        group = _s(c.get("group"))
        out.append(Component(
            ref=_s(c.get("bom-ref")) or f"#{i}",
            name=f"{group}/{name}" if group else name,
            version=_s(c.get("version")),
            purl=_s(c.get("purl")),
            type=_s(c.get("type")) or "library",
            location=location,
            layer=layer,
        ))
    return out


# --- purl -> ecosystem ---------------------------------------------------------------------------

_DEBIAN_CODENAMES = {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14",
                     "stretch": "9", "jessie": "8"}


class Purl(NamedTuple):
    type: str
    namespace: str | None
    name: str
    version: str | None
    qualifiers: dict[str, str]


@lru_cache(maxsize=16384)
def parse_purl(text: str) -> Purl | None:
    """The fields of a purl, per the purl spec's parsing rules (percent-decoded; type and qualifier
    keys lowercased). A lean reader for the scan's hot path: packageurl-python's from_string does
    full normalisation and costs about a third of a 2,500-component scan. None if not a purl."""
    if not text.startswith("pkg:"):
        return None
    rest = text[4:].lstrip("/")
    rest = rest.partition("#")[0]
    rest, _, qs = rest.partition("?")
    head, slash, last = rest.rpartition("/")
    if not slash or not head:
        return None
    last, at, version = last.rpartition("@") if "@" in last else (last, "", "")
    segments = head.split("/")
    ptype = segments[0].lower()
    if not ptype or not last:
        return None
    namespace = "/".join(unquote(x) for x in segments[1:] if x) or None
    quals: dict[str, str] = {}
    for pair in qs.split("&") if qs else []:
        k, eq, v = pair.partition("=")
        if eq and k and v:
            quals[k.lower()] = unquote(v)
    return Purl(ptype, namespace, unquote(last), unquote(version) if at and version else None, quals)


class Query(NamedTuple):
    ecosystems: tuple[str, ...]
    packages: tuple[str, ...]
    version: str
    coverage_key: str


def _release(distro: str | None, prefixes: tuple[str, ...]) -> str | None:
    if not distro:
        return None
    d = distro.lower()
    for p in prefixes:
        if d.startswith(p + "-"):
            d = d[len(p) + 1:]
            break
    return d or None


_ALPINE_RELEASE = re.compile(r"v?(\d+)\.(\d+)")
_RPM_DISTRO = re.compile(r"([a-z][a-z-]*?)-?(\d+)(?:\.(\d+))?")


def query_for(purl_text: str, version: str | None, db_ecosystems: Iterable[str]) -> Query | str:
    """The database query for a component, or a reason why it cannot be checked."""
    purl = parse_purl(purl_text)
    if purl is None:
        return "purl not parseable"
    q = purl.qualifiers
    ver = purl.version or version
    if not ver:
        return "no version"
    t = purl.type
    if t == "composer":
        name = f"{purl.namespace}/{purl.name}" if purl.namespace else purl.name
        return Query(("Packagist",), (name.lower(),), ver, "Packagist")
    if t == "pypi":
        return Query(("PyPI",), (normalize_package_name("PyPI", purl.name),), ver, "PyPI")
    if t == "npm":
        name = f"{purl.namespace}/{purl.name}" if purl.namespace else purl.name
        return Query(("npm",), (name,), ver, "npm")
    if t == "deb":
        ns = (purl.namespace or "debian").lower()
        upstream = q.get("upstream")
        src_name, _, src_version = (upstream or "").partition("@")
        pkg = src_name or purl.name
        v = src_version or ver
        if ns == "debian":
            rel = _release(q.get("distro"), ("debian",))
            if rel is None:
                return "Debian package without a distro qualifier (release unknown)"
            rel = _DEBIAN_CODENAMES.get(rel, rel).split(".", 1)[0]
            return Query((f"Debian:{rel}",), (pkg,), v, f"Debian:{rel}")
        if ns == "ubuntu":
            rel = _release(q.get("distro"), ("ubuntu",))
            if rel is None:
                return "Ubuntu package without a distro qualifier (release unknown)"
            ubuntu = tuple(e for e in db_ecosystems if e == f"Ubuntu:{rel}" or e.startswith(f"Ubuntu:{rel}:"))
            return Query(ubuntu or (f"Ubuntu:{rel}",), (pkg,), v, f"Ubuntu:{rel}")
        return f"deb packages of {ns} (no advisory ecosystem known)"
    if t == "apk":
        ns = (purl.namespace or "alpine").lower()
        if ns != "alpine":
            return f"apk packages of {ns} (no advisory ecosystem known)"
        rel = _release(q.get("distro"), ("alpine",))
        if rel is None:
            return "Alpine package without a distro qualifier (release unknown)"
        m = _ALPINE_RELEASE.match(rel)
        if not m:
            if rel.startswith("edge") or rel.endswith("_alpha") or "_" in rel:
                return f"Alpine {rel} (no advisory ecosystem for this release)"
            return f"Alpine release {rel!r} not understood"
        eco = f"Alpine:v{m.group(1)}.{m.group(2)}"
        origin = q.get("upstream") or q.get("origin") or purl.name
        return Query((eco,), (origin.split("@", 1)[0],), ver, eco)
    if t == "rpm":
        distro = (q.get("distro") or "").lower()
        m = _RPM_DISTRO.match(distro)
        if not m:
            return "RPM package without a distro qualifier (release unknown)"
        did, major, minor = m.group(1), m.group(2), m.group(3)
        epoch = q.get("epoch")
        v = f"{epoch}:{ver}" if epoch and epoch != "0" else ver
        names = [purl.name]
        src = q.get("upstream")
        if src:
            sm = re.match(r"(.+)-[^-]+-[^-]+\.src\.rpm$", src)
            if sm and sm.group(1) not in names:
                names.append(sm.group(1))
        dbe = list(db_ecosystems)
        if did in ("almalinux", "alma"):
            ecos: tuple[str, ...] = (f"AlmaLinux:{major}",)
        elif did in ("rocky", "rockylinux"):
            ecos = (f"Rocky Linux:{major}",)
        elif did in ("rhel", "redhat", "centos"):
            ecos = tuple(e for e in dbe if e.startswith("Red Hat:") and f"enterprise_linux:{major}" in e)
            if not ecos:
                return f"Red Hat Enterprise Linux {major}"
        elif did in ("sles", "sled", "suse"):
            sp = f" SP{minor}" if minor and minor != "0" else ""
            ecos = tuple(e for e in dbe if e.startswith("SUSE:") and e.endswith(f" {major}{sp}"))
            if not ecos:
                return f"SUSE Linux Enterprise {major}{sp}"
        elif did.startswith("opensuse"):
            ecos = (f"openSUSE:Leap {major}.{minor or 0}",)
        else:
            return f"rpm packages of {did} (no advisory ecosystem known)"
        return Query(ecos, tuple(names), v, ecos[0])
    return f"{t} packages"
