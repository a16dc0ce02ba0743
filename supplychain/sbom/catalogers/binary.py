"""Binary classifiers: runtimes and servers installed outside a package manager.

Official ``php``, ``node`` and ``python`` images build their runtime from source, so no package
database names it. Files whose base name a rule fits (``php``, ``php-fpm``, ``libphp*.so``,
``node``, ``python3.12``, ``libpython3.12.so.1.0``, ``nginx``, ``httpd`` / ``apache2``,
``redis-server``, ``busybox``, ``psql`` / ``postgres``, ``mysql`` / ``mariadb``) are searched for
the version string the program prints (``X-Powered-By: PHP/8.3.4``, ``node.js/v20.11.1``,
``nginx/1.25.4``, ...), reading only the ELF's read-only data, in the one layer pass
(``elf.ExecutableAnalyzer``).

PHP gets more: the ``zend_module_entry`` records compiled into the binary (its built-in
extensions, as a property) and in each loadable extension under
``/usr/local/lib/php/extensions/*/`` or ``/usr/lib/php/<api>/`` (a component per extension, with
the version the extension reports), and which of them ``conf.d/docker-php-ext-*.ini`` enables.

A file owned by an OS package (dpkg ``info/*.list`` and distroless ``status.d/*.md5sums``, the apk
database, the rpm database) is not reported: the OS package already is. purls are
``pkg:generic/<name>@<version>`` (no ecosystem type exists for these), with CPE candidates for
vulnerability matching in NVD's vendor:product spelling (``php:php``, ``nodejs:node.js``,
``f5:nginx``) as ``supplychain:cpe23`` properties, the property ``supplychain.sbom.cpe`` uses.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from supplychain.errors import InputError
from supplychain.oci.fs import FileEntry, FileTree, Want
from supplychain.sbom.catalogers._util import make_purl, text
from supplychain.sbom.catalogers.apk import parse_installed
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.catalogers.elf import ExecFacts, ExecutableAnalyzer, Rule
from supplychain.sbom.catalogers.rpm import DB_PATHS, HeaderError, _files, parse_header, read_blobs
from supplychain.sbom.cpe import format_cpe
from supplychain.sbom.package import Package

# the property supplychain.sbom.cpe writes its CPE candidates to; ours carry NVD's vendor:product
CPE_PROPERTY = "supplychain:cpe23"
DPKG_INFO = "/var/lib/dpkg/info/"
STATUS_D = "/var/lib/dpkg/status.d/"
APK_DBS = ("/lib/apk/db/installed", "/usr/lib/apk/db/installed")
PHP_EXT_DIR_RE = re.compile(r"^(?:/usr/local/lib/php/extensions/[^/]+|/usr/lib/php/\d{8})/[^/]+\.so$")
PHP_INI_RE = re.compile(r"/php/(?:[^/]+/){0,2}conf\.d/[^/]+\.ini$")
_V = rb"(?P<version>"


def _r(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern, re.DOTALL)


@dataclass(frozen=True)
class Kind:
    """What a rule's match becomes: the component name, and CPE vendor:product pairs."""

    name: str
    cpes: tuple[tuple[str, str], ...]


_PHP = [_r(rb"X-Powered-By: PHP/" + _V + rb"\d+\.\d+\.\d+(?:alpha\d+|beta\d+|RC\d+)?)")]
RULES: tuple[tuple[Rule, Kind], ...] = (
    (Rule("php-cli", re.compile(r"^php(\d+(\.\d+)*)?$"), tuple(_PHP), php_modules=True),
     Kind("php-cli", (("php", "php"),))),
    (Rule("php-fpm", re.compile(r"^php-fpm(\d+(\.\d+)*)?$"), tuple(_PHP), php_modules=True),
     Kind("php-fpm", (("php", "php"),))),
    (Rule("libphp", re.compile(r"^libphp[0-9.]*\.so$"), tuple(_PHP), php_modules=True),
     Kind("libphp", (("php", "php"),))),
    (Rule("php-ext", re.compile(r"^[A-Za-z0-9_]+\.so$"), (), php_modules=True), Kind("php-ext", ())),
    (Rule("node", re.compile(r"^(?:node|libnode\.so(?:\.[0-9]+)*)$"), (_r(rb"node\.js/v" + _V + rb"\d+\.\d+\.\d+)"),)),
     Kind("node", (("nodejs", "node.js"),))),
    (Rule("python", re.compile(r"^(?:python(\d+(\.\d+)*)?|libpython\d+\.\d+[a-z]?\.so(\.[0-9.]+)?)$"),
          (_r(rb"\x00" + _V + rb"[23]\.\d{1,2}\.\d{1,2}(?:(?:a|b|rc)\d{1,2})?\+?)\x00"),)),
     Kind("python", (("python_software_foundation", "python"), ("python", "python")))),
    (Rule("nginx", re.compile(r"^nginx$"), (_r(rb"(?:\x00|\?)nginx/" + _V + rb"\d+\.\d+\.\d+)"),
                                              _r(rb"nginx version: nginx/" + _V + rb"\d+\.\d+\.\d+)"))),
     Kind("nginx", (("f5", "nginx"), ("nginx", "nginx")))),
    (Rule("httpd", re.compile(r"^(?:httpd|apache2)$"), (_r(rb"Apache/" + _V + rb"\d+\.\d+\.\d+)"),)),
     Kind("httpd", (("apache", "http_server"),))),
    (Rule("redis", re.compile(r"^redis-(?:server|check-rdb|check-aof)$"), (
        _r(rb"payload %5.*?" + _V + rb"\d\.\d\.\d\d*)[a-z0-9]{12,15}-[0-9]{19}"),
        _r(rb"\x00" + _V + rb"\d\.\d\.\d\d*)[a-z0-9]{12}-[0-9]{19}\x00.*?payload %5"),
        _r(_V + rb"\d{1,2}\.\d{1,2}\.\d{1,2})[a-z0-9]{0,15}-?[0-9]{19}\x00"),
    )), Kind("redis", (("redislabs", "redis"), ("redis", "redis")))),
    (Rule("busybox", re.compile(r"^busybox$"), (_r(rb"BusyBox v" + _V + rb"\d+\.\d+\.\d+)"),)),
     Kind("busybox", (("busybox", "busybox"),))),
    (Rule("postgresql", re.compile(r"^(?:psql|postgres|pg_dump|pg_restore)$"), (
        _r(rb"\(PostgreSQL\) " + _V + rb"\d+(?:\.\d+)+(?:(?:alpha|beta|rc)\d+)?)"),
        _r(rb"\x00+" + _V + rb"[0-9]+\.[0-9]+(?:\.[0-9]+)?(?:alpha[0-9]|beta[0-9]|rc[0-9])?)\x00+PostgreSQL"),
    )), Kind("postgresql", (("postgresql", "postgresql"),))),
    (Rule("mariadb", re.compile(r"^(?:mariadb|mysql|mariadbd|mysqld)$"),
          (_r(_V + rb"\d+\.\d+\.\d+(?:alpha|beta|rc)?)-MariaDB"),)),
     Kind("mariadb", (("mariadb", "mariadb"),))),
    (Rule("mysql", re.compile(r"^(?:mysql|mysqld)$"),
          (_r(rb"/mysql-" + _V + rb"\d+(?:\.\d+)?(?:\.\d+)?(?:alpha|beta|rc)?)"),)),
     Kind("mysql", (("oracle", "mysql"),))),
)
KINDS = {rule.cls: kind for rule, kind in RULES}


def _extra_paths(path: str) -> bool:
    return path.endswith(".so") and PHP_EXT_DIR_RE.match(path) is not None


class _Analyzer(ExecutableAnalyzer):
    def rules_for(self, path: str) -> list[Rule]:
        out = super().rules_for(path)
        if PHP_EXT_DIR_RE.match(path) is None:
            return [r for r in out if r.cls != "php-ext"]
        return [r for r in out if r.cls == "php-ext"]


EXEC_ANALYZER = _Analyzer([rule for rule, _ in RULES], _extra_paths)


def cpe_for(vendor: str, product: str, version: str) -> str:
    return format_cpe(vendor, product, version)


def exec_facts(entry: FileEntry) -> ExecFacts | None:
    facts = entry.facts
    if isinstance(facts, dict):
        found = facts.get(EXEC_ANALYZER.key)
        if isinstance(found, ExecFacts):
            return found
    return None


def os_owned(tree: FileTree, paths: list[str]) -> set[str]:
    """Which of ``paths`` (canonical tree paths) an OS package's file list names, under any name
    that resolves to the same file (``/bin/x`` and ``/usr/bin/x`` with a merged /usr)."""
    if not paths:
        return set()
    wanted = {posixpath.basename(p): p for p in paths}
    by_base: dict[str, set[str]] = {}
    by_base_names = set(wanted)

    def consider(listed: str) -> None:
        listed = listed.strip()
        if not listed.startswith("/"):
            listed = "/" + listed
        base = posixpath.basename(listed)
        if base in by_base_names:
            by_base.setdefault(base, set()).add(listed)

    needles = [(b"/" + base.encode("utf-8", "surrogateescape"), base) for base in by_base_names]
    for path in tree.paths():
        is_list = path.startswith(DPKG_INFO) and path.endswith(".list")
        if not is_list and not (path.startswith(STATUS_D) and path.endswith(".md5sums")):
            continue
        entry = tree.get(path)
        if entry is None or entry.data is None:
            continue
        data = entry.data + b"\n"
        for needle, _ in needles:  # a few names searched in C, not every line split in Python
            i = data.find(needle + b"\n")
            while i >= 0:
                start = data.rfind(b"\n", 0, i) + 1
                line = text(data[start : i + len(needle)])
                consider(line if is_list else [*line.split(None, 1), ""][1])
                i = data.find(needle + b"\n", i + 1)
    for db in APK_DBS:
        entry = tree.get(db)
        if entry is not None and entry.data is not None:
            try:
                for rec in parse_installed(text(entry.data), source=db):
                    for f in rec.files:
                        consider(f)
            except InputError:  # the apk cataloger reports a corrupt database
                pass
            break
    for f in _rpm_files(tree):
        consider(f)
    owned: set[str] = set()
    for p in paths:
        target = tree.get(p)
        for listed in by_base.get(posixpath.basename(p), ()):
            if listed == p or (target is not None and tree.get(listed) is target):
                owned.add(p)
                break
    return owned


def _rpm_files(tree: FileTree) -> list[str]:
    out: list[str] = []
    for db in DB_PATHS:
        entry = tree.get(db)
        if entry is None or entry.data is None:
            continue
        try:
            for blob in read_blobs(db, entry.data):
                out.extend(_files(parse_header(blob)))
        except (InputError, HeaderError):  # the rpm cataloger reports a corrupt database
            continue
        if out:
            break
    return out


def pick_version(path: str, versions: list[str]) -> str | None:
    """The first version consistent with a version in the file name (``python3.11`` wants
    ``3.11.x``, not the ``3.2.0`` of some embedded library), else the first found."""
    m = re.search(r"(\d+(?:\.\d+)+)", posixpath.basename(path))
    if m:
        want = m.group(1)
        for v in versions:
            if v == want or v.startswith(want + "."):
                return v
        return None
    return versions[0] if versions else None


class BinaryCataloger:
    name = "binary"
    analyzers = (EXEC_ANALYZER,)
    path_suffixes = (".list", ".md5sums", ".ini")

    def wants(self, path: str) -> Want:
        # called for every path of every layer: cheap tests first
        if path.endswith(".list"):
            return Want.CONTENT if path.startswith(DPKG_INFO) else Want.SKIP  # a binary dpkg owns is not reported
        if path.endswith(".md5sums"):
            return Want.CONTENT if path.startswith(STATUS_D) else Want.SKIP
        if path.endswith(".ini") and PHP_INI_RE.search(path):
            return Want.CONTENT
        return Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        candidates: list[tuple[str, FileEntry, ExecFacts]] = []
        for path in tree.paths():
            entry = tree.get(path)
            if entry is None:
                continue
            facts = exec_facts(entry)
            if facts is not None and (facts.matches or facts.php_modules):
                candidates.append((path, entry, facts))
        if not candidates:
            return []
        owned = os_owned(tree, [p for p, _, _ in candidates])
        enabled = self._enabled_php_extensions(tree)
        out: list[Package] = []
        for path, entry, facts in candidates:
            if path in owned:
                continue
            if PHP_EXT_DIR_RE.match(path):
                out.extend(self._php_extensions(path, entry, facts, enabled))
                continue
            for cls, versions in sorted(facts.matches.items()):
                kind = KINDS[cls]
                version = pick_version(path, versions)
                if version is None:
                    continue
                props = [("supplychain:binary:class", f"{cls}-binary")]
                if facts.php_modules:
                    props.append(("supplychain:php:builtin-extensions",
                                  ",".join(sorted(n for n, _ in facts.php_modules))))
                if facts.php_api:
                    props.append(("supplychain:php:module-api", facts.php_api))
                cpes = [cpe_for(v, p, version) for v, p in kind.cpes]
                props.extend((CPE_PROPERTY, c) for c in cpes)
                out.append(Package(
                    name=kind.name, version=version, purl=make_purl("generic", None, kind.name, version),
                    type="application", ecosystem="binary", properties=props, location=path,
                    layer=entry.layer, bom_ref=f"{make_purl('generic', None, kind.name, version)}#{path}",
                ))
        return out

    @staticmethod
    def _enabled_php_extensions(tree: FileTree) -> dict[str, str]:
        """extension name -> the ini file that loads it (``extension=redis``, ``zend_extension=...``)."""
        out: dict[str, str] = {}
        for path in tree.paths():
            if not PHP_INI_RE.search(path):
                continue
            entry = tree.get(path)
            if entry is None or entry.data is None:
                continue
            for line in text(entry.data).split("\n"):
                m = re.match(r"\s*(?:zend_)?extension\s*=\s*\"?([^\";\s]+)", line)
                if m:
                    name = posixpath.basename(m.group(1))
                    name = name[:-3] if name.endswith(".so") else name
                    out.setdefault(name, path)
        return out

    @staticmethod
    def _php_extensions(path: str, entry: FileEntry, facts: ExecFacts, enabled: dict[str, str]) -> list[Package]:
        file_name = posixpath.basename(path)[:-3]
        out: list[Package] = []
        for mod, version in facts.php_modules[:1] or [(file_name, "")]:
            props = [("supplychain:binary:class", "php-extension"), ("supplychain:php:extension-file", file_name)]
            if facts.php_api:
                props.append(("supplychain:php:module-api", facts.php_api))
            ini = enabled.get(file_name)
            props.append(("supplychain:php:enabled-by", ini) if ini else ("supplychain:php:enabled", "false"))
            name = f"php-ext-{file_name}"
            purl = make_purl("generic", None, name, version or None)
            out.append(Package(
                name=name, version=version or None, purl=purl, type="library", ecosystem="binary",
                description=f"PHP extension {mod}", properties=props, location=path, layer=entry.layer,
                bom_ref=f"{purl}#{path}",
            ))
        return out
