"""pin --check never reports success on a reference it cannot parse; walks include JSON and kustomizations."""

from __future__ import annotations

from pathlib import Path

from supplychain.policy.config import default_policy
from supplychain.policy.engine import check_paths
from tests.conftest import run_cli

DIGEST = "sha256:" + "ab" * 32


def test_pin_check_fails_on_an_unparsable_reference(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM Bad_Image::x\nUSER 1\n")
    r = run_cli("pin", str(tmp_path), "--check", "--offline")
    assert r.exit_code == 1
    assert "Bad_Image::x" in r.stdout and "do not parse" in r.stderr


def test_pin_check_fails_on_an_unresolvable_input(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f"  - name: a\n    image: trusted.io/a:1@{DIGEST}\n    image: evil.io/b:1@{DIGEST}\n")
    r = run_cli("pin", str(tmp_path), "--check", "--offline")
    assert r.exit_code == 1, r.stdout
    assert "duplicated" in r.stdout


def test_pin_check_passes_when_everything_is_pinned(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(f"# syntax=docker/dockerfile:1@{DIGEST}\nFROM trusted.io/a:1@{DIGEST}\nUSER 1\n")
    r = run_cli("pin", str(tmp_path), "--check", "--offline")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_directory_walk_reads_json_manifests_and_skips_other_json(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "x", "dependencies": {"image": "1"}}')
    (tmp_path / "pod.json").write_text(
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},'
        ' "spec": {"containers": [{"name": "a", "image": "evil.io/x:1"}]}}')
    report = check_paths([str(tmp_path)], default_policy())
    assert [u.text for u in report.images] == ["evil.io/x:1"]
    assert [f.kind for f in report.files] == ["kubernetes"]  # package.json is not even parsed


def test_policy_check_cli_reports_a_refusal_as_an_error(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f"  - name: a\n    image: docker.io/library/nginx:1@{DIGEST}\n    <<: {{image: evil.io/x:1}}\n")
    r = run_cli("policy", "check", str(tmp_path / "pod.yaml"), "--format", "json")
    assert r.exit_code == 1
    assert '"SC-GATE-007"' in r.stdout


def test_deeply_nested_json_is_an_input_error_not_a_crash(tmp_path: Path) -> None:
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    r = run_cli("policy", "check", str(p))
    assert r.exit_code == 2 and "nested too deeply" in r.stderr


def test_skipped_directories_still_yield_their_manifests_but_not_other_files(tmp_path: Path) -> None:
    nm = tmp_path / "node_modules" / "pkg"
    nm.mkdir(parents=True)
    (nm / "package.json").write_text('{"name": "pkg"}')
    (nm / "README.yaml").write_text("title: nothing to deploy\n")
    (nm / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                                 "spec: {containers: [{name: a, image: evil.io/x:1}]}\n")
    report = check_paths([str(tmp_path)], default_policy())
    assert [u.text for u in report.images] == ["evil.io/x:1"]
    assert [f.path.rsplit("/", 1)[-1] for f in report.files] == ["pod.yaml"]


def test_a_json_compose_file_is_judged(tmp_path: Path) -> None:
    (tmp_path / "stack.json").write_text('{"services": {"web": {"image": "evil.io/web:1"}}}')
    report = check_paths([str(tmp_path)], default_policy())
    assert [u.text for u in report.images] == ["evil.io/web:1"]


def test_mount_flags_in_any_case_and_csv_quoting_are_images(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        'FROM trusted.io/a:1\nRUN --network=none --mount=type=bind,"FROM=evil.io/q:1",target=/t '
        "--mount='type=cache,from=evil.io/c:1,target=/c' true\nUSER 1\n")
    report = check_paths([str(tmp_path / "Dockerfile")], default_policy())
    assert sorted(u.text for u in report.images) == ["evil.io/c:1", "evil.io/q:1", "trusted.io/a:1"]


def test_syntax_frontend_is_the_first_word_and_a_shebang_does_not_hide_it(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("#!/usr/bin/env -S docker build -f\n#  SYNTAX = evil.io/front:1 opt=1\n"
                                         "FROM trusted.io/a:1\nUSER 1\n")
    report = check_paths([str(tmp_path / "Dockerfile")], default_policy())
    assert sorted(u.text for u in report.images) == ["evil.io/front:1", "trusted.io/a:1"]


def test_a_slash_comment_directive_is_not_silently_ignored(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("// syntax=evil.io/front:1\nFROM trusted.io/a:1\nUSER 1\n")
    r = run_cli("policy", "check", str(tmp_path / "Dockerfile"))
    assert r.exit_code == 2  # BuildKit would load that frontend: never a pass
