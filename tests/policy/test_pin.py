"""`supplychain pin` against the real local registry: in-place rewrite keeping comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def pushed(registry):  # type: ignore[no-untyped-def]
    from supplychain.oci.registry import RegistryClient
    from tests import imagebuild

    client = RegistryClient()
    digests = {}
    for i, ref in enumerate(("team/app:1.0", "team/app:latest", "base:3")):
        image = imagebuild.build_image([[imagebuild.File(f"etc/img{i}", f"image {i}\n".encode())]])
        digests[ref] = imagebuild.push_image(client, f"{registry.host}/{ref}", image)
    return registry.host, digests


def _write(tmp_path: Path, host: str) -> dict[str, Path]:
    files = {
        "Dockerfile": f"# build\nARG X=1\nFROM {host}/base:3 AS build\n# base stage\nRUN true\n"
                      f"FROM build\nCOPY --from={host}/team/app /x /x\nUSER 1000\n",
        "compose.yaml": f"services:\n  web:\n    # the app\n    image: \"{host}/team/app:1.0\"   # keep me\n"
                        f"  other:\n    image: {host}/team/app:1.0@sha256:{'0' * 64}\n",
        "k8s/deploy.yaml": f"---\n# comment\napiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n"
                           f"  containers:\n    - name: a\n      image: '{host}/team/app:1.0'\n"
                           f"    - {{name: b, image: {host}/base:3}}\n",
        "images.txt": f"# list\n{host}/base:3  # trailing\n\n{host}/team/app\r\n",
    }
    out = {}
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode())
        out[name] = p
    return out


def test_pin_rewrites_in_place(tmp_path: Path, pushed) -> None:  # type: ignore[no-untyped-def]
    host, digests = pushed
    files = _write(tmp_path, host)
    before = {n: p.read_bytes() for n, p in files.items()}
    check = run_cli("pin", str(tmp_path), "--check")
    assert check.exit_code == 1, check.stderr
    assert "7 unpinned" in check.stdout
    assert {n: p.read_bytes() for n, p in files.items()} == before  # --check writes nothing

    r = run_cli("pin", str(tmp_path), "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert sum(1 for e in doc["entries"] if e["status"] == "pinned") == 7
    assert len(doc["files_changed"]) == 4

    app, latest, base = digests["team/app:1.0"], digests["team/app:latest"], digests["base:3"]
    assert files["Dockerfile"].read_text() == (
        f"# build\nARG X=1\nFROM {host}/base:3@{base} AS build\n# base stage\nRUN true\n"
        f"FROM build\nCOPY --from={host}/team/app:latest@{latest} /x /x\nUSER 1000\n")
    assert files["compose.yaml"].read_text() == (
        f"services:\n  web:\n    # the app\n    image: \"{host}/team/app:1.0@{app}\"   # keep me\n"
        f"  other:\n    image: {host}/team/app:1.0@sha256:{'0' * 64}\n")
    k8s = files["k8s/deploy.yaml"].read_text()
    assert f"      image: '{host}/team/app:1.0@{app}'\n" in k8s
    assert f"    - {{name: b, image: {host}/base:3@{base}}}\n" in k8s and "# comment" in k8s
    assert files["images.txt"].read_bytes() == (
        f"# list\n{host}/base:3@{base}  # trailing\n\n{host}/team/app:latest@{latest}\r\n").encode()

    again = run_cli("pin", str(tmp_path), "--check", "--offline")
    assert again.exit_code == 0, again.stdout
    # asking the registry: the made-up sha256:000... pin of "other" does not exist there
    online = run_cli("pin", str(tmp_path), "--check")
    assert online.exit_code == 1, online.stdout + online.stderr
    assert f"compose.yaml:6:12: missing {host}/team/app:1.0@sha256:{'0' * 64}" in online.stdout
    assert "1 missing" in online.stdout
    policy = run_cli("policy", "check", str(tmp_path), "--trusted-registry", host, "--format", "json")
    rules = {f["rule"] for f in json.loads(policy.stdout)["findings"]}
    assert "SC-IMG-002" not in rules and "SC-IMG-001" not in rules


def test_pin_unknown_tag_is_registry_error_and_writes_nothing(tmp_path: Path, pushed) -> None:  # type: ignore[no-untyped-def]
    host, _ = pushed
    lst = tmp_path / "images.txt"
    lst.write_text(f"{host}/base:3\n{host}/team/app:no-such-tag\n")
    r = run_cli("pin", str(lst))
    assert r.exit_code == 3, r.stderr
    assert "no-such-tag" in r.stderr
    assert lst.read_text() == f"{host}/base:3\n{host}/team/app:no-such-tag\n"


def test_arg_defaults_are_pinned_and_variables_skipped(tmp_path: Path, pushed) -> None:  # type: ignore[no-untyped-def]
    host, digests = pushed
    d = tmp_path / "Dockerfile"
    d.write_text(f'ARG BASE="{host}/base:3"\nARG TAG=1.0\nFROM ${{BASE}} AS a\nFROM ${{BASE}}\n'
                 f"COPY --from={host}/team/app:${{TAG}} /x /x\nUSER 1\n")
    r = run_cli("pin", str(d))
    assert r.exit_code == 0, r.stderr
    assert "skipped" in r.stdout and "built from variables" in r.stdout
    assert d.read_text() == (f'ARG BASE="{host}/base:3@{digests["base:3"]}"\nARG TAG=1.0\nFROM ${{BASE}} AS a\n'
                             f"FROM ${{BASE}}\nCOPY --from={host}/team/app:${{TAG}} /x /x\nUSER 1\n")
    assert run_cli("pin", str(d), "--check", "--offline").exit_code == 1  # the COPY --from still is not pinned
