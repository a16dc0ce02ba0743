"""Squashing layers: whiteouts, opaque dirs, hostile tars, and the four image sources."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError, VerificationError
from supplychain.oci import fs
from supplychain.oci.fs import Want
from supplychain.oci.image import open_image
from supplychain.oci.layers import Limits, squash
from supplychain.oci.tarstream import TarStream
from tests.imagebuild import (
    Device,
    Dir,
    File,
    Hardlink,
    Opaque,
    Raw,
    Symlink,
    Whiteout,
    build_image,
    build_index,
    layer_tar,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
)


def want_all(path: str) -> Want:
    return Want.DIGEST if path.endswith(".bin") else Want.CONTENT


BASE = [
    Dir("/etc"),
    File("/etc/os-release", b"ID=debian\nVERSION_ID=12\n"),
    Dir("/var/lib/dpkg"),
    File("/var/lib/dpkg/status", b"Package: base\n"),
    Dir("/usr/lib/python3/site-packages/yaml-6.0.dist-info"),
    File("/usr/lib/python3/site-packages/yaml-6.0.dist-info/METADATA", b"Name: PyYAML\n"),
    Dir("/usr/share/nginx"),
    File("/usr/share/nginx/index.html", b"<html>"),
    Dir("/opt/app"),
    File("/opt/app/a.txt", b"A"),
    File("/opt/app/b.txt", b"B"),
    Symlink("/usr/lib/os-release", "../../etc/os-release"),
    Symlink("/etc/alt", "/etc/os-release"),
    Hardlink("/etc/os-release.hard", "/etc/os-release"),
]
UPPER = [
    Whiteout("/usr/lib/python3/site-packages/yaml-6.0.dist-info"),  # a deleted dist
    Whiteout("/usr/share/nginx"),
    Opaque("/opt/app"),
    File("/opt/app/c.txt", b"C"),
    File("/var/lib/dpkg/status", b"Package: base\n\nPackage: extra\n"),
    File("/models/w.bin", b"\0" * 5000),
]
EXPECTED = {
    "/etc/os-release": b"ID=debian\nVERSION_ID=12\n",
    "/etc/os-release.hard": b"ID=debian\nVERSION_ID=12\n",
    "/opt/app/c.txt": b"C",
    "/var/lib/dpkg/status": b"Package: base\n\nPackage: extra\n",
    "/models/w.bin": None,
}


@pytest.fixture(scope="module")
def image() -> object:
    return build_image([BASE, UPPER])


def _check_tree(tree: fs.MemoryTree, layers: list[str]) -> None:
    assert sorted(tree.files) == sorted(EXPECTED)
    for path, data in EXPECTED.items():
        entry = tree.files[path]
        if data is None:
            assert entry.data is None and entry.sha256 is not None and entry.size == 5000
        else:
            assert entry.data == data
    assert tree.files["/etc/os-release"].layer == layers[0]
    assert tree.files["/var/lib/dpkg/status"].layer == layers[1]
    assert tree.files["/opt/app/c.txt"].layer == layers[1]
    # symlinks are recorded and resolve inside the tree
    assert tree.links["/usr/lib/os-release"] == "../../etc/os-release"
    e = tree.get("/usr/lib/os-release")
    assert e is not None and e.data == EXPECTED["/etc/os-release"]
    alt = tree.get("/etc/alt")
    assert alt is not None and alt.path == "/etc/os-release"
    assert tree.hardlinks["/etc/os-release.hard"] == "/etc/os-release"
    assert tree.notes == []


def test_four_sources_give_the_same_tree(tmp_path: Path, image) -> None:  # type: ignore[no-untyped-def]
    write_oci_layout(tmp_path / "layout", image, tag="v1")
    write_oci_archive(tmp_path / "oci.tar", image, tag="v1")
    write_docker_archive(tmp_path / "docker.tar", image, repo_tag="example.com/team/app:v1")
    write_docker_archive(tmp_path / "docker25.tar", image, repo_tag="app:v1", layout="blobs")
    write_docker_archive(tmp_path / "dockergz.tar", image, gzip_layers=True)
    sources = {
        f"oci:{tmp_path}/layout:v1": "oci",
        f"oci:{tmp_path}/layout": "oci",
        str(tmp_path / "layout"): "oci",
        f"{tmp_path}/layout:v1": "oci",
        f"oci-archive:{tmp_path}/oci.tar": "oci-archive",
        str(tmp_path / "oci.tar"): "oci-archive",
        f"docker-archive:{tmp_path}/docker.tar": "docker-archive",
        str(tmp_path / "docker.tar"): "docker-archive",
        f"docker-archive:{tmp_path}/docker.tar:example.com/team/app:v1": "docker-archive",
        str(tmp_path / "docker25.tar"): "docker-archive",
        str(tmp_path / "dockergz.tar"): "docker-archive",
    }
    for source, kind in sources.items():
        with open_image(source) as img:
            assert img.kind == kind, source
            assert img.config["config"]["User"] == "1000"
            assert img.platform == "linux/amd64"
            assert len(img.layers) == 2
            tree = squash(img, want_all)
            _check_tree(tree, [d.digest for d in img.layers])
            if kind != "docker-archive":
                assert img.manifest_digest == image.manifest_digest
                assert img.layers[0].digest == image.layer_digests[0]
            else:
                assert img.layers[0].digest == img.diff_ids[0]
    with open_image(f"docker-archive:{tmp_path}/docker.tar") as img:
        assert img.reference is not None and str(img.reference) == "example.com/team/app:v1"
        assert img.tag == "v1" and img.name == "app"
    with open_image(f"oci:{tmp_path}/layout:v1") as img:
        assert img.reference is None and img.tag == "v1" and img.name == "layout"
        assert img.path == f"{tmp_path}/layout" and img.digest_reference is None


def test_uncompressed_layers_and_docker_media_types(tmp_path: Path) -> None:
    for kw in ({"compression": "none"}, {"docker": True}):
        img = build_image([BASE, UPPER], **kw)  # type: ignore[arg-type]
        write_oci_layout(tmp_path / str(len(kw)) / "l", img)
        with open_image(f"oci:{tmp_path / str(len(kw)) / 'l'}") as im:
            _check_tree(squash(im, want_all), [d.digest for d in im.layers])


def test_zstd_layer_without_module_is_a_clear_error(tmp_path: Path) -> None:
    try:
        import zstandard  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("zstandard is installed; the missing-module path cannot be checked")
    img = build_image([BASE])
    m = img.manifest_json
    m["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+zstd"
    raw = json.dumps(m).encode()
    from tests.imagebuild import BuiltImage, sha256

    bad = BuiltImage(raw, sha256(raw), img.media_type, img.config, img.layer_tars, img.blobs)
    write_oci_layout(tmp_path / "l", bad)
    with open_image(f"oci:{tmp_path / 'l'}") as im, pytest.raises(InputError, match="zstandard"):
        squash(im, want_all)


def test_index_platform_selection(tmp_path: Path) -> None:
    amd = build_image([[File("/arch", b"amd64")]], arch="amd64")
    arm = build_image([[File("/arch", b"arm64")]], arch="arm64", variant="v8")
    write_oci_layout(tmp_path / "l", build_index([amd, arm]), tag="multi")
    for plat, want in (("linux/amd64", b"amd64"), ("linux/arm64", b"arm64"), ("linux/arm64/v8", b"arm64")):
        with open_image(f"oci:{tmp_path / 'l'}:multi", platform=plat) as im:
            assert im.index_digest is not None
            assert squash(im, want_all).files["/arch"].data == want
    with pytest.raises(InputError, match="linux/s390x") as exc:
        open_image(f"oci:{tmp_path / 'l'}", platform="linux/s390x")
    assert exc.value.hint and "linux/arm64/v8" in exc.value.hint
    with pytest.raises(InputError, match="no image tagged"):
        open_image(f"oci:{tmp_path / 'l'}:nope")
    with pytest.raises(InputError, match="platform"):
        open_image(f"oci:{tmp_path / 'l'}", platform="linux")


def test_tampered_layout_blob_is_detected(tmp_path: Path, image) -> None:  # type: ignore[no-untyped-def]
    layout = write_oci_layout(tmp_path / "l", image)
    layer = layout / "blobs" / "sha256" / image.layer_digests[1][7:]
    data = bytearray(layer.read_bytes())
    tampered = gzip.compress(gzip.decompress(bytes(data)).replace(b"extra", b"EVIL!"), mtime=0)
    layer.write_bytes(tampered)
    with open_image(f"oci:{layout}") as im, pytest.raises(VerificationError, match=r"digest|bytes"):
        squash(im, want_all)
    # same size, one byte flipped inside the compressed stream
    data[len(data) // 2] ^= 0xFF
    layer.write_bytes(bytes(data))
    with open_image(f"oci:{layout}") as im, pytest.raises(VerificationError):
        squash(im, want_all)
    # a tampered config is caught when the image is opened
    cfg = layout / "blobs" / "sha256" / image.manifest_json["config"]["digest"][7:]
    cfg.write_bytes(cfg.read_bytes().replace(b'"1000"', b'"0000"'))
    with pytest.raises(VerificationError):
        open_image(f"oci:{layout}")


def test_tampered_docker_archive_layer_fails_diff_id(tmp_path: Path, image) -> None:  # type: ignore[no-untyped-def]
    path = write_docker_archive(tmp_path / "d.tar", image)
    raw = path.read_bytes()
    assert raw.count(b"Package: extra") == 1
    path.write_bytes(raw.replace(b"Package: extra", b"Package: evil!"))
    with open_image(str(path)) as im, pytest.raises(VerificationError, match=r"diff_id|digest"):
        squash(im, want_all)


def _raw(name: str, type_: bytes = tarfile.REGTYPE, linkname: str = "", data: bytes = b"") -> Raw:
    info = tarfile.TarInfo(name)
    info.type = type_
    info.linkname = linkname
    return Raw(info, data)


def test_hostile_layer(tmp_path: Path) -> None:
    hostile = [
        _raw("../../../etc/passwd", data=b"root:x:0:0\n"),
        _raw("/abs/file.txt", data=b"abs"),
        _raw("./a/../../b.txt", data=b"b"),
        _raw("escape", tarfile.SYMTYPE, "../../../../../etc/passwd"),
        _raw("loop1", tarfile.SYMTYPE, "loop2"),
        _raw("loop2", tarfile.SYMTYPE, "loop1"),
        _raw("self", tarfile.SYMTYPE, "self/x"),
        Device("/dev/null"),
        Device("/srv/sda", "block"),
        Device("/run/fifo", "fifo"),
        _raw("hl", tarfile.LNKTYPE, "../../nothing-there"),
    ]
    img = build_image([hostile])
    write_oci_layout(tmp_path / "l", img)
    with open_image(str(tmp_path / "l")) as im:
        tree = squash(im, want_all)
    assert tree.files["/etc/passwd"].data == b"root:x:0:0\n"
    assert tree.files["/abs/file.txt"].data == b"abs"
    assert tree.files["/b.txt"].data == b"b"
    assert "/dev/null" not in tree.files and "/run/fifo" not in tree.files
    # a symlink out of the image resolves inside it
    esc = tree.get("/escape")
    assert esc is not None and esc.path == "/etc/passwd"
    assert tree.get("/loop1") is None and tree.get("/self/x") is None
    notes = "\n".join(tree.notes)
    assert "outside the image root" in notes and "../../../etc/passwd" in notes
    # devices outside /dev are reported; /dev's own nodes are normal in a base image
    assert "2 device file(s)" in notes and "/srv/sda" in notes and "/dev/null" not in notes
    assert "symlink(s) pointing outside" in notes
    assert "loops" in notes and "/loop1" in notes
    assert "hardlink" in notes


def test_huge_member_is_only_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("supplychain.oci.layers.MAX_CONTENT", 1000)
    img = build_image([[File("/var/lib/dpkg/status", b"x" * 5000), File("/small", b"s")]])
    write_oci_layout(tmp_path / "l", img)
    with open_image(str(tmp_path / "l")) as im:
        tree = squash(im, lambda p: Want.CONTENT)
    big = tree.files["/var/lib/dpkg/status"]
    assert big.data is None and big.size == 5000 and big.sha256 is not None
    assert tree.files["/small"].data == b"s"
    assert any("only hashed" in n and "/var/lib/dpkg/status" in n for n in tree.notes)


def test_content_budget(tmp_path: Path) -> None:
    img = build_image([[File(f"/f{i}", b"y" * 600) for i in range(4)]])
    write_oci_layout(tmp_path / "l", img)
    with open_image(str(tmp_path / "l")) as im:
        tree = squash(im, lambda p: Want.CONTENT, limits=Limits(max_kept_bytes=1500))
    kept = [p for p, e in tree.files.items() if e.data is not None]
    assert len(kept) == 2 and len(tree.files) == 4
    assert any("budget" in n for n in tree.notes)


def test_gzip_bomb_is_bounded(tmp_path: Path) -> None:
    # 64 MiB of zeros in one member: compresses ~1000x
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as tf:
        info = tarfile.TarInfo("zeros")
        info.size = 64 << 20
        tf.addfile(info, io.BytesIO(bytes(info.size)))
    img = build_image([tar.getvalue()])
    write_oci_layout(tmp_path / "l", img)
    with open_image(str(tmp_path / "l")) as im:
        with pytest.raises(InputError, match="bomb"):
            squash(im, want_all, limits=Limits(max_total_bytes=16 << 20))
        with pytest.raises(InputError, match="bomb"):
            squash(im, want_all, limits=Limits(ratio_floor=8 << 20, max_ratio=100))
        # within the default limits it is fine (and never held in memory: not wanted)
        tree = squash(im, lambda p: Want.SKIP)
        assert tree.files == {}


def test_dir_replaced_by_file_and_same_layer_order(tmp_path: Path) -> None:
    lower = [Dir("/srv/x"), File("/srv/x/keep", b"k"), File("/srv/f", b"f"), Symlink("/srv/l", "f")]
    upper = [File("/srv/x", b"now a file"), Dir("/srv/f"), File("/srv/l", b"real"),
             File("/tmp/t", b"1"), Symlink("/tmp/t", "x")]
    img = build_image([lower, upper])
    write_oci_layout(tmp_path / "l", img)
    with open_image(str(tmp_path / "l")) as im:
        tree = squash(im, want_all)
    assert "/srv/x/keep" not in tree.files
    assert tree.files["/srv/x"].data == b"now a file"
    assert "/srv/f" not in tree.files
    assert "/srv/l" not in tree.links and tree.files["/srv/l"].data == b"real"
    assert "/tmp/t" not in tree.files and tree.links["/tmp/t"] == "x"


def test_whiteout_of_symlink_and_readd(tmp_path: Path) -> None:
    img = build_image([
        [File("/a/f", b"1"), Symlink("/a/s", "f")],
        [Whiteout("/a/s"), Whiteout("/a/f")],
        [File("/a/f", b"2")],
    ])
    write_oci_layout(tmp_path / "l", img)
    with open_image(str(tmp_path / "l")) as im:
        tree = squash(im, want_all)
        assert tree.links == {} and tree.files["/a/f"].data == b"2"
        assert tree.files["/a/f"].layer == im.layers[2].digest


def test_progress_callback(tmp_path: Path, image) -> None:  # type: ignore[no-untyped-def]
    write_oci_layout(tmp_path / "l", image)
    calls: list[tuple[int, int, str]] = []
    with open_image(str(tmp_path / "l")) as im:
        squash(im, want_all, progress=lambda d, t, label: calls.append((d, t, label)))
        total = sum(d.size for d in im.layers)
    assert calls[-1] == (total, total, "done")
    assert any(label.startswith("layer 2/2") for _, _, label in calls)


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_image(f"oci:{tmp_path}/missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not an OCI image layout"):
        open_image(str(tmp_path / "plain"))
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(InputError):
        open_image(str(tmp_path / "junk.tar"))
    (tmp_path / "gz.tar.gz").write_bytes(gzip.compress(b"x"))
    with pytest.raises(InputError, match="compressed"):
        open_image(f"docker-archive:{tmp_path}/gz.tar.gz")
    layout = write_oci_layout(tmp_path / "l", build_image([[File("/x", b"x")]]))
    (layout / "index.json").write_text("{")
    with pytest.raises(InputError, match=r"index\.json"):
        open_image(str(layout))


# ----------------------------------------------------------------------------- tar parser


def _members_via_stream(data: bytes) -> list[tuple[str, int, int, str, bytes]]:
    out = []
    ts = TarStream(io.BytesIO(data), "t")
    for m in ts:
        payload = ts.read_data(m) if m.is_file else b""
        out.append((m.name, m.type, m.size, m.linkname, payload))
    return out


def _members_via_tarfile(data: bytes) -> list[tuple[str, int, int, str, bytes]]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf:
            f = tf.extractfile(m) if m.isreg() else None
            out.append((m.name, m.type[0], m.size if m.isreg() else 0, m.linkname, f.read() if f else b""))
    return out


_names = st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\0/"), min_size=1, max_size=40),
                  min_size=1, max_size=6).map("/".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_names, st.binary(max_size=1500), st.sampled_from(["f", "l", "d"])), max_size=8),
       st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT]))
def test_tar_parser_matches_tarfile(entries: list[tuple[str, bytes, str]], fmt: int) -> None:
    items: list[File | Dir | Symlink] = []
    for name, data, kind in entries:
        if kind == "f":
            items.append(File(name, data))
        elif kind == "d":
            items.append(Dir(name))
        else:
            items.append(Symlink(name, name[::-1][:150]))
    try:
        data = layer_tar(items, format=fmt)
    except ValueError:
        return  # ustar cannot hold this name
    got = _members_via_stream(data)
    want = _members_via_tarfile(data)
    assert [(n.rstrip("/"), t, s, ln, p) for n, t, s, ln, p in got] == [
        (n.rstrip("/"), t, s, ln, p) for n, t, s, ln, p in want]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000))
def test_tar_parser_on_junk(data: bytes) -> None:
    try:
        _members_via_stream(data)
    except InputError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=4000), st.binary(min_size=1, max_size=8))
def test_tar_parser_on_corrupted_tar(pos: int, junk: bytes) -> None:
    base = layer_tar([File("/a/" + "n" * 120, b"hello" * 100), Symlink("/b", "/" + "t" * 150), File("/c", b"c")])
    pos = pos % len(base)
    data = base[:pos] + junk + base[pos + len(junk):]
    try:
        _members_via_stream(data)
    except InputError:
        pass


# ----------------------------------------------------------------------------- overlay model


_DIRS = ["/a", "/a/b", "/c"]
_FILES = [f"{d}/{n}" for d in _DIRS for n in ("x", "y")]


@st.composite
def _layers(draw: st.DrawFn) -> list[list[tuple[str, str, bytes]]]:
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        ops: dict[str, tuple[str, bytes]] = {}
        for _ in range(draw(st.integers(0, 6))):
            kind = draw(st.sampled_from(["file", "file", "whiteout", "opaque"]))
            if kind == "opaque":
                path = draw(st.sampled_from(_DIRS))
            elif kind == "whiteout":
                path = draw(st.sampled_from([*_FILES, "/a/b", "/c"]))
            else:
                path = draw(st.sampled_from(_FILES))
            ops[path + ("#opq" if kind == "opaque" else "")] = (kind, draw(st.binary(max_size=8)))
        layers.append([(p.split("#")[0], k, d) for p, (k, d) in ops.items()])
    return layers


def _model(layers: list[list[tuple[str, str, bytes]]]) -> dict[str, tuple[bytes, int]]:
    state: dict[str, tuple[bytes, int]] = {}
    for i, ops in enumerate(layers):
        lower = dict(state)
        for path, kind, _ in ops:
            if kind in ("whiteout", "opaque"):
                for p in list(lower):
                    if p.startswith(path + "/") or (kind == "whiteout" and p == path):
                        del lower[p]
        written = {path: (data, i) for path, kind, data in ops if kind == "file"}
        # a whiteout and a file of the same path in one layer: the file is what the layer adds
        lower.update(written)
        state = lower
    return state


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_layers(), st.data())
def test_squash_matches_an_overlay_model(tmp_path_factory: pytest.TempPathFactory,
                                         layers: list[list[tuple[str, str, bytes]]], data: st.DataObject) -> None:
    built: list[list[File | Dir | Whiteout | Opaque]] = []
    for ops in layers:
        entries: list[File | Dir | Whiteout | Opaque] = [Dir(d) for d in _DIRS]
        # a layer never whites out what it writes itself
        written = {p for p, k, _ in ops if k == "file"}
        for path, kind, _ in ops:
            if kind == "whiteout" and path not in written:
                entries.append(Whiteout(path))
            elif kind == "opaque":
                entries.append(Opaque(path))
        entries += [File(p, d) for p, k, d in ops if k == "file"]
        # member order inside a layer does not matter (an opaque marker may come last)
        built.append(data.draw(st.permutations(entries)))
    model_layers = [[(p, k, d) for p, k, d in ops if not (k == "whiteout" and p in {q for q, kk, _ in ops if kk == "file"})]
                    for ops in layers]
    want = _model(model_layers)
    img = build_image(built)
    path = tmp_path_factory.mktemp("model") / "l"
    write_oci_layout(path, img)
    with open_image(str(path)) as im:
        tree = squash(im, want_all)
        digests = [d.digest for d in im.layers]
    got = {p: (e.data, e.layer) for p, e in tree.files.items()}
    assert got == {p: (d, digests[i]) for p, (d, i) in want.items()}


def test_tar_numbers_and_pax_overrides() -> None:
    from supplychain.oci.tarstream import _num

    assert _num(b"0000644\0", "t") == 0o644
    assert _num(b"\0" * 8, "t") == 0
    assert _num(bytes([0x80]) + (9 << 30).to_bytes(11, "big"), "t") == 9 << 30
    with pytest.raises(InputError):
        _num(b"\xff" * 12, "t")
    with pytest.raises(InputError):
        _num(b"12x4", "t")
    # a PAX size/path override wins over the ustar fields
    info = tarfile.TarInfo("short")
    info.pax_headers = {"path": "a/very/long/" + "p" * 200, "linkpath": "t" * 150}
    info.type = tarfile.SYMTYPE
    data = layer_tar([Raw(info), File("/after", b"ok")])
    members = _members_via_stream(data)
    assert members[0][0] == "a/very/long/" + "p" * 200 and members[0][3] == "t" * 150
    assert members[1][0] == "after" and members[1][4] == b"ok"


_hostile_names = st.lists(
    st.sampled_from(["..", ".", "", "etc", ".wh.etc", ".wh..wh..opq", ".wh..wh.plnk", "a", "b", "ü", "x" * 120]),
    min_size=1, max_size=6).map("/".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.tuples(
    _hostile_names,
    st.sampled_from([tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE, tarfile.CHRTYPE,
                     tarfile.FIFOTYPE]),
    _hostile_names, st.binary(max_size=64)), max_size=8), min_size=1, max_size=3))
def test_squash_survives_hostile_members(tmp_path_factory: pytest.TempPathFactory,
                                         layers: list[list[tuple[str, bytes, str, bytes]]]) -> None:
    built = []
    for members in layers:
        entries: list[Raw] = []
        for name, typ, link, data in members:
            info = tarfile.TarInfo(name or ".")
            info.type = typ
            info.linkname = link
            entries.append(Raw(info, data))
        built.append(layer_tar(entries))
    path = tmp_path_factory.mktemp("hostile") / "l"
    write_oci_layout(path, build_image(built))
    with open_image(str(path)) as im:
        tree = squash(im, lambda p: Want.CONTENT)
    for p in [*tree.files, *tree.links, *tree.hardlinks]:
        assert p.startswith("/") and "/../" not in p + "/" and "//" not in p
        assert not p.rsplit("/", 1)[-1].startswith(".wh.")
    for p in tree.paths():
        tree.get(p)  # resolution terminates
    for p in tree.links:
        tree.get(p)


def test_layout_with_several_images(tmp_path: Path) -> None:
    from tests.imagebuild import _layout_files

    one = build_image([[File("/n", b"1")]])
    two = build_image([[File("/n", b"2")]], arch="arm64")
    files = _layout_files(one, "one")
    files.update({k: v for k, v in _layout_files(two, "two").items() if k != "index.json"})
    index = json.loads(files["index.json"])
    index["manifests"] += json.loads(_layout_files(two, "two")["index.json"])["manifests"]
    root = tmp_path / "l"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "index.json").write_text(json.dumps(index))
    with pytest.raises(InputError, match="holds 2 images") as exc:
        open_image(str(root))
    assert exc.value.hint and "one, two" in exc.value.hint
    with open_image(f"{root}:two") as im:
        assert squash(im, want_all).files["/n"].data == b"2"
    # platform manifests listed directly in index.json: select by platform
    for m, im_ in zip(index["manifests"], (one, two), strict=True):
        m["platform"] = im_.platform
        del m["annotations"]
    (root / "index.json").write_text(json.dumps(index))
    with open_image(str(root), platform="linux/arm64") as im:
        assert im.index_digest is None and im.manifest_digest == two.manifest_digest


def test_files_wanted_under_a_symlinked_name_are_kept(tmp_path: Path) -> None:
    img = build_image([
        [Dir("/etc"), Symlink("/etc/os-release", "../usr/lib/os-release"), Symlink("/lib", "usr/lib"),
         Dir("/usr/lib"), File("/usr/lib/os-release", b"ID=debian\n"),
         File("/usr/lib/apk/db/installed", b"P:musl\n"), File("/usr/lib/other", b"x")],
        [Symlink("/srv/db", "/usr/lib/apk"), File("/usr/lib/apk/db/late", b"late")],
    ])
    write_oci_layout(tmp_path / "l", img)
    wanted = {"/etc/os-release", "/lib/apk/db/installed", "/srv/db/db/late"}
    with open_image(str(tmp_path / "l")) as im:
        tree = squash(im, lambda p: Want.CONTENT if p in wanted else Want.SKIP)
    assert sorted(tree.files) == ["/usr/lib/apk/db/installed", "/usr/lib/apk/db/late", "/usr/lib/os-release"]
    for name in wanted:
        entry = tree.get(name)
        assert entry is not None and entry.data


def test_many_links_to_one_directory_stay_cheap(tmp_path: Path) -> None:
    links = [Symlink(f"/l{i}", "/usr/share") for i in range(3000)]
    files = [File(f"/usr/share/f{i}", b"") for i in range(3000)]
    img = build_image([[*links, *files]])
    write_oci_layout(tmp_path / "l", img)
    with open_image(str(tmp_path / "l")) as im:
        tree = squash(im, lambda p: Want.CONTENT if p == "/l5/f7" else Want.SKIP)
    assert list(tree.files) == ["/usr/share/f7"]
    assert len(tree.links) == 3000


def test_corrupt_gzip_with_matching_digest_is_a_clear_input_error(tmp_path: Path) -> None:
    # the manifest describes the corrupt blob, so the digest matches: the layer itself is bad
    good = gzip.compress(layer_tar([File("/a", b"x" * 5000)]), mtime=0)
    for bad in (good[: len(good) // 2],                      # truncated stream
                good[:10] + bytes(b ^ 0x55 for b in good[10:40]) + good[40:],  # corrupt deflate data
                b"\x1f\x8b" + b"junk" * 20):                 # not gzip at all
        img = build_image([bad], compression="none")
        m = img.manifest_json
        m["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
        raw = json.dumps(m).encode()
        from tests.imagebuild import BuiltImage, sha256

        layout = write_oci_layout(tmp_path / sha256(bad)[7:19],
                                  BuiltImage(raw, sha256(raw), img.media_type, img.config, [], img.blobs))
        with open_image(str(layout)) as im, pytest.raises(InputError, match=r"corrupt|truncated"):
            squash(im, want_all)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(
        ["", "sha256:" + "0" * 64, "application/vnd.oci.image.manifest.v1+json",
         "application/vnd.oci.image.index.v1+json", "linux", "amd64", "v1", "../../etc/passwd"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["manifests", "mediaType", "digest", "size", "platform", "os", "architecture",
                         "annotations", "config", "layers", "schemaVersion", "org.opencontainers.image.ref.name"]),
        children, max_size=5),
    max_leaves=12)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_json_values, _json_values)
def test_junk_layout_metadata_gives_clear_errors(tmp_path_factory: pytest.TempPathFactory,
                                                 index: object, manifest: object) -> None:
    root = tmp_path_factory.mktemp("junk")
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    raw = json.dumps(manifest).encode()
    from tests.imagebuild import sha256

    (root / "blobs" / "sha256").mkdir(parents=True)
    (root / "blobs" / "sha256" / sha256(raw)[7:]).write_bytes(raw)
    if isinstance(index, dict) and isinstance(index.get("manifests"), list) and index["manifests"]:
        first = index["manifests"][0]
        if isinstance(first, dict):
            first.update({"digest": sha256(raw), "size": len(raw)})
    (root / "index.json").write_text(json.dumps(index))
    try:
        with open_image(str(root)) as im:
            squash(im, want_all)
    except (InputError, VerificationError):
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(st.sampled_from(["Config", "RepoTags", "Layers"]), _json_values, max_size=3),
                max_size=2) | _json_values)
def test_junk_docker_manifest_gives_clear_errors(tmp_path_factory: pytest.TempPathFactory, doc: object) -> None:
    from tests.imagebuild import _write_tar

    path = tmp_path_factory.mktemp("junkdocker") / "d.tar"
    _write_tar(path, {"manifest.json": json.dumps(doc).encode(), "c.json": b'{"rootfs":{"diff_ids":[]}}'})
    try:
        with open_image(f"docker-archive:{path}") as im:
            squash(im, want_all)
    except (InputError, VerificationError):
        pass


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")
def test_gnu_and_pax_sparse_members_are_skipped_not_misparsed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "sparse.bin", "wb") as fh:
        for i in range(10):  # more islands than fit in the GNU header: extension blocks follow
            fh.seek(i << 20)
            fh.write(b"data%d" % i)
        fh.truncate(11 << 20)
    (src / "after.txt").write_bytes(b"hi\n")
    for fmt in ("gnu", "posix"):
        out = tmp_path / f"{fmt}.tar"
        subprocess.run(["tar", f"--format={fmt}", "-S", "-C", str(src), "-cf", str(out), "sparse.bin", "after.txt"],
                       check=True)
        img = build_image([out.read_bytes() + b"trailing junk" + bytes(1000)])
        layout = write_oci_layout(tmp_path / f"l-{fmt}", img)
        with open_image(str(layout)) as im:
            tree = squash(im, want_all)
        assert tree.files["/after.txt"].data == b"hi\n", fmt
        assert "/sparse.bin" not in tree.files
        notes = "\n".join(tree.notes)
        assert "sparse file(s) ignored (e.g. /sparse.bin)" in notes, notes
        assert "after the end of the tar archive" in notes


def test_progress_runs_in_the_calling_thread(tmp_path: Path) -> None:
    import os as _os
    import threading

    big = build_image([[File(f"/f{i}", _os.urandom(1 << 20)) for i in range(12)]])
    write_oci_layout(tmp_path / "l", big)
    threads: set[int] = set()
    seen: list[int] = []

    def progress(done: int, total: int, label: str) -> None:
        threads.add(threading.get_ident())
        seen.append(done)

    with open_image(str(tmp_path / "l")) as im:
        squash(im, want_all, progress=progress)
    assert threads == {threading.get_ident()}
    assert seen == sorted(seen) and len(seen) >= 3
