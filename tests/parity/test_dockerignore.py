""".dockerignore semantics, checked with moby/patternmatcher's own test tables
(patternmatcher_test.go TestMatches, TestMatch, compile tests; ignorefile_test.go TestReadAll)."""

from __future__ import annotations

import pytest

from supplychain.policy.dockerignore import PatternError, PatternMatcher, matches, read_patterns

FAIL, EXACT, INEXACT = 0, 1, 2

# (pattern, text, expected) from TestMatches
TABLE = [
    ("**", "file", EXACT), ("**", "file/", EXACT), ("**/", "file", EXACT), ("**/", "file/", EXACT),
    ("**", "/", EXACT), ("**/", "/", EXACT), ("**", "dir/file", EXACT), ("**/", "dir/file", EXACT),
    ("**", "dir/file/", EXACT), ("**/", "dir/file/", EXACT), ("**/**", "dir/file", EXACT),
    ("**/**", "dir/file/", EXACT), ("dir/**", "dir/file", EXACT), ("dir/**", "dir/file/", EXACT),
    ("dir/**", "dir/dir2/file", EXACT), ("dir/**", "dir/dir2/file/", EXACT), ("**/dir", "dir", EXACT),
    ("**/dir", "dir/file", INEXACT), ("**/dir2/*", "dir/dir2/file", EXACT),
    ("**/dir2/*", "dir/dir2/file/", INEXACT), ("**/dir2/**", "dir/dir2/dir3/file", EXACT),
    ("**/dir2/**", "dir/dir2/dir3/file/", EXACT), ("**file", "file", EXACT), ("**file", "dir/file", EXACT),
    ("**/file", "dir/file", EXACT), ("**file", "dir/dir/file", EXACT), ("**/file", "dir/dir/file", EXACT),
    ("**/file*", "dir/dir/file", EXACT), ("**/file*", "dir/dir/file.txt", EXACT),
    ("**/file*txt", "dir/dir/file.txt", EXACT), ("**/file*.txt", "dir/dir/file.txt", EXACT),
    ("**/file*.txt*", "dir/dir/file.txt", EXACT), ("**/**/*.txt", "dir/dir/file.txt", EXACT),
    ("**/**/*.txt2", "dir/dir/file.txt", FAIL), ("**/*.txt", "file.txt", EXACT),
    ("**/**/*.txt", "file.txt", EXACT), ("a**/*.txt", "a/file.txt", EXACT),
    ("a**/*.txt", "a/dir/file.txt", EXACT), ("a**/*.txt", "a/dir/dir/file.txt", EXACT),
    ("a/*.txt", "a/dir/file.txt", FAIL), ("a/*.txt", "a/file.txt", EXACT), ("a/*.txt**", "a/file.txt", EXACT),
    ("a[b-d]e", "ae", FAIL), ("a[b-d]e", "ace", EXACT), ("a[b-d]e", "aae", FAIL), ("a[^b-d]e", "aze", EXACT),
    (".*", ".foo", EXACT), (".*", "foo", FAIL), ("abc.def", "abcdef", FAIL), ("abc.def", "abc.def", EXACT),
    ("abc.def", "abcZdef", FAIL), ("abc?def", "abcZdef", EXACT), ("abc?def", "abcdef", FAIL),
    ("**/foo/bar", "foo/bar", EXACT), ("**/foo/bar", "dir/foo/bar", EXACT),
    ("**/foo/bar", "dir/dir2/foo/bar", EXACT), ("abc/**", "abc", FAIL), ("abc/**", "abc/def", EXACT),
    ("abc/**", "abc/def/ghi", EXACT), ("**/.foo", ".foo", EXACT), ("**/.foo", "bar.foo", FAIL),
    ("a(b)c/def", "a(b)c/def", EXACT), ("a(b)c/def", "a(b)c/xyz", FAIL), ("a.|)$(}+{bc", "a.|)$(}+{bc", EXACT),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", EXACT),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", EXACT),
    ("a\\\\", "a\\", EXACT), ("a\\*b", "a*b", EXACT),
]

MULTI = [
    (["**", "!util/docker/web"], "util/docker/web/foo", FAIL),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", EXACT),
    (["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", FAIL),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", FAIL),
]


@pytest.mark.parametrize(("pattern", "text", "want"), TABLE)
def test_matches_table(pattern: str, text: str, want: int) -> None:
    pm = PatternMatcher([pattern])
    assert pm.matches_exact(text) == (want == EXACT)
    assert pm.matches_or_parent_matches(text) == (want != FAIL)


@pytest.mark.parametrize(("patterns", "text", "want"), MULTI)
def test_multi_pattern_table(patterns: list[str], text: str, want: int) -> None:
    assert PatternMatcher(patterns).matches_or_parent_matches(text) == (want != FAIL)


# TestMatch: go's filepath.Match table through Matches(); None = ErrBadPattern
GO_MATCH = [
    ("abc", "abc", True), ("*", "abc", True), ("*c", "abc", True), ("a*", "a", True), ("a*", "abc", True),
    ("a*", "ab/c", True), ("a*/b", "abc/b", True), ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True), ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False), ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True), ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True), ("ab[b-d]", "abc", True), ("ab[e-g]", "abc", False), ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False), ("ab[^e-g]", "abc", True), ("a\\*b", "a*b", True), ("a\\*b", "ab", False),
    ("a?b", "a☺b", True), ("a[^a]b", "a☺b", True), ("a???b", "a☺b", False), ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "α", True), ("*[a-ζ]", "A", False), ("a?b", "a/b", False), ("a*b", "a/b", False),
    ("[\\]a]", "]", True), ("[\\-]", "-", True), ("[x\\-]", "x", True), ("[x\\-]", "-", True),
    ("[x\\-]", "z", False), ("[\\-x]", "x", True), ("[\\-x]", "-", True), ("[\\-x]", "a", False),
    ("[]a]", "]", None), ("[-]", "-", None), ("[x-]", "x", None), ("[x-]", "-", None), ("[x-]", "z", None),
    ("[-x]", "x", None), ("[-x]", "-", None), ("[-x]", "a", None), ("\\", "a", None), ("[a-b-c]", "a", None),
    ("[", "a", None), ("[^", "a", None), ("[^bc", "a", None), ("a[", "a", None), ("a[", "ab", None),
    ("*x", "xxx", True),
]


@pytest.mark.parametrize(("pattern", "text", "want"), GO_MATCH)
def test_go_filepath_match_table(pattern: str, text: str, want: bool | None) -> None:
    if want is None:
        with pytest.raises(PatternError):
            matches(text, [pattern])
    else:
        assert matches(text, [pattern]) is want


@pytest.mark.parametrize(("pattern", "kind"), [
    ("*", "regexp"), ("file*", "regexp"), ("*file", "regexp"), ("a*/b", "regexp"), ("**", "suffix"),
    ("**/**", "regexp"), ("dir/**", "prefix"), ("**/dir", "suffix"), ("**/dir2/*", "regexp"),
    ("**/dir2/**", "regexp"), ("**file", "suffix"), ("**/file*txt", "regexp"), ("**/**/*.txt", "regexp"),
    ("a[b-d]e", "regexp"), (".*", "regexp"), ("abc.def", "exact"), ("abc/def", "exact"),
])
def test_compile_kinds(pattern: str, kind: str) -> None:
    assert PatternMatcher([pattern]).patterns[0].kind == kind


def test_simple_cases() -> None:
    assert matches("fileutils.go", ["*"]) and matches("fileutils.go", ["*.go"])
    assert matches("fileutils.go", ["!fileutils.go", "*.go"])
    assert not matches("fileutils.go", ["*.go", "!fileutils.go"])
    for folder in ("docs", "docs/", "docs/*"):
        assert not matches("docs/README.md", [folder, "!docs/README.md"])
    assert not matches(".", ["*.go"])  # the context root is never excluded
    assert not matches("/any/path/there", [])
    with pytest.raises(PatternError):
        matches("fileutils.go", ["!"])
    with pytest.raises(PatternError):
        matches("/any/path/there", ["["])
    assert len(PatternMatcher(["docs", "config", ""]).patterns) == 2
    assert PatternMatcher(["docs", "  !docs/README.md"]).exclusions
    assert PatternMatcher(["docs", "!docs/README.md  "]).exclusions


def test_read_all() -> None:
    content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! "
    assert read_patterns(content) == ["test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"]
    assert read_patterns("\ufeff.env\r\n  # not a comment\n./x/../y/\n") == [".env", "# not a comment", "y"]


def _context_findings(tmp_path, dockerfile: str = "Dockerfile"):  # type: ignore[no-untyped-def]
    from supplychain.policy.config import default_policy
    from supplychain.policy.engine import check_paths

    report = check_paths([str(tmp_path / dockerfile)], default_policy().with_trusted(["ghcr.io/acme/**"]))
    return [f.message for f in report.findings if f.rule == "DF-016"]


def test_build_context_secrets_follow_dockerignore(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dig = "sha256:" + "ab" * 32
    (tmp_path / "Dockerfile").write_text(f"FROM ghcr.io/acme/a:1@{dig}\nCOPY . /app\nUSER 1\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print()\n")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "auth.json").write_text("{}\n")
    (tmp_path / ".env").write_text("A=1\n")
    (tmp_path / ".env.example").write_text("A=\n")
    msgs = _context_findings(tmp_path)
    assert len(msgs) == 1 and ".env, config/auth.json" in msgs[0] and "no .dockerignore" in msgs[0]
    (tmp_path / ".dockerignore").write_text("**/.env\nconfig\n!config/auth.json\n")  # the exception re-includes it
    msgs = _context_findings(tmp_path)
    assert len(msgs) == 1 and "config/auth.json" in msgs[0] and ".env," not in msgs[0]
    (tmp_path / ".dockerignore").write_text(".env\n/config\n")
    assert _context_findings(tmp_path) == []
    # BuildKit prefers <Dockerfile>.dockerignore next to the Dockerfile
    (tmp_path / "Other.Dockerfile").write_text(f"FROM ghcr.io/acme/a:1@{dig}\nCOPY config /cfg\nUSER 1\n")
    (tmp_path / "Other.Dockerfile.dockerignore").write_text("*.md\n")
    msgs = _context_findings(tmp_path, "Other.Dockerfile")
    assert len(msgs) == 1 and "config/auth.json" in msgs[0] and "Other.Dockerfile.dockerignore" in msgs[0]
    (tmp_path / "src" / "COPY-only.Dockerfile").write_text("")
    (tmp_path / "Only.Dockerfile").write_text(f"FROM ghcr.io/acme/a:1@{dig}\nCOPY src /app\nUSER 1\n")
    assert _context_findings(tmp_path, "Only.Dockerfile") == []  # nothing sensitive under src/
