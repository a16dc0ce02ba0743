"""Units for the executable / archive catalogers: ELF parsing, Go build info (real Debian binaries
and hand-built blobs), stream scan vs buffered parse, cargo-auditable .dep-v0, Java archives
(nesting, bombs), gemspecs, Gemfile.lock, deps.json, and the layer pass's analyzer hook."""

from __future__ import annotations

import io
import json
import shutil
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.oci.fs import DirectoryTree, FileEntry, MemoryTree, Want
from supplychain.oci.layers import squash
from supplychain.sbom.catalogers import default_catalogers, run_catalogers, union_analyze, union_select
from supplychain.sbom.catalogers import elf as elfmod
from supplychain.sbom.catalogers import java as javamod
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.catalogers.binary import EXEC_ANALYZER, BinaryCataloger, pick_version
from supplychain.sbom.catalogers.dotnet import parse_deps_json
from supplychain.sbom.catalogers.elf import GO_MAGIC, Elf, ExecFacts, go_buildinfo, parse_go_buildinfo
from supplychain.sbom.catalogers.golang import GoCataloger, main_version, parse_modinfo
from supplychain.sbom.catalogers.java import JAVA_ANALYZER, JavaCataloger, read_archive
from supplychain.sbom.catalogers.ruby import parse_gemfile_lock, parse_gemspec
from supplychain.sbom.catalogers.rust import RustCataloger, decode_dep_v0
from tests.imagebuild import File, build_image, write_oci_layout


def _chunks(data: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


SENTINEL = b"0123456789abcdef"  # Go wraps module info in 16-byte sentinels ending in "\n" before the last


def inline_buildinfo(version: str, modinfo: str) -> bytes:
    mod = SENTINEL + modinfo.encode() + b"\n" + SENTINEL[1:] + b"X"  # mod[-17] must be "\n"
    assert mod[-17:-16] == b"\n"
    header = GO_MAGIC + bytes([8, 2]) + b"\0" * 16
    return header + _uvarint(len(version)) + version.encode() + _uvarint(len(mod)) + mod


MODINFO = (
    "path\texample.com/shop/cmd/api\n"
    "mod\texample.com/shop\tv1.4.0\th1:main=\n"
    "dep\tgithub.com/pkg/errors\tv0.9.1\th1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n"
    "dep\tgolang.org/x/net\tv0.7.0\th1:old=\n"
    "=>\tgolang.org/x/net\tv0.23.0\th1:new=\n"
    "build\t-ldflags=-s -w\n"
    "build\tGOOS=linux"
)


def test_inline_build_info_and_modinfo() -> None:
    blob = inline_buildinfo("go1.22.1", MODINFO)
    got = parse_go_buildinfo(blob, None)
    assert got is not None and got["version"] == "go1.22.1"
    info = parse_modinfo(got["version"], got["modinfo"])
    assert info.main is not None and (info.main.path, info.main.version) == ("example.com/shop", "v1.4.0")
    assert [(d.path, d.version, d.sum) for d in info.deps] == [
        ("github.com/pkg/errors", "v0.9.1", "h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4="),
        ("golang.org/x/net", "v0.23.0", "h1:new="),  # the replacement is what was compiled in
    ]
    assert ("GOOS", "linux") in info.settings


def test_go_cataloger_packages_and_edges() -> None:
    tree = MemoryTree()
    facts = ExecFacts(go=parse_go_buildinfo(inline_buildinfo("go1.22.1", MODINFO), None))
    tree.files["/app/api"] = FileEntry("/app/api", 100, layer="sha256:l1", facts={EXEC_ANALYZER.key: facts})
    pkgs = GoCataloger().catalog(tree, CatalogContext())
    by = {p.purl: p for p in pkgs}
    assert set(by) == {"pkg:golang/example.com/shop@v1.4.0", "pkg:golang/github.com/pkg/errors@v0.9.1",
                       "pkg:golang/golang.org/x/net@v0.23.0", "pkg:golang/stdlib@1.22.1"}
    main = by["pkg:golang/example.com/shop@v1.4.0"]
    assert main.type == "application" and len(main.dependencies) == 3
    assert ("supplychain:go:build:GOOS", "linux") in main.properties
    assert all(p.layer == "sha256:l1" and p.location == "/app/api" for p in pkgs)


def test_main_version_like_syft() -> None:
    info = parse_modinfo("go1.22.1", "path\tx/cmd\nmod\tx\t(devel)\t\nbuild\t-ldflags=\"-X main.version=1.2.3\"")
    assert main_version(info, None) == ("v1.2.3", "ldflags")
    info = parse_modinfo("go1.22.1", "path\tx/cmd\nmod\tx\t(devel)\t\nbuild\tvcs.revision=0123456789abcdef\n"
                         "build\tvcs.time=2024-12-13T18:30:11Z")
    assert main_version(info, None) == ("v0.0.0-20241213183011-0123456789ab", "vcs")
    assert main_version(info, "v9.9.9") == ("v9.9.9", "contents")


@pytest.mark.parametrize("tool", ["docker-registry", "skopeo"])
def test_real_go_binaries_buffered_and_streamed_agree(tool: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (scripts/setup-test-env.sh)")
    data = Path(path).read_bytes()
    buffered = EXEC_ANALYZER.analyze("/usr/bin/" + tool, len(data), _chunks(data))
    assert isinstance(buffered, ExecFacts) and buffered.go is not None
    assert buffered.go["version"].startswith("go1.")
    assert buffered.go["modinfo"].startswith("path\tgithub.com/")
    monkeypatch.setattr(elfmod, "BUFFER_CAP", 1 << 20)  # force the chunk-by-chunk scan
    for size in (1 << 16, 4099):
        streamed = EXEC_ANALYZER.analyze("/usr/bin/" + tool, len(data), _chunks(data, size))
        assert isinstance(streamed, ExecFacts) and streamed.streamed
        assert streamed.go == {k: v for k, v in buffered.go.items() if k != "guess"}


@pytest.mark.parametrize("chunk", [1 << 20, 4096, 1000])
def test_dep_v0_found_while_streaming_a_real_binary(tmp_path: Path, chunk: int) -> None:
    """Not a Go program and no classifier: the file is not held; the non-allocated tail and the
    section table are kept and .dep-v0 is found there, whatever the chunk boundaries."""
    from tests.image_sbom.realfiles import DEP_V0, rust_binary

    data = rust_binary(tmp_path)
    if data is None:
        pytest.skip("objcopy is not installed (binutils)")
    facts = EXEC_ANALYZER.analyze("/usr/local/bin/shopctl", len(data), _chunks(data, chunk))
    assert isinstance(facts, ExecFacts) and facts.streamed
    assert facts.dep_v0 is not None and json.loads(zlib.decompress(facts.dep_v0)) == DEP_V0
    assert facts.dep_v0 == Elf(data).section(".dep-v0")


def test_stripped_binary_without_section_table_still_has_go_info() -> None:
    path = shutil.which("docker-registry")
    if path is None:
        pytest.skip("docker-registry is not installed")
    data = bytearray(Path(path).read_bytes())
    struct.pack_into("<Q", data, 40, 0)  # e_shoff = 0: no section headers (sstrip-like)
    elf = Elf(bytes(data))
    assert not elf.sections
    got = go_buildinfo(elf)
    assert got is not None and got["version"].startswith("go1.")


def test_pointer_format_build_info() -> None:
    """Go < 1.18: the header holds pointers to Go string headers; resolved through PT_LOAD."""
    base = 0x400000
    body = bytearray(0x400)
    # ELF64 header with one PT_LOAD mapping file offset 0 at vaddr base
    body[:4] = b"\x7fELF"
    body[4], body[5] = 2, 1
    struct.pack_into("<HHIQQQIHHHHHH", body, 16, 2, 62, 1, 0, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    struct.pack_into("<IIQQQQQQ", body, 64, 1, 5, 0, base, base, len(body), len(body), 0x1000)
    vers, mod = b"go1.16.15", SENTINEL + b"path\tx\nmod\tx\tv1.0.0\t\n" + SENTINEL[1:] + b"X"
    body[0x200 : 0x200 + len(vers)] = vers
    body[0x280 : 0x280 + len(mod)] = mod
    struct.pack_into("<QQ", body, 0x180, base + 0x200, len(vers))
    struct.pack_into("<QQ", body, 0x190, base + 0x280, len(mod))
    hdr = GO_MAGIC + bytes([8, 0]) + struct.pack("<QQ", base + 0x180, base + 0x190)
    body[0x100 : 0x100 + len(hdr)] = hdr
    got = go_buildinfo(Elf(bytes(body)))
    assert got == {"version": "go1.16.15", "modinfo": "path\tx\nmod\tx\tv1.0.0\t\n"}


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=0, max_size=2048), st.integers(min_value=0, max_value=2000))
def test_hostile_elf_bytes_never_crash(junk: bytes, cut: int) -> None:
    data = (b"\x7fELF\x02\x01" + junk)[: max(cut, 6)] + junk
    for path in ("/usr/bin/php", "/usr/bin/x"):  # held whole (a classifier names it) and streamed
        facts = EXEC_ANALYZER.analyze(path, len(data), iter([data[:100], data[100:]]))
        assert facts is None or isinstance(facts, ExecFacts)
    hostile = GO_MAGIC + bytes([8, 2]) + b"\0" * 16 + b"\xff" * 12 + junk
    assert parse_go_buildinfo(hostile, None) is None  # a bad varint: no build info, no exception


def test_classifier_version_follows_the_file_name() -> None:
    assert pick_version("/usr/bin/python3.11", ["3.2.0", "3.11.2"]) == "3.11.2"
    assert pick_version("/usr/bin/python3.11", ["3.2.0"]) is None
    assert pick_version("/usr/sbin/nginx", ["1.22.1", "1.2.13"]) == "1.22.1"


def test_dep_v0_decoding_and_hostile_sections() -> None:
    doc = {"packages": [{"name": "app", "version": "1.0.0", "source": "local", "root": True, "dependencies": [1, 99, "x"]},
                        {"name": "serde", "version": "1.0.197", "source": "crates.io"}]}
    tree = MemoryTree()
    for name, blob in (("good", zlib.compress(json.dumps(doc).encode())), ("junk", b"\x78\x9cnot zlib"),
                       ("bomb", zlib.compress(b"[" * (20 << 20)))):
        tree.files[f"/bin/{name}"] = FileEntry(f"/bin/{name}", 1, facts={EXEC_ANALYZER.key: ExecFacts(dep_v0=blob)})
    ctx = CatalogContext()
    pkgs = RustCataloger().catalog(tree, ctx)
    assert {(p.name, p.version) for p in pkgs} == {("app", "1.0.0"), ("serde", "1.0.197")}
    app = next(p for p in pkgs if p.name == "app")
    assert app.dependencies == ["pkg:cargo/serde@1.0.197#/bin/good"]
    assert any("/bin/junk" in n for n in ctx.notes) and any("/bin/bomb" in n and "more than" in n for n in ctx.notes)
    with pytest.raises(ValueError):
        decode_dep_v0(zlib.compress(b'{"packages": 3}'))


def _jar(entries: dict[str, bytes], stored: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_java_nesting_depth_shading_and_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = _jar({"META-INF/maven/org.x/inner/pom.properties": b"groupId=org.x\nartifactId=inner\nversion=0.1\n"})
    for _ in range(6):  # deeper than MAX_DEPTH
        inner = _jar({"lib/nested-1.0.jar": inner}, stored=True)
    outer = _jar({
        "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nImplementation-Title: app\r\nImplementation-Ver\r\n sion: 2.0\r\n",
        "META-INF/maven/com.acme/app/pom.properties": b"groupId=com.acme\nartifactId=app\nversion=2.0.1\n",
        "META-INF/maven/com.google/shaded/pom.properties": b"groupId=com.google\nartifactId=shaded\nversion=3\n",
        "WEB-INF/lib/deep-1.0.jar": inner,
    })
    arc = read_archive(outer, "/srv/app-2.0.1.war")
    tree = MemoryTree()
    tree.files["/srv/app-2.0.1.war"] = FileEntry("/srv/app-2.0.1.war", len(outer), facts={JAVA_ANALYZER.key: arc})
    pkgs = JavaCataloger().catalog(tree, CatalogContext())
    purls = [p.purl for p in pkgs]
    assert purls[0] == "pkg:maven/com.acme/app@2.0.1" and "pkg:maven/com.google/shaded@3" in purls
    assert not any("inner" in (p or "") for p in purls)  # below the nesting limit: not read
    depth = 0
    a = arc
    while a.nested:
        a, depth = a.nested[0], depth + 1
    assert depth == javamod.MAX_DEPTH
    assert pkgs[0].hashes["SHA-1"] == arc.sha1 and set(pkgs[0].dependencies) >= {pkgs[1].bom_ref}
    monkeypatch.setattr(javamod, "MAX_ARCHIVE", 100)
    big = JAVA_ANALYZER.analyze("/x/big-1.0.jar", len(outer), _chunks(outer, 7))
    assert big is not None and not big.manifest and "only hashed" in big.notes[0] and big.sha1 == arc.sha1


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=400), st.binary(min_size=1, max_size=64))
def test_hostile_zip_bytes_never_crash(pos: int, junk: bytes) -> None:
    jar = bytearray(_jar({"META-INF/MANIFEST.MF": b"Implementation-Version: 1\n" * 20,
                          "META-INF/maven/g/a/pom.properties": b"groupId=g\nartifactId=a\nversion=1\n",
                          "lib/in-1.jar": _jar({"x": b"y" * 100})}))
    jar[pos % len(jar) : pos % len(jar) + len(junk)] = junk
    arc = JAVA_ANALYZER.analyze("/a-1.jar", len(jar), iter([bytes(jar)]))
    assert arc is not None and len(arc.sha1) == 40


def test_gemspec_and_gemfile_lock() -> None:
    spec = parse_gemspec('Gem::Specification.new do |s|\n  s.name = "rack".freeze\n  s.version = "2.2.8"\n'
                         '  s.licenses = ["MIT".freeze, "Ruby"]\n  s.authors = ["A B".freeze]\n'
                         '  s.add_runtime_dependency(%q<webrick>.freeze, [">= 0"])\n'
                         '  s.add_development_dependency(%q<minitest>.freeze, ["~> 5.0"])\nend\n')
    assert spec["name"] == "rack" and spec["version"] == "2.2.8" and spec["licenses"] == ["MIT", "Ruby"]
    assert spec["depends"] == ["webrick"]
    lock = parse_gemfile_lock("GIT\n  remote: https://x/y.git\n  specs:\n    y (0.1.0)\n      rack\n\n"
                              "GEM\n  specs:\n    rack (3.0.9)\n\nDEPENDENCIES\n  y!\n")
    assert lock == [("y", "0.1.0", ["rack"]), ("rack", "3.0.9", [])]


def test_deps_json() -> None:
    doc = {"runtimeTarget": {"name": "t"}, "targets": {"t": {"A/1.0": {"dependencies": {"B": "2.0"}}}},
           "libraries": {"A/1.0": {"type": "project"}, "B/2.0": {"type": "package", "sha512": "sha512-bad"},
                         "C/3.0": {"type": "reference"}, "junk": 5}}
    pkgs = {p.name: p for p in parse_deps_json(doc, "/app/A.deps.json", None)}
    assert set(pkgs) == {"A", "B"} and pkgs["A"].dependencies == ["pkg:nuget/B@2.0"] and not pkgs["B"].hashes


def test_analyzer_failure_is_a_note_and_the_stream_stays_in_step(tmp_path: Path) -> None:
    """An analyzer that raises on odd bytes must not desynchronise the tar stream: the next
    member is still read correctly, and the failure is a layer note."""

    class Boom:
        key = "boom"

        def probe(self, path: str, mode: int, size: int) -> bool:
            return path.endswith(".boom")

        def analyze(self, path: str, size: int, chunks: Iterator[bytes]) -> Any:
            next(chunks)
            raise ValueError("odd bytes")

    class Cat:
        name = "t"
        analyzers = (Boom(),)

        def wants(self, path: str) -> Want:
            return Want.CONTENT if path == "/after" else Want.SKIP

    img = build_image([[File("/a.boom", b"x" * (3 << 20)), File("/after", b"still in step")]], compression="none")
    write_oci_layout(tmp_path / "l", img, tag="v1")
    from supplychain.oci.image import open_image

    cats: list[Any] = [Cat()]
    with open_image(f"oci:{tmp_path / 'l'}:v1") as im:
        tree = squash(im, union_select(cats), analyze=union_analyze(cats))
    entry = tree.get("/after")
    assert entry is not None and entry.data == b"still in step"
    assert tree.get("/a.boom") is None
    assert any("could not be analyzed" in n and "/a.boom" in n for n in tree.skipped())


def test_directory_tree_runs_the_same_catalogers(tmp_path: Path) -> None:
    registry = shutil.which("docker-registry")
    if registry is None:
        pytest.skip("docker-registry is not installed")
    (tmp_path / "usr/bin").mkdir(parents=True)
    shutil.copy(registry, tmp_path / "usr/bin/registry")
    jar = _jar({"META-INF/maven/g/a/pom.properties": b"groupId=g\nartifactId=a\nversion=1\n"})
    (tmp_path / "a-1.jar").write_bytes(jar)
    # a Spring Boot "fully executable" jar: a launcher script in front of the zip, mode 0755
    (tmp_path / "svc-2.jar").write_bytes(b"#!/bin/bash\nexec java -jar \"$0\" \"$@\"\n" + _jar(
        {"META-INF/maven/g/svc/pom.properties": b"groupId=g\nartifactId=svc\nversion=2\n"}))
    (tmp_path / "svc-2.jar").chmod(0o755)
    cats = default_catalogers()
    tree = DirectoryTree(tmp_path, union_select(cats), union_analyze(cats))
    pkgs, _ = run_catalogers(tree, cats)
    purls = {p.purl for p in pkgs}
    assert "pkg:maven/g/a@1" in purls and "pkg:maven/g/svc@2" in purls and any((p or "").startswith("pkg:golang/stdlib@") for p in purls)


def test_binary_cataloger_skips_files_apk_and_dpkg_own() -> None:
    tree = MemoryTree()
    facts = ExecFacts(matches={"busybox": ["1.36.1"]})
    tree.files["/bin/busybox"] = FileEntry("/bin/busybox", 1, facts={EXEC_ANALYZER.key: facts})
    tree.files["/opt/busybox"] = FileEntry("/opt/busybox", 1, facts={EXEC_ANALYZER.key: facts})
    tree.files["/lib/apk/db/installed"] = FileEntry(
        "/lib/apk/db/installed", 1, data=b"P:busybox\nV:1.36.1-r15\nF:bin\nR:busybox\n\n")
    pkgs = BinaryCataloger().catalog(tree, CatalogContext())
    assert [(p.name, p.location) for p in pkgs] == [("busybox", "/opt/busybox")]


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), _JSON)
def test_text_parsers_never_crash_on_hostile_input(blob: str, doc: Any) -> None:
    parse_gemspec(blob)
    parse_gemfile_lock(blob)
    javamod.parse_manifest(blob)
    javamod.parse_properties(blob)
    parse_modinfo("go1.22.1", blob)
    parse_deps_json(doc, "/x.deps.json", None)
    parse_deps_json({"libraries": doc, "targets": {"t": doc}, "runtimeTarget": {"name": "t"}}, "/x.deps.json", None)
