"""`supplychain policy check`: Dockerfiles, compose files, manifests, image lists and images vs a policy."""

from __future__ import annotations

import sys

import click

from supplychain.cli.common import report_format_options
from supplychain.cli.registryopts import registry_timeout_option
from supplychain.policy.findings import Severity

SEVERITY_CHOICES = tuple(s.value for s in sorted(Severity, key=lambda s: -s.rank))


@click.command(
    "check",
    epilog="""\b
Examples:
  supplychain policy check .
  supplychain policy check deploy/ Dockerfile --policy policies/default.yaml
  supplychain policy check k8s/ --trusted-registry 'ghcr.io/acme/**' --fail-on warning
  supplychain policy check . --format sarif -o policy.sarif
  helm template charts/shop | supplychain policy check - --json
  supplychain policy check --list-rules
  supplychain policy check ghcr.io/acme/app:1.4 --format sarif -o image.sarif
  supplychain policy check oci:build/app.oci docker-archive:app.tar deploy/

\b
Exit codes: 0 no finding at or above --fail-on, 1 policy violated,
2 bad input (malformed file, invalid policy, hostile YAML, unreadable image),
3 registry failure.""",
)
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH|IMAGE-SOURCE]...")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), default=None,
              help="Policy YAML file (default: the packaged strict policy, policies/default.yaml).")
@click.option("--trusted-registry", "trusted", multiple=True, metavar="GLOB",
              help="Also trust images matching GLOB (e.g. 'ghcr.io/acme/**'); repeatable.")
@report_format_options
@click.option("--fail-on", type=click.Choice(SEVERITY_CHOICES), default="error", show_default=True,
              help="Exit 1 when a finding has this severity or a higher one.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the report to this file (atomically) instead of stdout.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files or directories matching GLOB while walking; repeatable.")
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VALUE",
              help="Dockerfile build argument used when resolving FROM lines; repeatable.")
@click.option("--color/--no-color", "colour", default=None,
              help="Colour the text report (default: only on a terminal).")
@click.option("--list-rules", is_flag=True, help="List the rule ids and exit.")
@click.option("--platform", default="linux/amd64", show_default=True,
              help="Platform of a multi-platform IMAGE-SOURCE to check.")
@click.option("--insecure-registry", "insecure_registries", multiple=True, metavar="HOST",
              help="Allow plain HTTP / unverified TLS for this registry host (repeatable).")
@click.option("--base-layers", type=click.IntRange(min=0), default=1, show_default=True,
              help="Bottom layers of an image that belong to its base image (IMG-CFG-006 only warns "
                   "about setuid files the image's own layers add).")
@registry_timeout_option
def check(paths: tuple[str, ...], policy_path: str | None, trusted: tuple[str, ...], fmt: str | None,
          as_json: bool, fail_on: str, output: str | None, exclude: tuple[str, ...], build_args: tuple[str, ...],
          colour: bool | None, list_rules: bool, platform: str, insecure_registries: tuple[str, ...],
          base_layers: int) -> None:
    """Check Dockerfiles, compose files, Kubernetes manifests and image lists against a policy.

    PATHS are files or directories (walked; .git, node_modules and vendor are skipped), or -
    for standard input. File kinds are detected by name and content.

    An IMAGE-SOURCE (as `sbom image` takes it: a registry reference, oci:DIR[:TAG],
    oci-archive:FILE, docker-archive:FILE, an OCI layout directory or a tar archive) is checked
    as built, in one pass over its layers: secrets in any layer, files deleted by a later layer
    included (IMG-SEC-*), and its config (IMG-CFG-*: root user, datastore ports, secrets in Env
    and build history, writable WorkingDir, setuid files). Secret values are never printed, only
    a fingerprint (rule id + sha256 of the value).
    """
    from supplychain.cli.common import print_warnings, register_layers, report_format
    from supplychain.errors import InputError, PolicyViolation
    from supplychain.fileio import write_output
    from supplychain.policy.config import parse_build_args, resolve_policy
    from supplychain.policy.engine import FileResult, Report, check_paths
    from supplychain.policy.imagecheck import register as register_image_rules
    from supplychain.policy.imagecheck import rules as image_rules
    from supplychain.policy.imagecheck.sources import check_image_source, is_image_source
    from supplychain.policy.report import OutputFormat, render

    kind = report_format(fmt, as_json)
    register_layers()  # a release policy may hold the gate's sections and waive its rule ids
    register_image_rules()
    if list_rules:
        from supplychain.policy.findings import RULES

        policy = resolve_policy(policy_path, trusted)
        for rid, rule in sorted(RULES.items()):
            sev = policy.severity_of(rid) or "off"
            click.echo(f"{rid:<11} {sev:<8} {rule.name:<28} {rule.summary}")
        return
    if not paths:
        raise InputError("no PATH given", hint="supplychain policy check . (see --help)")
    policy = resolve_policy(policy_path, trusted)
    if policy_path:  # the gate's CEL conditions and signer thresholds are checked as the gate loads them
        from supplychain.gate.policy import validate_sections

        validate_sections(policy, policy_path)
    print_warnings(policy.warnings)
    images = [p for p in paths if is_image_source(p)]
    files = [p for p in paths if p not in images]
    parsed_args = parse_build_args(build_args)
    report = check_paths(files, policy, exclude=exclude, build_args=parsed_args) if files else Report(policy)
    for source in images:
        result = check_image_source(source, policy, platform=platform, insecure_registries=insecure_registries,
                                    base_layers=base_layers)
        print_warnings([f"{source}: {n}" for n in result.notes])
        report.files.append(FileResult(source, "image", list(result.findings), []))
        report.findings.extend(result.findings)
        report.waived.extend(result.waived)
    threshold = Severity.parse(fail_on)
    summary = report.summary(threshold)
    model = report.to_report(threshold)
    if images:
        model.rule_ids = sorted({*model.rule_ids, *(r.id for r in image_rules())})
    use_colour = kind is OutputFormat.TEXT and (colour if colour is not None else (output is None and sys.stdout.isatty()))
    write_output(render(model, kind, colour=use_colour), output)
    if report.failed(threshold):
        counts = summary["by_severity"]
        assert isinstance(counts, dict)
        raise PolicyViolation(
            f"policy check failed: {counts['error']} error(s), {counts['warning']} warning(s), "
            f"{counts['note']} note(s) (fail-on: {fail_on})"
        )
