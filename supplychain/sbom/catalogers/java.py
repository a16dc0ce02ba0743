"""Java archives: JAR, WAR, EAR (and Jenkins plugins), nested ones included.

Each archive is read once as it streams past in the layer pass (``JavaAnalyzer``) and reduced to
small facts: its SHA-1, ``META-INF/MANIFEST.MF`` main attributes, every
``META-INF/maven/<group>/<artifact>/pom.properties``, and the same for the archives nested in
it (Spring Boot ``BOOT-INF/lib/*.jar``, ``WEB-INF/lib/*.jar``, EAR modules), down to
``MAX_DEPTH``.

Which package an archive is (as syft decides it): the ``pom.properties`` whose artifactId matches
the archive's file name (or the only one), else the manifest (``Implementation-Title`` /
``Bundle-SymbolicName``, ``Implementation-Version`` / ``Bundle-Version``), else the file name
(``name-1.2.3.jar``). Without a ``pom.properties`` the groupId is guessed from the manifest as syft
does (``Implementation-Vendor-Id``, the package of ``Automatic-Module-Name`` /
``Bundle-SymbolicName``, ``Main-Class``), else the purl namespace is the artifactId. Other ``pom.properties`` in the archive (shaded dependencies) are packages
of their own. purl ``pkg:maven/<groupId>/<artifactId>@<version>``; the archive's SHA-1 is its
hash (what Maven Central indexes). Nested packages depend-on edges run from the outer archive.

Hostile archives: an archive over ``MAX_ARCHIVE`` bytes is only hashed (a note says so); a
nested member over ``MAX_NESTED`` bytes, decompressing beyond ``MAX_INFLATE`` in total or more
than 100x its compressed size, metadata over ``MAX_META`` bytes, and more than ``MAX_MEMBERS``
entries are skipped; nesting stops at ``MAX_DEPTH``.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import make_purl, make_refs_unique, text
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.catalogers.elf import read_all
from supplychain.sbom.package import Package

SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi", ".par", ".sar", ".nar", ".kar")
MAX_ARCHIVE = 256 * 1024 * 1024
MAX_NESTED = 64 * 1024 * 1024
MAX_INFLATE = 512 * 1024 * 1024  # decompressed bytes read from one outer archive
MAX_META = 1024 * 1024
MAX_MEMBERS = 200_000
MAX_DEPTH = 4
MAX_RATIO = 100
_SUFFIX_SET = frozenset(SUFFIXES)  # all four characters long
POM_RE = re.compile(r"^META-INF/maven/[^/]+/[^/]+/pom\.properties$")
NAME_VERSION_RE = re.compile(r"^(?P<name>.+?)[-_](?P<version>v?\d[\w.+\-]*?)(?:[-_.](?:RELEASE|Final|GA))?$")


@dataclass
class Archive:
    """Facts about one archive (the outer one or a nested one)."""

    path: str  # "/app/app.jar" or "/app/app.jar!/BOOT-INF/lib/x.jar"
    sha1: str
    manifest: dict[str, str] = field(default_factory=dict)
    poms: list[dict[str, str]] = field(default_factory=list)
    nested: list[Archive] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_manifest(data: str) -> dict[str, str]:
    """Main section of a MANIFEST.MF (72-byte continuation lines joined)."""
    out: dict[str, str] = {}
    last: str | None = None
    for raw in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw:
            if out:
                break  # end of the main section
            continue
        if raw.startswith(" ") and last is not None:
            out[last] += raw[1:]
            continue
        key, sep, value = raw.partition(":")
        if sep:
            last = key.strip()
            out.setdefault(last, value.strip())
    return out


def parse_properties(data: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in data.splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        m = re.match(r"([^=:\s]+)\s*[=:]?\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


# what zipfile raises on corrupt, encrypted or unsupported archives
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, OSError, ValueError,
               struct.error)


class _Budget:
    def __init__(self) -> None:
        self.inflated = 0


def read_archive(data: bytes, path: str, depth: int = 0, budget: _Budget | None = None) -> Archive:
    """Facts about the zip archive ``data`` (raises zipfile.BadZipFile / ValueError when not one)."""
    budget = budget or _Budget()
    arc = Archive(path=path, sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest())
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            arc.notes.append(f"{path}: more than {MAX_MEMBERS} entries, only the first read")
            infos = infos[:MAX_MEMBERS]
        for info in infos:
            name = info.filename
            is_manifest = name == "META-INF/MANIFEST.MF"
            is_pom = POM_RE.match(name) is not None
            is_nested = depth < MAX_DEPTH and name.lower().endswith(SUFFIXES) and not info.is_dir()
            if not (is_manifest or is_pom or is_nested):
                continue
            limit = MAX_NESTED if is_nested else MAX_META
            if info.file_size > limit or info.file_size > MAX_RATIO * max(info.compress_size, 1) + 4096 or \
                    budget.inflated + info.file_size > MAX_INFLATE:
                arc.notes.append(f"{path}!/{name}: too large or too compressed, skipped")
                continue
            try:
                with zf.open(info) as fh:
                    blob = fh.read(limit + 1)
            except _ZIP_ERRORS as exc:
                arc.notes.append(f"{path}!/{name}: unreadable ({type(exc).__name__}), skipped")
                continue
            budget.inflated += len(blob)
            if len(blob) > limit:
                arc.notes.append(f"{path}!/{name}: larger than it claims, skipped")
                continue
            if is_manifest:
                arc.manifest = parse_manifest(text(blob))
            elif is_pom:
                props = parse_properties(text(blob))
                if props.get("artifactId") and props.get("version"):
                    props["_path"] = name
                    arc.poms.append(props)
            else:
                try:
                    arc.nested.append(read_archive(blob, f"{path}!/{name}", depth + 1, budget))
                except _ZIP_ERRORS:
                    arc.notes.append(f"{path}!/{name}: not a readable zip archive, skipped")
    return arc


class JavaAnalyzer:
    key = "java"

    def probe(self, path: str, mode: int, size: int) -> bool:
        return path[-4:].lower() in _SUFFIX_SET and size >= 22

    def analyze(self, path: str, size: int, chunks: Iterator[bytes]) -> Archive | None:
        h = hashlib.sha1(usedforsecurity=False)
        if size > MAX_ARCHIVE:
            for chunk in chunks:
                h.update(chunk)
            return Archive(path=path, sha1=h.hexdigest(), notes=[f"{path}: larger than {MAX_ARCHIVE} bytes, "
                                                                  "only hashed"])
        data = read_all(next(chunks, b""), chunks, size)
        try:
            return read_archive(data, path)
        except _ZIP_ERRORS:
            return Archive(path=path, sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
                           notes=[f"{path}: not a readable zip archive, skipped"])


JAVA_ANALYZER = JavaAnalyzer()


def _file_name_parts(path: str) -> tuple[str, str | None]:
    base = posixpath.basename(path.rsplit("!/", 1)[-1])
    stem = base.rsplit(".", 1)[0]
    m = NAME_VERSION_RE.match(stem)
    if m:
        return m.group("name"), m.group("version")
    return stem, None


def _group_from_manifest(mf: dict[str, str], name: str) -> str | None:
    for key in ("Implementation-Vendor-Id", "Automatic-Module-Name", "Bundle-SymbolicName"):
        value = mf.get(key, "").split(";", 1)[0].strip()
        if value and "." in value:
            if key == "Implementation-Vendor-Id":
                return value
            parts = value.split(".")
            if parts[-1] == name or len(parts) > 2:
                return ".".join(parts[:-1]) if len(parts) > 1 else None
    main_class = mf.get("Main-Class", "").strip()
    if main_class and "." in main_class and " " not in main_class:
        return main_class  # as syft guesses it, so purls compare equal
    return None


def archive_packages(arc: Archive, layer: str | None) -> list[Package]:
    """The packages one archive (and what it nests) holds."""
    name, file_version = _file_name_parts(arc.path)
    main_pom: dict[str, str] | None = None
    for pom in arc.poms:
        if pom.get("artifactId") == name:
            main_pom = pom
            break
    if main_pom is None and len(arc.poms) == 1:
        main_pom = arc.poms[0]
    mf = arc.manifest
    props = [("supplychain:java:archive", arc.path)]
    if main_pom is not None:
        group: str | None = main_pom.get("groupId") or None
        artifact = main_pom["artifactId"]
        version: str | None = main_pom["version"]
    else:
        artifact = name
        version = mf.get("Implementation-Version") or mf.get("Bundle-Version") or file_version
        group = _group_from_manifest(mf, name)
        if not version:
            props.append(("supplychain:java:version-unknown", "true"))
    for key in ("Implementation-Title", "Implementation-Vendor", "Bundle-SymbolicName", "Main-Class",
                "Start-Class", "Created-By"):
        if mf.get(key):
            props.append((f"supplychain:java:manifest:{key}", mf[key][:200]))
    main = Package(
        name=artifact, version=version or None, group=group,
        # purl: without a known groupId syft uses the artifactId as namespace; so do we
        purl=make_purl("maven", group or artifact, artifact, version),
        ecosystem="maven", hashes={"SHA-1": arc.sha1}, properties=props, location=arc.path, layer=layer,
        description=mf.get("Bundle-Name") or mf.get("Implementation-Title") or None,
    )
    out = [main]
    for pom in arc.poms:
        if pom is main_pom:
            continue
        g = pom.get("groupId") or None
        out.append(Package(
            name=pom["artifactId"], version=pom["version"], group=g,
            purl=make_purl("maven", g, pom["artifactId"], pom["version"]), ecosystem="maven",
            properties=[("supplychain:java:archive", arc.path), ("supplychain:java:pom-properties", pom["_path"])],
            location=f"{arc.path}!/{pom['_path']}", layer=layer,
        ))
    for child in arc.nested:
        out.extend(archive_packages(child, layer))
    return out


class JavaCataloger:
    name = "java"
    analyzers = (JAVA_ANALYZER,)
    reads_paths = False  # facts come from the analyzer only: left out of the path selection

    def wants(self, path: str) -> Want:
        return Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        groups: list[list[Package]] = []
        for path in tree.paths():
            entry = tree.get(path)
            if entry is None or not isinstance(entry.facts, dict):
                continue
            arc = entry.facts.get(JAVA_ANALYZER.key)
            if not isinstance(arc, Archive):
                continue
            stack = [arc]
            while stack:
                a = stack.pop()
                ctx.notes.extend(a.notes)
                stack.extend(a.nested)
            groups.append(archive_packages(arc, entry.layer))
        out = [p for g in groups for p in g]
        make_refs_unique(out)
        for g in groups:  # the archive depends on what it nests (shaded or nested jars)
            g[0].dependencies = sorted({p.bom_ref for p in g[1:] if p.bom_ref != g[0].bom_ref})
        return out
