"""Alpine version ordering (apk-tools).

Part of :mod:`supplychain.vuln.versions` (which re-exports the public names).
"""

from __future__ import annotations

from functools import lru_cache

from supplychain.vuln.versions_common import BadVersion

# --- apk (Alpine) ---------------------------------------------------------------------------
# Port of apk-tools 2.x src/version.c (the tokenizer and apk_version_compare_blob).

_T_INVALID, _T_DIGIT_OR_ZERO, _T_DIGIT, _T_LETTER, _T_SUFFIX, _T_SUFFIX_NO, _T_REVISION_NO, _T_END = (
    -1, 0, 1, 2, 3, 4, 5, 6,
)
_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")
_POST_SUFFIXES = ("cvs", "svn", "git", "hg", "p")


class _ApkCursor:
    __slots__ = ("pos", "s", "type")

    def __init__(self, s: str) -> None:
        self.s = s
        self.pos = 0
        self.type = _T_DIGIT

    def _next_token(self) -> None:
        s, p, t = self.s, self.pos, self.type
        n = _T_INVALID
        if p >= len(s):
            n = _T_END
        elif t in (_T_DIGIT, _T_DIGIT_OR_ZERO) and "a" <= s[p] <= "z":
            n = _T_LETTER
        elif t == _T_LETTER and "0" <= s[p] <= "9":
            n = _T_DIGIT
        elif t == _T_SUFFIX and "0" <= s[p] <= "9":
            n = _T_SUFFIX_NO
        else:
            c = s[p]
            if c == ".":
                n = _T_DIGIT_OR_ZERO
            elif c == "_":
                n = _T_SUFFIX
            elif c == "-":
                if p + 1 < len(s) and s[p + 1] == "r":
                    n = _T_REVISION_NO
                    p += 1
            p += 1
        if n < t and not (
            (n == _T_DIGIT_OR_ZERO and t == _T_DIGIT)
            or (n == _T_SUFFIX and t == _T_SUFFIX_NO)
            or (n == _T_DIGIT and t == _T_LETTER)
        ):
            n = _T_INVALID
        self.pos = p
        self.type = n

    def get(self) -> int:
        s, p = self.s, self.pos
        rest = len(s) - p
        if rest <= 0:
            self.type = _T_END
            return 0
        v = 0
        i = 0
        nt = _T_INVALID
        t = self.type
        if t == _T_DIGIT_OR_ZERO and s[p] == "0":
            while i < rest and s[p + i] == "0":
                i += 1
            nt = _T_DIGIT
            v = -i
        elif t in (_T_DIGIT_OR_ZERO, _T_DIGIT, _T_SUFFIX_NO, _T_REVISION_NO):
            while i < rest and "0" <= s[p + i] <= "9":
                v = v * 10 + ord(s[p + i]) - 48
                i += 1
        elif t == _T_LETTER:
            v = ord(s[p])
            i = 1
        elif t == _T_SUFFIX:
            for k, suf in enumerate(_PRE_SUFFIXES):
                if s.startswith(suf, p):
                    v, i = k - len(_PRE_SUFFIXES), len(suf)
                    break
            else:
                for k, suf in enumerate(_POST_SUFFIXES):
                    if s.startswith(suf, p):
                        v, i = k, len(suf)
                        break
                else:
                    self.type = _T_INVALID
                    return -1
        else:
            self.type = _T_INVALID
            return -1
        self.pos = p + i
        if self.pos >= len(s):
            self.type = _T_END
        elif nt != _T_INVALID:
            self.type = nt
        else:
            self._next_token()
        return v


def _apk_valid(v: str) -> bool:
    c = _ApkCursor(v)
    while c.type not in (_T_END, _T_INVALID):
        c.get()
    return c.type == _T_END


@lru_cache(maxsize=65536)
def _apk_check(v: str) -> str:
    if not v or not _apk_valid(v):
        raise BadVersion(f"{v!r}: not an Alpine package version")
    return v


def apk_compare(a: str, b: str) -> int:
    """apk-tools' ordering (``1.2.3_rc1-r0 < 1.2.3-r0 < 1.2.3_p1-r0 < 1.2.3-r1``)."""
    _apk_check(a)
    _apk_check(b)
    ca, cb = _ApkCursor(a), _ApkCursor(b)
    av = bv = 0
    while ca.type == cb.type and ca.type not in (_T_END, _T_INVALID) and av == bv:
        av = ca.get()
        bv = cb.get()
    if av < bv:
        return -1
    if av > bv:
        return 1
    if ca.type == cb.type:
        return 0
    if ca.type == _T_SUFFIX:
        probe = _ApkCursor(a)
        probe.pos, probe.type = ca.pos, ca.type
        if probe.get() < 0:
            return -1
    if cb.type == _T_SUFFIX:
        probe = _ApkCursor(b)
        probe.pos, probe.type = cb.pos, cb.type
        if probe.get() < 0:
            return 1
    if ca.type > cb.type:
        return -1
    if cb.type > ca.type:
        return 1
    return 0
