"""Dockerfile parsing: parser directives, continuations, heredocs, flags, ENV/ARG words, ``$VAR``
substitution, and where a token sits in the source (line, column).

Part of :mod:`supplychain.policy.dockerfile` (which re-exports the public names).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field

from supplychain.errors import InputError

INSTRUCTIONS = frozenset({
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
})

_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")
_HEREDOC_RE = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


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


def _mount_sources_raw(args: str) -> list[str]:
    return [m.group(1) for m in _MOUNT_RE.finditer(args)]


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
