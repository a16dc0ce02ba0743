"""Dockerfile hygiene checks on RUN commands (hadolint-like): package pins, apt habits, pipefail, sudo.

The RUN text is split into simple commands with :mod:`shlex` (quotes respected, ``&&``, ``||``,
``;``, ``|`` and ``&`` as separators). A RUN whose quoting does not parse is not judged by these
hygiene rules (the security rules judge the raw text).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", ";;", "(", ")", "|&"})
_PIPEFAIL_RE = re.compile(r"\bset\s+(?:[-+][A-Za-z]+\s+)*-[A-Za-z]*o\s+pipefail\b")
_APT_CLEAN_RE = re.compile(r"rm\s+(?:-[a-zA-Z]+\s+)*[\"']?/var/lib/apt/lists")


@dataclass
class RunFacts:
    """What the hygiene rules found in one RUN."""

    unpinned: list[tuple[str, str]] = field(default_factory=list)  # (manager, package)
    apt_install: bool = False
    apt_recommends: bool = False  # apt-get install without --no-install-recommends
    apt_cleaned: bool = False
    pipe_without_pipefail: bool = False
    sudo: bool = False


def split_commands(text: str) -> list[list[str]] | None:
    """Simple commands (word lists) of a shell text, or None when its quoting does not parse."""
    # a newline ends a command too (heredoc bodies, scripts); shlex reads it as a blank
    lex = shlex.shlex(text.replace("\n", " ;\n"), posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    commands: list[list[str]] = [[]]
    try:
        for tok in lex:
            if tok in _SEPARATORS or (tok and set(tok) <= set("&|;()")):
                commands.append([])
            else:
                commands[-1].append(tok)
    except ValueError:
        return None
    return [c for c in commands if c]


def has_pipe(text: str) -> bool:
    """Does the shell text contain a ``|`` pipe (not ``||``) outside quotes?"""
    lex = shlex.shlex(text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    try:
        return any(tok in ("|", "|&") for tok in lex)
    except ValueError:
        return False


def _strip_prefix(cmd: list[str]) -> tuple[list[str], bool]:
    """Drop ``sudo``/``env``/``VAR=x``/``DEBIAN_FRONTEND=...`` prefixes; (rest, used sudo)."""
    sudo = False
    i = 0
    while i < len(cmd):
        w = cmd[i]
        if w == "sudo":
            sudo = True
            i += 1
            while i < len(cmd) and cmd[i].startswith("-"):
                i += 2 if cmd[i] in ("-u", "-g", "-C", "-D", "-h", "-p", "-U") else 1
            continue
        if w in ("env", "exec", "command", "nice", "time"):
            i += 1
            continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w):
            i += 1
            continue
        break
    return cmd[i:], sudo


def _args(words: list[str], takes_value: frozenset[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for w in words:
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            if w in takes_value:
                skip = True
            continue
        out.append(w)
    return out


_APT_VALUE_OPTS = frozenset({"-o", "-t", "--target-release", "-c", "--config-file", "--default-release"})
_APK_VALUE_OPTS = frozenset({"-X", "--repository", "-t", "--virtual", "--arch", "-p", "--root", "--cache-dir",
                             "--keys-dir", "--repositories-file"})
_PIP_VALUE_OPTS = frozenset({"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
                             "--extra-index-url", "-f", "--find-links", "--target", "-t", "--prefix", "--root",
                             "--platform", "--python-version", "--implementation", "--abi", "--src",
                             "--upgrade-strategy", "--progress-bar", "--trusted-host", "--cert", "--client-cert",
                             "--cache-dir", "--log", "--proxy", "--timeout", "--retries", "--config-settings",
                             "-C", "--global-option", "--no-binary", "--only-binary"})
_NPM_VALUE_OPTS = frozenset({"--registry", "--prefix", "-C", "--cache", "--userconfig", "--tag", "--omit",
                             "--include", "-w", "--workspace"})


def _is_variable(word: str) -> bool:
    return "$" in word


def _apt(words: list[str], facts: RunFacts) -> None:
    if "install" not in words:
        return
    rest = words[words.index("install") + 1:]
    facts.apt_install = True
    recommends_off = "--no-install-recommends" in words or any(
        re.match(r"^APT::Install-Recommends=(false|0|no)$", w, re.IGNORECASE) for w in words)
    if not recommends_off:
        facts.apt_recommends = True
    for pkg in _args(rest, _APT_VALUE_OPTS):
        if _is_variable(pkg) or "=" in pkg or pkg.endswith(".deb") or "/" in pkg:
            continue
        facts.unpinned.append(("apt", pkg))


def _apk(words: list[str], facts: RunFacts) -> None:
    if "add" not in words:
        return
    rest = words[words.index("add") + 1:]
    for pkg in _args(rest, _APK_VALUE_OPTS):
        if _is_variable(pkg) or re.search(r"[=~<>]", pkg) or pkg.endswith(".apk") or "/" in pkg:
            continue
        facts.unpinned.append(("apk", pkg))


def _pip(words: list[str], facts: RunFacts) -> None:
    if "install" not in words:
        return
    rest = words[words.index("install") + 1:]
    for pkg in _args(rest, _PIP_VALUE_OPTS):
        if _is_variable(pkg) or "==" in pkg or " @ " in pkg or "@" in pkg or "://" in pkg:
            continue
        if pkg in (".", "..") or pkg.startswith(("./", "../", "/")) or pkg.endswith((".whl", ".tar.gz", ".zip")):
            continue
        facts.unpinned.append(("pip", pkg))


def _npm(words: list[str], facts: RunFacts) -> None:
    verbs = ("install", "i", "add", "isntall")
    idx = next((i for i, w in enumerate(words) if w in verbs), None)
    if idx is None:
        return
    for pkg in _args(words[idx + 1:], _NPM_VALUE_OPTS):
        if _is_variable(pkg) or pkg.startswith((".", "/", "git+", "http:", "https:", "file:")) or pkg.endswith(".tgz"):
            continue
        name_version = pkg[1:] if pkg.startswith("@") else pkg
        if "@" in name_version:
            continue
        facts.unpinned.append(("npm", pkg))


def analyse(text: str) -> RunFacts | None:
    """The hygiene facts of a RUN's shell text; None when its quoting does not parse."""
    commands = split_commands(text)
    if commands is None:
        return None
    facts = RunFacts()
    for raw in commands:
        cmd, sudo = _strip_prefix(raw)
        facts.sudo = facts.sudo or sudo
        if not cmd:
            continue
        prog = cmd[0].rsplit("/", 1)[-1]
        if prog in ("apt-get", "apt"):
            _apt(cmd[1:], facts)
        elif prog == "apk":
            _apk(cmd[1:], facts)
        elif re.fullmatch(r"pip[0-9.]*", prog):
            _pip(cmd[1:], facts)
        elif re.fullmatch(r"python[0-9.]*", prog) and cmd[1:3] == ["-m", "pip"]:
            _pip(cmd[3:], facts)
        elif prog in ("npm", "yarn", "pnpm"):
            _npm(cmd[1:], facts)
    facts.apt_cleaned = bool(_APT_CLEAN_RE.search(text))
    facts.pipe_without_pipefail = has_pipe(text) and not _PIPEFAIL_RE.search(text)
    return facts


def shell_has_pipefail(shell_args: list[str]) -> bool:
    """Does a ``SHELL ["/bin/bash", "-o", "pipefail", "-c"]`` turn pipefail on?"""
    for i, word in enumerate(shell_args):
        if word == "pipefail" and i > 0 and shell_args[i - 1] in ("-o", "-eo", "-euo", "-uo", "-exo", "-euxo"):
            return True
        if re.fullmatch(r"-[a-z]*o", word) and i + 1 < len(shell_args) and shell_args[i + 1] == "pipefail":
            return True
    return False


def is_posix_shell(shell_args: list[str] | None) -> bool:
    if not shell_args:
        return True
    prog = shell_args[0].replace("\\", "/").rsplit("/", 1)[-1].lower()
    return prog in ("sh", "bash", "ash", "dash", "zsh", "ksh", "busybox")


ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tar.lz")
