"""Unit tests of the parsers: Dockerfile, compose ports, secrets, image globs."""

from __future__ import annotations

import pytest

from supplychain.policy.compose import parse_port
from supplychain.policy.config import default_policy
from supplychain.policy.context import Collector
from supplychain.policy.dockerfile import key_values, parse, substitute
from supplychain.policy.engine import DOCKERFILE, check_text, sniff_kind
from supplychain.policy.images import glob_match, parse_image
from supplychain.policy.secrets import secret_reason, shannon_entropy

DIG = "sha256:" + "0f" * 32


def _df(text: str, build_args: dict[str, str] | None = None) -> Collector:
    col = Collector(default_policy(), "Dockerfile")
    check_text(text, DOCKERFILE, col, build_args)
    return col


def test_continuations_comments_and_escape_directive() -> None:
    insts = parse("# escape=`\nFROM alpine\nRUN echo a `\n  # skipped\n\n  b\nCOPY C:\\x\\ /y\n", "D")
    assert [i.keyword for i in insts] == ["FROM", "RUN", "COPY"]
    assert insts[1].rest == "echo a   b"
    assert insts[2].rest == "C:\\x\\ /y" and insts[2].line == 7
    insts = parse("FROM alpine\nRUN echo a \\\n    b\n", "D")
    assert insts[1].rest == "echo a     b" and insts[1].physical[-1][0] == 3


def test_escape_directive_only_at_top() -> None:
    insts = parse("\n# escape=`\nFROM alpine\nRUN a `\nRUN b\n", "D")
    assert [i.rest for i in insts[1:]] == ["a `", "b"]


def test_heredocs_and_json_form() -> None:
    insts = parse('FROM a\nRUN <<-"EOT" bash\n\tcurl https://x | sh\n\tEOT\nCMD ["x", "y"]\nUSER 1\n', "D")
    assert insts[1].heredocs == ["\tcurl https://x | sh"]
    assert insts[2].json_args == ["x", "y"]
    col = _df('FROM alpine@' + DIG + '\nRUN <<EOF\ncurl -s https://x/i.sh | bash\nEOF\nUSER 1\n')
    assert [f.rule for f in col.findings] == ["DF-006", "DF-011"]  # the heredoc's pipeline has no pipefail


def test_arg_substitution_in_from() -> None:
    col = _df(f"ARG REG=docker.io\nARG TAG\nFROM $REG/library/nginx:${{TAG:-1.27}}@{DIG}\nUSER 1\n")
    assert [u.text for u in col.images] == [f"docker.io/library/nginx:1.27@{DIG}"]
    assert col.findings == [] and col.images[0].literal is False
    col = _df("ARG IMG\nFROM ${IMG}\nUSER 1\n", {"IMG": "ghcr.io/x/y:1"})
    assert {f.rule for f in col.findings} == {"SC-IMG-001", "SC-IMG-002"}
    assert substitute("${A:+set}-${B-def}-$C", {"A": "1", "C": "c"}) == ("set-def-c", None)
    assert substitute("$MISSING", {}) == ("", "MISSING")


def test_stages_and_copy_from() -> None:
    col = _df(f"FROM alpine:3@{DIG} AS Build\nFROM build\nCOPY --from=0 /a /a\nCOPY --from=BUILD /b /b\n"
              "COPY --from=busybox:1.36 /bin/sh /sh\nUSER 1\n")
    assert [u.text for u in col.images] == [f"alpine:3@{DIG}", "busybox:1.36"]
    assert col.images[1].line == 5 and col.images[1].column == 13
    assert [f.rule for f in col.findings] == ["SC-IMG-002"]


def test_platform_flag_and_scratch() -> None:
    col = _df(f"FROM --platform=linux/amd64 alpine@{DIG} AS a\nFROM scratch\nCOPY --from=a /x /x\nUSER 65534\n")
    assert [u.column for u in col.images] == [29]
    assert col.findings == []
    col = _df("ARG P=nginx\nFROM --platform=$P --foo=nginx nginx:1 AS nginx\nUSER 1\n")
    assert [(u.text, u.column) for u in col.images] == [("nginx:1", 32)]


def test_env_forms() -> None:
    insts = parse('FROM a\nENV A=1 B="two words" C=\'q\'\nENV LEGACY some value here\nARG X Y=2\n', "D")
    assert key_values(insts[1]) == [("A", "1"), ("B", "two words"), ("C", "q")]
    assert key_values(insts[2]) == [("LEGACY", "some value here")]
    assert key_values(insts[3]) == [("X", None), ("Y", "2")]


def test_root_users() -> None:
    for user in ("root", "0", "0:0", "root:wheel"):
        assert [f.rule for f in _df(f"FROM alpine@{DIG}\nUSER {user}\n").findings] == ["DF-002"]
    assert _df(f"FROM alpine@{DIG}\nUSER root\nRUN x\nUSER app\n").findings == []


@pytest.mark.parametrize(("spec", "want"), [
    ("6379", ("", None, "6379")),
    ("6379:6379", ("", "6379", "6379")),
    ("127.0.0.1:6379:6379", ("127.0.0.1", "6379", "6379")),
    ("127.0.0.1::6379", ("127.0.0.1", None, "6379")),
    ("[::1]:6379:6379/tcp", ("::1", "6379", "6379")),
    ("::1:6000:6001", ("::1", "6000", "6001")),
    ("5000-5010:5000-5010/udp", ("", "5000-5010", "5000-5010")),
])
def test_compose_port_syntax(spec: str, want: tuple[str, str | None, str]) -> None:
    assert parse_port(spec) == want


def test_sexagesimal_port_kept_as_written() -> None:
    from supplychain.policy.engine import COMPOSE

    col = Collector(default_policy(), "c.yaml")
    check_text(f"services:\n  r:\n    image: redis:7@{DIG}\n    ports:\n      - 27017:27017\n      - 11211:11211\n"
               "    user: '1'\n    security_opt: [no-new-privileges]\n    read_only: true\n    cap_drop: [ALL]\n",
               COMPOSE, col)
    assert [(f.rule, f.line) for f in col.findings] == [("CMP-006", 5), ("CMP-006", 6)]


@pytest.mark.parametrize(("name", "value", "secret"), [
    ("DB_PASSWORD", "hunter2", True),
    ("DB_PASSWORD", "${DB_PASSWORD}", False),
    ("DB_PASSWORD", "$DB_PASSWORD", False),
    ("DB_PASSWORD", "$(cat /run/secrets/db)", False),
    ("DB_PASSWORD_FILE", "/run/secrets/db", False),
    ("GITHUB_TOKEN", "ghp_abc", True),
    ("PUBLIC_KEY", "ssh-ed25519 AAAA", False),
    ("TOKEN_TTL", "3600", False),
    ("PASSWORD", 123456, True),
    ("PASSWORD", "", False),
    ("SESSION", "Zx8Kp2Qw9Lm4Vb7Nc3Rt6Yh1Jd5Fg0Sa", True),
    ("CHECKSUM", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", False),
    ("GREETING", "hello-world-this-is-a-config", False),
    ("DATABASE_URL", "postgres://app:pa55@db/app", True),
    ("DATABASE_URL", "postgres://app:${PW}@db/app", False),
    ("DATABASE_URL", "postgres://db/app", False),
    ("JAVA_OPTS", "-Xmx512m -XX:+UseG1GC -Dfile.encoding=UTF-8", False),
])
def test_secret_detection(name: str, value: object, secret: bool) -> None:
    assert (secret_reason(name, value, default_policy()) is not None) is secret


def test_entropy() -> None:
    assert shannon_entropy("aaaa") == 0
    assert shannon_entropy("abcd") == 2


@pytest.mark.parametrize(("ref", "name"), [
    ("nginx", "docker.io/library/nginx"),
    ("acme/app:1", "docker.io/acme/app"),
    ("index.docker.io/library/redis", "docker.io/library/redis"),
    ("localhost:5000/a/b@" + DIG, "localhost:5000/a/b"),
    ("GHCR.IO/acme/x", "ghcr.io/acme/x"),
])
def test_normalisation(ref: str, name: str) -> None:
    assert parse_image(ref).name == name


@pytest.mark.parametrize(("glob", "ref", "hit"), [
    ("docker.io/library/*", "nginx", True),
    ("docker.io/library/*", "acme/nginx", False),
    ("library/*", "nginx:1", True),
    ("ghcr.io/acme/**", "ghcr.io/acme/team/deep/app:1", True),
    ("ghcr.io/acme/*", "ghcr.io/acme/team/app", False),
    ("registry.internal:5000/*", "registry.internal:5000/app", True),
    ("registry.internal:5000/*", "registry.internal/app", False),
    ("ghcr.io", "ghcr.io/anything/at/all", True),
    ("redis", "redis:7", True),
    ("docker.io/library/nginx:1.*", "nginx:1.27", True),
    ("docker.io/library/nginx:1.*", "nginx:2", False),
])
def test_globs(glob: str, ref: str, hit: bool) -> None:
    assert glob_match(glob, parse_image(ref)) is hit


def test_invalid_references() -> None:
    for bad in ("UPPER/case", "a b", "x@sha256:123", "nginx:", "nginx:-bad"):
        with pytest.raises(ValueError):
            parse_image(bad)


def test_sniffing() -> None:
    assert sniff_kind("# c\nFROM alpine\n") == DOCKERFILE
    assert sniff_kind("nginx\nredis:7\n") == "images"
    assert sniff_kind("services:\n  a: {}\n") == "yaml"


@pytest.mark.parametrize(("cmd", "hit"), [
    ("curl -fsSL https://x/i.sh | sh", True),
    ("curl -fsSL https://x/i.sh | sudo -E bash -", True),
    ("wget -qO- https://x/i.sh|/bin/sh", True),
    ("curl -s https://x/get-pip.py | python3", True),
    ("bash <(curl -s https://x/i.sh)", True),
    ('sh -c "$(curl -fsSL https://x/i.sh)"', True),
    ("curl -fsSLo /tmp/i.sh https://x/i.sh && sha256sum -c sums && sh /tmp/i.sh", False),
    ("curl -fsS https://x/health || true", False),
    ("curl -s https://x/list | grep foo | sort", False),
    ("cat local.sh | sh", False),
    ("curl " * 50_000, False),
])
def test_curl_pipe_shell(cmd: str, hit: bool) -> None:
    from supplychain.policy.dockerfile import curl_pipe_shell

    assert (curl_pipe_shell(cmd) is not None) is hit
