"""Operations that combine the pieces: import several sources atomically, check the data's age."""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Sequence
from pathlib import Path

from supplychain.errors import InputError, PolicyViolation
from supplychain.vuln.db import Database, DbStatus, ImportInfo, default_db_path, open_db
from supplychain.vuln.sources import Source, open_source

__all__ = ["check_db_age", "import_into", "import_sources", "parse_age"]


def import_sources(db: Database, specs: Sequence[str], *, allow_http: bool = False) -> list[ImportInfo]:
    """Import every source in ``specs`` in one transaction: all of them, or (on any error) none."""
    if not specs:
        raise InputError("no source to import", hint="give an OSV all.zip, a directory of records or a URL")
    opened: list[Source] = []
    try:
        for spec in specs:
            opened.append(open_source(spec, allow_http=allow_http))
        return db.import_batches([(s.name, s.kind, s.records(), s.sha256) for s in opened])
    finally:
        for s in opened:
            s.cleanup()


def import_into(path: str | os.PathLike[str] | None, specs: Sequence[str], *,
                allow_http: bool = False) -> tuple[list[ImportInfo], DbStatus]:
    """Import ``specs`` into the database at ``path`` (default location when None), creating it
    if missing. A failed import leaves no trace: an existing database keeps its data (one
    transaction), and a new one is built under a temporary name in the same directory and
    renamed into place only once everything is committed (no empty file, no new directory)."""
    target = Path(path) if path is not None else default_db_path()
    if target.exists() or target.is_symlink():
        with open_db(target, create=True) as db:
            return import_sources(db, specs, allow_http=allow_http), db.status()
    if not specs:  # before anything is created
        raise InputError("no source to import", hint="give an OSV all.zip, a directory of records or a URL")
    made: list[Path] = []
    parent = target.parent
    while not parent.exists():
        made.append(parent)
        parent = parent.parent
    tmp = target.with_name(f".{target.name}.{os.getpid()}.importing")
    try:
        with open_db(tmp, create=True) as db:
            infos = import_sources(db, specs, allow_http=allow_http)
        os.replace(tmp, target)
    except BaseException:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            leftover.unlink(missing_ok=True)
        for d in made:  # innermost first
            try:
                d.rmdir()
            except OSError:
                break
        raise
    with open_db(target) as db:
        return infos, db.status()


_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> _dt.timedelta:
    """``90m``, ``36h``, ``7d``, ``2w`` as a timedelta."""
    m = _AGE.match(text.lower())
    if not m:
        raise InputError(f"--max-db-age {text!r}: expected a number and a unit (s, m, h, d, w), e.g. 7d")
    return _dt.timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def check_db_age(status: DbStatus, max_age: _dt.timedelta, *, now: _dt.datetime | None = None) -> None:
    """PolicyViolation (exit 1) when the data is older than ``max_age`` or its age is unknown."""
    age = status.age(now)
    if age is None:
        raise PolicyViolation(f"{status.path}: the vulnerability database holds no imported data",
                              hint="import advisories: supplychain vuln db import SOURCE")
    if age > max_age:
        days = age.total_seconds() / 86400
        raise PolicyViolation(
            f"{status.path}: vulnerability data is {days:.1f} days old (as of {status.data_time}), "
            f"older than the allowed {max_age}",
            hint="import a fresh OSV export: supplychain vuln db import SOURCE")
