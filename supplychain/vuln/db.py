"""The advisory database: one SQLite file, imported from OSV exports and FriendsOfPHP, never fetched
behind the user's back.

* Location: ``--db PATH``, else ``$SUPPLYCHAIN_VULN_DB``, else ``<user cache dir>/supplychain/vuln.db``
  (``$XDG_CACHE_HOME`` or ``~/.cache``).
* Tables: ``advisories`` (id, modification time, withdrawn time, compact JSON), ``affected``
  (one row per affected entry, stored in ``(ecosystem, package)`` order: a scan's lookup reads
  neighbouring rows, not one page per row), ``ecosystems`` (what the data covers) and ``imports``
  (source, time, record count, sha256 of what was read, newest record time).
* An affected entry of the common shape (at most one ``ECOSYSTEM``/``SEMVER`` range whose
  intervals are in order and never touch, a ``versions`` list, a fix state; see
  :func:`supplychain.vuln.ranges.simple_form`) is stored in columns that matching reads without
  decoding JSON or sorting events (schema 2); every other entry (Composer constraints, unsorted
  or overlapping events, ``limit`` ...) as compact JSON in ``doc``. A database of schema 1 is
  refused with a message to import the data again.
* An import runs in one transaction: a failed or interrupted import leaves the previous database
  as it was (SQLite's rollback journal), and importing the same data twice changes nothing but the
  import log. A record replaces a stored one with the same id unless the stored one is newer.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.vuln.osv import AdvisoryRecord
from supplychain.vuln.ranges import SimpleAffected, simple_form

__all__ = ["SCHEMA_VERSION", "Database", "DbStatus", "ImportInfo", "default_db_path", "open_db"]

SCHEMA_VERSION = "2"
ENV_DB = "SUPPLYCHAIN_VULN_DB"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS imports(
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, kind TEXT NOT NULL, imported_at TEXT NOT NULL,
    records INTEGER NOT NULL, withdrawn INTEGER NOT NULL, sha256 TEXT NOT NULL, data_time TEXT,
    ecosystems TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS advisories(
    id TEXT PRIMARY KEY, import_id INTEGER NOT NULL, modified TEXT, withdrawn TEXT, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS affected(
    ecosystem TEXT NOT NULL, package TEXT NOT NULL, advisory_id TEXT NOT NULL, seq INTEGER NOT NULL,
    rtype TEXT, lo TEXT, hi TEXT, hi_kind TEXT, versions TEXT, state TEXT, doc TEXT,
    PRIMARY KEY (ecosystem, package, advisory_id, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS affected_advisory ON affected(advisory_id);
CREATE TABLE IF NOT EXISTS ecosystems(name TEXT PRIMARY KEY, advisories INTEGER NOT NULL);
"""


def default_db_path() -> Path:
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "supplychain" / "vuln.db"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ImportInfo:
    id: int
    source: str
    kind: str
    imported_at: str
    records: int
    withdrawn: int
    sha256: str
    data_time: str | None
    ecosystems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "imported_at": self.imported_at,
                "records": self.records, "withdrawn": self.withdrawn, "sha256": self.sha256,
                "data_time": self.data_time, "ecosystems": self.ecosystems}


@dataclass
class DbStatus:
    path: str
    snapshot: str  # sha256 over the import log: names the data a scan used
    advisories: int
    withdrawn: int
    ecosystems: dict[str, int]
    imports: list[ImportInfo] = field(default_factory=list)

    @property
    def data_time(self) -> str | None:
        """How fresh the data is: the oldest of each source's newest record (conservative), never
        later than the source's import (one record dated in the future must not keep the data
        "fresh" for ever past ``--max-db-age``)."""
        latest: dict[str, ImportInfo] = {}
        for imp in self.imports:
            latest[imp.source] = imp
        times = [min(i.data_time, i.imported_at) if i.data_time else i.imported_at for i in latest.values()]
        return min(times) if times else None

    def age(self, now: _dt.datetime | None = None) -> _dt.timedelta | None:
        t = self.data_time
        if t is None:
            return None
        when = _dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.UTC)
        return (now or _dt.datetime.now(_dt.UTC)) - when

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "snapshot": self.snapshot, "advisories": self.advisories,
                "withdrawn": self.withdrawn, "data_time": self.data_time,
                "ecosystems": self.ecosystems, "imports": [i.as_dict() for i in self.imports]}


class Database:
    """An open advisory database. Use :func:`open_db`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._ecosystems: dict[str, int] | None = None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------------

    def ecosystems(self) -> dict[str, int]:
        if self._ecosystems is None:
            self._ecosystems = {n: c for n, c in self.conn.execute("SELECT name, advisories FROM ecosystems")}
        return self._ecosystems

    def lookup(self, ecosystem: str, package: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(advisory doc, affected doc) pairs for one package, withdrawn advisories left out."""
        return self.lookup_many([(ecosystem, package)])[(ecosystem, package)]

    def lookup_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any]]]]:
        """:meth:`lookup` for many (ecosystem, package) keys at once: decoded documents (the
        affected entry as :meth:`supplychain.vuln.osv.AffectedEntry.doc` gives it)."""
        rows = self.lookup_affected(keys)
        adv = self.advisory_docs(aid for found in rows.values() for aid, _ in found)
        docs = {aid: json.loads(text) for aid, text in adv.items()}
        return {key: [(docs[aid], aff.doc() if isinstance(aff, SimpleAffected) else json.loads(aff))
                      for aid, aff in found if aid in docs]
                for key, found in rows.items()}

    def lookup_affected(self, keys: Iterable[tuple[str, str]]
                        ) -> dict[tuple[str, str], list[tuple[str, SimpleAffected | str]]]:
        """The scan's hot path, step 1: (ecosystem, package) -> [(advisory id, entry)] where the
        entry is a :class:`SimpleAffected` read from columns or the undecoded JSON of any other
        shape, withdrawn advisories NOT yet left out: the caller matches versions first and asks
        :meth:`advisory_docs` only for the advisories that matched (about half of the rows of a
        typical image), which spares the join's second lookup for every other row."""
        out: dict[tuple[str, str], list[tuple[str, SimpleAffected | str]]] = {}
        by_eco: dict[str, list[str]] = {}
        for eco, pkg in set(keys):
            out[(eco, pkg)] = []
            by_eco.setdefault(eco, []).append(pkg)
        for eco, pkgs in by_eco.items():
            for i in range(0, len(pkgs), 500):
                chunk = pkgs[i:i + 500]
                for pkg, aid, rtype, lo, hi, hi_kind, versions, state, doc in self.conn.execute(
                        "SELECT package, advisory_id, rtype, lo, hi, hi_kind, versions, state, doc FROM affected "
                        f"WHERE ecosystem = ? AND package IN ({','.join('?' * len(chunk))}) "
                        "ORDER BY package, advisory_id, seq", (eco, *chunk)):
                    out[(eco, pkg)].append((aid, doc if doc is not None else
                                            SimpleAffected(rtype, lo, hi, hi_kind, versions, state)))
        return out

    def advisory_docs(self, ids: Iterable[str]) -> dict[str, str]:
        """Step 2: advisory id -> advisory JSON (undecoded) for ``ids``; withdrawn ones left out."""
        wanted = list(set(ids))
        out: dict[str, str] = {}
        for i in range(0, len(wanted), 900):
            chunk = wanted[i:i + 900]
            out.update(self.conn.execute(
                f"SELECT id, doc FROM advisories WHERE id IN ({','.join('?' * len(chunk))}) AND withdrawn IS NULL",
                chunk))
        return out

    def status(self) -> DbStatus:
        imports = [
            ImportInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]))
            for r in self.conn.execute(
                "SELECT id, source, kind, imported_at, records, withdrawn, sha256, data_time, ecosystems "
                "FROM imports ORDER BY id")
        ]
        counts = dict(self.conn.execute("SELECT key, value FROM meta WHERE key IN ('advisories', 'withdrawn')"))
        if len(counts) == 2:  # kept by every import, so a scan does not count 200,000 rows
            adv, wd = int(counts["advisories"]), int(counts["withdrawn"])
        else:
            (adv,) = self.conn.execute("SELECT count(*) FROM advisories WHERE withdrawn IS NULL").fetchone()
            (wd,) = self.conn.execute("SELECT count(*) FROM advisories WHERE withdrawn IS NOT NULL").fetchone()
        h = hashlib.sha256()
        for i in imports:
            h.update(json.dumps(i.as_dict(), sort_keys=True).encode())
        return DbStatus(str(self.path), "sha256:" + h.hexdigest(), adv, wd, dict(self.ecosystems()), imports)

    # --- writing ---------------------------------------------------------------------------

    def import_records(self, records: Iterable[AdvisoryRecord], *, source: str, kind: str,
                       sha256: Callable[[], str]) -> ImportInfo:
        """Store one source's ``records`` in one transaction (see :meth:`import_batches`)."""
        return self.import_batches([(source, kind, records, sha256)])[0]

    def import_batches(self, batches: Sequence[tuple[str, str, Iterable[AdvisoryRecord], Callable[[], str]]]
                       ) -> list[ImportInfo]:
        """Store several sources in ONE transaction: all of them or none.

        Each batch is (source name, kind, records, sha256) where ``sha256()``, called once the
        records are consumed, is the digest of what was read. Any exception (a bad record, an
        interrupt) rolls everything back and the previous database stays as it was.
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        infos: list[ImportInfo] = []
        try:
            for source, kind, records, sha256 in batches:
                infos.append(self._import_one(source, kind, records, sha256))
            conn.execute("DELETE FROM ecosystems")
            conn.execute(
                "INSERT INTO ecosystems(name, advisories) SELECT f.ecosystem, count(DISTINCT f.advisory_id) "
                "FROM affected f JOIN advisories a ON a.id = f.advisory_id WHERE a.withdrawn IS NULL "
                "GROUP BY f.ecosystem")
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) SELECT 'advisories', count(*) FROM advisories "
                "WHERE withdrawn IS NULL")
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) SELECT 'withdrawn', count(*) FROM advisories "
                "WHERE withdrawn IS NOT NULL")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._ecosystems = None
        return infos

    def _import_one(self, source: str, kind: str, records: Iterable[AdvisoryRecord],
                    sha256: Callable[[], str]) -> ImportInfo:
        conn = self.conn
        now = _now()
        conn.execute(
            "INSERT INTO imports(source, kind, imported_at, records, withdrawn, sha256, data_time, ecosystems)"
            " VALUES (?, ?, ?, 0, 0, '', NULL, '[]')", (source, kind, now))
        (import_id,) = conn.execute("SELECT last_insert_rowid()").fetchone()
        count = withdrawn = 0
        newest: str | None = None
        ecos: set[str] = set()
        existing = conn.execute("SELECT count(*) FROM advisories").fetchone()[0] > 0
        batch: dict[str, AdvisoryRecord] = {}

        def flush() -> None:
            # Memory stays flat: only this batch is held. What the table already has (a newer copy,
            # or the same id earlier in this very import) is looked up for the batch at once.
            stored: dict[str, tuple[str | None, int]] = {}
            if existing or count > len(batch):
                ids = list(batch)
                for i in range(0, len(ids), 900):
                    chunk = ids[i:i + 900]
                    stored.update((r[0], (r[1], r[2])) for r in conn.execute(
                        f"SELECT id, modified, import_id FROM advisories WHERE id IN ({','.join('?' * len(chunk))})",
                        chunk))
            replaced: list[tuple[str]] = []
            adv_rows: list[tuple[Any, ...]] = []
            aff_rows: list[tuple[Any, ...]] = []
            for rid, rec in batch.items():
                old = stored.get(rid)
                if old is not None:
                    if old[1] == import_id:
                        raise InputError(f"{source}: advisory {rid} appears twice in this import")
                    if old[0] and rec.modified and old[0] > rec.modified:
                        continue  # the stored record is newer
                    replaced.append((rid,))
                adv_rows.append((rid, import_id, rec.modified, rec.withdrawn,
                                 json.dumps(rec.doc(), separators=(",", ":"), ensure_ascii=False)))
                for seq, a in enumerate(rec.affected):
                    ecos.add(a.ecosystem)
                    simple = simple_form(a)
                    if simple is not None:
                        aff_rows.append((a.ecosystem, a.package, rid, seq, *simple, None))
                    else:
                        aff_rows.append((a.ecosystem, a.package, rid, seq, None, None, None, None, None, None,
                                         json.dumps(a.doc(), separators=(",", ":"), ensure_ascii=False)))
            if replaced:
                conn.executemany("DELETE FROM affected WHERE advisory_id = ?", replaced)
            conn.executemany(
                "INSERT OR REPLACE INTO advisories(id, import_id, modified, withdrawn, doc) VALUES (?, ?, ?, ?, ?)",
                adv_rows)
            conn.executemany(
                "INSERT INTO affected(ecosystem, package, advisory_id, seq, rtype, lo, hi, hi_kind, versions, state, doc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", aff_rows)
            batch.clear()

        for rec in records:
            if rec.id in batch:
                raise InputError(f"{source}: advisory {rec.id} appears twice in this import")
            batch[rec.id] = rec
            count += 1
            if rec.modified and (newest is None or rec.modified > newest):
                newest = rec.modified
            if rec.withdrawn:
                withdrawn += 1
            if len(batch) >= 2000:
                flush()
        flush()
        digest = sha256()
        conn.execute(
            "UPDATE imports SET records = ?, withdrawn = ?, sha256 = ?, data_time = ?, ecosystems = ? WHERE id = ?",
            (count, withdrawn, digest, newest, json.dumps(sorted(ecos)), import_id))
        return ImportInfo(import_id, source, kind, now, count, withdrawn, digest, newest, sorted(ecos))


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    except sqlite3.Error as exc:
        raise InputError(f"{path}: cannot open the vulnerability database: {exc}") from exc
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=NORMAL")
        ours = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        if create and ours is None:  # never add tables to a database of another schema version
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise InputError(f"{path}: not a supplychain vulnerability database ({exc})",
                         hint="pass another --db, or remove the file and import again") from exc
    if row is None or row[0] != SCHEMA_VERSION:
        conn.close()
        raise InputError(f"{path}: vulnerability database schema {row[0] if row else '?'} is not "
                         f"{SCHEMA_VERSION} (written by another version of supplychain)",
                         hint="remove the file and import the data again")
    return conn


def open_db(path: str | os.PathLike[str] | None = None, *, create: bool = False) -> Database:
    """Open the database at ``path`` (default: :func:`default_db_path`).

    ``create``: make it (and its directory) if missing; otherwise a missing database is an error
    that says how to import data.
    """
    p = Path(path) if path is not None else default_db_path()
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected the vulnerability database file")
    if not p.exists():
        if not create:
            raise InputError(f"{p}: no vulnerability database here",
                             hint="import advisories first: supplychain vuln db import SOURCE (see --help)")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{p.parent}: cannot create directory: {exc.strerror}") from exc
    return Database(p, _connect(p, create=create))
