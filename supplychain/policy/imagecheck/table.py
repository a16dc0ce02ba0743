"""The one table of image checks: every secret rule (content patterns, credential files, paths)
and every image-config rule, with its id, severity, summary and fix.

Content rules have a literal ``anchors`` prefilter (searched in every scanned file at once, by
Hyperscan when installed) and a ``pattern`` whose group ``v`` is the secret value; an optional
``check`` validates a candidate (a PEM block needs a body, a JWT a claims payload). File rules
name the files they parse (``files``: a predicate on the path) and a parser that yields
``(what, value)`` pairs. Path rules report a file's presence (``.git`` directories, shell
histories). Values are never reported: only ``rule + sha256(value)``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from supplychain.policy.findings import Severity

# Bump when a rule is added, removed or changes what it matches (attestations carry it).
RULESET_VERSION = "2026.12.1"

CONTENT, FILE, PATH = "content", "file", "path"

Check = Callable[[bytes, "re.Match[bytes]"], bytes | None]
Parser = Callable[[bytes], Iterator[tuple[str, bytes]]]


@dataclass(frozen=True)
class SecretRule:
    id: str
    name: str
    severity: Severity
    summary: str
    help: str
    kind: str  # CONTENT, FILE or PATH
    anchors: tuple[bytes, ...] = ()  # literal prefilter (CONTENT)
    caseless: bool = False  # anchors match case-insensitively
    pattern: re.Pattern[bytes] | None = None  # CONTENT: group "v" is the value
    check: Check | None = None  # CONTENT: the value to report, or None (not a secret)
    files: Callable[[str], bool] | None = None  # FILE / PATH: which paths
    parse: Parser | None = None  # FILE: (what, value) pairs
    extra: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------- helpers

_B64 = re.compile(rb"[A-Za-z0-9+/=]")


def placeholder(value: bytes) -> bool:
    """Documentation values and templates: EXAMPLE keys, xxxx, ${VAR}, <token>, one repeated char."""
    low = value.lower()
    if any(w in low for w in (b"example", b"xxxxxx", b"placeholder", b"dummy", b"redacted", b"your_",
                              b"your-", b"changeme", b"<", b"${", b"{{", b"%(", b"0000000000", b"1234567890")):
        return True
    core = re.sub(rb"^[A-Za-z]+[_-]+", b"", value)  # the random part after a ghp_ / sk_live_ prefix
    return len(set(core)) < 6 or bool(re.search(rb"(.)\1{9,}", core))


# values published in vendor documentation (AWS, Azure storage emulator, jwt.io)
DOCUMENTED_VALUES = frozenset({
    b"AKIAIOSFODNN7EXAMPLE",
    b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    b"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5"
    b"MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
})

# test fixtures and documentation of packages installed by package managers: keys and tokens
# there are test data (CPython's test suite ships private keys, JWT libraries ship tokens)
FIXTURE_RE = re.compile(
    r"/(?:site-packages|dist-packages|node_modules|vendor|gems|python3(?:\.\d+)?|perl5?|php|share/php)/"
    r"(?:[^/]+/)*?(?:tests?|testing|testdata|test_data|test-data|fixtures?|__tests__|__fixtures__|spec|specs|"
    r"examples?|samples?|docs?|demo)/"
    r"|^/usr/lib/python3(?:\.\d+)?/test/"
    r"|^/usr/share/doc/"
    r"|^/usr/share/(?:[^/]+/)?examples?/"
)


def is_fixture(path: str) -> bool:
    return FIXTURE_RE.search(path) is not None


def _b64url(part: bytes) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return None


_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "scope", "scp", "role", "roles", "email", "uid", "user_id",
                     "client_id", "azp", "permissions", "token_type", "jti", "username"})


def _check_jwt(data: bytes, m: re.Match[bytes]) -> bytes | None:
    token = m.group("v")
    parts = token.split(b".")
    if len(parts) != 3:
        return None
    head, body = _b64url(parts[0]), _b64url(parts[1])
    if head is None or body is None:
        return None
    try:
        header, claims = json.loads(head), json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        return None
    if not (_CLAIMS & set(claims)):
        return None
    if claims.get("name") == "John Doe" or claims.get("sub") == "1234567890":
        return None  # jwt.io's example token and its variants
    return token


_PEM_END = re.compile(rb"-----END [A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----")


def _check_pem(data: bytes, m: re.Match[bytes]) -> bytes | None:
    end = _PEM_END.search(data, m.end(), m.end() + 64 * 1024)
    if end is None:
        return None
    body = data[m.end():end.start()]
    # a key inside a JSON / code string: "\n" escapes and quotes around line breaks
    body = body.replace(b"\\n", b"\n").replace(b"\\r", b"")
    lines = [ln.strip().strip(b"\"',+") for ln in body.splitlines()]
    lines = [ln for ln in lines if ln and b":" not in ln]  # Proc-Type / DEK-Info / Comment headers
    value = b"".join(lines)
    if len(value) < 64 or _B64.sub(b"", value):
        return None
    return value


def _check_putty(data: bytes, m: re.Match[bytes]) -> bytes | None:
    window = data[m.start():m.start() + 32 * 1024]
    pm = re.search(rb"Private-Lines: *(\d{1,4})\r?\n((?:[A-Za-z0-9+/=]{1,128}(?:\r?\n|$)){1,400})", window)
    if pm is None:
        return None
    value = re.sub(rb"\s", b"", pm.group(2))
    return value if len(value) >= 32 else None


def _check_plain(data: bytes, m: re.Match[bytes]) -> bytes | None:
    return m.group("v")


def _check_gcp(data: bytes, m: re.Match[bytes]) -> bytes | None:
    # a service-account key file: the private_key_id and private_key of the same JSON object
    window = data[max(0, m.start() - 8192):m.end() + 8192]
    kid = re.search(rb'"private_key_id"\s*:\s*"([0-9a-f]{40})"', window)
    key = re.search(rb'"private_key"\s*:\s*"-----BEGIN', window)
    if kid is None or key is None:
        return None
    return kid.group(1)


# ------------------------------------------------------------------------------ file parsers

_SECRET_WORDS = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "API_KEY", "APIKEY", "ACCESS_KEY",
                 "PRIVATE_KEY", "PRIVATEKEY", "CREDENTIAL", "AUTH_KEY", "SIGNING_KEY", "ENCRYPTION_KEY",
                 "MASTER_KEY", "SESSION_KEY", "APP_KEY", "DSN", "CONNECTION_STRING", "PWD")
_HARMLESS_SUFFIXES = ("_FILE", "_PATH", "_DIR", "_TTL", "_LENGTH", "_NAME", "_USER", "_USERNAME", "_HEADER",
                      "_TYPE", "_ENABLED", "_ID", "_EXPIRY", "_TIMEOUT", "_ALGORITHM", "_URL_PATH", "_MODE")
_EMPTYISH = frozenset({b"", b"null", b"none", b"nil", b"false", b"true", b"''", b'""', b"changeme"})


def secret_named(name: str) -> bool:
    upper = name.upper().replace("-", "_").replace(".", "_")
    if upper.endswith(_HARMLESS_SUFFIXES) or "PUBLIC" in upper:
        return False
    return any(w in upper for w in _SECRET_WORDS)


def literal_value(value: bytes) -> bool:
    """A non-empty literal (not a reference to a variable, a secret file or a placeholder)."""
    v = value.strip().strip(b"\"'").strip()
    if v.lower() in _EMPTYISH or v.startswith((b"$", b"/run/secrets/", b"/var/run/secrets/", b"%")):
        return False
    return not placeholder(v)


def _lines(data: bytes) -> Iterator[bytes]:
    for raw in data.splitlines():
        line = raw.strip()
        if line and not line.startswith((b"#", b";")):
            yield line


def parse_env(data: bytes) -> Iterator[tuple[str, bytes]]:
    for line in _lines(data):
        if line.startswith(b"export "):
            line = line[7:].lstrip()
        key, eq, value = line.partition(b"=")
        name = key.strip().decode("utf-8", "replace")
        if eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name) and secret_named(name):
            value = value.split(b" #", 1)[0].strip()
            if literal_value(value):
                yield name, value.strip(b"\"'")


def parse_npmrc(data: bytes) -> Iterator[tuple[str, bytes]]:
    for line in _lines(data):
        key, eq, value = line.partition(b"=")
        k = key.strip().decode("utf-8", "replace")
        base = k.rsplit(":", 1)[-1]
        if eq and base in ("_authToken", "_auth", "_password", "password", "token") and literal_value(value):
            yield k, value.strip()


def parse_pypirc(data: bytes) -> Iterator[tuple[str, bytes]]:
    section = ""
    for line in _lines(data):
        if line.startswith(b"[") and line.endswith(b"]"):
            section = line[1:-1].decode("utf-8", "replace")
            continue
        m = re.match(rb"(password|token)\s*[=:]\s*(.+)$", line)
        if m and literal_value(m.group(2)):
            yield f"[{section}] {m.group(1).decode()}", m.group(2).strip()


def parse_netrc(data: bytes) -> Iterator[tuple[str, bytes]]:
    words = data.split()
    machine = "default"
    for i, w in enumerate(words[:-1]):
        if w == b"machine":
            machine = words[i + 1].decode("utf-8", "replace")
        elif w in (b"password", b"passwd") and literal_value(words[i + 1]):
            yield f"machine {machine}", words[i + 1]


_URL_CRED = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://([^/\s:@]*):([^/\s@]+)@([^/\s:]+)")


def parse_url_credentials(data: bytes) -> Iterator[tuple[str, bytes]]:
    for m in _URL_CRED.finditer(data):
        if literal_value(m.group(2)):
            yield f"credentials for {m.group(3).decode('utf-8', 'replace')}", m.group(2)


def _json(data: bytes) -> object:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


_COMPOSER_AUTH_KEYS = ("http-basic", "github-oauth", "gitlab-token", "gitlab-oauth", "bitbucket-oauth", "bearer",
                       "forgejo-token", "custom-headers")


def parse_composer_auth(data: bytes) -> Iterator[tuple[str, bytes]]:
    doc = _json(data)
    if not isinstance(doc, dict):
        return
    if isinstance(doc.get("config"), dict):  # auth in a composer.json / config.json "config" block
        doc = doc["config"]
    for section in _COMPOSER_AUTH_KEYS:
        entries = doc.get(section)
        if not isinstance(entries, dict):
            continue
        for host, entry in entries.items():
            values: list[object] = []
            if isinstance(entry, dict):
                values = [entry.get(k) for k in ("password", "token", "consumer-secret", "access-token")]
            else:
                values = [entry]
            for v in values:
                if isinstance(v, str) and literal_value(v.encode()):
                    yield f"{section} {host}", v.encode()


def parse_docker_config(data: bytes) -> Iterator[tuple[str, bytes]]:
    doc = _json(data)
    if not isinstance(doc, dict):
        return
    auths = doc.get("auths")
    if isinstance(auths, dict):
        for host, entry in auths.items():
            if not isinstance(entry, dict):
                continue
            for key in ("auth", "password", "identitytoken", "registrytoken"):
                v = entry.get(key)
                if isinstance(v, str) and v and literal_value(v.encode()):
                    yield f"auths {host} {key}", v.encode()
    v = doc.get("identitytoken")
    if isinstance(v, str) and v:
        yield "identitytoken", v.encode()


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


_ENV_EXAMPLE = (".example", ".sample", ".dist", ".template", ".tpl", ".defaults", ".default", ".schema", ".test",
                ".testing", ".ci")


def is_env_file(path: str) -> bool:
    name = _base(path)
    if not (name == ".env" or name.startswith(".env.") or name.endswith(".env")):
        return False
    return not name.endswith(_ENV_EXAMPLE) and not is_fixture(path)


HISTORY_NAMES = frozenset({".bash_history", ".zsh_history", ".sh_history", ".ash_history", ".history",
                           ".python_history", ".mysql_history", ".psql_history", ".node_repl_history",
                           ".rediscli_history", ".sqlite_history", ".lesshst", ".irb_history", "fish_history",
                           ".php_history"})


def git_root(path: str) -> str | None:
    i = path.find("/.git/")
    return path[:i + 5] if i >= 0 else None


# ---------------------------------------------------------------------------------- the table

def _rx(pattern: bytes, flags: int = 0) -> re.Pattern[bytes]:
    return re.compile(pattern, flags)


_NB = rb"(?<![A-Za-z0-9_])"  # not inside a longer token
_NA = rb"(?![A-Za-z0-9_])"
_E, _W = Severity.ERROR, Severity.WARNING

_ROTATE = "Remove it from the image (and every layer: rebuild without it; a later `rm` does not help), " \
          "rotate the credential, and inject it at run time (orchestrator secret, BuildKit secret mount)."

SECRET_RULES: tuple[SecretRule, ...] = (
    SecretRule("IMG-SEC-001", "PrivateKeyInImage", _E, "A PEM or OpenSSH private key is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"-----BEGIN ",),
               pattern=_rx(rb"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"), check=_check_pem),
    SecretRule("IMG-SEC-002", "PuttyKeyInImage", _E, "A PuTTY private key file is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"PuTTY-User-Key-File-",),
               pattern=_rx(rb"PuTTY-User-Key-File-[23]: "), check=_check_putty),
    SecretRule("IMG-SEC-003", "AwsAccessKey", _E, "An AWS access key id is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"AKIA", b"ASIA"),
               pattern=_rx(_NB + rb"(?P<v>(?:AKIA|ASIA)[A-Z2-7]{16})" + _NA), check=_check_plain),
    SecretRule("IMG-SEC-004", "AwsSecretKey", _E, "An AWS secret access key is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"aws_secret_access_key", b"secretaccesskey"), caseless=True,
               pattern=_rx(rb"(?i:aws_secret_access_key|secretaccesskey)[\"']?\s*[=:]\s*[\"']?(?P<v>[A-Za-z0-9/+]{40})"
                           + rb"(?![A-Za-z0-9/+])"), check=_check_plain),
    SecretRule("IMG-SEC-005", "GcpServiceAccountKey", _E,
               "A Google Cloud service-account key (JSON with a private key) is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b'"service_account"',),
               pattern=_rx(rb'"type"\s*:\s*"service_account"'), check=_check_gcp),
    SecretRule("IMG-SEC-006", "AzureConnectionString", _E,
               "An Azure storage / Service Bus connection string with its key is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"AccountKey=", b"SharedAccessKey="),
               pattern=_rx(rb"(?:AccountKey|SharedAccessKey)=(?P<v>[A-Za-z0-9+/]{40,88}={0,2})"), check=_check_plain),
    SecretRule("IMG-SEC-007", "GithubToken", _E, "A GitHub token is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"),
               pattern=_rx(_NB + rb"(?P<v>gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})" + _NA),
               check=_check_plain),
    SecretRule("IMG-SEC-008", "GitlabToken", _E, "A GitLab token is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"glpat-", b"gldt-", b"glrt-", b"glptt-", b"glcbt-", b"gloas-"),
               pattern=_rx(_NB + rb"(?P<v>gl(?:pat|dt|rt|ptt|cbt|oas)-[A-Za-z0-9_\-]{20,64})(?![A-Za-z0-9_\-])"),
               check=_check_plain),
    SecretRule("IMG-SEC-009", "SlackToken", _E, "A Slack token or incoming-webhook URL is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"xoxb-", b"xoxp-", b"xoxa-", b"xoxr-", b"xoxs-", b"hooks.slack.com/services/"),
               pattern=_rx(_NB + rb"(?P<v>xox[bpars]-[0-9]{6,}-[0-9A-Za-z-]{10,}|hooks\.slack\.com/services/"
                           rb"T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,})"), check=_check_plain),
    SecretRule("IMG-SEC-010", "StripeLiveKey", _E, "A Stripe live secret or restricted key is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"sk_live_", b"rk_live_"),
               pattern=_rx(_NB + rb"(?P<v>[sr]k_live_[0-9a-zA-Z]{20,247})" + _NA), check=_check_plain),
    SecretRule("IMG-SEC-011", "NpmToken", _E, "An npm access token is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"npm_",),
               pattern=_rx(_NB + rb"(?P<v>npm_[A-Za-z0-9]{36})" + _NA), check=_check_plain),
    SecretRule("IMG-SEC-012", "PypiToken", _E, "A PyPI API token is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"pypi-AgE",),
               pattern=_rx(_NB + rb"(?P<v>pypi-AgE[A-Za-z0-9_\-]{50,})"), check=_check_plain),
    SecretRule("IMG-SEC-013", "PackagistToken", _E, "A Private Packagist token is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"packagist_",),
               pattern=_rx(_NB + rb"(?P<v>packagist_[a-z]{3}_[A-Za-z0-9]{24,})" + _NA), check=_check_plain),
    SecretRule("IMG-SEC-014", "JwtInImage", _E, "A signed JWT with identity claims is shipped in an image layer.",
               _ROTATE, CONTENT, anchors=(b"eyJ",),
               pattern=_rx(_NB + rb"(?P<v>eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{16,1024})"
                           + rb"(?![A-Za-z0-9_\-.])"), check=_check_jwt),
    SecretRule("IMG-SEC-020", "EnvFileSecret", _E, "A .env file with a non-empty secret-named value is shipped.",
               "Do not bake .env files into images: add them to .dockerignore and pass settings at run time "
               "(orchestrator secrets / env); rotate what was shipped.", FILE, files=is_env_file, parse=parse_env),
    SecretRule("IMG-SEC-021", "ComposerAuthJson", _E, "A Composer auth.json with credentials is shipped.",
               "Use a BuildKit secret mount for auth.json during `composer install` (or COMPOSER_AUTH at build time "
               "in a stage that is not shipped); rotate the tokens.", FILE,
               files=lambda p: _base(p) == "auth.json", parse=parse_composer_auth),
    SecretRule("IMG-SEC-022", "NpmrcCredentials", _E, "An .npmrc with an auth token or password is shipped.",
               "Mount .npmrc as a build secret instead of copying it; rotate the token.", FILE,
               files=lambda p: _base(p) in (".npmrc", "npmrc"), parse=parse_npmrc),
    SecretRule("IMG-SEC-023", "PypircCredentials", _E, "A .pypirc with a password or token is shipped.",
               "Keep .pypirc out of images (use a build secret); rotate the token.", FILE,
               files=lambda p: _base(p) == ".pypirc", parse=parse_pypirc),
    SecretRule("IMG-SEC-024", "NetrcCredentials", _E, "A .netrc with a password is shipped.",
               "Keep .netrc out of images (use a build secret); rotate the password.", FILE,
               files=lambda p: _base(p) in (".netrc", "_netrc"), parse=parse_netrc),
    SecretRule("IMG-SEC-025", "GitCredentials", _E,
               "Git credentials (.git-credentials, or a password in a .git/config remote URL) are shipped.",
               "Remove the credentials from the image and rotate them; use a build secret for private clones.",
               FILE, files=lambda p: _base(p) == ".git-credentials" or p.endswith("/.git/config"),
               parse=parse_url_credentials),
    SecretRule("IMG-SEC-026", "DockerConfigCredentials", _E, "A Docker config.json with registry credentials is shipped.",
               "Never copy ~/.docker/config.json into an image; rotate the registry credentials.", FILE,
               files=lambda p: p.endswith("/.docker/config.json"), parse=parse_docker_config),
    SecretRule("IMG-SEC-030", "GitDirectoryInImage", _W, "A .git directory (full source history) is shipped.",
               "Add .git to .dockerignore; history can hold removed secrets and internal URLs.", PATH,
               files=lambda p: "/.git/" in p),
    SecretRule("IMG-SEC-031", "ShellHistoryInImage", _W, "A shell or REPL history file is shipped.",
               "Delete history files in the same RUN step that created them (or never run interactive shells "
               "in a build); they record typed commands and passwords.", PATH,
               files=lambda p: _base(p) in HISTORY_NAMES),
)


@dataclass(frozen=True)
class ConfigRule:
    id: str
    name: str
    severity: Severity
    summary: str
    help: str


CONFIG_RULES: tuple[ConfigRule, ...] = (
    ConfigRule("IMG-CFG-001", "ImageRunsAsRoot", _E, "The image's effective user is root (User empty, root, 0 or 0:0).",
               "Set a non-root user in the final stage (`USER 10001:10001`) and make the files it needs readable."),
    ConfigRule("IMG-CFG-002", "DatastorePortInImage", _W, "The image config exposes a Redis / database port.",
               "Do not expose datastore ports from application images; reach datastores over an internal network."),
    ConfigRule("IMG-CFG-003", "SecretInImageEnv", _E, "A secret-named Env variable of the image config has a value.",
               "Remove the ENV (it is in every pull of the image and its config); inject the secret at run time."),
    ConfigRule("IMG-CFG-004", "SecretInBuildHistory", _E,
               "The image's build history (history[].created_by) records a secret (build argument, ENV or token).",
               "Use BuildKit secret mounts (`RUN --mount=type=secret`) instead of ARG/ENV for secrets; rebuild "
               "and rotate the secret (the history is public with the image)."),
    ConfigRule("IMG-CFG-005", "WritableAppDirectory", _W,
               "The application directory (the final WorkingDir) is writable by the runtime user.",
               "Keep application files owned by root (or another user) and read-only for the runtime user; give "
               "it a separate writable volume for data."),
    ConfigRule("IMG-CFG-006", "SetuidFileAdded", _W,
               "The image's own layers add a setuid / setgid file.",
               "Remove the setuid/setgid bit (`chmod u-s,g-s FILE`) or the file; drop privileges instead."),
)

ALL_RULE_IDS = tuple(r.id for r in SECRET_RULES) + tuple(r.id for r in CONFIG_RULES)
