"""Known vulnerabilities: an offline advisory database (OSV exports, FriendsOfPHP), per-ecosystem
version ordering, matching of CycloneDX SBOMs, VEX, and reports.

Library use (the gate calls the same functions)::

    from supplychain.vuln import open_db, scan_sbom, Severity
    with open_db() as db:                      # --db / $SUPPLYCHAIN_VULN_DB / user cache dir
        result = scan_sbom(bom_json, db)       # a parsed CycloneDX JSON document (or Components)
    denying = result.failing(Severity.HIGH, only_fixed=False)

Everything here imports lazily: ``import supplychain.vuln`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supplychain.vuln.db import Database, DbStatus, ImportInfo, default_db_path, open_db
    from supplychain.vuln.match import Component, Coverage, Finding, ScanResult, Suppression, scan_sbom
    from supplychain.vuln.service import check_db_age, import_sources
    from supplychain.vuln.severity import Cvss, Severity
    from supplychain.vuln.vex import (
        VexStatement,
        apply_vex,
        load_vex,
        parse_vex,
        vex_from_verified_statements,
    )

__all__ = [
    "Component", "Coverage", "Cvss", "Database", "DbStatus", "Finding", "ImportInfo", "ScanResult", "Severity",
    "Suppression", "VexStatement", "apply_vex", "check_db_age", "default_db_path", "import_sources", "load_vex",
    "open_db", "parse_vex", "scan_sbom", "vex_from_verified_statements",
]

_WHERE = {
    "Database": "db", "DbStatus": "db", "ImportInfo": "db", "default_db_path": "db", "open_db": "db",
    "Component": "match", "Coverage": "match", "Finding": "match", "ScanResult": "match",
    "Suppression": "match", "scan_sbom": "match",
    "check_db_age": "service", "import_sources": "service",
    "Cvss": "severity", "Severity": "severity",
    "VexStatement": "vex", "apply_vex": "vex", "load_vex": "vex", "parse_vex": "vex",
    "vex_from_verified_statements": "vex",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"supplychain.vuln.{module}"), name)
