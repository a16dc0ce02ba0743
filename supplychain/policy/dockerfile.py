"""Dockerfile parsing and rules (DF-*), multi-stage aware.

The parser follows BuildKit's Dockerfile frontend where it matters for policy: parser
directives (``# escape=``), line continuations (with comment and blank lines inside them
skipped), heredocs (``<<EOF`` / ``<<-EOF``, quoted or not), JSON (exec) and shell forms,
instruction flags (``--platform``, ``--from``, ``--checksum``), global ``ARG``s substituted in
``FROM`` (``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:+alt}``), and ``FROM <stage>``.

Every image a build pulls is an image reference: ``FROM``, the frontend of the ``# syntax=``
directive (and a ``BUILDKIT_SYNTAX`` build argument, which replaces it), ``COPY --from=<image>``,
``RUN --mount=...,from=<image>`` (any number of mounts), and the same inside ``ONBUILD``
triggers (pulled when another build starts from this image). ``--from`` naming an earlier
stage (by name or index) is not an image.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import re
from dataclasses import dataclass, field

from supplychain.errors import InputError
from supplychain.policy import dockerignore, hygiene
from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.secrets import secret_name, secret_reason

INSTRUCTIONS = frozenset({
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
})

_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")
_HEREDOC_RE = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")

DATASTORE_PORTS = {
    6379: "Redis", 5432: "PostgreSQL", 3306: "MySQL/MariaDB", 33060: "MySQL X protocol",
    27017: "MongoDB", 27018: "MongoDB", 11211: "Memcached", 1433: "SQL Server", 1521: "Oracle",
    9042: "Cassandra", 5984: "CouchDB", 9200: "Elasticsearch", 26257: "CockroachDB",
    8086: "InfluxDB", 7474: "Neo4j", 7687: "Neo4j",
}

# `curl ... | sh` and friends. Matched piecewise around each pipe / process substitution, with
# bounded windows, so hostile megabyte-long RUN lines cannot make the regexes go quadratic.
_SINGLE_PIPE_RE = re.compile(r"(?<!\|)\|(?!\|)")
_FETCH_RE = re.compile(r"\b(?:curl|wget)\b")
_INTERPRETER_RE = re.compile(
    r"\s*(?:sudo\s+(?:-\S+\s+){0,5})?(?:env\s+(?:\S+=\S+\s+){0,5})?(?:/usr)?(?:/bin/)?"
    r"(?:(?:ba|da|z|k|a)?sh|python[0-9.]*|perl|ruby|node|php)\b"
)
_SUBST_RE = re.compile(r"(\$|<)\(\s*(?:curl|wget)\b")
_SHELL_BEFORE_SUBST_RE = re.compile(r"\b(?:ba|da|z|k)?sh\s+(?:-\S+\s+){0,5}[\"']?$")
_SHELL_BEFORE_PROC_RE = re.compile(r"\b(?:ba|da|z|k)?sh\s+$")
_WINDOW = 400


def curl_pipe_shell(cmd: str) -> str | None:
    """The offending snippet when ``cmd`` pipes a download into an interpreter, else None."""
    for m in _SINGLE_PIPE_RE.finditer(cmd):
        left = cmd[max(0, m.start() - _WINDOW):m.start()]
        left = re.split(r";|&&|\|\||\n|\|", left)[-1]
        if not _FETCH_RE.search(left):
            continue
        right = _INTERPRETER_RE.match(cmd, m.end(), m.end() + _WINDOW)
        if right:
            return (left + "|" + right.group(0)).strip()
    for m in _SUBST_RE.finditer(cmd):
        before = cmd[max(0, m.start() - _WINDOW):m.start()]
        pattern = _SHELL_BEFORE_SUBST_RE if m.group(1) == "$" else _SHELL_BEFORE_PROC_RE
        shell = pattern.search(before)
        if shell:
            return (before[shell.start():] + cmd[m.start():m.end()]).strip()
    return None

_SENSITIVE_NAMES = {
    ".env", ".npmrc", ".pypirc", ".netrc", ".git-credentials", ".dockercfg", ".htpasswd",
    "credentials", "credentials.json", "credentials.yml", "credentials.yaml", "id_rsa", "id_dsa",
    "id_ecdsa", "id_ed25519", "secrets.yml", "secrets.yaml", "secrets.json", ".pgpass", ".my.cnf",
    "kubeconfig", "auth.json",
}
_SENSITIVE_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".credentials", ".ppk")
_SENSITIVE_PARTS = (".ssh/", ".aws/", ".docker/config.json", ".kube/config", ".gnupg/")
_ENV_EXAMPLES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl")


@dataclass
class Instruction:
    keyword: str
    args: str  # everything after the keyword, continuations joined
    line: int
    physical: list[tuple[int, str]]
    flags: dict[str, str] = field(default_factory=dict)
    rest: str = ""  # args after the flags
    json_args: list[str] | None = None
    heredocs: list[str] = field(default_factory=list)


_FLAG_RE = re.compile(r"--([A-Za-z][A-Za-z0-9-]*)(?:=(\"[^\"]*\"|'[^']*'|\S*))?\s*")


def _split_flags(args: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    rest = args.lstrip()
    pos = 0
    while rest.startswith("--", pos):
        m = _FLAG_RE.match(rest, pos)
        if not m:
            break
        value = m.group(2) or ""
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        flags[m.group(1).lower()] = value
        pos = m.end()
    return flags, rest[pos:]


def parse(text: str, source: str) -> list[Instruction]:
    """Parse a Dockerfile into instructions; malformed files raise InputError (exit 2)."""
    lines = text.split("\n")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    n = len(lines)
    escape = "\\"
    i = 0
    seen_directives: set[str] = set()
    while i < n:  # parser directives: only at the very top, before any blank line or comment
        m = _DIRECTIVE_RE.match(lines[i].strip())
        if not m or m.group(1).lower() in seen_directives:
            break
        name, value = m.group(1).lower(), m.group(2)
        seen_directives.add(name)
        if name == "escape":
            if value not in ("\\", "`"):
                raise InputError(f"{source}:{i + 1}: invalid escape directive {value!r} (must be \\ or `)")
            escape = value
        i += 1

    out: list[Instruction] = []
    while i < n:
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts: list[str] = []
        physical: list[tuple[int, str]] = []
        while i < n:
            physical.append((i + 1, lines[i]))
            s = lines[i].rstrip()
            i += 1
            if s.endswith(escape):
                parts.append(s[: -len(escape)])
                while i < n and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                    i += 1
                continue
            parts.append(lines[i - 1])
            break
        logical = "".join(parts).strip()
        m = re.match(r"([A-Za-z]+)(\s+|$)", logical)
        if not m:
            raise InputError(f"{source}:{start + 1}: cannot parse instruction {logical[:40]!r}")
        keyword = m.group(1).upper()
        if keyword not in INSTRUCTIONS:
            raise InputError(
                f"{source}:{start + 1}: unknown instruction {m.group(1)!r}",
                hint="is this a Dockerfile? instructions are FROM, RUN, COPY, ADD, ENV, ARG, USER, ...",
            )
        args = logical[m.end():].strip()
        inst = Instruction(keyword, args, start + 1, physical)
        if keyword in ("FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"):
            inst.flags, inst.rest = _split_flags(args)
        else:
            inst.rest = args
        if inst.rest.startswith("["):
            try:
                parsed = json.loads(inst.rest)
            except ValueError:
                parsed = None
            if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
                inst.json_args = parsed
        if keyword in ("RUN", "COPY", "ADD") and inst.json_args is None:
            for hm in _HEREDOC_RE.finditer(inst.rest):
                strip_tabs, term = hm.group(1) == "-", hm.group(3)
                body: list[str] = []
                while True:
                    if i >= n:
                        raise InputError(f"{source}:{start + 1}: heredoc <<{term} is not terminated",
                                         hint=f"end it with a line containing only {term}")
                    raw = lines[i]
                    i += 1
                    if (raw.lstrip("\t") if strip_tabs else raw) == term:
                        break
                    body.append(raw)
                inst.heredocs.append("\n".join(body))
        out.append(inst)
    if not out:
        raise InputError(f"{source}: empty Dockerfile (no FROM instruction)")
    for inst in out:
        if inst.keyword == "FROM":
            break
        if inst.keyword != "ARG":
            raise InputError(f"{source}:{inst.line}: {inst.keyword} before the first FROM",
                             hint="a Dockerfile must start with FROM (only ARG may come before it)")
    else:
        raise InputError(f"{source}: no FROM instruction")
    return out


def _words(text: str) -> list[str]:
    """Split ENV/ARG/LABEL arguments into words, honouring quotes and backslash escapes."""
    words: list[str] = []
    cur: list[str] = []
    quote: str | None = None
    has = False
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"' and i + 1 < len(text):
                i += 1
                cur.append(text[i])
            else:
                cur.append(c)
        elif c in "\"'":
            quote, has = c, True
        elif c == "\\" and i + 1 < len(text):
            i += 1
            cur.append(text[i])
            has = True
        elif c.isspace():
            if cur or has:
                words.append("".join(cur))
                cur, has = [], False
        else:
            cur.append(c)
            has = True
        i += 1
    if cur or has:
        words.append("".join(cur))
    return words


def key_values(inst: Instruction) -> list[tuple[str, str | None]]:
    """``ENV``/``ARG`` pairs: ``k=v k2="v 2"``, legacy ``ENV k v``, ``ARG name`` (value None)."""
    words = _words(inst.rest)
    if not words:
        return []
    if inst.keyword == "ENV" and "=" not in words[0]:
        key = words[0]
        value = inst.rest.strip()[len(key):].strip()
        return [(key, " ".join(_words(value)) if value else "")]
    pairs: list[tuple[str, str | None]] = []
    for w in words:
        if "=" in w:
            k, v = w.split("=", 1)
            pairs.append((k, v))
        else:
            pairs.append((w, None))
    return pairs


def substitute(text: str, env: dict[str, str | None]) -> tuple[str, str | None]:
    """Expand ``$VAR`` / ``${VAR...}`` with build args; returns (result, first unset variable)."""
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3) or ""
        value = env.get(name)
        if op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                return word
            return value
        if op in (":+", "+"):
            return word if value else ""
        if value is None:
            missing.append(name)
            return ""
        return value

    result = _VAR_RE.sub(repl, text)
    return result, (missing[0] if missing else None)


_FLAGS_PREFIX_RE = re.compile(r"(?:\s+--\S+)*")


def _locate_token(inst: Instruction, token: str, after_keyword: bool = True,
                  skip_flags: bool = False) -> tuple[int, int | None]:
    for lineno, raw in inst.physical:
        start = 0
        if after_keyword and lineno == inst.line:
            start = len(raw) - len(raw.lstrip()) + len(inst.keyword)
            if skip_flags:
                m = _FLAGS_PREFIX_RE.match(raw, start)
                start = m.end() if m else start
        idx = raw.find(token, start)
        while idx >= 0:
            before = raw[idx - 1] if idx > 0 else " "
            end = idx + len(token)
            after = raw[end] if end < len(raw) else " "
            if (before.isspace() or before in "=\"'[,") and (after.isspace() or after in "\"',]\\`"):
                return lineno, idx + 1
            idx = raw.find(token, idx + 1)
    return inst.line, None


def _kw_col(inst: Instruction) -> int:
    raw = inst.physical[0][1]
    return len(raw) - len(raw.lstrip()) + 1


def _locate_name(inst: Instruction, name: str) -> tuple[int, int | None]:
    """Position of ``NAME=`` (or the legacy ``ENV NAME value`` name) in an ENV/ARG instruction."""
    for lineno, raw in inst.physical:
        start = len(raw) - len(raw.lstrip()) + len(inst.keyword) if lineno == inst.line else 0
        idx = raw.find(name + "=", start)
        if idx >= 0 and raw[idx - 1].isspace():
            return lineno, idx + 1
    return _locate_token(inst, name)


def _locate_value(inst: Instruction, name: str, value: str) -> tuple[int, int | None]:
    """Position of the literal default of ``ARG NAME=value`` (inside quotes when quoted)."""
    for lineno, raw in inst.physical:
        for prefix in (f"{name}={value}", f'{name}="{value}"', f"{name}='{value}'"):
            idx = raw.find(prefix)
            if idx >= 0 and (idx == 0 or raw[idx - 1].isspace()):
                return lineno, idx + 1 + len(prefix) - len(value) - (1 if prefix[-1] in "\"'" else 0)
    return inst.line, None


@dataclass
class _Stage:
    name: str | None
    line: int
    parent: int | None  # index of the stage it builds on
    user: str | None = None
    user_line: int = 0
    shell: list[str] | None = None  # SHELL instruction's exec form, when set
    cmds: int = 0
    entrypoints: int = 0


def _is_remote(src: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", src, re.IGNORECASE)) or src.startswith("git@")


def _run_hygiene(col: Collector, inst: Instruction, stage: _Stage) -> None:
    """DF-008..DF-011 and DF-013 on one RUN (shell form and heredoc bodies)."""
    if inst.json_args is not None or not hygiene.is_posix_shell(stage.shell):
        return
    texts = [t for t in (inst.rest, *inst.heredocs) if t.strip()]
    where = (inst.line, _kw_col(inst))
    cached_apt = any("/var/lib/apt" in m for m in _mount_sources_raw(inst.args))
    pipefail_shell = stage.shell is not None and hygiene.shell_has_pipefail(stage.shell)
    for text in texts:
        facts = hygiene.analyse(text)
        if facts is None:
            continue
        seen: set[str] = set()
        for manager, pkg in facts.unpinned:
            if pkg in seen:
                continue
            seen.add(pkg)
            col.add("DF-008", *_locate_token(inst, pkg), f"{manager} installs {pkg} without a version pin")
        if facts.apt_recommends:
            col.add("DF-009", *where, "apt-get install without --no-install-recommends")
        if facts.apt_install and not facts.apt_cleaned and not cached_apt:
            col.add("DF-010", *where,
                    "apt-get install without `rm -rf /var/lib/apt/lists/*` in the same RUN")
        if facts.pipe_without_pipefail and not pipefail_shell:
            col.add("DF-011", *where, "RUN pipeline without `set -o pipefail`: a failing command before "
                                      "the last `|` does not fail the build")
        if facts.sudo:
            col.add("DF-013", *where, "RUN uses sudo")


def _mount_sources_raw(args: str) -> list[str]:
    return [m.group(1) for m in _MOUNT_RE.finditer(args)]


_CONTEXT_WALK_LIMIT = 50_000
# one walk per context, source and ignore file (its size and mtime in the key: an edited file is read again)
_CONTEXT_CACHE: dict[tuple[str, str, str | None, tuple[int, int] | None], list[str]] = {}


def _sensitive_in_context(context: str, rel: str, ignore_path: str | None) -> list[str]:
    """Sensitive files under ``rel`` of the build context that the ignore file does not exclude."""
    st = os.stat(ignore_path) if ignore_path else None
    key = (context, rel, ignore_path, (st.st_size, st.st_mtime_ns) if st else None)
    if key in _CONTEXT_CACHE:
        return _CONTEXT_CACHE[key]
    matcher = dockerignore.load(ignore_path) if ignore_path else dockerignore.PatternMatcher([])
    found: list[str] = []
    seen = 0
    full = os.path.join(context, rel)
    roots = glob.glob(full, include_hidden=True) if glob.has_magic(rel) else [full]
    for root in roots:
        if not os.path.isdir(root) or os.path.islink(root):
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, context).replace(os.sep, "/")
            if not matcher.exclusions:  # an excluded directory cannot be re-included: skip it
                dirnames[:] = [d for d in dirnames if not matcher.excluded(dockerignore.clean(f"{rel_dir}/{d}"))]
            for name in filenames:
                seen += 1
                if seen > _CONTEXT_WALK_LIMIT:
                    break
                path = dockerignore.clean(f"{rel_dir}/{name}")
                if _sensitive(path) and not matcher.excluded(path) and path not in found:
                    found.append(path)
    if len(_CONTEXT_CACHE) > 256:
        _CONTEXT_CACHE.clear()
    _CONTEXT_CACHE[key] = found
    return found


def _context_secrets(col: Collector, inst: Instruction, srcs: list[str]) -> None:
    """DF-016: a directory COPY/ADD sends sensitive files of the build context that no .dockerignore excludes.

    The build context is taken to be the Dockerfile's directory (``docker build .`` next to it)."""
    dockerfile = col.file
    if not os.path.isfile(dockerfile):
        return
    context = os.path.dirname(os.path.abspath(dockerfile))
    ignore_path = dockerignore.ignore_file_for(dockerfile, context)
    found: list[str] = []
    for src in srcs:
        if _is_remote(src) or src.startswith("<<") or "$" in src:
            continue
        rel = dockerignore.clean(src.lstrip("/"))
        if rel.startswith(".."):
            continue
        found.extend(p for p in _sensitive_in_context(context, rel, ignore_path) if p not in found)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        them = "them" if len(found) > 1 else "it"
        why = (f"{os.path.basename(ignore_path)} does not exclude {them}" if ignore_path
               else "there is no .dockerignore")
        col.add("DF-016", inst.line, _kw_col(inst),
                f"{inst.keyword} {' '.join(srcs)} sends {shown} from the build context into the image; {why}")


def _is_root_user(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("root", "0")


def _sensitive(src: str) -> bool:
    s = src.strip().rstrip("/")
    if not s or s.startswith(("http://", "https://", "<<")):
        return False
    s = s.replace("\\", "/")
    base = s.rsplit("/", 1)[-1]
    low = base.lower()
    if low.startswith(".env"):
        return not low.endswith(_ENV_EXAMPLES) and (low == ".env" or low.startswith(".env."))
    if low in _SENSITIVE_NAMES or low.endswith(_SENSITIVE_SUFFIXES):
        return True
    if low.startswith(("id_rsa", "id_ecdsa", "id_ed25519", "id_dsa")) and not low.endswith(".pub"):
        return True
    if re.match(r"service[-_]?account.*\.json$", low):
        return True
    padded = "/" + s.lower() + ("/" if not s.endswith("/") else "")
    return any("/" + part in padded for part in _SENSITIVE_PARTS)


_SYNTAX_RE = re.compile(r"^(\s*#\s*syntax\s*=\s*)(.*?)\s*$", re.IGNORECASE)
_MOUNT_RE = re.compile(r"--mount=(\"[^\"]*\"|'[^']*'|\S+)")


def _syntax_directives(text: str) -> list[tuple[int, int, str]]:
    """(line, column, frontend image) of every ``# syntax=`` in the leading comment block."""
    out: list[tuple[int, int, str]] = []
    for i, raw in enumerate(text.split("\n")):
        line = raw.rstrip("\r")
        if i == 0:
            line = line.lstrip("\ufeff")
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        m = _SYNTAX_RE.match(line)
        if m and m.group(2):  # BuildKit: the frontend image is the first word (the rest are its options)
            out.append((i + 1, len(m.group(1)) + 1, m.group(2).split()[0]))
    return out


def _mount_sources(inst_args: str) -> list[str]:
    """``from=`` of every ``--mount`` flag before the command."""
    _flags, rest = _split_flags(inst_args)
    prefix = inst_args.lstrip()[: len(inst_args.lstrip()) - len(rest)]
    out: list[str] = []
    for m in _MOUNT_RE.finditer(prefix):
        value = m.group(1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        for row in csv.reader([value]):
            for field_ in row:
                key, _, val = field_.partition("=")
                if key.strip().lower() == "from" and val.strip():
                    out.append(val.strip())
    return out


def _build_images(col: Collector, inst: Instruction, keyword: str, args: str, stage_names: dict[str, int],
                  global_args: dict[str, str | None], prefix: str) -> None:
    """Images pulled by COPY --from and RUN --mount=from= (also inside ONBUILD)."""
    sources: list[tuple[str, str]] = []
    if keyword == "COPY":
        flags, _rest = _split_flags(args)
        if "from" in flags:
            sources.append((flags["from"], "--from=" + flags["from"]))
    elif keyword == "RUN":
        sources.extend((src, "from=" + src) for src in _mount_sources(args))
    for raw, token in sources:
        resolved, missing = substitute(raw, global_args)
        if not prefix and not missing and (resolved.isdigit() or resolved.lower() in stage_names):
            continue  # an earlier stage
        if prefix and resolved.isdigit():
            continue
        lineno, column = _locate_token(inst, token, after_keyword=False)
        if column is not None:
            column += len(token) - len(raw)
        context = f"{prefix}{keyword} {'--from' if keyword == 'COPY' else '--mount from'}"
        col.image(ImageUse(file=col.file, line=lineno, column=column, text=resolved or raw,
                           literal="$" not in raw, context=context,
                           unresolved=missing if (missing or not resolved) else None))


def check(text: str, col: Collector, build_args: dict[str, str] | None = None) -> None:
    """Parse a Dockerfile and add its findings (and image references) to ``col``."""
    insts = parse(text, col.file)
    policy = col.policy
    for syn_line, syn_col, frontend in _syntax_directives(text):
        col.image(ImageUse(file=col.file, line=syn_line, column=syn_col, text=frontend, literal=True,
                           context="# syntax= frontend"))
    if build_args and build_args.get("BUILDKIT_SYNTAX"):
        col.image(ImageUse(file=col.file, line=1, column=None, text=build_args["BUILDKIT_SYNTAX"],
                           literal=False, context="BUILDKIT_SYNTAX build argument (frontend)"))
    global_args: dict[str, str | None] = {}
    stages: list[_Stage] = []
    stage_names: dict[str, int] = {}
    build_args = build_args or {}
    # where each global ARG's literal default is written, so FROM ${ARG} can be pinned there
    arg_sites: dict[str, tuple[int, int | None, str]] = {}
    for inst in insts:
        kw = inst.keyword
        if kw == "ARG":
            pairs = key_values(inst)
            for name, value in pairs:
                if not stages:
                    global_args[name] = build_args.get(name, value)
                    if name not in build_args and value and "$" not in value:
                        arg_sites[name] = (*_locate_value(inst, name, value), value)
                    else:
                        arg_sites.pop(name, None)
                if secret_name(name, policy) and value is None:
                    col.add("DF-003", *_locate_token(inst, name),
                            f"ARG {name} passes a secret as a build argument; build args are recorded "
                            "in the image history")
                elif value is not None:
                    reason = secret_reason(name, value, policy)
                    if reason:
                        col.add("DF-003", *_locate_name(inst, name), f"ARG {name} has a literal secret default: {reason}")
            continue
        if kw == "FROM":
            words = inst.rest.split()
            if not words:
                raise InputError(f"{col.file}:{inst.line}: FROM needs an image")
            if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
                raise InputError(f"{col.file}:{inst.line}: malformed FROM {inst.rest!r}",
                                 hint="write FROM [--platform=...] image [AS name]")
            raw_image = words[0]
            stage_name = words[2].lower() if len(words) == 3 else None
            resolved, missing = substitute(raw_image, global_args)
            parent = stage_names.get(resolved.lower()) if not missing else None
            stages.append(_Stage(stage_name, inst.line, parent))
            if stage_name:
                stage_names[stage_name] = len(stages) - 1
            if parent is None and resolved.lower() != "scratch":
                lineno, column = _locate_token(inst, raw_image, skip_flags=True)
                literal = "$" not in raw_image
                context = f"FROM, stage {len(stages)}" + (f" {stage_name!r}" if stage_name else "")
                only_var = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", raw_image)
                site = arg_sites.get(only_var.group(1)) if only_var else None
                if site is not None and site[1] is not None and site[2] == resolved:
                    lineno, column, literal = site[0], site[1], True
                    context += f", via ARG {only_var.group(1) if only_var else ''}"
                col.image(ImageUse(
                    file=col.file, line=lineno, column=column, text=resolved or raw_image,
                    literal=literal, context=context,
                    unresolved=missing if (missing or not resolved) else None,
                ))
            continue
        stage = stages[-1]
        if kw == "USER":
            words = inst.rest.split()
            if not words:
                raise InputError(f"{col.file}:{inst.line}: USER needs a user name or uid")
            stage.user, stage.user_line = words[0], inst.line
        elif kw == "ENV":
            for name, value in key_values(inst):
                reason = secret_reason(name, value, policy)
                if reason:
                    col.add("DF-003", *_locate_name(inst, name), f"ENV {name} is a literal secret: {reason}")
        elif kw == "ONBUILD":
            m = re.match(r"([A-Za-z]+)\s+(.*)$", inst.rest, re.DOTALL)
            if m:
                _build_images(col, inst, m.group(1).upper(), m.group(2), stage_names, global_args, "ONBUILD ")
        elif kw in ("COPY", "ADD"):
            if kw == "COPY":
                _build_images(col, inst, kw, inst.args, stage_names, global_args, "")
            srcs = (inst.json_args or _words(inst.rest))[:-1]
            for src in srcs:
                if _sensitive(src):
                    lineno, column = _locate_token(inst, src)
                    col.add("DF-004", lineno, column,
                            f"{kw} copies {src!r} into the image; secrets in layers can be read by "
                            "anyone who can pull the image")
            if kw == "ADD" and "checksum" not in inst.flags:
                for src in srcs:
                    if re.match(r"^(https?|ftp)://", src) or src.startswith("git@"):
                        lineno, column = _locate_token(inst, src)
                        col.add("DF-005", lineno, column,
                                f"ADD downloads {src} without --checksum; its content is not verified")
            if kw == "ADD" and "from" not in inst.flags:
                for src in srcs:
                    if _is_remote(src) or src.startswith("<<"):
                        continue
                    lineno, column = _locate_token(inst, src)
                    if src.lower().endswith(hygiene.ARCHIVE_SUFFIXES):
                        col.add("DF-012", lineno, column,
                                f"ADD {src} unpacks the local archive implicitly; use COPY if the file is meant")
                    else:
                        col.add("DF-012", lineno, column, f"ADD of the local {src!r}; use COPY")
            if "from" not in inst.flags:
                _context_secrets(col, inst, srcs)
        elif kw == "RUN":
            _build_images(col, inst, kw, inst.args, stage_names, global_args, "")
            body = " ".join(inst.json_args) if inst.json_args is not None else inst.rest
            for chunk in (body, *inst.heredocs):
                snippet = curl_pipe_shell(chunk)
                if snippet:
                    col.add("DF-006", inst.line, _kw_col(inst),
                            f"RUN pipes a downloaded script into an interpreter: {snippet[:200]!r}")
                    break
            _run_hygiene(col, inst, stage)
        elif kw == "SHELL":
            stage.shell = inst.json_args
        elif kw in ("CMD", "ENTRYPOINT"):
            if kw == "CMD":
                stage.cmds += 1
            else:
                stage.entrypoints += 1
            if (stage.cmds if kw == "CMD" else stage.entrypoints) >= 2:
                col.add("DF-015", inst.line, _kw_col(inst),
                        f"another {kw} in this stage; only the last {kw} takes effect")
        elif kw == "WORKDIR":
            path = inst.rest.strip()
            if len(path) >= 2 and path[0] == path[-1] and path[0] in "\"'":
                path = path[1:-1]
            if path and not path.startswith(("/", "$")) and not re.match(r"^[A-Za-z]:[\\/]", path):
                col.add("DF-014", *_locate_token(inst, inst.rest.strip()),
                        f"WORKDIR {path} is relative; it depends on the WORKDIR before it")
        elif kw == "EXPOSE":
            for word in inst.rest.split():
                port_text = word.split("/", 1)[0]
                if "$" in port_text:
                    continue
                lo_s, _, hi_s = port_text.partition("-")
                try:
                    lo = int(lo_s)
                    hi = int(hi_s) if hi_s else lo
                except ValueError as exc:
                    raise InputError(f"{col.file}:{inst.line}: EXPOSE: invalid port {word!r}") from exc
                for port, service in DATASTORE_PORTS.items():
                    if lo <= port <= hi:
                        lineno, column = _locate_token(inst, word)
                        col.add("DF-007", lineno, column,
                                f"EXPOSE {word} exposes the {service} port {port}")
    # USER of the final stage (inherited through FROM <stage>)
    final = stages[-1]
    user, user_line = final.user, final.user_line
    idx: int | None = len(stages) - 1
    while user is None and idx is not None:
        st = stages[idx]
        user, user_line = st.user, st.user_line
        idx = st.parent
    if user is None:
        col.add("DF-001", final.line, 1,
                "the final stage has no USER instruction, so the container runs as the base "
                "image's user (usually root)")
    elif _is_root_user(user):
        col.add("DF-002", user_line, 1, f"the final stage runs as {user!r}")
