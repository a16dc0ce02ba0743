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

The code lives in modules by concern; this module holds the rules (:func:`check`) and re-exports
the public names:

- :mod:`supplychain.policy.dockerfile_parse`: instructions, words, substitution, source positions
- :mod:`supplychain.policy.dockerfile_context`: sensitive files and the build context (DF-004, DF-016)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from supplychain.errors import InputError
from supplychain.policy import hygiene
from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.dockerfile_context import _context_secrets, _is_remote, _sensitive
from supplychain.policy.dockerfile_parse import (
    INSTRUCTIONS,
    Instruction,
    _kw_col,
    _locate_name,
    _locate_token,
    _locate_value,
    _mount_sources,
    _mount_sources_raw,
    _split_flags,
    _syntax_directives,
    _words,
    key_values,
    parse,
    substitute,
)
from supplychain.policy.secrets import secret_name, secret_reason

__all__ = [
    "DATASTORE_PORTS",
    "INSTRUCTIONS",
    "Instruction",
    "check",
    "curl_pipe_shell",
    "key_values",
    "parse",
    "substitute",
]

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


def _is_root_user(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("root", "0")


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
