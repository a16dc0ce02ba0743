"""Shared helpers for image signing tests: key pairs, images pushed to the local registry."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.imagebuild import File, build_image, push_image

PASSWORD = "correct horse battery staple"
ENV = {"SUPPLYCHAIN_PASSWORD": PASSWORD}
_counter = itertools.count()


@dataclass
class KeyPair:
    private: Path
    public: Path


def make_keypair(directory: Path, name: str) -> KeyPair:
    from supplychain.signing.keys import generate_keypair

    paths = generate_keypair(str(directory / name), password=PASSWORD.encode())
    return KeyPair(paths.private, paths.public)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyPair]:
    d = tmp_path_factory.mktemp("keys")
    return {name: make_keypair(d, name) for name in ("release", "other")}


@pytest.fixture(scope="session")
def client():  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient

    return RegistryClient()


@pytest.fixture(scope="session")
def push(registry, client) -> Callable[..., tuple[str, str]]:  # type: ignore[no-untyped-def]
    """push(repo, tag, content=...) -> (tag reference, digest) of a fresh small image."""

    def _push(repo: str, tag: str = "1.0", content: str | None = None) -> tuple[str, str]:
        n = next(_counter)
        body = (content or f"image {repo}:{tag} #{n}\n").encode()
        image = build_image([[File("app/hello.txt", body)]])
        ref = f"{registry.host}/{repo}:{tag}"
        digest = push_image(client, ref, image)
        return ref, digest

    return _push


from tests.sigstore_local import local_sigstore  # noqa: E402, F401
