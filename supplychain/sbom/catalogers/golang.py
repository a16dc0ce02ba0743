"""Go binaries: the build info the Go toolchain embeds in every executable it links.

Any executable in the image (stripped, PIE, static or not) whose ``.go.buildinfo`` carries the
module info yields (read in the one layer pass by ``elf.ExecutableAnalyzer``):

- the main module (``pkg:golang/<module path>@<version>``; ``(devel)`` when built from a work
  tree, as ``go version -m`` shows it), which depends on
- every dependency module (``dep`` lines; a ``=>`` replacement wins: its path and version are
  what was compiled in), with its ``h1:`` checksum as a property, and
- the Go standard library the binary was built with (``stdlib``, ``pkg:golang/stdlib@1.22.1``,
  CPE ``golang:go``), which is what vulnerability scanners match Go's own CVEs against.

Build settings (``GOOS``, ``GOARCH``, ``-ldflags``, ``vcs.revision``, ...) are properties of the main
module. Binaries built without module support (GOPATH mode, as Debian builds many) have no module
lines: the package path is reported as the main module. A main module version the build did not
stamp (``(devel)``) is found as syft finds it: ``-X ...version=1.2.3`` in ``-ldflags``, else the first
C-string semantic version in ``.rodata``, else a pseudo-version from ``vcs.revision``/``vcs.time``;
``supplychain:go:build:supplychain-version-source`` (``ldflags``, ``contents``, ``vcs``) says which. Unlike the binary
classifiers, Go modules are reported for binaries an OS package owns too: the package
database does not say which module versions were compiled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packageurl import PackageURL

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers._util import make_purl
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.catalogers.binary import CPE_PROPERTY, EXEC_ANALYZER, cpe_for, exec_facts
from supplychain.sbom.catalogers.elf import LDFLAGS_VERSION
from supplychain.sbom.package import Package


@dataclass
class Module:
    path: str
    version: str
    sum: str = ""


@dataclass
class BuildInfo:
    go_version: str
    path: str = ""
    main: Module | None = None
    deps: list[Module] = field(default_factory=list)
    settings: list[tuple[str, str]] = field(default_factory=list)


def parse_modinfo(go_version: str, modinfo: str) -> BuildInfo:
    """Parse the module info text (``runtime/debug.BuildInfo.String()`` format)."""
    info = BuildInfo(go_version=go_version)
    last: Module | None = None
    for line in modinfo.split("\n"):
        parts = line.split("\t")
        key = parts[0]
        if key == "path" and len(parts) >= 2:
            info.path = parts[1]
        elif key in ("mod", "dep") and len(parts) >= 3 and parts[1]:
            last = Module(parts[1], parts[2], parts[3] if len(parts) > 3 else "")
            if key == "mod":
                info.main = last
            else:
                info.deps.append(last)
        elif key == "=>" and len(parts) >= 3 and last is not None:
            last.path, last.version = parts[1], parts[2]
            last.sum = parts[3] if len(parts) > 3 else ""
        elif key == "build" and len(parts) >= 2:
            k, _, v = "\t".join(parts[1:]).partition("=")
            info.settings.append((k, v))
    return info


def main_version(info: BuildInfo, guessed: str | None) -> tuple[str | None, str]:
    """A version for a ``(devel)`` main module, the way syft finds one: a ``-X ...version=1.2.3``
    in ``-ldflags``, else a semantic version in the binary's strings, else a pseudo-version from
    ``vcs.revision`` and ``vcs.time``. Returns (version, how it was found)."""
    settings = dict(info.settings)
    for pat in LDFLAGS_VERSION:
        m = pat.search(settings.get("-ldflags", ""))
        if m:
            v = m.group("version")
            return (v if v.startswith("v") else "v" + v), "ldflags"
    if guessed:
        return guessed, "contents"
    rev, when = settings.get("vcs.revision", ""), settings.get("vcs.time", "")
    ts = "".join(c for c in when if c.isdigit())[:14]
    if len(rev) >= 12 and len(ts) == 14:
        return f"v0.0.0-{ts}-{rev[:12]}", "vcs"
    return None, ""


def golang_purl(path: str, version: str | None) -> str:
    namespace, _, name = path.rpartition("/")
    return make_purl("golang", namespace or None, name, version)


def golang_main_purl(path: str, version: str | None) -> str:
    """purl of a main module; on the big code hosts a longer path is module + subpath
    (``github.com/o/r/cmd/x`` -> ``pkg:golang/github.com/o/r@v#cmd/x``, as syft writes it)."""
    parts = path.split("/")
    if len(parts) > 3 and parts[0] in ("github.com", "gitlab.com", "bitbucket.org"):
        return str(PackageURL(type="golang", namespace="/".join(parts[:2]), name=parts[2],
                              version=version or None, subpath="/".join(parts[3:])).to_string())
    return golang_purl(path, version)


def stdlib_version(go_version: str) -> str | None:
    """``go1.22.1`` -> ``1.22.1``; ``go1.21.0 X:boringcrypto`` -> ``1.21.0``; devel -> None."""
    if not go_version.startswith("go"):
        return None
    v = go_version[2:].split(" ", 1)[0]
    return v or None


class GoCataloger:
    name = "go"
    analyzers = (EXEC_ANALYZER,)
    reads_paths = False  # facts come from the analyzer only: left out of the path selection

    def wants(self, path: str) -> Want:
        return Want.SKIP  # everything comes from the executable analyzer

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        out: list[Package] = []
        for path in tree.paths():
            entry = tree.get(path)
            if entry is None:
                continue
            facts = exec_facts(entry)
            if facts is None or facts.go is None:
                continue
            info = parse_modinfo(facts.go.get("version", ""), facts.go.get("modinfo", ""))
            guessed = facts.go.get("guess")
            if info.main is None and info.path:  # GOPATH build: the package path is all there is
                info.main = Module(info.path, "(devel)")
            if info.main is not None and info.main.version in ("", "(devel)"):
                version, source = main_version(info, guessed)
                if version:
                    info.main.version = version
                    info.settings.append(("supplychain-version-source", source))
            out.extend(self._packages(info, path, entry.layer))
        return out

    @staticmethod
    def _packages(info: BuildInfo, path: str, layer: str | None) -> list[Package]:
        pkgs: list[Package] = []
        deps: list[Package] = []
        for mod in info.deps:
            props = [("supplychain:go:h1", mod.sum)] if mod.sum else []
            purl = golang_purl(mod.path, mod.version)
            deps.append(Package(
                name=mod.path, version=mod.version, purl=purl, ecosystem="golang", properties=props,
                location=path, layer=layer, bom_ref=f"{purl}#{path}",
            ))
        std = stdlib_version(info.go_version)
        if std is not None:
            purl = make_purl("golang", None, "stdlib", std)
            deps.append(Package(
                name="stdlib", version=info.go_version.split(" ", 1)[0], purl=purl, ecosystem="golang",
                properties=[(CPE_PROPERTY, cpe_for("golang", "go", std))],
                location=path, layer=layer, bom_ref=f"{purl}#{path}",
            ))
        if info.main is not None:
            props = [("supplychain:go:toolchain", info.go_version)]
            if info.path:
                props.append(("supplychain:go:package", info.path))
            if info.main.sum:
                props.append(("supplychain:go:h1", info.main.sum))
            props.extend((f"supplychain:go:build:{k}", v) for k, v in info.settings if k)
            purl = golang_main_purl(info.main.path, info.main.version)
            main = Package(
                name=info.main.path, version=info.main.version, purl=purl, type="application",
                ecosystem="golang", properties=props, location=path, layer=layer, bom_ref=f"{purl}#{path}",
                dependencies=sorted({d.bom_ref for d in deps}),
            )
            pkgs.append(main)
        elif info.path and deps:
            deps[-1].properties.append(("supplychain:go:package", info.path))
        pkgs.extend(deps)
        # one binary may list a module twice only if hostile: keep bom-refs unique
        seen: set[str] = set()
        unique: list[Package] = []
        for p in pkgs:
            if p.bom_ref not in seen:
                seen.add(p.bom_ref)
                unique.append(p)
        return unique
