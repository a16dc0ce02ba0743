"""The advisory database: imports from real data (directories, all.zip files, a zip served over
loopback HTTP), import records and status, idempotency, atomicity, hostile input, data age."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import InputError, NetworkError, PolicyViolation
from supplychain.vuln.db import Database, open_db
from supplychain.vuln.service import check_db_age, import_sources, parse_age
from tests.vuln.conftest import osv_zip


def rec(rid: str, name: str = "demo", fixed: str = "1.2.0", **extra: Any) -> dict[str, Any]:
    return {"id": rid, "modified": "2025-01-01T00:00:00Z", **extra,
            "affected": [{"package": {"ecosystem": "PyPI", "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]}


def counts(path: Path) -> tuple[int, int, int]:
    c = sqlite3.connect(path)
    try:
        return tuple(c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("advisories", "affected", "imports"))
    finally:
        c.close()


def test_import_real_databases_and_status(full_db: Database, vulns: Path, tmp_path: Path) -> None:
    st = full_db.status()
    fop, pypa, deb, alp = st.imports
    assert deb.kind == "zip" and deb.ecosystems == ["Debian:10", "Debian:11", "Debian:12", "Debian:13"]  # the session database: four sources imported in one transaction
    assert (fop.records, pypa.records) == (1592, 2661)  # SOURCES.md: the whole databases
    assert pypa.withdrawn == 10 and fop.withdrawn == 0
    assert fop.kind == "directory" and alp.kind == "zip" and alp.records == 11
    assert all(i.sha256.startswith("sha256:") and len(i.sha256) == 71 for i in st.imports)
    assert fop.data_time == "2026-08-05T23:53:11Z"  # the newest branch time in the tree
    assert st.ecosystems["Packagist"] == 1592
    assert st.ecosystems["PyPI"] == 2661 - 10  # withdrawn records are not counted or matched
    assert st.ecosystems["Debian:12"] >= 1 and any(e.startswith("Alpine:v3.") for e in st.ecosystems)
    assert st.snapshot.startswith("sha256:")
    # idempotent: the same data again changes no advisory, only the import log
    path = tmp_path / "copy.db"
    shutil.copyfile(full_db.path, path)
    before = counts(path)
    with open_db(path) as db:
        import_sources(db, [str(vulns / "friendsofphp-security-advisories")])
        st2 = db.status()
    after = counts(path)
    assert after[:2] == before[:2] and after[2] == before[2] + 1
    assert st2.advisories == st.advisories and st2.snapshot != st.snapshot
    assert st2.imports[-1].sha256 == fop.sha256


def test_import_osv_zip_from_loopback_http(distro_zips: dict[str, Path], http_files: Any, tmp_path: Path,
                                           cli: Any) -> None:
    base, files = http_files
    files["/osv/Alpine/all.zip"] = distro_zips["alpine"].read_bytes()
    db = tmp_path / "v.db"
    r = cli("vuln", "db", "import", "--db", str(db), f"{base}/osv/Alpine/all.zip")
    assert r.exit_code == 0, r.stderr
    assert "imported 11 records" in r.stdout
    r = cli("vuln", "db", "status", "--db", str(db), "--json")
    st = json.loads(r.stdout)
    assert st["imports"][0]["source"].endswith("/osv/Alpine/all.zip")
    import hashlib
    assert st["imports"][0]["sha256"] == "sha256:" + hashlib.sha256(files["/osv/Alpine/all.zip"]).hexdigest()
    r = cli("vuln", "db", "import", "--db", str(db), f"{base}/missing.zip")
    assert r.exit_code == 3 and "HTTP 404" in r.stderr


def test_plain_http_to_other_hosts_is_refused(tmp_path: Path) -> None:
    with open_db(tmp_path / "v.db", create=True) as db, pytest.raises(InputError, match="plain http"):
        import_sources(db, ["http://mirror.example.invalid/all.zip"])


def test_unreachable_url_is_a_network_error(tmp_path: Path) -> None:
    with open_db(tmp_path / "v.db", create=True) as db, pytest.raises(NetworkError):
        import_sources(db, ["http://127.0.0.1:9/all.zip"])


def test_failed_import_leaves_previous_database_intact(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    good = tmp_path / "good.zip"
    good.write_bytes(osv_zip([rec("PYSEC-1"), rec("PYSEC-2", name="other")]))
    with open_db(path, create=True) as db:
        import_sources(db, [str(good)])
    before = counts(path)
    bad = tmp_path / "bad.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("PYSEC-3.json", json.dumps(rec("PYSEC-3", name="third")))
        zf.writestr("PYSEC-1.json", json.dumps(rec("PYSEC-1", fixed="9.9", modified="2026-01-01T00:00:00Z")))
        zf.writestr("PYSEC-4.json", "{not json")
    bad.write_bytes(buf.getvalue())
    with open_db(path) as db:
        with pytest.raises(InputError, match=r"bad\.zip!PYSEC-4\.json: invalid JSON at line 1"):
            import_sources(db, [str(good), str(bad)])
        assert counts(path) == before
        assert db.lookup("PyPI", "third") == []
        assert db.lookup("PyPI", "demo")[0][1]["r"][0]["events"][1] == ["fixed", "1.2.0"]


def test_newer_record_replaces_older_and_withdrawn_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    d = tmp_path / "recs"
    d.mkdir()
    (d / "a.json").write_text(json.dumps(rec("PYSEC-1")))
    with open_db(path, create=True) as db:
        import_sources(db, [str(d)])
        assert len(db.lookup("PyPI", "demo")) == 1
        (d / "a.json").write_text(json.dumps(rec("PYSEC-1", withdrawn="2025-02-01T00:00:00Z",
                                                 modified="2025-02-01T00:00:00Z")))
        import_sources(db, [str(d)])
        assert db.lookup("PyPI", "demo") == []
        assert db.status().withdrawn == 1
        assert "PyPI" not in db.status().ecosystems
        # an older copy of the record does not resurrect it
        (d / "a.json").write_text(json.dumps(rec("PYSEC-1")))
        import_sources(db, [str(d)])
        assert db.lookup("PyPI", "demo") == []


def _zip_with(name: str, data: bytes, compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("member,data,message", [
    ("../../evil.json", b"{}", "climbs out"),
    ("/abs.json", b"{}", "absolute path"),
    ("a\\b.json", b"{}", "suspicious name"),
    ("bomb.json", b" " * (17 << 20), "larger than"),
    ("bad.yaml", b"id: [unclosed", "invalid YAML"),
    ("bad.json", b"\xff\xfe", "not valid UTF-8"),
    ("deep.json", b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    ("notobj.json", b"[1, 2]", "expected an object"),
])
def test_hostile_zip_members_are_refused_by_name(tmp_path: Path, member: str, data: bytes, message: str) -> None:
    z = tmp_path / "all.zip"
    z.write_bytes(_zip_with(member, data))
    with open_db(tmp_path / "v.db", create=True) as db:
        with pytest.raises(InputError) as ei:
            import_sources(db, [str(z)])
        assert message in str(ei.value)
        assert db.status().advisories == 0 and db.status().imports == []


def test_yaml_alias_bomb_is_bounded(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines += ["id: BOMB-1", "affected:", "- package: {ecosystem: PyPI, name: x}", "  versions: *a8"]
    d = tmp_path / "r"
    d.mkdir()
    (d / "bomb.yaml").write_text("\n".join(lines))
    with open_db(tmp_path / "v.db", create=True) as db, pytest.raises(InputError, match="expected a string"):
        import_sources(db, [str(d)])


def test_not_a_database_and_missing_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="not a supplychain vulnerability database"):
        open_db(junk)
    with pytest.raises(InputError, match="no vulnerability database here"):
        open_db(tmp_path / "none.db")


def test_max_db_age(tmp_path: Path) -> None:
    z = tmp_path / "a.zip"
    z.write_bytes(osv_zip([rec("PYSEC-1")]))  # modified 2025-01-01
    with open_db(tmp_path / "v.db", create=True) as db:
        with pytest.raises(PolicyViolation, match="no imported data"):
            check_db_age(db.status(), parse_age("7d"))
        import_sources(db, [str(z)])
        st = db.status()
    assert st.data_time == "2025-01-01T00:00:00Z"
    check_db_age(st, parse_age("7d"), now=dt.datetime(2025, 1, 5, tzinfo=dt.UTC))
    with pytest.raises(PolicyViolation, match="older than the allowed"):
        check_db_age(st, parse_age("7d"), now=dt.datetime(2025, 1, 9, tzinfo=dt.UTC))
    with pytest.raises(InputError):
        parse_age("seven days")


def test_db_location_from_environment(tmp_path: Path, cli: Any) -> None:
    z = tmp_path / "a.zip"
    z.write_bytes(osv_zip([rec("PYSEC-1")]))
    env = {"SUPPLYCHAIN_VULN_DB": str(tmp_path / "env.db")}
    r = cli("vuln", "db", "import", str(z), env=env)
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "env.db").is_file()
    r = cli("vuln", "db", "status", env=env)
    assert "PyPI: 1" in r.stdout
    r = cli("vuln", "db", "status", "--max-db-age", "1d", env=env)
    assert r.exit_code == 1 and "older than the allowed" in r.stderr
    r = cli("vuln", "db", "status", env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "SUPPLYCHAIN_VULN_DB": ""})
    assert r.exit_code == 2 and str(tmp_path / "cache" / "supplychain" / "vuln.db") in r.stderr


def test_yaml_scalars_stay_strings(tmp_path: Path) -> None:
    """An unquoted `1.10` in a YAML record is the version 1.10, not the float 1.1; `~` is null."""
    d = tmp_path / "r"
    d.mkdir()
    (d / "PYSEC-9.yaml").write_text(
        "id: PYSEC-9\nmodified: 2024-01-02 3:04:05\nwithdrawn: ~\naffected:\n- package: {ecosystem: PyPI, name: demo}\n"
        "  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 1.10\n  versions: [1.0, 1.1]\n")
    with open_db(tmp_path / "v.db", create=True) as db:
        import_sources(db, [str(d)])
        ((adv, aff),) = db.lookup("PyPI", "demo")
    assert aff["r"][0]["events"] == [["introduced", "0"], ["fixed", "1.10"]] and aff["v"] == ["1.0", "1.1"]
    assert adv["modified"] == "2024-01-02T03:04:05Z"


_SCHEMA_1 = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE advisories(id TEXT PRIMARY KEY, import_id INTEGER NOT NULL, modified TEXT, withdrawn TEXT,
                        doc TEXT NOT NULL);
CREATE TABLE affected(advisory_id TEXT NOT NULL, ecosystem TEXT NOT NULL, package TEXT NOT NULL, doc TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1');
INSERT INTO advisories VALUES ('PYSEC-1', 1, NULL, NULL, '{"id":"PYSEC-1"}');
INSERT INTO affected VALUES ('PYSEC-1', 'PyPI', 'demo', '{"r":[]}');
"""


def test_a_database_of_the_previous_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    """Schema 2 stores affected entries in columns; a schema-1 file (an earlier release's) is
    neither read with the new queries nor altered by an import: the user is told to re-import."""
    path = tmp_path / "old.db"
    c = sqlite3.connect(path)
    c.executescript(_SCHEMA_1)
    c.commit()
    c.close()
    before = path.read_bytes()
    for create in (False, True):
        with pytest.raises(InputError) as exc:
            open_db(path, create=create)
        assert "schema 1 is not 2" in exc.value.message and "import the data again" in (exc.value.hint or "")
    assert path.read_bytes() == before
