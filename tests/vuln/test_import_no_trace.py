"""A failed ``vuln db import`` leaves no trace: no new database file (nor the directories made for
it), an existing database byte-for-byte unchanged, and a database of another schema version is
refused before anything is written to it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.vuln.conftest import osv_zip


def rec(rid: str, name: str = "demo") -> dict[str, Any]:
    return {"id": rid, "modified": "2025-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]}]}]}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_source_creates_no_database(tmp_path: Path, cli: Any) -> None:
    db = tmp_path / "new" / "deeper" / "v.db"
    r = cli("vuln", "db", "import", "--db", str(db), str(tmp_path / "no" / "such" / "path"))
    assert r.exit_code == 2, r.stderr
    assert "no such file" in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []  # neither the file nor the directories made for it


def test_bad_record_after_good_ones_creates_no_database(tmp_path: Path, cli: Any) -> None:
    good = tmp_path / "good.zip"
    good.write_bytes(osv_zip([rec("PYSEC-1")]))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "PYSEC-2.json").write_text("{not json")
    db = tmp_path / "v.db"
    r = cli("vuln", "db", "import", "--db", str(db), str(good), str(bad))
    assert r.exit_code == 2 and "PYSEC-2.json" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "good.zip"]
    # and the same import without the bad source works, leaving only the database behind
    r = cli("vuln", "db", "import", "--db", str(db), str(good))
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "good.zip", "v.db"]
    assert "PyPI: 1" in cli("vuln", "db", "status", "--db", str(db)).stdout


def test_failed_import_leaves_existing_database_byte_identical(tmp_path: Path, cli: Any) -> None:
    good = tmp_path / "good.zip"
    good.write_bytes(osv_zip([rec("PYSEC-1"), rec("PYSEC-2", name="other")]))
    db = tmp_path / "v.db"
    assert cli("vuln", "db", "import", "--db", str(db), str(good)).exit_code == 0
    before = sha(db)
    r = cli("vuln", "db", "import", "--db", str(db), str(tmp_path / "missing.zip"))
    assert r.exit_code == 2
    bad = tmp_path / "bad.zip"
    bad.write_bytes(osv_zip([rec("PYSEC-3", name="third")]))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "X-1.json").write_text(json.dumps({"id": "X-1", "affected": "nope"}))
    r = cli("vuln", "db", "import", "--db", str(db), str(bad), str(tmp_path / "broken"))
    assert r.exit_code == 2, r.stderr
    assert sha(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip", "broken", "good.zip", "v.db"]


def test_database_of_another_schema_is_refused_untouched(tmp_path: Path, cli: Any) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('schema', '0')")
    conn.commit()
    conn.close()
    before = sha(db)
    good = tmp_path / "good.zip"
    good.write_bytes(osv_zip([rec("PYSEC-1")]))
    for args in (["db", "import", "--db", str(db), str(good)], ["db", "status", "--db", str(db)]):
        r = cli("vuln", *args)
        assert r.exit_code == 2, r.stderr
        assert "schema 0 is not" in r.stderr and "import the data again" in r.stderr
    assert sha(db) == before


def test_scan_leaves_out_withdrawn_advisories_whose_ranges_match(tmp_path: Path, cli: Any) -> None:
    """Scans match versions on the stored entries first and drop withdrawn advisories afterwards:
    a withdrawn record whose range covers the component is still never reported."""
    live, gone = rec("PYSEC-1"), rec("PYSEC-2")
    gone["withdrawn"] = "2025-02-01T00:00:00Z"
    z = tmp_path / "a.zip"
    z.write_bytes(osv_zip([live, gone]))
    db = tmp_path / "v.db"
    assert cli("vuln", "db", "import", "--db", str(db), str(z)).exit_code == 0
    bom = tmp_path / "bom.json"
    bom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [
        {"type": "library", "name": "demo", "version": "1.0", "purl": "pkg:pypi/demo@1.0"}]}))
    r = cli("vuln", "scan", "--db", str(db), str(bom), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [f["id"] for f in doc["findings"]] == ["PYSEC-1"]
    assert doc["coverage"]["checked"] == {"PyPI": 1}
