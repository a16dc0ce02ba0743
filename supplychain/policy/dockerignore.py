""".dockerignore files, read and matched as Docker (BuildKit) applies them.

Written after moby/patternmatcher (``ignorefile.ReadAll`` and ``PatternMatcher``), which BuildKit
and the docker CLI use:

* reading: lines starting with ``#`` are comments (only at column 0); surrounding whitespace is
  trimmed; empty lines skipped; a UTF-8 BOM on the first line dropped; each pattern (after a
  leading ``!``, itself followed by optional whitespace) is cleaned like Go's ``filepath.Clean``
  and a leading ``/`` removed (``/foo`` means ``foo`` in the context root);
* patterns: ``*`` any run of characters except ``/``, ``?`` one character except ``/``,
  ``[...]`` character classes (``^`` negates, ``\\`` escapes), ``**`` any number of directories
  (including none), ``\\`` escapes the next character; patterns are checked for Go
  ``filepath.Match`` syntax errors (an unclosed ``[``, ``[-]``, a trailing ``\\``, ...);
* matching (``MatchesOrParentMatches``): the patterns are applied in order, the last one that
  matches a path wins, ``!pattern`` re-includes; a path also matches a pattern when one of its
  parent directories does, so ``docs`` excludes ``docs/README.md`` unless ``!docs/README.md``
  follows. The context root ``.`` is never excluded.

BuildKit reads ``<Dockerfile>.dockerignore`` next to the Dockerfile in preference to
``<context>/.dockerignore`` (:func:`ignore_file_for`).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass

from supplychain.errors import InputError

_ESCAPE = frozenset(".+()|{}$")


class PatternError(ValueError):
    """A pattern Go's filepath.Match would reject (ErrBadPattern), or a lone ``!``."""


def clean(path: str) -> str:
    """Go's ``path.Clean`` (``filepath.Clean`` on Unix)."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    text = "/".join(out)
    if rooted:
        return "/" + text
    return text or "."


def read_patterns(text: str) -> list[str]:
    """The patterns of a .dockerignore file's text, as ``ignorefile.ReadAll`` returns them."""
    out: list[str] = []
    for n, line in enumerate(text.split("\n")):
        if line.endswith("\r"):
            line = line[:-1]
        if n == 0 and line.startswith("\ufeff"):
            line = line[1:]
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern[0] == "!"
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern[0] == "/":
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


def _check_class(p: str, i: int) -> int:
    """Validate a ``[...]`` class starting after ``[`` at ``i``; the index after its ``]``."""
    n = len(p)
    if i < n and p[i] == "^":
        i += 1
    nrange = 0
    while True:
        if i < n and p[i] == "]" and nrange > 0:
            return i + 1
        i = _class_char(p, i)
        if i < n and p[i] == "-":
            i = _class_char(p, i + 1)
        nrange += 1


def _class_char(p: str, i: int) -> int:
    if i >= len(p) or p[i] in "-]":
        raise PatternError("syntax error in pattern")
    if p[i] == "\\":
        i += 1
        if i >= len(p):
            raise PatternError("syntax error in pattern")
    return i + 1


def validate(pattern: str) -> None:
    """Raise PatternError where Go's ``filepath.Match(pattern, ".")`` returns ErrBadPattern."""
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise PatternError("syntax error in pattern")
            i += 2
        elif ch == "[":
            i = _check_class(pattern, i + 1)
        else:
            i += 1


@dataclass
class Pattern:
    text: str  # cleaned, without the leading "!"
    exclusion: bool
    kind: str  # "exact", "prefix", "suffix", "regexp"
    regex: re.Pattern[str] | None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None


def _compile(text: str, exclusion: bool) -> Pattern:
    reg = "^"
    kind = "exact"
    i, n = 0, len(text)
    first = True
    while i < n:
        ch = text[i]
        i += 1
        if ch == "*":
            if i < n and text[i] == "*":
                i += 1
                if i < n and text[i] == "/":
                    i += 1
                if i >= n:
                    if kind == "exact":
                        kind = "prefix"
                    else:
                        reg += ".*"
                        kind = "regexp"
                else:
                    reg += "(.*/)?"
                    kind = "regexp"
                if first:
                    kind = "suffix"
            else:
                reg += "[^/]*"
                kind = "regexp"
        elif ch == "?":
            reg += "[^/]"
            kind = "regexp"
        elif ch in _ESCAPE:
            reg += "\\" + ch
        elif ch == "\\":
            if i < n:
                reg += "\\" + text[i]
                i += 1
                kind = "regexp"
            else:
                reg += "\\\\"
        elif ch in "[]":
            reg += ch
            kind = "regexp"
        else:
            reg += ch
        first = False
    regex = None
    if kind == "regexp":
        try:
            regex = re.compile(reg + r"\Z")
        except re.error as exc:
            raise PatternError(f"cannot compile pattern: {exc}") from None
    return Pattern(text, exclusion, kind, regex)


class PatternMatcher:
    """``patternmatcher.New(patterns)``; :meth:`excluded` is ``MatchesOrParentMatches``."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[Pattern] = []
        for raw in patterns:
            p = raw.strip()
            if not p:
                continue
            p = clean(p)
            exclusion = p[0] == "!"
            if exclusion:
                if len(p) == 1:
                    raise PatternError('illegal exclusion pattern: "!"')
                p = p[1:]
            validate(p)
            self.patterns.append(_compile(p, exclusion))

    @property
    def exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def matches_exact(self, path: str) -> bool:
        matched = False
        for pat in self.patterns:
            if pat.exclusion != matched:
                continue
            if pat.match(path):
                matched = not pat.exclusion
        return matched

    def matches_or_parent_matches(self, path: str) -> bool:
        matched = False
        parent = posixpath.dirname(path) or "."
        parent_dirs = parent.split("/")
        for pat in self.patterns:
            if pat.exclusion != matched:
                continue
            hit = pat.match(path)
            if not hit and parent != ".":
                for i in range(len(parent_dirs)):
                    if pat.match("/".join(parent_dirs[:i + 1])):
                        hit = True
                        break
            if hit:
                matched = not pat.exclusion
        return matched

    def excluded(self, path: str) -> bool:
        """Is ``path`` (relative to the context, ``/``-separated) left out of the build context?"""
        p = clean(path)
        if p == ".":
            return False
        return self.matches_or_parent_matches(p)


def matches(path: str, patterns: list[str]) -> bool:
    """``patternmatcher.MatchesOrParentMatches(path, patterns)``."""
    return PatternMatcher(patterns).excluded(path)


def ignore_file_for(dockerfile: str, context: str) -> str | None:
    """The ignore file BuildKit uses: ``<Dockerfile>.dockerignore``, else ``<context>/.dockerignore``."""
    for candidate in (dockerfile + ".dockerignore", os.path.join(context, ".dockerignore")):
        if os.path.isfile(candidate):
            return candidate
    return None


def load(path: str) -> PatternMatcher:
    """The matcher of an ignore file; a malformed pattern is an InputError naming the file."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(1 << 20)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    text = raw.decode("utf-8", "replace")
    try:
        return PatternMatcher(read_patterns(text))
    except PatternError as exc:
        raise InputError(f"{path}: {exc}", hint="fix the pattern; docker build refuses it too") from None
