"""Image references, parsed and normalised the way docker does.

``alpine`` → ``docker.io/library/alpine:latest``; ``ghcr.io/o/r:1@sha256:…``;
``localhost:5000/x``; ``[::1]:5000/x``. The first path component is a registry host
when it contains a ``.`` or a ``:``, is ``localhost``, or is a bracketed IPv6 address;
otherwise the reference is on Docker Hub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from supplychain.errors import InputError
from supplychain.vocab import DOCKER_HUB, DOCKER_HUB_API
from supplychain.vocab import DOCKER_HUB_ALIASES as _HUB_ALIASES

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,}\Z")
_DIGEST_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}
_HOST_LABEL = re.compile(r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])\Z")
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9]+)?\]\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
MAX_NAME = 255


def validate_digest(digest: str, what: str = "digest") -> str:
    """Check ``algorithm:hex`` (sha256/sha384/sha512 lowercase hex); return it."""
    if not _DIGEST.match(digest):
        raise InputError(f"invalid {what} {digest!r}", hint="expected e.g. sha256:<64 hex digits>")
    algo, _, hexpart = digest.partition(":")
    want = _DIGEST_HEX.get(algo)
    if want is None:
        raise InputError(f"unsupported digest algorithm in {what} {digest!r}", hint="use sha256 or sha512")
    if len(hexpart) != want or not re.fullmatch(r"[0-9a-f]+", hexpart):
        raise InputError(f"invalid {what} {digest!r}: {algo} needs {want} lowercase hex digits")
    return digest


def _valid_host(host: str) -> bool:
    if not host:
        return False
    name, port = host, None
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        name, rest = host[: end + 1], host[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return False
            port = rest[1:]
        if not _IPV6.match(name):
            return False
    elif ":" in host:
        name, port = host.rsplit(":", 1)
    if port is not None and (not _PORT.match(port) or not 0 < int(port) <= 65535):
        return False
    if name.startswith("["):
        return True
    return all(_HOST_LABEL.match(label) for label in name.split("."))


@dataclass(frozen=True)
class Reference:
    """A parsed image reference. ``registry`` is normalised (``docker.io`` for Hub)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What goes in ``/v2/<repo>/manifests/<reference>``: the digest, else the tag, else latest."""
        return self.digest or self.tag or "latest"

    @property
    def api_host(self) -> str:
        """The host to talk to (``registry-1.docker.io`` for Docker Hub)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    def with_digest(self, digest: str, *, keep_tag: bool = False) -> Reference:
        """The same repository pinned to ``digest`` (the tag dropped unless ``keep_tag``)."""
        validate_digest(digest)
        return replace(self, digest=digest, tag=self.tag if keep_tag else None)

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def parse_reference(text: str, *, default_tag: str | None = "latest") -> Reference:
    """Parse ``text`` like docker does; raise InputError naming the problem.

    A reference with neither tag nor digest gets ``default_tag`` (``latest``; pass None
    to leave it unset, e.g. for a bare repository name).
    """
    if not isinstance(text, str) or not text:
        raise InputError("empty image reference", hint="expected e.g. registry.example.com/team/app:1.0")
    original = text
    if text != text.strip() or any(c.isspace() for c in text):
        raise InputError(f"invalid image reference {original!r}: contains whitespace")
    digest: str | None = None
    if "@" in text:
        text, digest = text.split("@", 1)
        validate_digest(digest, f"digest in image reference {original!r}")
    tag: str | None = None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG.match(tag):
            raise InputError(
                f"invalid tag {tag!r} in image reference {original!r}",
                hint="tags are 1-128 characters of letters, digits, '_', '.', '-' (not starting with '.' or '-')",
            )
    if not text:
        raise InputError(f"invalid image reference {original!r}: no repository name")
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        registry, path = first, rest
        if not _valid_host(registry):
            raise InputError(f"invalid registry host {registry!r} in image reference {original!r}")
        if registry in _HUB_ALIASES:
            registry = DOCKER_HUB
    else:
        registry, path = DOCKER_HUB, text
    if registry == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            if component.lower() != component and _COMPONENT.match(component.lower()):
                raise InputError(f"invalid image reference {original!r}: repository name must be lowercase")
            raise InputError(
                f"invalid image reference {original!r}: bad repository path component {component!r}",
                hint="components are lowercase letters and digits separated by '.', '_', '__' or '-'",
            )
    if len(registry) + 1 + len(path) > MAX_NAME:
        raise InputError(f"invalid image reference {original!r}: name longer than {MAX_NAME} characters")
    if tag is None and digest is None:
        tag = default_tag
    return Reference(registry=registry, repository=path, tag=tag, digest=digest)
