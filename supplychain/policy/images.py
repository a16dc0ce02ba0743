"""Image reference rules: normalisation, trusted-registry globs, digest pins, mutable tags.

Globs are matched against the *normalised* name (``registry/repository``, Docker Hub short names
expanded: ``nginx`` -> ``docker.io/library/nginx``): ``*`` matches within one path segment,
``**`` across segments, ``?`` one character. A glob with no ``/`` that looks like a host
(has a ``.`` or ``:``, or is ``localhost``) names a whole registry (``ghcr.io`` == ``ghcr.io/**``);
a bare word is a Docker Hub short name (``redis`` == ``docker.io/library/redis``). A glob containing ``:`` after the last ``/`` or an ``@`` is
matched against the full reference (``name:tag@digest``) instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from supplychain.errors import InputError
from supplychain.oci.reference import parse_reference
from supplychain.vocab import DOCKER_HUB
from supplychain.vocab import DOCKER_HUB_ALIASES as _HUB_ALIASES


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A parsed, normalised image reference."""

    original: str
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def normalized(self) -> str:
        out = self.name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out


@lru_cache(maxsize=16384)
def parse_image(text: str) -> ImageRef:
    """Parse and normalise an image reference (via :mod:`supplychain.oci.reference`).

    Raises ValueError with the reason when it is not a valid reference.
    """
    try:
        ref = parse_reference(text.strip(), default_tag=None)
    except InputError as exc:
        raise ValueError(exc.message.replace(f" in image reference {text.strip()!r}", "")) from exc
    return ImageRef(text.strip(), ref.registry.lower(), ref.repository, ref.tag, ref.digest)


@lru_cache(maxsize=4096)
def _glob_regex(glob: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def normalize_glob(glob: str) -> str:
    """Normalise the registry part of a glob the way references are normalised."""
    g = glob.strip()
    if "/" not in g:
        if "." in g or ":" in g or g == "localhost" or g.startswith("["):
            return g.lower() + "/**"  # a registry host: everything in it
        return f"{DOCKER_HUB}/library/{g}"  # a Docker Hub short name: nginx, redis*
    first, rest = g.split("/", 1)
    if first in _HUB_ALIASES:
        first = DOCKER_HUB
    elif "." not in first and ":" not in first and first != "localhost" and "*" not in first:
        # Docker Hub short form: "library/*" or "myorg/*"
        return f"{DOCKER_HUB}/{g}"
    return f"{first.lower()}/{rest}"


def glob_match(glob: str, ref: ImageRef) -> bool:
    """Does a (normalised) glob match this reference? See the module docstring."""
    g = normalize_glob(glob)
    last = g.rsplit("/", 1)[-1]
    subject = ref.normalized if ("@" in g or ":" in last) else ref.name
    return _glob_regex(g).match(subject) is not None


def is_trusted(ref: ImageRef, globs: Iterable[str]) -> bool:
    return any(glob_match(g, ref) for g in globs)
