"""Image reference parsing, normalised like docker."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError
from supplychain.oci.reference import Reference, parse_reference

D = "sha256:" + "a" * 64

CASES = [
    ("alpine", "docker.io", "library/alpine", "latest", None),
    ("alpine:3.19", "docker.io", "library/alpine", "3.19", None),
    ("library/alpine", "docker.io", "library/alpine", "latest", None),
    ("user/app:v1", "docker.io", "user/app", "v1", None),
    ("docker.io/alpine", "docker.io", "library/alpine", "latest", None),
    ("index.docker.io/library/alpine:1", "docker.io", "library/alpine", "1", None),
    ("ghcr.io/org/team/app:1.2.3", "ghcr.io", "org/team/app", "1.2.3", None),
    (f"alpine@{D}", "docker.io", "library/alpine", None, D),
    (f"alpine:3@{D}", "docker.io", "library/alpine", "3", D),
    ("localhost/app", "localhost", "app", "latest", None),
    ("localhost:5000/app:dev", "localhost:5000", "app", "dev", None),
    ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", "latest", None),
    ("[::1]:5000/app:x", "[::1]:5000", "app", "x", None),
    ("registry.example.com:443/a_b/c__d/e-f--g.h:TAG_1", "registry.example.com:443", "a_b/c__d/e-f--g.h", "TAG_1", None),
    ("myhost:5000/app", "myhost:5000", "app", "latest", None),
]


@pytest.mark.parametrize(("text", "registry", "repo", "tag", "digest"), CASES)
def test_parse(text: str, registry: str, repo: str, tag: str | None, digest: str | None) -> None:
    r = parse_reference(text)
    assert (r.registry, r.repository, r.tag, r.digest) == (registry, repo, tag, digest)
    # str() is the normalised form and parses back to the same reference
    assert parse_reference(str(r)) == r


def test_str_and_helpers() -> None:
    r = parse_reference("alpine:3.19")
    assert str(r) == "docker.io/library/alpine:3.19"
    assert r.api_host == "registry-1.docker.io"
    assert r.reference == "3.19"
    pinned = r.with_digest(D)
    assert str(pinned) == f"docker.io/library/alpine@{D}"
    assert pinned.reference == D
    assert str(r.with_digest(D, keep_tag=True)) == f"docker.io/library/alpine:3.19@{D}"
    assert parse_reference("app", default_tag=None).tag is None
    assert str(Reference("ghcr.io", "o/r", "1")) == "ghcr.io/o/r:1"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("Alpine", "lowercase"),
        ("docker.io/Library/alpine", "lowercase"),
        ("alpine:", "tag"),
        ("alpine:-bad", "tag"),
        ("alpine:" + "x" * 129, "tag"),
        ("alpine@sha256:abc", "digest"),
        ("alpine@md5:" + "a" * 32, "algorithm"),
        ("alpine@sha256:" + "A" * 64, "digest"),
        ("a//b", "component"),
        ("-a/b", "component"),
        ("a b", "whitespace"),
        ("host:99999/app", "registry host"),
        ("host_x.com/app", "registry host"),
        ("ghcr.io/" + "a" * 300, "255"),
        ("ghcr.io/", "component"),
        (":tag", "repository"),
    ],
)
def test_invalid(text: str, needle: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_reference(text)
    assert needle in str(exc.value) or (exc.value.hint and needle in exc.value.hint)


def test_with_digest_validates() -> None:
    with pytest.raises(InputError):
        parse_reference("a").with_digest("sha256:xyz")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_junk_never_crashes(text: str) -> None:
    try:
        r = parse_reference(text)
    except InputError:
        return
    assert parse_reference(str(r)) == r


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z0-9.:/_@-]{1,40}", fullmatch=True))
def test_reference_like_junk(text: str) -> None:
    try:
        r = parse_reference(text)
    except InputError:
        return
    assert r.repository and r.registry
    assert parse_reference(str(r)) == r
