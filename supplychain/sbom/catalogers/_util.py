"""Small helpers shared by the catalogers (purls, text decoding, stable bom-refs)."""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable

from packageurl import PackageURL

from supplychain.sbom.package import Package


def make_purl(
    type_: str,
    namespace: str | None,
    name: str,
    version: str | None,
    qualifiers: dict[str, str | None] | None = None,
) -> str:
    """A purl string built by packageurl-python (never by string concatenation)."""
    quals = {k: v for k, v in (qualifiers or {}).items() if v}
    return str(
        PackageURL(type=type_, namespace=namespace or None, name=name, version=version or None, qualifiers=quals)
        .to_string()
    )


def text(data: bytes | None) -> str:
    """Decode metadata bytes: UTF-8, with undecodable bytes replaced (never fails)."""
    if data is None:
        return ""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", "replace")


def parent(path: str) -> str:
    return posixpath.dirname(path.rstrip("/")) or "/"


def make_refs_unique(packages: Iterable[Package]) -> None:
    """Give packages that share a purl distinct ``bom_ref`` values (purl + '#' + location).

    Call before building dependency edges, so an edge names one exact package.
    """
    pkgs = list(packages)
    counts = Counter(p.bom_ref for p in pkgs)
    for p in pkgs:
        if counts[p.bom_ref] > 1 and p.location:
            p.bom_ref = f"{p.bom_ref}#{p.location}"


def relocate(packages: list[Package], location: str) -> None:
    """Suffix the bom-refs of one file's packages with ``#location`` and rewrite their edges.

    Used when two files (two projects in one image) name the same package: each copy keeps
    its own identity and its edges stay inside its own project.
    """
    mapping = {p.bom_ref: f"{p.bom_ref}#{location}" for p in packages}
    for p in packages:
        p.bom_ref = mapping[p.bom_ref]
        p.dependencies = [mapping.get(d, d) for d in p.dependencies]


def link_groups(groups: list[list[Package]]) -> list[Package]:
    """Flatten per-file package groups, relocating every group whose refs collide with another's."""
    counts: Counter[str] = Counter()
    for g in groups:
        counts.update({p.bom_ref for p in g})
    out: list[Package] = []
    for g in groups:
        if g and any(counts[p.bom_ref] > 1 for p in g) and g[0].location:
            relocate(g, g[0].location)
        out.extend(g)
    return out


# scheme://[userinfo@]host[:port][/path][?query][#fragment], ASCII; the characters the serializer
# percent-encodes (space " < > { } | \ ^ `) are allowed in path, query and fragment.
_P = r"[A-Za-z0-9\-._~%!$&'()*+,;=:@/ \"<>{}|\\^`]"
_SCHEME_RE = re.compile(
    r"^[A-Za-z][A-Za-z0-9+.\-]*://"
    r"(?:[A-Za-z0-9\-._~%!$&'()*+,;=:]*@)?"
    r"(?:[A-Za-z0-9\-._~%!$&'()*+,;=]*|\[[0-9A-Fa-f:.]+\])"
    r"(?::[0-9]*)?"
    rf"(?:/{_P}*)?(?:\?(?:{_P}|\?)*)?(?:#(?:{_P}|\?)*)?$"
)
_BAD_PCT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCP_RE = re.compile(r"^(?:git\+)?([\w.\-]+)@([\w.\-]+):(?!//)(.+)$")  # git@github.com:org/repo.git
_SHORTHAND = {"github": "https://github.com/", "gitlab": "https://gitlab.com/", "bitbucket": "https://bitbucket.org/",
              "gist": "https://gist.github.com/"}


def clean_url(value: object) -> str | None:
    """An absolute URL for an external reference, or None.

    npm and PyPI metadata carry many forms: ``git@github.com:o/r.git`` (scp-like),
    ``github:o/r`` or plain ``o/r`` (npm shorthands), ``UNKNOWN``; they are turned into absolute
    URLs where the form is known and dropped otherwise (CycloneDX wants an IRI).
    """
    if not isinstance(value, str):
        return None
    v = value.strip()
    if not v:
        return None
    m = _SCP_RE.match(v)
    prefix, sep, rest = v.partition(":")
    if m:
        v = f"git+ssh://{m.group(1)}@{m.group(2)}/{m.group(3)}"
    elif sep and prefix in _SHORTHAND and not rest.startswith("//"):
        v = _SHORTHAND[prefix] + rest
    elif re.match(r"^[\w.\-]+/[\w.\-]+$", v):  # npm "user/repo" means GitHub
        v = "https://github.com/" + v
    if not v.isascii() or _BAD_PCT_RE.search(v) or not _SCHEME_RE.match(v):
        return None
    return v
