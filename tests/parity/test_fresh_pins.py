"""Fresh pins against the real local registry: `pin --check` catches digests that do not exist
and tags that moved; `pin --update` refreshes stale pins in place, keeping formatting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.registry

ZERO = "sha256:" + "0" * 64


@pytest.fixture
def moved(registry):  # type: ignore[no-untyped-def]
    """fresh/app:1 pushed twice: (host, old digest, new digest); fresh/app:2 once (its digest)."""
    from supplychain.oci.registry import RegistryClient
    from tests import imagebuild

    client = RegistryClient()
    ref = f"{registry.host}/fresh/app:1"
    old = imagebuild.push_image(client, ref, imagebuild.build_image([[imagebuild.File("a", b"old\n")]]))
    new = imagebuild.push_image(client, ref, imagebuild.build_image([[imagebuild.File("a", b"new\n")]]))
    two = imagebuild.push_image(client, f"{registry.host}/fresh/app:2",
                                imagebuild.build_image([[imagebuild.File("a", b"two\n")]]))
    assert old != new
    return registry.host, old, new, two


def test_made_up_digest_fails_check(tmp_path: Path, moved) -> None:  # type: ignore[no-untyped-def]
    host, _old, _new, two = moved
    f = tmp_path / "Dockerfile"
    f.write_text(f"FROM {host}/fresh/app:1@{ZERO}\nFROM {host}/fresh/app:2@{two}\nUSER 1\n")
    assert run_cli("pin", "--check", "--offline", str(f)).exit_code == 0  # syntactically pinned
    r = run_cli("pin", "--check", str(f), "--format", "json")
    assert r.exit_code == 1, r.stdout + r.stderr
    entries = json.loads(r.stdout)["entries"]
    assert [e["status"] for e in entries] == ["missing", "already-pinned"]
    assert "does not exist" in entries[0]["reason"]
    assert "missing from their registry" in r.stderr


def test_moved_tag_is_stale_and_update_refreshes_in_place(tmp_path: Path, moved) -> None:  # type: ignore[no-untyped-def]
    host, old, new, two = moved
    compose = tmp_path / "compose.yaml"
    text = (f"services:\n  web:   # the web\n    image: \"{host}/fresh/app:1@{old}\"  # keep\n"
            f"  other:\n    image: {host}/fresh/app:2@{two}\n"
            f"  gone:\n    image: {host}/fresh/app:nope@{two}\n")
    compose.write_bytes(text.replace("\n", "\r\n").encode())
    r = run_cli("pin", "--check", str(compose))
    assert r.exit_code == 1
    assert f"stale {host}/fresh/app:1@{old}: tag 1 now points at {new}" in r.stdout
    assert "tag nope no longer exists" in r.stdout
    assert "2 stale, 0 missing" in r.stdout
    before = compose.read_bytes()

    u = run_cli("pin", "--update", str(compose))
    assert u.exit_code == 1, u.stdout + u.stderr  # the pin of a vanished tag cannot be refreshed
    assert f"updated {host}/fresh/app:1@{old} -> {host}/fresh/app:1@{new}" in u.stdout
    after = compose.read_bytes()
    assert after == before.replace(old.encode(), new.encode())  # only the digest changed, CRLF kept
    r = run_cli("pin", "--check", str(compose), "--format", "json")
    assert [e["status"] for e in json.loads(r.stdout)["entries"]] == ["already-pinned", "already-pinned", "stale"]


def test_update_is_a_no_op_when_fresh(tmp_path: Path, moved) -> None:  # type: ignore[no-untyped-def]
    host, _old, new, _two = moved
    f = tmp_path / "images.txt"
    f.write_text(f"{host}/fresh/app:1@{new}\n")
    u = run_cli("pin", "--update", str(f))
    assert u.exit_code == 0, u.stdout + u.stderr
    assert "0 updated in 0 file(s), 1 fresh" in u.stdout
    assert run_cli("pin", "--check", str(f)).exit_code == 0


def test_update_and_check_are_exclusive(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a:1\n")
    r = run_cli("pin", "--update", "--check", str(tmp_path))
    assert r.exit_code == 2 and "cannot be combined" in r.stderr
    r = run_cli("pin", "--offline", str(tmp_path))
    assert r.exit_code == 2 and "--offline" in r.stderr
