"""Unit tests per cataloger on small hand-written inputs (the shapes real images contain)."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

from supplychain.oci.fs import FileEntry, Want
from supplychain.sbom.catalogers import default_catalogers, union_select
from supplychain.sbom.catalogers.apk import split_licenses
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.catalogers.dpkg import parse_copyright, parse_depends
from supplychain.sbom.catalogers.models import ModelCataloger
from supplychain.sbom.catalogers.osrelease import parse_os_release
from supplychain.sbom.catalogers.python import normalize, requirement_names
from supplychain.sbom.catalogers.rpm import HeaderError, parse_header, read_blobs
from tests.catalogers.helpers import by_name, catalog, tree_from_files

# --- os-release / dpkg ---------------------------------------------------------------------------


def test_os_release_quoting() -> None:
    d = parse_os_release('PRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\nVERSION_ID="22.04"\nID_LIKE=debian\njunk line\n')
    assert (d.id, d.version_id, d.qualifier, d.id_like) == ("ubuntu", "22.04", "ubuntu-22.04", ["debian"])
    assert parse_os_release("").qualifier is None


STATUS = b"""Package: libfoo1
Status: install ok installed
Architecture: amd64
Source: foo (1.0-1)
Version: 1.0-1+b1
Depends: libc6 (>= 2.36), mail-transport-agent | exim4
Description: foo library
 long text

Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9
Pre-Depends: libgcc-s1

Package: postfix
Status: install ok installed
Architecture: amd64
Version: 3.7.10-0+deb12u1
Provides: mail-transport-agent

Package: oldpkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: halfpkg
Status: install reinstreq half-installed
Architecture: amd64
Version: 2.0
"""


def test_dpkg_virtual_packages_layers_and_states() -> None:
    files = {
        "/etc/os-release": b"ID=debian\nVERSION_ID=12\n",
        "/var/lib/dpkg/status": STATUS,
        "/usr/share/doc/libfoo1/copyright": b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        b"Files: *\nLicense: MIT\n\nFiles: debian/*\nLicense: GPL-2+\n",
    }
    tree = tree_from_files(files, layer="sha256:" + "a" * 64)
    tree.files["/var/lib/dpkg/info/libfoo1:amd64.list"] = FileEntry(
        "/var/lib/dpkg/info/libfoo1:amd64.list", 10, layer="sha256:" + "b" * 64, sha256="0" * 64
    )
    packages, _ = catalog(tree)
    pk = by_name(packages)
    assert set(pk) == {"libfoo1", "libc6", "postfix"}  # deinstall and half-installed left out
    foo = pk["libfoo1"]
    assert foo.purl == "pkg:deb/debian/libfoo1@1.0-1%2Bb1?arch=amd64&distro=debian-12&upstream=foo%401.0-1"
    assert foo.licenses == ["GPL-2+", "MIT"]
    assert set(foo.dependencies) == {pk["libc6"].bom_ref, pk["postfix"].bom_ref}
    assert foo.layer == "sha256:" + "b" * 64  # the layer that installed it (info/*.list)
    assert pk["libc6"].layer == "sha256:" + "a" * 64  # falls back to the status file's layer
    assert foo.description == "foo library"


def test_dpkg_helpers() -> None:
    assert parse_depends("a (>= 1) | b:any, c [amd64], d:amd64") == [["a", "b"], ["c"], ["d"]]
    assert parse_depends("") == []
    text = "License: GPL-2+\n see /usr/share/common-licenses/GPL-2.\nLicense: BSD-3-clause\n"
    assert parse_copyright(text) == ["BSD-3-clause", "GPL-2", "GPL-2+"]


def test_apk_licenses() -> None:
    assert split_licenses("MIT BSD GPL2+") == (["MIT", "BSD", "GPL-2.0-or-later"], None)
    assert split_licenses("GPL-2.0-only OR MIT") == ([], "GPL-2.0-only OR MIT")
    assert split_licenses("") == ([], None)


def test_apk_provides_and_constraints() -> None:
    db = (
        b"P:app\nV:1-r0\nA:x86_64\nD:so:libz.so.1 cmd:sh lib>=2 !conflicting\n\n"
        b"P:zlib\nV:1.3-r0\nA:x86_64\np:so:libz.so.1=1.3\n\n"
        b"P:busybox\nV:1.36-r0\nA:x86_64\np:cmd:sh=1.36\n\n"
        b"P:lib\nV:2.1-r0\nA:x86_64\n"
    )
    packages, _ = catalog(tree_from_files({"/etc/os-release": b"ID=alpine\nVERSION_ID=3.19.1\n",
                                           "/lib/apk/db/installed": db}))
    pk = by_name(packages)
    assert set(pk["app"].dependencies) == {pk["zlib"].bom_ref, pk["busybox"].bom_ref, pk["lib"].bom_ref}
    assert pk["zlib"].purl == "pkg:apk/alpine/zlib@1.3-r0?arch=x86_64&distro=alpine-3.19.1"


# --- rpm -----------------------------------------------------------------------------------------


def _header(tags: list[tuple[int, int, bytes, int]]) -> bytes:
    """Build an rpm header blob: (tag, type, data, count)."""
    index = b""
    store = b""
    for tag, typ, data, count in tags:
        if typ == 4:
            while len(store) % 4:
                store += b"\x00"
        index += struct.pack(">iIiI", tag, typ, len(store), count)
        store += data
    return struct.pack(">II", len(tags), len(store)) + index + store


def test_rpm_header_parser() -> None:
    blob = _header([
        (1000, 6, b"bash\x00", 1), (1001, 6, b"5.2\x00", 1), (1002, 6, b"1.fc39\x00", 1),
        (1003, 4, struct.pack(">I", 2), 1), (1022, 6, b"x86_64\x00", 1),
        (1047, 8, b"bash\x00/bin/sh\x00", 2),
    ])
    hdr = parse_header(blob)
    assert hdr[1000] == "bash" and hdr[1003] == [2] and hdr[1047] == ["bash", "/bin/sh"]
    with pytest.raises(HeaderError):
        parse_header(blob[:-3])
    with pytest.raises(HeaderError):
        parse_header(_header([(1000, 6, b"no-terminator", 1)]))


def _ndb(blobs: list[bytes]) -> bytes:
    """An rpm NDB Packages.db with ``blobs`` (layout of rpm's lib/backend/ndb/rpmpkg.c)."""
    npages = 1
    slots = bytearray()
    data = bytearray()
    blk = npages * 4096 // 16  # blocks start after the slot pages (16-byte blocks)
    for i, blob in enumerate(blobs, start=1):
        off = blk + len(data) // 16
        entry = struct.pack("<IIII", 0x53626C42, i, 0, len(blob)) + blob
        entry += b"\x00" * (-len(entry) % 16 + 16)
        slots += struct.pack("<IIII", 0x746F6C53, i, off, len(entry) // 16)
        data += entry
    nslots = npages * 256 - 2
    slots += struct.pack("<IIII", 0x746F6C53, 0, 0, 0) * (nslots - len(blobs))
    head = struct.pack("<IIII", 0x506D7052, 0, 1, npages) + b"\x00" * 16
    return bytes(head + slots + data)


def test_rpm_ndb_from_real_headers(external: Path) -> None:
    """The SQLite rpmdb's real header blobs, re-packed as an NDB Packages.db, give the same packages."""
    sqlite = external / "os-packages/rpm/go-rpmdb-cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite"
    if not sqlite.is_file():
        pytest.skip(f"{sqlite} is absent")
    blobs = list(read_blobs(str(sqlite), sqlite.read_bytes()))
    ndb = _ndb(blobs[:40])
    a, _ = catalog(tree_from_files({"/usr/lib/sysimage/rpm/Packages.db": ndb}))
    b, _ = catalog(tree_from_files({"/var/lib/rpm/rpmdb.sqlite": sqlite.read_bytes()}))
    assert len(a) == 40
    assert {p.purl for p in a} <= {p.purl for p in b}


def test_rpm_garbage_database_is_input_error() -> None:
    from supplychain.errors import InputError

    for data in (b"SQLite format 3\x00" + b"\x00" * 200, b"\x00" * 4096, b"RpmP" + b"\xff" * 100):
        with pytest.raises(InputError):
            catalog(tree_from_files({"/var/lib/rpm/Packages": data}))


# --- python --------------------------------------------------------------------------------------

SITE = "/opt/venv/lib/python3.11/site-packages"


def test_python_dists() -> None:
    files = {
        f"{SITE}/Flask-3.0.3.dist-info/METADATA": b"Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.3\n"
        b"License-Expression: BSD-3-Clause\nRequires-Dist: Werkzeug>=3.0.0\nRequires-Dist: Jinja2 (>=3.1.2)\n"
        b"Requires-Dist: asgiref>=3.2 ; extra == 'async'\nRequires-Dist: importlib-metadata ; python_version < '3.10'\n\nbody\n",
        f"{SITE}/werkzeug-3.0.4.dist-info/METADATA": b"Name: werkzeug\nVersion: 3.0.4\n"
        b"Classifier: License :: OSI Approved :: BSD License\n",
        f"{SITE}/jinja2-3.1.4.dist-info/METADATA": b"Name: Jinja2\nVersion: 3.1.4\nLicense: BSD-3-Clause\n",
        f"{SITE}/asgiref-3.8.dist-info/METADATA": b"Name: asgiref\nVersion: 3.8\n",
        "/usr/lib/python3/dist-packages/PyYAML-6.0.egg-info/PKG-INFO": b"Name: PyYAML\nVersion: 6.0\nLicense: MIT\n",
        "/usr/lib/python3/dist-packages/chardet-5.1.0.egg-info": b"Name: chardet\nVersion: 5.1.0\n"
        b"Classifier: License :: OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)\n",
        f"{SITE}/broken.dist-info/METADATA": b"Version: 1\n",
    }
    packages, ctx = catalog(tree_from_files(files))
    pk = by_name(packages)
    assert set(pk) == {"Flask", "werkzeug", "Jinja2", "asgiref", "PyYAML", "chardet"}
    assert pk["Jinja2"].purl == "pkg:pypi/jinja2@3.1.4"
    assert pk["Flask"].license_expression == "BSD-3-Clause"
    assert pk["chardet"].licenses == ["LGPL-2.0-or-later"]
    assert pk["werkzeug"].licenses == ["BSD License"]
    assert set(pk["Flask"].dependencies) == {pk["werkzeug"].bom_ref, pk["Jinja2"].bom_ref}  # no extra
    assert any("broken.dist-info" in n for n in ctx.notes)


def test_python_helpers() -> None:
    assert normalize("Foo.Bar_baz") == "foo-bar-baz"
    assert requirement_names(["a[x] (>=1)", "b; extra == 'y'", "C_d ; os_name == 'nt'"]) == ["a", "c-d"]


# --- npm -----------------------------------------------------------------------------------------


def _pj(name: str, version: str, **kw: object) -> bytes:
    return json.dumps({"name": name, "version": version, **kw}).encode()


def test_npm_nesting_scopes_and_lock() -> None:
    app = "/app"
    files = {
        f"{app}/package.json": _pj("my-app", "1.0.0", private=True, dependencies={"express": "^4", "@types/node": "*"}),
        f"{app}/node_modules/express/package.json": _pj("express", "4.21.1", license="MIT",
                                                          dependencies={"debug": "2.6.9", "qs": "*"}),
        f"{app}/node_modules/express/node_modules/debug/package.json": _pj("debug", "2.6.9", license={"type": "MIT"}),
        f"{app}/node_modules/debug/package.json": _pj("debug", "4.3.7", licenses=[{"type": "MIT"}, {"type": "Apache-2.0"}]),
        f"{app}/node_modules/qs/package.json": _pj("qs", "6.13.0", license="BSD-3-Clause"),
        f"{app}/node_modules/@types/node/package.json": _pj("@types/node", "22.7.5", license="MIT"),
        f"{app}/node_modules/qs/lib/package.json": b'{"type": "module"}',
        f"{app}/package-lock.json": json.dumps({"lockfileVersion": 3, "packages": {
            "": {"name": "my-app"},
            "node_modules/express": {"version": "4.21.1"},
            "node_modules/left-pad": {"version": "1.3.0", "dev": True,
                                      "integrity": "sha512-" + "A" * 86 + "=="},
        }}).encode(),
        "/usr/share/nodejs/ms/package.json": _pj("ms", "2.1.3"),
        "/usr/share/nodejs/debug/package.json": _pj("debug", "4.3.4", dependencies={"ms": "^2"}),
    }
    packages, _ = catalog(tree_from_files(files))
    by_loc = {p.location: p for p in packages if p.location and p.location.endswith("package.json")}
    express = by_loc[f"{app}/node_modules/express/package.json"]
    nested_debug = by_loc[f"{app}/node_modules/express/node_modules/debug/package.json"]
    qs = by_loc[f"{app}/node_modules/qs/package.json"]
    assert set(express.dependencies) == {nested_debug.bom_ref, qs.bom_ref}
    types = by_loc[f"{app}/node_modules/@types/node/package.json"]
    assert types.purl == "pkg:npm/%40types/node@22.7.5" and types.group == "@types"
    root = by_loc[f"{app}/package.json"]
    assert set(root.dependencies) == {express.bom_ref, types.bom_ref}
    assert by_loc[f"{app}/node_modules/debug/package.json"].licenses == ["MIT", "Apache-2.0"]
    sys_debug = by_loc["/usr/share/nodejs/debug/package.json"]
    assert sys_debug.dependencies == [by_loc["/usr/share/nodejs/ms/package.json"].bom_ref]
    # node_modules is installed: the lock adds nothing (left-pad was deleted, it must not come back)
    assert not [p for p in packages if p.location == f"{app}/package-lock.json"]
    assert len([p for p in packages if p.name == "debug"]) == 3  # three copies, three refs
    assert len({p.bom_ref for p in packages}) == len(packages)


# --- ML models -------------------------------------------------------------------------------------


MODELS = Path(__file__).resolve().parent.parent / "sbom" / "data" / "models"


def test_models(tmp_path: Path) -> None:
    from supplychain.oci.fs import DirectoryTree
    from supplychain.sbom.catalogers import union_analyze

    weights = (MODELS / "tiny.pt").read_bytes()  # a real torch.save() zip
    gguf = b"GGUF\x03\x00\x00\x00" + bytes(16)
    (tmp_path / "models/bert").mkdir(parents=True)
    (tmp_path / "models/bert/config.json").write_text("{}")
    (tmp_path / "models/bert/pytorch_model.bin").write_bytes(weights)
    (tmp_path / "models/llm.gguf").write_bytes(gguf)
    (tmp_path / "models/fake.safetensors").write_bytes(b"weights" * 1000)  # named like one, is not
    (tmp_path / "firmware").mkdir()
    (tmp_path / "firmware/blob.bin").write_bytes(b"not a model")
    cat = ModelCataloger()
    tree = DirectoryTree(tmp_path, cat.wants, analyze=union_analyze([cat]))
    assert all(e.data is None for e in tree.files.values())  # weights are hashed, never held
    packages = cat.catalog(tree, CatalogContext())
    got = {p.location: p for p in packages}
    assert set(got) == {"/models/bert/pytorch_model.bin", "/models/llm.gguf"}
    assert got["/models/llm.gguf"].hashes == {"SHA-256": hashlib.sha256(gguf).hexdigest()}
    assert got["/models/bert/pytorch_model.bin"].hashes == {"SHA-256": hashlib.sha256(weights).hexdigest()}
    assert got["/models/llm.gguf"].type == "machine-learning-model"
    assert ("supplychain:model:format", "pytorch") in got["/models/bert/pytorch_model.bin"].properties


def test_union_select() -> None:
    select = union_select(default_catalogers())
    assert select("/var/lib/dpkg/status") == Want.CONTENT
    assert select("/models/x.safetensors") == Want.SKIP  # read by the model analyzer, never kept
    assert select("/app/node_modules/a/package.json") == Want.CONTENT
    assert select("/usr/bin/bash") == Want.SKIP


def test_npm_lock_without_node_modules() -> None:
    lock = {"lockfileVersion": 3, "packages": {
        "": {"name": "svc"},
        "node_modules/express": {"version": "4.21.1", "license": "MIT", "dependencies": {"qs": "6.13.0"}},
        "node_modules/qs": {"version": "6.13.0"},
        "node_modules/@scope/tool": {"version": "2.0.0", "dev": True, "integrity": "sha512-" + "A" * 86 + "=="},
        "node_modules/local": {"version": "file:../local"},
        "packages/linked": {"version": "1.0.0"},
    }}
    v1 = {"lockfileVersion": 1, "dependencies": {
        "a": {"version": "1.0.0", "requires": {"b": "^2"}, "dependencies": {"b": {"version": "2.0.0"}}},
    }}
    packages, _ = catalog(tree_from_files({
        "/srv/package-lock.json": json.dumps(lock).encode(),
        "/old/package-lock.json": json.dumps(v1).encode(),
    }))
    got = {(p.group, p.name, p.version, p.scope) for p in packages}
    assert got == {(None, "express", "4.21.1", None), (None, "qs", "6.13.0", None),
                   ("@scope", "tool", "2.0.0", "excluded"), (None, "a", "1.0.0", None), (None, "b", "2.0.0", None)}
    pk = {p.name: p for p in packages}
    assert pk["express"].dependencies == [pk["qs"].bom_ref]
    assert pk["a"].dependencies == [pk["b"].bom_ref]
    assert "SHA-512" in pk["tool"].hashes


def test_apk_usr_lib_location() -> None:
    packages, _ = catalog(tree_from_files({"/usr/lib/apk/db/installed": b"P:musl\nV:1.2.5-r0\nA:aarch64\n"}))
    assert [(p.name, p.location) for p in packages] == [("musl", "/usr/lib/apk/db/installed")]


# --- authors and suppliers -------------------------------------------------------------------------


def test_python_people_from_author_email_only() -> None:
    from supplychain.sbom.catalogers.python import people

    assert people({"author-email": ["Sebastián Ramírez <tiangolo@gmail.com>"]}) == [
        ("Sebastián Ramírez", "tiangolo@gmail.com")]
    assert people({"author": ["Kenneth Reitz"], "author-email": ["me@kennethreitz.org"]}) == [
        ("Kenneth Reitz", "me@kennethreitz.org")]
    assert people({"author-email": ['"A, B" <a@b.example>, C <c@d.example>']}) == [
        ("A, B", "a@b.example"), ("C", "c@d.example")]
    assert people({"author": ["UNKNOWN"], "maintainer": ["Debian Python Team"]}) == [("Debian Python Team", None)]
    assert people({}) == []


def test_npm_and_python_suppliers() -> None:
    tree = tree_from_files({
        "/app/node_modules/@babel/core/package.json": json.dumps({"name": "@babel/core", "version": "7.0.0"}).encode(),
        "/app/node_modules/x/package.json": json.dumps({
            "name": "x", "version": "1.0.0", "author": {"name": "Ann", "email": "ann@example.com"},
            "maintainers": ["Bob <bob@example.com>"]}).encode(),
        "/app/node_modules/y/package.json": json.dumps({"name": "y", "version": "1.0.0"}).encode(),
        "/usr/lib/python3/dist-packages/fastapi-0.1.dist-info/METADATA":
            b"Metadata-Version: 2.3\nName: fastapi\nVersion: 0.1\nAuthor-email: S R <s@example.com>\n",
    })
    got = by_name(catalog(tree)[0])
    assert got["@babel/core"].supplier == "babel"  # no author: the scope's owner
    assert got["x"].authors == [("Ann", "ann@example.com"), ("Bob", "bob@example.com")]
    assert got["x"].supplier == "Ann"
    assert got["y"].supplier is None  # never invented
    assert got["fastapi"].authors == [("S R", "s@example.com")] and got["fastapi"].supplier == "S R"
