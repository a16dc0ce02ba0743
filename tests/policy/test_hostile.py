"""Hostile and malformed input: clear errors, exit 2, no traceback, bounded work."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError
from supplychain.policy.config import default_policy
from supplychain.policy.context import Collector
from supplychain.policy.engine import COMPOSE, DOCKERFILE, check_text
from supplychain.policy.yamlsrc import MAX_FILE_SIZE, load_all, load_one
from tests.conftest import run_cli

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
services:
  web:
    image: nginx
    environment: *i
"""


def _run(tmp_path: Path, name: str, content: bytes) -> tuple[int, str]:
    p = tmp_path / name
    p.write_bytes(content)
    r = run_cli("policy", "check", str(p))
    assert "Traceback" not in r.stderr
    return r.exit_code, r.stderr


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    code, err = _run(tmp_path, "compose.yaml", BILLION_LAUGHS.encode())
    assert code == 2
    assert "alias" in err and "compose.yaml" in err


def test_alias_bomb_refused_as_policy_too(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text("version: 1\n" + BILLION_LAUGHS.replace("services:", "x-services:"))
    r = run_cli("policy", "check", str(tmp_path), "--policy", str(p))
    assert r.exit_code == 2 and "alias" in r.stderr


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(InputError, match="recursive"):
        list(load_all("a: &a [*a]\n", "x.yaml"))


def test_small_legit_aliases_are_fine() -> None:
    docs = list(load_all("x: &x {user: '1000'}\ns:\n  a: *x\n  b:\n    <<: *x\n    image: n\n", "c.yaml"))
    assert docs[0][0]["s"]["b"]["user"] == "1000"


def test_huge_file_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "k8s.yaml"
    with p.open("wb") as fh:
        fh.write(b"# padding\n" * (MAX_FILE_SIZE // 10 + 10))
    r = run_cli("policy", "check", str(p))
    assert r.exit_code == 2 and "too large" in r.stderr


@pytest.mark.parametrize("name", ["Dockerfile", "compose.yaml", "images.txt"])
def test_non_utf8_is_refused(tmp_path: Path, name: str) -> None:
    code, err = _run(tmp_path, name, b"FROM alpine\nUSER \xff\xfe\n")
    assert code == 2 and "not valid UTF-8" in err and ":2:" in err


@pytest.mark.parametrize(("content", "needle"), [
    ("", "empty Dockerfile"),
    ("# only a comment\n", "empty Dockerfile"),
    ("RUN echo hi\nFROM alpine\n", "RUN before the first FROM"),
    ("FROM alpine\nFROBNICATE x\n", "unknown instruction 'FROBNICATE'"),
    ("FROM\n", "FROM needs an image"),
    ("FROM alpine AS\n", "malformed FROM"),
    ("FROM alpine AS a b\n", "malformed FROM"),
    ("FROM alpine\nRUN <<EOF\necho unterminated\n", "heredoc <<EOF is not terminated"),
    ("# escape=x\nFROM alpine\n", "invalid escape directive"),
    ("FROM alpine\nEXPOSE eighty\n", "invalid port"),
    ("ARG A\n", "no FROM instruction"),
])
def test_malformed_dockerfiles(tmp_path: Path, content: str, needle: str) -> None:
    code, err = _run(tmp_path, "Dockerfile", content.encode())
    assert code == 2, err
    assert needle in err
    assert "Dockerfile" in err


@pytest.mark.parametrize("content", [
    "services: [\n", "a: b: c\n", "services:\n  web:\n    image: x\n  - y\n", "\tkey: value\n",
])
def test_malformed_yaml(tmp_path: Path, content: str) -> None:
    code, err = _run(tmp_path, "compose.yaml", content.encode())
    assert code == 2 and "invalid YAML" in err and "compose.yaml:" in err


def test_compose_services_must_be_a_mapping(tmp_path: Path) -> None:
    code, err = _run(tmp_path, "docker-compose.yml", b"services:\n  - web\n")
    assert code == 2 and "services" in err


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("FROMRUNCOPYADDUSERARGENV $={}[]\"'\\`#<-\n\t :/@.0a")), max_size=200))
def test_dockerfile_parser_never_crashes(text: str) -> None:
    col = Collector(default_policy(), "Dockerfile")
    try:
        check_text(text, DOCKERFILE, col)
    except InputError as exc:
        assert exc.message.startswith("Dockerfile")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("services:image-&*<[]{}\"' \n\t,0123456789portsvolume/.:")), max_size=200))
def test_yaml_checker_never_crashes(text: str) -> None:
    col = Collector(default_policy(), "compose.yaml")
    try:
        check_text(text, COMPOSE, col)
    except InputError as exc:
        assert exc.message.startswith("compose.yaml")


@pytest.mark.parametrize("content", [
    "a: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "a: " + "{b: " * 20_000 + "c" + "}" * 20_000 + "\n",
    "".join("  " * i + "- \n" for i in range(600)) + "  " * 600 + "- x\n",
])
def test_deep_nesting_is_refused_not_a_crash(tmp_path: Path, content: str) -> None:
    # libyaml's own composer recurses in C and segfaults on this; ours is iterative
    code, err = _run(tmp_path, "compose.yaml", content.encode())
    assert code == 2 and "nesting deeper than" in err


def test_undefined_alias(tmp_path: Path) -> None:
    code, err = _run(tmp_path, "compose.yaml", b"services:\n  web: *nope\n")
    assert code == 2 and "undefined alias" in err and ":2" in err


def test_alias_positions_and_sharing() -> None:
    (doc, line), = list(load_all("base: &b\n  user: root\nsvc:\n  a: *b\n  c:\n    <<: *b\n    x: 1\n", "f"))
    assert line == 1
    assert doc["svc"]["a"] is doc["base"]
    assert doc["svc"].val_pos["a"].line == 4
    assert doc["svc"]["c"]["user"] == "root" and doc["svc"]["c"].where("user").line == 2


@settings(max_examples=100, deadline=None)
@given(st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=5), children, max_size=4)),
    max_leaves=25,
))
def test_loader_round_trips_plain_data(data: object) -> None:
    import yaml

    text = yaml.safe_dump(data)
    doc = load_one(text, "x.yaml")  # None for a null document

    def plain(v: object) -> object:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    assert plain(doc) == yaml.safe_load(text)


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.sampled_from(
    ["", "ALL", "SYS_ADMIN", "/", "/var/run/docker.sock", "nginx", "a b", "x@sha256:1", "root", "0",
     "127.0.0.1:6379:6379", "6379", "[::1]:x", "${X}", "host"]))
_KEYS = st.sampled_from([
    "apiVersion", "kind", "spec", "template", "jobTemplate", "containers", "initContainers",
    "ephemeralContainers", "securityContext", "capabilities", "drop", "add", "image", "env", "name",
    "value", "valueFrom", "volumes", "hostPath", "path", "hostNetwork", "hostPID", "runAsUser",
    "runAsNonRoot", "privileged", "services", "ports", "target", "host_ip", "published", "environment",
    "volumes", "source", "cap_add", "user", "items", "metadata",
])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_VALUES, lambda c: st.one_of(st.lists(c, max_size=3),
                                                  st.dictionaries(_KEYS, c, max_size=5)), max_leaves=30),
       st.sampled_from(["Pod", "Deployment", "CronJob", "List"]))
def test_manifest_and_compose_checkers_never_crash_on_odd_shapes(body: object, kind: str) -> None:
    import yaml

    from supplychain.policy.engine import YAML

    docs = [{"apiVersion": "v1", "kind": kind, "spec": body, "items": [body]},
            {"services": {"s": body}}, {"services": body}]
    for doc in docs:
        col = Collector(default_policy(), "x.yaml")
        try:
            check_text(yaml.safe_dump(doc), YAML, col)
        except InputError as exc:  # only "services must be a mapping" is allowed
            assert "services" in exc.message
