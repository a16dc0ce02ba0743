"""``supplychain vuln db import|status`` and ``supplychain vuln scan``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from supplychain.cli.signopts import trust_options, trust_spec

_DB_HELP = "Vulnerability database file (default: $SUPPLYCHAIN_VULN_DB, else ~/.cache/supplychain/vuln.db)."


@click.command(
    "import",
    epilog="""\b
Examples:
  supplychain vuln db import Debian-12-all.zip Alpine-v3.20-all.zip Packagist-all.zip
  supplychain vuln db import https://mirror.example.com/osv/PyPI/all.zip
  supplychain vuln db import ./security-advisories      # FriendsOfPHP checkout
  supplychain vuln db import ./advisory-database/vulns  # pypa/advisory-database checkout
  supplychain vuln db import --db ci/vuln.db PyPI-all.zip npm-all.zip

SOURCE: an OSV export zip (osv.dev's per-ecosystem all.zip), a directory of OSV
JSON/YAML records, the FriendsOfPHP security-advisories tree, one OSV record, or an
https:// URL of a zip or record (http:// only for loopback or with --allow-http).
All sources are imported in one transaction: a bad record names itself and nothing is
changed. Exit codes: 0 ok, 2 bad input, 3 download failed.""",
)
@click.argument("sources", nargs=-1, required=True)
@click.option("--db", "db_path", default=None, metavar="PATH", help=_DB_HELP)
@click.option("--allow-http", is_flag=True, help="Allow plain-http URLs of non-loopback hosts.")
@click.option("--json", "as_json", is_flag=True, help="Print what was imported as JSON.")
def db_import(sources: tuple[str, ...], db_path: str | None, allow_http: bool, as_json: bool) -> None:
    """Import advisories (OSV exports, FriendsOfPHP) into the local database."""
    from supplychain.vuln.service import import_into

    infos, status = import_into(db_path, list(sources), allow_http=allow_http)
    if as_json:
        click.echo(json.dumps({"imported": [i.as_dict() for i in infos], "snapshot": status.snapshot}, indent=2))
        return
    for i in infos:
        click.echo(f"imported {i.records} records ({i.withdrawn} withdrawn) from {i.source}: "
                   f"{', '.join(i.ecosystems) or 'no packages'}; {i.sha256}")
    click.echo(f"database {status.path}: {status.advisories} advisories, snapshot {status.snapshot[:19]}")


@click.command(
    "status",
    epilog="""\b
Examples:
  supplychain vuln db status
  supplychain vuln db status --json
  supplychain vuln db status --max-db-age 7d   # exit 1 when the data is older

Exit codes: 0 ok, 1 data older than --max-db-age, 2 bad input (no database).""",
)
@click.option("--db", "db_path", default=None, metavar="PATH", help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--max-db-age", default=None, metavar="AGE", help="Fail (exit 1) when the data is older (e.g. 7d, 36h).")
def db_status(db_path: str | None, as_json: bool, max_db_age: str | None) -> None:
    """What the vulnerability database holds: imports, ecosystems, data age."""
    from supplychain.vuln.db import open_db
    from supplychain.vuln.service import check_db_age, parse_age

    max_age = parse_age(max_db_age) if max_db_age else None
    with open_db(db_path) as db:
        status = db.status()
    if as_json:
        click.echo(json.dumps(status.as_dict(), indent=2))
    else:
        click.echo(f"database:   {status.path}")
        click.echo(f"snapshot:   {status.snapshot}")
        click.echo(f"advisories: {status.advisories} ({status.withdrawn} withdrawn, not used)")
        click.echo(f"data as of: {status.data_time or 'unknown'}")
        for name, n in sorted(status.ecosystems.items()):
            click.echo(f"  {name}: {n}")
        click.echo("imports:")
        for i in status.imports:
            click.echo(f"  {i.imported_at}  {i.records:>7} records  {i.source}  {i.sha256}")
    if max_age is not None:
        check_db_age(status, max_age)


def _render(fmt: str, result: Any, tgt: Any, only_fixed: bool) -> str:
    from supplychain.vuln import output as out

    if fmt == "table":
        return out.render_table(result, only_fixed=only_fixed)
    if fmt == "json":
        return out.render_json(result, only_fixed=only_fixed)
    if fmt == "sarif":
        return out.render_sarif(result, only_fixed=only_fixed)
    if fmt == "cyclonedx":
        return out.render_cyclonedx(result, tgt.bom)
    return out.render_openvex(result, product=tgt.ids[0] if tgt.ids else None)


_VEX_SPELLING = {"key": "--vex-key", "identity": "--vex-cert-identity", "identity_regexp": "--vex-cert-identity-regexp",
                 "issuer": "--vex-cert-oidc-issuer", "issuer_regexp": "--vex-cert-oidc-issuer-regexp"}


def _vex_signers(keys: tuple[str, ...], opts: dict[str, Any]) -> list[Any]:
    """Who may sign an image's OpenVEX attestations (empty: attached VEX is not considered)."""
    ident = {k: opts.get(f"vex_cert_{k}") for k in ("identity", "identity_regexp", "oidc_issuer", "oidc_issuer_regexp")}
    if not keys and all(v is None for v in ident.values()):
        return []
    from supplychain.errors import InputError
    from supplychain.signing.policy import SignerPolicy

    if keys and any(v is not None for v in ident.values()):
        raise InputError("give --vex-key (key-signed VEX) or --vex-cert-identity/--vex-cert-oidc-issuer "
                         "(keyless), not both")
    if keys:
        return [SignerPolicy.create(name="--vex-key", key=k, options=_VEX_SPELLING) for k in keys]
    return [SignerPolicy.create(name="--vex-cert-identity", identity=ident["identity"],
                                identity_regexp=ident["identity_regexp"], issuer=ident["oidc_issuer"],
                                issuer_regexp=ident["oidc_issuer_regexp"], options=_VEX_SPELLING)]


def _attached_vex(tgt: Any, signers: list[Any], opts: dict[str, Any], insecure: tuple[str, ...],
                  notes: list[str]) -> list[Any]:
    """Statements of the image's OpenVEX attestations that verify against ``signers`` and are
    attestations of the very image that was scanned; every other one is ignored, in ``notes``."""
    from supplychain.errors import InputError
    from supplychain.signing import attest as at
    from supplychain.signing.image import RegistryView, VerifyOptions, verify_image
    from supplychain.vuln.vex import vex_from_verified_statements

    trust = trust_spec(opts)
    view = None
    if insecure:
        from supplychain.oci.registry import RegistryClient

        view = RegistryView(RegistryClient(insecure_registries=list(insecure)))
    verification = verify_image(tgt.name, VerifyOptions(signers=signers, trust=trust), registry=view)
    image = verification.image
    if image is None:
        notes.append(f"VEX attached to {tgt.name} not considered: {'; '.join(verification.errors) or 'not resolved'}")
        return []
    if image.digest not in tgt.ids:  # the tag moved between the SBOM and this look-up
        notes.append(f"VEX attached to {tgt.name} not considered: it now names {image.digest}, "
                     "not the image that was scanned")
        return []
    vex_type = at.PREDICATE_TYPES["openvex"]
    out: list[Any] = []
    seen = 0
    for att in verification.attestations:
        if not (att.predicate_type and at.same_predicate_type(att.predicate_type, vex_type)):
            continue
        seen += 1
        if not att.trusted or att.predicate is None:
            notes.append(f"OpenVEX attestation {att.location} ignored: "
                         f"{att.reason or 'not signed by an accepted signer'}")
            continue
        signer = att.signer.describe() if att.signer else "an accepted signer"
        try:
            statement = {"predicateType": att.predicate_type, "predicate": json.loads(att.predicate)}
            found = vex_from_verified_statements([statement], source=f"OpenVEX {att.location} signed by {signer}")
        except (ValueError, UnicodeDecodeError, RecursionError, InputError) as exc:
            why = exc.message if isinstance(exc, InputError) else "not JSON"
            notes.append(f"OpenVEX attestation {att.location} ignored: {why}")
            continue
        notes.append(f"OpenVEX attestation {att.location} signed by {signer}: {len(found)} statements applied")
        out.extend(found)
    if not seen:
        notes.append(f"VEX: no OpenVEX attestation attached to {image.digest}")
    return out


_FORMATS = ("table", "json", "sarif", "cyclonedx", "openvex")
_SEVERITIES = ("negligible", "low", "medium", "high", "critical")


@click.command(
    "scan",
    epilog="""\b
Examples:
  supplychain vuln scan app.cdx.json                      # any CycloneDX SBOM (JSON or XML)
  supplychain vuln scan .                                 # a Composer project (composer.lock)
  supplychain vuln scan registry.example.com/shop/api:1.4 --fail-on high
  supplychain vuln scan oci:build/layout:v1 --format sarif -o vulns.sarif
  supplychain vuln scan api.cdx.json --format cyclonedx -o api.vex.cdx.json
  supplychain vuln scan api.cdx.json --vex triage.openvex.json --output-format openvex
  supplychain vuln scan api.cdx.json --only-fixed --fail-on critical --max-db-age 7d
  supplychain vuln scan registry.example.com/shop/api:1.4 --vex-key security-team.pub
  supplychain vuln scan ghcr.io/acme/api:2.0 --vex-cert-identity sec@acme.com --vex-cert-oidc-issuer https://accounts.google.com

Distro packages are matched on their source package and release (purl qualifiers
distro= and upstream=). Components whose ecosystem has no data in the database are
listed as NOT COVERED, never as clean. OpenVEX attached to an image (attest image
--type openvex) counts only with --vex-key / --vex-cert-*, and only the attestations
signed by them; without those options attached VEX is not considered (a note says so). A finding without a severity in the data
meets every --fail-on threshold unless --ignore-unknown-severity.
Exit codes: 0 ok, 1 a finding meets --fail-on (or data older than --max-db-age),
2 bad input, 3 registry failure.""",
)
@click.argument("target")
@click.option("--db", "db_path", default=None, metavar="PATH", help=_DB_HELP)
@click.option("--vex-key", "vex_keys", multiple=True, type=click.Path(dir_okay=False), metavar="PUBLIC.pem",
              help="Image targets: honour OpenVEX attestations of the image signed with this key (repeatable).")
@click.option("--vex-cert-identity", metavar="SUBJECT",
              help="Image targets: honour OpenVEX attestations signed keyless by this identity.")
@click.option("--vex-cert-identity-regexp", metavar="REGEX", help="Like --vex-cert-identity, a regular expression.")
@click.option("--vex-cert-oidc-issuer", metavar="URL", help="OIDC issuer of --vex-cert-identity[-regexp].")
@click.option("--vex-cert-oidc-issuer-regexp", metavar="REGEX", help="Like --vex-cert-oidc-issuer, a regular expression.")
@trust_options
@click.option("--type", "kind", type=click.Choice(["auto", "sbom", "composer", "image"]), default="auto",
              show_default=True, help="What TARGET is.")
@click.option("--format", "--output-format", "fmt", type=click.Choice(_FORMATS), default=None,
              help="Report format (default: table).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="Write the report to this file.")
@click.option("--vex", "vex_files", multiple=True, type=click.Path(dir_okay=False),
              help="OpenVEX or CycloneDX VEX document to apply (repeatable).")
@click.option("--fail-on", type=click.Choice(_SEVERITIES), default=None,
              help="Exit 1 when a finding is at or above this severity.")
@click.option("--only-fixed", is_flag=True, help="Report (and fail on) only findings that have a fix.")
@click.option("--ignore-unknown-severity", is_flag=True,
              help="Findings without a severity do not meet --fail-on.")
@click.option("--max-db-age", default=None, metavar="AGE", help="Fail (exit 1) when the data is older (e.g. 7d).")
@click.option("--platform", default="linux/amd64", show_default=True, help="Platform of a multi-platform image.")
@click.option("--insecure-registry", "insecure_registries", multiple=True, metavar="HOST",
              help="Allow plain HTTP for this registry host (repeatable).")
def scan(target: str, db_path: str | None, kind: str, fmt: str | None, as_json: bool, output: str | None,
         vex_files: tuple[str, ...], fail_on: str | None, only_fixed: bool, ignore_unknown_severity: bool,
         max_db_age: str | None, platform: str, insecure_registries: tuple[str, ...], vex_keys: tuple[str, ...],
         **vex_opts: Any) -> None:
    """Scan an SBOM, a Composer project or an image for known vulnerabilities."""
    from supplychain.errors import InputError, PolicyViolation
    from supplychain.fileio import write_output
    from supplychain.vuln.db import open_db
    from supplychain.vuln.match import gc_paused, scan_sbom
    from supplychain.vuln.service import check_db_age, parse_age
    from supplychain.vuln.severity import Severity
    from supplychain.vuln.target import load_target
    from supplychain.vuln.vex import apply_vex, load_vex

    if as_json and fmt not in (None, "json"):
        raise InputError(f"give --json or --format {fmt}, not both")
    fmt = "json" if as_json else (fmt or "table")
    max_age = parse_age(max_db_age) if max_db_age else None
    threshold = Severity.parse(fail_on) if fail_on else None
    statements = load_vex(vex_files)
    vex_signers = _vex_signers(vex_keys, vex_opts)
    with open_db(db_path) as db:
        status = db.status()
        if max_age is not None:
            check_db_age(status, max_age)
        tgt = load_target(target, kind=kind, platform=platform, insecure_registries=insecure_registries)
        if fmt == "cyclonedx" and tgt.format != "json":
            raise InputError(f"{target}: --format cyclonedx adds to a CycloneDX JSON SBOM; this one is XML",
                             hint="convert it to JSON first, or choose another --format")
        result = scan_sbom(tgt.bom, db, target=tgt.name)
    for w in tgt.warnings:
        click.echo(f"warning: {w}", err=True)
    if tgt.kind == "image":
        if vex_signers:
            statements = [*statements, *_attached_vex(tgt, vex_signers, vex_opts, insecure_registries, result.notes)]
        else:
            result.notes.append("VEX attached to the image was not considered: signed OpenVEX attestations are "
                                "honoured only with --vex-key or --vex-cert-identity/--vex-cert-oidc-issuer")
    elif vex_signers:
        raise InputError(f"{target}: --vex-key / --vex-cert-* verify VEX attached to an image; this target is "
                         f"a {tgt.kind}", hint="give the VEX document itself with --vex FILE")
    for note in result.notes:
        if note.startswith(("VEX ", "OpenVEX ")):
            click.echo(f"note: {note}", err=True)
    if statements:
        apply_vex(result, statements, target_ids=tgt.ids)
    if only_fixed:
        result.findings = result.visible(only_fixed=True)
    data: Any
    with gc_paused():
        data = _render(fmt, result, tgt, only_fixed)
    write_output(data, output)
    if fmt != "table" and (result.coverage.not_covered or result.coverage.not_comparable):
        n = sum(len(v) for v in result.coverage.not_covered.values()) + len(result.coverage.not_comparable)
        click.echo(f"warning: {n} components were not checked (not covered by the database or version "
                   "not comparable); see the report's coverage", err=True)
    failing = result.failing(threshold, only_fixed=only_fixed, unknown_meets=not ignore_unknown_severity)
    if failing:
        worst = max(f.severity for f in failing)
        raise PolicyViolation(f"{len(failing)} vulnerabilities meet --fail-on {fail_on} "
                              f"(worst: {failing[0].id} in {failing[0].component.name}, {worst.label})")
    if output and sys.stderr.isatty():
        click.echo(f"{len(result.findings)} vulnerabilities; report written to {output}", err=True)
