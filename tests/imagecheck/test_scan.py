"""Image checks on real (built) images: secrets per layer, deleted ones, config rules, the CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from supplychain.oci.image import open_image
from supplychain.policy.config import default_policy, load_policy
from supplychain.policy.imagecheck import content as ct
from supplychain.policy.imagecheck import register
from supplychain.policy.imagecheck.scan import ImageScan, scan_image
from supplychain.sbom.image import catalog_image
from tests.imagebuild import Dir, File, Hardlink, Raw, Whiteout, build_image, layer_tar, write_oci_layout
from tests.imagecheck.samples import pem_key, rand

register()


def _layout(tmp_path: Path, layers: list[Any], config: dict[str, Any] | None = None, name: str = "img") -> str:
    cfg = {"config": {"User": "10001", "Env": ["PATH=/usr/bin"], "WorkingDir": "/app"}, "history": []}
    if config:
        cfg.update(config)
    write_oci_layout(tmp_path / name, build_image(layers, config=cfg))
    return f"oci:{tmp_path / name}"


def _scan(source: str, **kw: Any) -> ImageScan:
    with open_image(source) as im:
        return scan_image(im, default_policy(), **kw)


def _rules(scan: ImageScan) -> list[str]:
    return sorted(f.rule for f in scan.findings())


def _owned(path: str, uid: int, gid: int, mode: int, data: bytes | None = None) -> Raw:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.uid, info.gid, info.mode = uid, gid, mode
    if data is None:
        info.type = tarfile.DIRTYPE
        return Raw(info)
    return Raw(info, data)


def test_deleted_key_is_reported_with_both_layers(tmp_path: Path) -> None:
    key = pem_key()
    src = _layout(tmp_path, [
        [Dir("/root"), File("/root/.ssh/id_ecdsa", key, 0o600), File("/app/main.py", b"print('hi')\n")],
        [Whiteout("/root/.ssh/id_ecdsa")],
    ])
    scan = _scan(src)
    [f] = scan.findings()
    assert f.rule == "IMG-SEC-001" and f.extra["path"] == "/root/.ssh/id_ecdsa"
    assert "removed in layer 2 but still shipped in layer 1" in f.message
    assert f.extra["layer"] == scan.layers[0] and scan.layers[0] in f.message
    assert key.decode() not in f.message and key.split(b"\n")[1].decode() not in json.dumps(f.extra)


def test_overwritten_and_opaque_deleted_secrets_are_still_shipped(tmp_path: Path) -> None:
    pw = rand(20)
    src = _layout(tmp_path, [
        [File("/app/.env", f"DB_PASSWORD={pw}\n".encode()), File("/srv/conf/.npmrc", f"//r/:_authToken={rand(30)}\n".encode())],
        [File("/app/.env", b"DB_PASSWORD=\n"), Dir("/srv/conf"), Raw(_opaque("srv/conf"))],
    ])
    msgs = {f.rule: f.message for f in _scan(src).findings()}
    assert "removed in layer 2" in msgs["IMG-SEC-020"] and "removed in layer 2" in msgs["IMG-SEC-022"]


def _opaque(d: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(d + "/.wh..wh..opq")


def test_secret_present_in_final_image_and_via_hardlink(tmp_path: Path) -> None:
    token = "ghp_" + rand(36)
    src = _layout(tmp_path, [
        [File("/app/deploy.sh", f"curl -H 'Authorization: token {token}'\n".encode()),
         Hardlink("/app/copy.sh", "/app/deploy.sh")],
        [Whiteout("/app/deploy.sh")],
    ])
    [f] = _scan(src).findings()
    assert f.rule == "IMG-SEC-007" and "in layer 1" in f.message and "removed" not in f.message


def test_credential_files_git_and_history(tmp_path: Path) -> None:
    pw = rand(18)
    auth = json.dumps({"http-basic": {"repo.packagist.com": {"username": "token", "password": pw}}}).encode()
    docker = json.dumps({"auths": {"ghcr.io": {"auth": rand(32)}}}).encode()
    src = _layout(tmp_path, [[
        File("/app/auth.json", auth), File("/root/.docker/config.json", docker),
        File("/root/.pypirc", f"[pypi]\npassword = {pw}\n".encode()),
        File("/root/.netrc", f"machine x login y password {pw}\n".encode()),
        File("/root/.git-credentials", f"https://me:{pw}@github.com\n".encode()),
        File("/app/.git/HEAD", b"ref: refs/heads/main\n"), File("/app/.git/config", b"[core]\n"),
        File("/root/.bash_history", b"ls\n"), File("/home/u/.zsh_history", b""),
    ]])
    assert _rules(_scan(src)) == ["IMG-SEC-021", "IMG-SEC-023", "IMG-SEC-024", "IMG-SEC-025", "IMG-SEC-026",
                                  "IMG-SEC-030", "IMG-SEC-031"]


def test_fixtures_examples_and_binaries_are_not_findings(tmp_path: Path) -> None:
    key = pem_key()
    src = _layout(tmp_path, [[
        File("/usr/lib/python3/dist-packages/requests/tests/key.pem", key),
        File("/usr/lib/python3.11/test/keycert.pem", key),
        File("/app/node_modules/jws/test/fixtures/private.pem", key),
        File("/app/README.md", b"export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"),
        File("/app/.env.example", b"DB_PASSWORD=" + rand(12).encode() + b"\n"),
        File("/app/blob.bin", b"\x7fELF" + key),
    ]])
    scan = _scan(src)
    assert scan.findings() == []
    # distribution trees (/usr/lib/python3*) are not content-scanned; the others are allow-listed
    assert scan.stats.allowlisted == 2


def test_large_file_skipped_by_size_without_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ct, "MAX_SCAN", 1024)
    src = _layout(tmp_path, [[File("/app/big.txt", b"a" * 4000 + b"ghp_" + rand(36).encode()),
                              File("/app/.env", b"API_TOKEN=" + rand(20).encode() + b"\n")]])
    scan = _scan(src)
    assert _rules(scan) == ["IMG-SEC-020"]
    assert scan.stats.skipped_large == 1 and "/app/big.txt" in scan.notes()[0]


def test_config_rules(tmp_path: Path) -> None:
    passwd = b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\ntoor:x:0:0::/:/bin/sh\n"
    group = b"root:x:0:\napp:x:1000:\nstaff:x:50:app\n"
    base = [File("/etc/passwd", passwd), File("/etc/group", group)]
    for user, root in (("", True), ("root", True), ("0", True), ("0:0", True), ("toor", True), ("app", False),
                       ("1000:1000", False)):
        src = _layout(tmp_path, [base], {"config": {"User": user}}, name=f"u{user.replace(':', '_')}")
        assert ("IMG-CFG-001" in _rules(_scan(src))) is root, user
    token = "npm_" + rand(36)
    src = _layout(tmp_path, [base, [_owned("/app", 1000, 1000, 0o755), _owned("/usr/bin/helper", 0, 0, 0o4755, b"x")]], {
        "config": {"User": "app", "WorkingDir": "/app", "ExposedPorts": {"6379/tcp": {}, "8080/tcp": {}},
                   "Env": ["PATH=/usr/bin", "DB_PASSWORD=" + rand(12), "API_TOKEN=", "SECRET_FILE=/run/secrets/x"]},
        "history": [{"created_by": "ARG NPM_TOKEN"}, {"created_by": f"RUN |1 NPM_TOKEN={token} /bin/sh -c npm ci"},
                    {"created_by": "ENV DB_PASSWORD=${DB_PASSWORD}"}]}, name="cfg")
    scan = _scan(src)
    assert _rules(scan) == ["IMG-CFG-002", "IMG-CFG-003", "IMG-CFG-004", "IMG-CFG-004", "IMG-CFG-005", "IMG-CFG-006"]
    text = json.dumps([f.message for f in scan.findings()])
    assert token not in text and "DB_PASSWORD" in text
    # the same image config with a root-owned, read-only app dir and the setuid file in the base layer
    src = _layout(tmp_path, [[*base, _owned("/usr/bin/helper", 0, 0, 0o4755, b"x")], [_owned("/app", 0, 0, 0o755)]],
                  {"config": {"User": "app", "WorkingDir": "/app"}}, name="ok")
    assert _rules(_scan(src)) == []
    # group-writable by a supplementary group of the user
    src = _layout(tmp_path, [[*base, _owned("/app", 0, 50, 0o775)]], {"config": {"User": "app", "WorkingDir": "/app"}},
                  name="grp")
    assert _rules(_scan(src)) == ["IMG-CFG-005"]


def test_same_single_pass_as_the_sbom(tmp_path: Path) -> None:
    pw = rand(16)
    src = _layout(tmp_path, [[
        File("/etc/os-release", b"ID=debian\nVERSION_ID=12\n"),
        File("/app/node_modules/left-pad/package.json", b'{"name": "left-pad", "version": "1.3.0"}'),
        File("/app/.env", f"SECRET_KEY={pw}\n".encode()),
    ]])
    scan = ImageScan(default_policy())
    opened: list[int] = []
    with open_image(src) as im:
        real = im.open_layer

        def counting(desc: Any, on_read: Any = None) -> Any:
            opened.append(1)
            return real(desc, on_read)

        im.open_layer = counting  # type: ignore[method-assign]
        _root, packages = catalog_image(im, also=scan)
    assert len(opened) == 1  # one layer, read once for both
    assert any(p.name == "left-pad" for p in packages)
    assert [f.rule for f in scan.findings()] == ["IMG-SEC-020"]


def test_hostile_layers_do_not_crash(tmp_path: Path) -> None:
    deep = b'{"auths": ' * 200_000
    bad_utf8 = b"DB_PASSWORD=\xff\xfe" + rand(10).encode() + b"\n"
    pem_no_end = b"-----BEGIN PRIVATE KEY-----\n" + b"A" * 200_000
    many = b"\n".join(b"eyJ" + rand(20).encode() + b".eyJ" + rand(20).encode() + b"." + rand(20).encode()
                      for _ in range(2000))
    src = _layout(tmp_path, [[
        File("/root/.docker/config.json", deep), File("/app/.env", bad_utf8), File("/app/k.pem", pem_no_end),
        File("/app/jwts.txt", many), File("/app/auth.json", b"\xff" * 100),
    ], layer_tar([File("/app/x", b"1")])])
    assert _rules(_scan(src)) == ["IMG-SEC-020"]


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supplychain", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_cli_policy_check_image_json_sarif_and_waiver(tmp_path: Path) -> None:
    token = "glpat-" + rand(20)
    src = _layout(tmp_path, [[File("/app/ci.sh", f"TOKEN={token}\n".encode()), File("/app/ok.py", b"x = 1\n")]])
    r = _cli("policy", "check", src, "--json")
    assert r.returncode == 1, r.stderr
    assert token not in r.stdout + r.stderr
    doc = json.loads(r.stdout)
    [f] = [f for f in doc["findings"] if f["rule"] == "IMG-SEC-008"]
    assert "/app/ci.sh" in f["message"] and "IMG-SEC-008:" in f["message"]
    r = _cli("policy", "check", src, "--format", "sarif")
    sarif = json.loads(r.stdout)
    import jsonschema  # type: ignore[import-untyped, unused-ignore]

    schema = json.loads((Path(__file__).parent.parent / "policy/data/sarif-2.1.0-rtm.5.json").read_text())
    assert list(jsonschema.Draft4Validator(schema).iter_errors(sarif)) == []
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "IMG-SEC-008" in rule_ids and "IMG-CFG-001" in rule_ids
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nextends: default\nwaivers:\n  - rule: IMG-SEC-008\n    path: /app/*.sh\n"
                      "    reason: rotated, TICKET-1\n    expires: 2099-01-01\n")
    load_policy(policy)
    r = _cli("policy", "check", src, "--policy", str(policy), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["summary"]["waived"] == 1
    r = _cli("policy", "check", "oci:" + str(tmp_path / "nope"))
    assert r.returncode == 2 and "nope" in r.stderr and "Traceback" not in r.stderr


def test_image_source_detection(tmp_path: Path) -> None:
    from supplychain.policy.imagecheck.sources import is_image_source

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    src = _layout(tmp_path, [[File("/a", b"1")]])
    assert is_image_source(src) and is_image_source(src[4:]) and is_image_source("ghcr.io/acme/app:1.0")
    assert is_image_source("docker-archive:x.tar") and is_image_source("nginx:1.27")
    assert not is_image_source(str(tmp_path / "Dockerfile")) and not is_image_source(str(tmp_path))
    assert not is_image_source("-") and not is_image_source("deploy") and not is_image_source("./missing.yaml")
    tar = tmp_path / "t.tar"
    with tarfile.open(tar, "w") as tf:
        tf.addfile(tarfile.TarInfo("x"), io.BytesIO(b""))
    assert is_image_source(str(tar))
