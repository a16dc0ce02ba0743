"""What ``vuln db import`` reads: OSV exports and the FriendsOfPHP tree, from files, directories or
HTTP(S) mirrors. Everything read is hostile input.

* an OSV ``all.zip`` as osv.dev publishes it per ecosystem (one ``<ID>.json`` per record), from a
  file or an ``https://`` URL (``http://`` only for loopback or with ``allow_http``);
* a directory of OSV records (``*.json``, ``*.yaml``, ``*.yml``, recursively), e.g. a checkout of
  pypa/advisory-database, or the FriendsOfPHP security-advisories tree (recognised per file by its
  ``reference: composer://`` key);
* a single OSV record file.

Bounds: a record file is at most 16 MiB (also inside a zip, checked while decompressing, so a zip
bomb stops at the bound), a zip holds at most 2 million members, a download at most 8 GiB. Zip
member names that are absolute or climb with ``..`` are refused (nothing is extracted, but such a
file is not an honest export). Errors name the file or member and the field at fault.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from supplychain.errors import InputError, NetworkError
from supplychain.fileio import parse_json
from supplychain.vuln.osv import AdvisoryRecord, RecordError, normalize_friendsofphp, normalize_osv

__all__ = ["MAX_RECORD_BYTES", "Source", "open_source"]

MAX_RECORD_BYTES = 16 << 20
MAX_ZIP_MEMBERS = 2_000_000
MAX_DOWNLOAD_BYTES = 8 << 30
_RECORD_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass
class Source:
    """An opened import source: ``records()`` yields validated records; ``sha256()`` (after
    ``records()`` is exhausted) is the digest of what was read."""

    name: str
    kind: str
    records: Callable[[], Iterator[AdvisoryRecord]]
    sha256: Callable[[], str]
    cleanup: Callable[[], None] = lambda: None


def _parse(raw: bytes, name: str, relpath: str) -> AdvisoryRecord | None:
    lower = name.lower()
    if lower.endswith(".json"):
        doc = parse_json(raw, source=name)
    else:
        doc = _parse_yaml(raw, name)
    try:
        if isinstance(doc, dict) and "reference" in doc and "branches" in doc and "affected" not in doc:
            return normalize_friendsofphp(doc, name=name, relpath=relpath)
        if isinstance(doc, dict) and "id" not in doc and "affected" not in doc:
            return None  # not an advisory (e.g. a repository's own config file)
        return normalize_osv(doc, name=name)
    except RecordError as exc:
        raise InputError(f"invalid advisory: {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"{name}: nested too deeply") from exc


def _parse_yaml(raw: bytes, name: str) -> Any:
    import yaml

    # the base loader: every scalar stays a string (a version `1.10` must not become the float 1.1,
    # `2021-06-23 23:56:59` not a naive datetime), and no tags can construct objects
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not valid UTF-8 (byte {exc.start})") from exc
    try:
        _check_yaml_depth(yaml, text, name)
        return _yaml_nulls(yaml.load(text, Loader=loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).split("\n", 1)[0]
        raise InputError(f"{name}: invalid YAML{where}: {problem}") from exc
    except RecursionError as exc:
        raise InputError(f"{name}: invalid YAML: nested too deeply") from exc


MAX_YAML_DEPTH = 1_000
_YAML_DEPTH_UNCHECKED = 10_000  # fewer openers than this: the composer's own RecursionError is enough


def _check_yaml_depth(yaml: Any, text: str, name: str) -> None:
    """InputError when ``text`` nests collections deeper than MAX_YAML_DEPTH: the C composer
    recurses once per level and crashes the process (a segmentation fault, no message) at some
    tens of thousands (below that, Python's RecursionError stops it). Every level opens with one
    of ``[{-?:`` or a new line, so a text with fewer of those than 10,000 is passed without
    looking (every real advisory); others are walked as events (the parser keeps its own stack)."""
    if sum(text.count(c) for c in "[{-?:\n") < _YAML_DEPTH_UNCHECKED:
        return
    depth = 0
    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    for ev in yaml.parse(text, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader)):
        if isinstance(ev, starts):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise InputError(f"{name}: invalid YAML: collections nested deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(ev, ends):
            depth -= 1


_YAML_NULLS = frozenset(("~", "null", "Null", "NULL", ""))


def _yaml_nulls(doc: Any) -> Any:
    """The base loader keeps YAML nulls as strings: turn mapping values ``~`` / ``null`` / empty
    into None (list items are left alone: they are versions and ids)."""
    stack = [doc]
    seen: set[int] = set()  # YAML aliases share objects: visit each once (an alias bomb stays cheap)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, str):
                    if v in _YAML_NULLS:
                        node[k] = None
                elif isinstance(v, dict | list):
                    stack.append(v)
        elif isinstance(node, list):
            stack.extend(x for x in node if isinstance(x, dict | list))
    return doc


def _check_member_name(zname: str, zip_name: str) -> str | None:
    """The member's name if it is a record file; None to skip it; error on path tricks."""
    if "\x00" in zname or "\\" in zname:
        raise InputError(f"{zip_name}: member {zname!r} has a suspicious name (NUL or backslash)")
    p = PurePosixPath(zname)
    if p.is_absolute() or ".." in p.parts or (len(zname) > 1 and zname[1] == ":"):
        raise InputError(f"{zip_name}: member {zname!r} is an absolute path or climbs out with '..'",
                         hint="this is not an OSV export; refusing it")
    if zname.endswith("/"):
        return None
    if not zname.lower().endswith(_RECORD_SUFFIXES):
        return None
    return zname


def _zip_records(path: Path, display: str) -> Iterator[AdvisoryRecord]:
    """Records of an OSV export zip, read member by member (memory does not grow with the count)."""
    from supplychain.vuln.ziputil import ZipError, iter_members, read_member

    try:
        with open(path, "rb") as data:
            for m in iter_members(path, max_members=MAX_ZIP_MEMBERS):
                member = _check_member_name(m.name, display)
                if member is None or m.is_dir:
                    continue
                name = f"{display}!{member}"
                try:
                    raw = read_member(data, m, limit=MAX_RECORD_BYTES)
                except ZipError as exc:
                    raise InputError(f"{name}: cannot read: {exc}") from exc
                rec = _parse(raw, name, member)
                if rec is not None:
                    yield rec
    except ZipError as exc:
        raise InputError(f"{display}: not a readable zip file: {exc}") from exc
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror}") from exc


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _read_limited(path: Path, display: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_RECORD_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_RECORD_BYTES:
        raise InputError(f"{display}: record is larger than {MAX_RECORD_BYTES} bytes")
    return raw


def _dir_source(root: Path) -> Source:
    tree_hash = hashlib.sha256()

    def files() -> Iterator[tuple[Path, str]]:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for f in sorted(filenames):
                if f.startswith(".") or not f.lower().endswith(_RECORD_SUFFIXES):
                    continue
                p = Path(dirpath) / f
                rel = p.relative_to(root).as_posix()
                try:
                    st = os.lstat(p)
                except OSError as exc:
                    raise InputError(f"{p}: cannot read: {exc.strerror}") from exc
                if not stat.S_ISREG(st.st_mode):
                    continue  # symbolic links and devices are not followed
                yield p, rel

    def records() -> Iterator[AdvisoryRecord]:
        for p, rel in files():
            raw = _read_limited(p, str(p))
            tree_hash.update(rel.encode("utf-8", "surrogateescape") + b"\0"
                             + hashlib.sha256(raw).digest())
            rec = _parse(raw, str(p), rel)
            if rec is not None:
                yield rec

    return Source(str(root), "directory", records, lambda: "sha256:" + tree_hash.hexdigest())


def _is_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def _file_source(path: Path, display: str, kind: str) -> Source:
    if _is_zip(path):
        return Source(display, kind + "zip", lambda: _zip_records(path, display), lambda: _file_sha256(path))

    def records() -> Iterator[AdvisoryRecord]:
        raw = _read_limited(path, display)
        name = display if display.lower().endswith(_RECORD_SUFFIXES) else display + ".json"
        rec = _parse(raw, name, path.name)
        if rec is None:
            raise InputError(f"{display}: not an OSV record or an OSV zip export")
        yield rec

    return Source(display, kind + "record", records, lambda: _file_sha256(path))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _download(url: str, *, allow_http: bool, timeout: float) -> Path:
    import requests

    parts = urlsplit(url)
    if parts.scheme == "http" and not (allow_http or _loopback(parts.hostname or "")):
        raise InputError(f"{url}: plain http can be tampered with on the way",
                         hint="use an https:// mirror, or pass --allow-http if you trust the network")
    fd, tmp = tempfile.mkstemp(prefix="supplychain-vuln-", suffix=".download")
    ok = False
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with requests.get(url, stream=True, timeout=timeout, allow_redirects=True) as resp:
                    if resp.status_code != 200:
                        raise NetworkError(f"{url}: HTTP {resp.status_code} {resp.reason}")
                    final = urlsplit(resp.url)
                    if final.scheme == "http" and not (allow_http or _loopback(final.hostname or "")):
                        raise InputError(f"{url}: redirected to plain http ({resp.url})")
                    total = 0
                    for chunk in resp.iter_content(1 << 20):
                        total += len(chunk)
                        if total > MAX_DOWNLOAD_BYTES:
                            raise InputError(f"{url}: larger than {MAX_DOWNLOAD_BYTES} bytes")
                        out.write(chunk)
            except requests.RequestException as exc:
                raise NetworkError(f"{url}: download failed: {exc}") from exc
        ok = True
        return Path(tmp)
    finally:
        if not ok:
            os.unlink(tmp)


def open_source(spec: str, *, allow_http: bool = False, timeout: float = 60.0) -> Source:
    """Open one import source: a path (zip, directory, record file) or an http(s) URL."""
    if spec.startswith(("https://", "http://")):
        tmp = _download(spec, allow_http=allow_http, timeout=timeout)
        src = _file_source(tmp, spec, "url-")
        src.cleanup = lambda: tmp.unlink(missing_ok=True)
        return src
    if "://" in spec:
        raise InputError(f"{spec}: unsupported URL scheme", hint="use a file path or an https:// URL")
    p = Path(spec)
    try:
        st = p.stat()
    except FileNotFoundError as exc:
        raise InputError(f"{spec}: no such file or directory") from exc
    except OSError as exc:
        raise InputError(f"{spec}: cannot read: {exc.strerror}") from exc
    if stat.S_ISDIR(st.st_mode):
        return _dir_source(p)
    return _file_source(p, spec, "")
