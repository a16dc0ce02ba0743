"""The secret rule table, one rule at a time, both ways, with each prefilter engine."""

from __future__ import annotations

import hashlib

import pytest

from supplychain.policy.imagecheck import content as ct
from supplychain.policy.imagecheck.table import (
    SECRET_RULES,
    is_env_file,
    is_fixture,
    parse_composer_auth,
    parse_docker_config,
    parse_env,
    parse_netrc,
    parse_npmrc,
    parse_pypirc,
    parse_url_credentials,
)
from tests.imagecheck.samples import CONTENT_CASES, rand

ENGINES = ["re"] + (["hyperscan"] if ct.prefilter().engine == "hyperscan" else [])


def _prefilter(engine: str) -> ct.Prefilter:
    return ct.Prefilter(ct.CONTENT_RULES, use_hyperscan=engine == "hyperscan")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("rule", "positive", "negative"), CONTENT_CASES, ids=[c[0] for c in CONTENT_CASES])
def test_content_rule_both_ways(engine: str, rule: str, positive: str, negative: str) -> None:
    pf = _prefilter(engine)
    found = [m for m in ct.match_content(positive.encode(), pf) if m.allowed is None]
    assert rule in {m.rule.id for m in found}, positive
    # surrounded by other text, in the middle of a big file, it is still found
    big = b"x = 1\n" * 50_000 + positive.encode() + b"\n" + b"y = 2\n" * 50_000
    assert rule in {m.rule.id for m in ct.match_content(big, pf) if m.allowed is None}
    assert not [m for m in ct.match_content(negative.encode(), pf) if m.allowed is None and m.rule.id == rule]


def test_every_content_rule_has_cases() -> None:
    assert {r.id for r in ct.CONTENT_RULES} == {c[0] for c in CONTENT_CASES}


def test_fingerprint_is_rule_and_sha256_of_value_never_the_value() -> None:
    token = "ghp_" + rand(36)
    [m] = list(ct.match_content(f"x={token}\n".encode()))
    assert m.fingerprint == "IMG-SEC-007:" + hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(m)


def test_documented_examples_are_allow_listed_not_dropped() -> None:
    found = list(ct.match_content(b"AKIAIOSFODNN7EXAMPLE"))
    assert [(m.rule.id, m.allowed) for m in found] == [("IMG-SEC-003", "documented example value")]


def test_matches_per_file_are_bounded() -> None:
    data = "\n".join("ghp_" + rand(36) for _ in range(500)).encode()
    assert len(list(ct.match_content(data))) == ct.MAX_MATCHES_PER_RULE


def test_binary_detection_and_names() -> None:
    assert ct.binary(b"\x7fELF\x02\x01") and not ct.binary(b"\0-----BEGIN") and not ct.binary(b"KEY=value\n")
    assert ct.skip_by_name("/usr/lib/x.so") and ct.skip_by_name("/a/b.PNG") and not ct.skip_by_name("/app/.env")
    assert not ct.skip_by_name("/etc/ssl/private/key.pem")
    assert ct.skip_by_name("/usr/lib/x86_64-linux-gnu/libssl.so.3") and ct.skip_by_name("/usr/share/nodejs/a/b.js")
    assert ct.skip_by_name("/usr/lib/python3.11/json/decoder.py")
    assert not ct.skip_by_name("/usr/lib/python3.11/site-packages/app/settings.py")
    assert not ct.skip_by_name("/usr/local/lib/python3.11/dist-packages/app/settings.py")
    assert not ct.skip_by_name("/app/node_modules/x/index.js") and not ct.skip_by_name("/opt/app/.env.production")


def test_file_parsers_both_ways() -> None:
    pw = rand(16)
    assert [w for w, _v in parse_env(f"DB_PASSWORD={pw}\nAPP_NAME=shop\n".encode())] == ["DB_PASSWORD"]
    assert list(parse_env(b"DB_PASSWORD=\nAPI_TOKEN=${API_TOKEN}\nDB_PASSWORD_FILE=/run/secrets/db\n# SECRET=x\n")) == []
    assert [w for w, _ in parse_npmrc(f"//registry.npmjs.org/:_authToken={pw}\n".encode())] == \
        ["//registry.npmjs.org/:_authToken"]
    assert list(parse_npmrc(b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\nregistry=https://r\n")) == []
    assert [w for w, _ in parse_pypirc(f"[pypi]\nusername = __token__\npassword = {pw}\n".encode())] == ["[pypi] password"]
    assert list(parse_pypirc(b"[pypi]\nusername = me\n")) == []
    assert [w for w, _ in parse_netrc(f"machine api.acme.test login me password {pw}\n".encode())] == \
        ["machine api.acme.test"]
    assert list(parse_netrc(b"machine api.acme.test login me\n")) == []
    assert [w for w, _ in parse_url_credentials(f"https://me:{pw}@github.com\n".encode())] == ["credentials for github.com"]
    assert list(parse_url_credentials(b"[remote \"origin\"]\n\turl = https://github.com/acme/app.git\n")) == []
    auth = f'{{"http-basic": {{"repo.acme.test": {{"username": "me", "password": "{pw}"}}}}, "github-oauth": {{"github.com": "{pw}x"}}}}'
    assert sorted(w for w, _ in parse_composer_auth(auth.encode())) == ["github-oauth github.com", "http-basic repo.acme.test"]
    assert list(parse_composer_auth(b'{"name": "acme/app", "require": {}}')) == []
    assert list(parse_composer_auth(b"[" * 100_000)) == []  # hostile nesting: not JSON, no crash
    dcfg = f'{{"auths": {{"ghcr.io": {{"auth": "{rand(24)}"}}}}}}'
    assert [w for w, _ in parse_docker_config(dcfg.encode())] == ["auths ghcr.io auth"]
    assert list(parse_docker_config(b'{"auths": {"ghcr.io": {}}, "credsStore": "desktop"}')) == []


def test_env_file_names_and_fixtures() -> None:
    assert is_env_file("/app/.env") and is_env_file("/app/.env.production") and is_env_file("/srv/prod.env")
    assert not is_env_file("/app/.env.example") and not is_env_file("/app/.envrc")
    assert is_fixture("/usr/lib/python3/dist-packages/foo/tests/key.pem")
    assert is_fixture("/app/node_modules/jws/test/fixtures/key.pem")
    assert is_fixture("/usr/lib/python3.11/test/keycert.pem")
    assert not is_fixture("/app/config/key.pem") and not is_fixture("/root/.ssh/id_rsa")


def test_rule_ids_unique_and_table_complete() -> None:
    ids = [r.id for r in SECRET_RULES]
    assert len(ids) == len(set(ids))
    for r in SECRET_RULES:
        assert r.summary.endswith(".") and r.help
        if r.kind == "content":
            assert r.anchors and r.pattern is not None and r.check is not None
        else:
            assert r.files is not None
