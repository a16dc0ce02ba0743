"""Fixtures for tests/vuln: real advisory data from ../shared/external/vulns, converted where the
shared data is a converter *input* (Debian security tracker JSON, Alpine secdb parts) into the
OSV records osv.dev's converters publish, zipped like osv.dev's all.zip, served on loopback."""

from __future__ import annotations

import http.server
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from supplychain.vuln.db import Database, open_db
from supplychain.vuln.service import import_sources

DEBIAN_RELEASES = {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13"}


@pytest.fixture(scope="session")
def vulns(external: Path) -> Path:
    d = external / "vulns"
    if not d.is_dir():
        pytest.skip(f"advisory data not found at {d}")
    return d


def debian_osv(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    """OSV records from the Debian security tracker JSON, as osv.dev's Debian converter makes them:
    one DEBIAN-CVE record per CVE, an affected entry per (release, source package) that is open
    (no fix) or resolved with a real fixed version; ``fixed_version: "0"`` means not affected."""
    by_cve: dict[str, dict[str, Any]] = {}
    for package, cves in tracker.items():
        for cve, info in cves.items():
            rec = by_cve.setdefault(cve, {"id": f"DEBIAN-{cve}", "aliases": [cve], "modified": "2024-01-01T00:00:00Z",
                                          "summary": (info.get("description") or "")[:200], "affected": []})
            for release, r in (info.get("releases") or {}).items():
                if release not in DEBIAN_RELEASES:
                    continue
                fixed = r.get("fixed_version")
                if r.get("status") == "resolved" and (not fixed or fixed == "0"):
                    continue
                events: list[dict[str, str]] = [{"introduced": "0"}]
                if r.get("status") == "resolved":
                    events.append({"fixed": fixed})
                rec["affected"].append({
                    "package": {"ecosystem": f"Debian:{DEBIAN_RELEASES[release]}", "name": package},
                    "ranges": [{"type": "ECOSYSTEM", "events": events}],
                    "ecosystem_specific": {"urgency": r.get("urgency")},
                })
    return [r for r in by_cve.values() if r["affected"]]


def alpine_osv(parts_dir: Path) -> list[dict[str, Any]]:
    """OSV records from Alpine secdb parts (one ALPINE-CVE record per CVE file)."""
    out = []
    for f in sorted(parts_dir.glob("*.alpine.json")):
        cve = f.name.split(".alpine.json")[0]
        affected = []
        for p in json.loads(f.read_text()):
            fv = p["fixed_version"]  # two shapes in the converter's test data (Go field names or JSON tags)
            for av in fv.get("AffectedVersions") or fv.get("affected_versions") or []:
                av = {k.lower().replace("_", ""): v for k, v in av.items()}
                events = [{"introduced": av.get("introduced") or "0"}]
                if av.get("fixed"):
                    events.append({"fixed": av["fixed"]})
                elif av.get("lastaffected"):
                    events.append({"last_affected": av["lastaffected"]})
                affected.append({"package": {"ecosystem": p["ecosystem"], "name": p["pkg_name"],
                                             "purl": p["purl"]},
                                 "ranges": [{"type": "ECOSYSTEM", "events": events}]})
        out.append({"id": f"ALPINE-{cve}", "aliases": [cve], "modified": "2024-02-01T00:00:00Z",
                    "affected": affected})
    return out


def osv_zip(records: list[dict[str, Any]]) -> bytes:
    """An OSV export zip like osv.dev's <ecosystem>/all.zip: one <ID>.json per record."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for r in records:
            zf.writestr(f"{r['id']}.json", json.dumps(r))
    return buf.getvalue()


@pytest.fixture(scope="session")
def distro_zips(vulns: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = vulns / "osv-dev-vulnfeeds" / "vulnfeeds" / "test_data"
    d = tmp_path_factory.mktemp("osvzips")
    tracker = json.loads((base / "debian" / "debian_security_tracker_mock.json").read_text())
    deb = d / "Debian-all.zip"
    deb.write_bytes(osv_zip(debian_osv(tracker)))
    alp = d / "Alpine-all.zip"
    alp.write_bytes(osv_zip(alpine_osv(base / "parts" / "alpine")))
    return {"debian": deb, "alpine": alp}


@pytest.fixture(scope="session")
def full_db(vulns: Path, distro_zips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """FriendsOfPHP + PyPA + converted Debian/Alpine records, imported once per session."""
    path = tmp_path_factory.mktemp("vulndb") / "vuln.db"
    with open_db(path, create=True) as db:
        import_sources(db, [str(vulns / "friendsofphp-security-advisories"),
                            str(vulns / "pypa-advisory-database"),
                            str(distro_zips["debian"]), str(distro_zips["alpine"])])
    db = open_db(path)
    yield db
    db.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        data = self.files.get(self.path)
        if data is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/zip")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_files() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback HTTP server: (base URL, dict path -> bytes to serve)."""
    files: dict[str, bytes] = {}
    handler = type("H", (_Handler,), {"files": files})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files
    finally:
        server.shutdown()
        server.server_close()
