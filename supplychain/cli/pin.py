"""`supplychain pin`: rewrite tag-only image references as tag@digest, in place."""

from __future__ import annotations

import json

import click

from supplychain.cli.registryopts import registry_timeout_option
from supplychain.vocab import OutputFormat


@click.command(
    "pin",
    epilog="""\b
Examples:
  supplychain pin Dockerfile docker-compose.yml k8s/
  supplychain pin . --check
  supplychain pin deploy/ --insecure-registry registry.internal:5000
  supplychain pin . --check --format json
  supplychain pin . --check --offline        # no registry: only tag-only references fail
  supplychain pin . --update                 # refresh pins whose tag moved

\b
--check asks each registry whether every pinned digest exists there ("missing" otherwise)
and, for tag@digest, whether the tag still points at it ("stale" when it moved or is gone);
--offline skips those registry questions (as in a pre-commit hook). --update rewrites stale
tag@digest pins to the tag's current digest, in place and atomically.

\b
Exit codes: 0 done (or, with --check, everything pinned and fresh), 1 --check found unpinned,
missing or stale references or a reference that does not parse (pin itself reports those and
exits 1 too), 2 bad input, 3 registry or network failure.""",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--check", "check_only", is_flag=True,
              help="Only report tag-only, missing and stale references; exit 1 when there is one. Writes nothing.")
@click.option("--offline", is_flag=True,
              help="With --check: ask no registry (pinned digests are not checked for existence or staleness).")
@click.option("--update", "update", is_flag=True,
              help="Refresh stale tag@digest pins to the tag's current digest (tag-only references are left alone).")
@click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST",
              help="Talk plain HTTP to this registry (loopback registries always may); repeatable.")
@registry_timeout_option
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching GLOB; repeatable.")
@click.option("--format", "fmt", type=click.Choice([OutputFormat.TEXT.value, OutputFormat.JSON.value]),
              default=OutputFormat.TEXT.value, show_default=True)
def pin(paths: tuple[str, ...], check_only: bool, offline: bool, update: bool, insecure: tuple[str, ...],
        exclude: tuple[str, ...], fmt: str) -> None:
    """Resolve tag-only image references to digests and rewrite them as image:tag@sha256:...

    Dockerfiles, compose files, Kubernetes manifests and image lists are edited in place,
    atomically, keeping comments and formatting. Credentials come from the docker config
    and credential helpers, as for every registry command.
    """
    from supplychain.errors import InputError, PolicyViolation
    from supplychain.policy.pin import RegistryPinLookup, pin_paths, registry_resolver, update_paths

    if update and check_only:
        raise InputError("--update and --check cannot be combined", hint="run --check after --update")
    if offline and not check_only:
        raise InputError("--offline only applies to --check", hint="pin and --update need the registry")
    if update:
        report = update_paths(list(paths), RegistryPinLookup(insecure), exclude=exclude)
    else:
        resolver = None if check_only else registry_resolver(insecure)
        lookup = RegistryPinLookup(insecure) if check_only and not offline else None
        report = pin_paths(list(paths), resolver, check_only=check_only, exclude=exclude, lookup=lookup)
    if fmt == "json":
        doc = {"entries": [e.as_json() for e in report.entries], "files_changed": report.files_changed}
        click.echo(json.dumps(doc, indent=2))
    else:
        for e in report.entries:
            where = f"{e.file}:{e.line}" + (f":{e.column}" if e.column else "")
            if e.status == "pinned":
                click.echo(f"{where}: pinned {e.reference} -> {e.pinned}")
            elif e.status == "unpinned":
                click.echo(f"{where}: not pinned: {e.reference}" + (f" ({e.reason})" if e.reason else ""))
            elif e.status == "skipped":
                click.echo(f"{where}: skipped {e.reference}: {e.reason}")
            elif e.status == "invalid":
                click.echo(f"{where}: invalid {e.reference!r}: {e.reason}")
            elif e.status == "missing":
                click.echo(f"{where}: missing {e.reference}: {e.reason}")
            elif e.status == "stale":
                click.echo(f"{where}: stale {e.reference}: {e.reason}")
            elif e.status == "updated":
                click.echo(f"{where}: updated {e.reference} -> {e.pinned}")
        done = report.count("already-pinned")
        if update:
            click.echo(f"{report.count('updated')} updated in {len(report.files_changed)} file(s), "
                       f"{done} fresh, {report.count('stale')} stale left, {report.count('missing')} missing")
        elif check_only:
            fresh = "" if offline else f", {report.count('stale')} stale, {report.count('missing')} missing"
            click.echo(f"{report.count('unpinned')} unpinned, {done} pinned by digest{fresh}")
        else:
            click.echo(f"{report.count('pinned')} pinned in {len(report.files_changed)} file(s), "
                       f"{done} already pinned, {report.count('skipped')} skipped")
    if report.count("missing") + report.count("stale"):
        unpinned = report.count("unpinned")
        raise PolicyViolation(f"{report.count('missing')} pinned digest(s) missing from their registry, "
                              f"{report.count('stale')} stale pin(s)"
                              + (f", {unpinned} image reference(s) not pinned by digest" if unpinned else ""),
                              hint="run `supplychain pin --update` to refresh stale tag@digest pins")
    if check_only and report.count("unpinned"):
        raise PolicyViolation(f"{report.count('unpinned')} image reference(s) are not pinned by digest"
                              + (f", {report.count('invalid')} invalid" if report.count("invalid") else ""),
                              hint="run `supplychain pin` without --check to pin them")
    if report.count("invalid"):
        raise PolicyViolation(f"{report.count('invalid')} image reference(s) do not parse, so they cannot be "
                              "pinned or checked", hint="fix the references named above")
