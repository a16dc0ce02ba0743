"""supplychain gate: the deploy gate (policy + signatures + attestations + SBOM rules per image)."""

from __future__ import annotations

from typing import Any

import click

from supplychain.cli.signopts import trust_options, trust_spec


@click.command(
    "gate",
    epilog="""\b
Examples:
  supplychain gate deploy/ --policy policies/release.yaml
  supplychain gate k8s/app.yaml compose.yaml --policy policies/release.yaml --offline \\
      --trusted-root trusted_root.json
  supplychain gate images.txt --policy policies/release.yaml --format sarif -o gate.sarif
  supplychain gate registry.example.com/app:1.4@sha256:4f2c...9e --policy release.yaml --json

PATH: Kubernetes manifests, compose files, Dockerfiles, image lists (directories are
walked), or image references. For each image: trusted registry and digest pin (the policy's
image rules), then a valid signature by a signer the policy's `signers:` section accepts for
it, the attestations `attestations:` requires, and the `sbom:` rules on the attested SBOM.
Exit 0 only when every image passes; 1 when one fails; 2 bad input; 3 when a registry
could not be reached (no decision). --offline verifies with the given or embedded trust root and makes no
network call except to the registries holding the images.""",
)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False, exists=True),
              metavar="FILE", help="Policy file with image rules and signers / attestations / sbom sections.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default=None,
              help="Report format (default: text).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--trusted-registry", "trusted", multiple=True, metavar="GLOB",
              help="Also trust images matching GLOB (repeatable).")
@click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST",
              help="Talk plain HTTP to this registry (loopback registries are always allowed).")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Images checked in parallel.")
@trust_options
def gate(paths: tuple[str, ...], policy_path: str, fmt: str | None, as_json: bool, output: str | None,
         trusted: tuple[str, ...], insecure: tuple[str, ...], workers: int, **kwargs: Any) -> None:
    """Decide, per image and overall, whether a deployment may go ahead."""
    from supplychain.errors import InputError, NetworkError, PolicyViolation
    from supplychain.fileio import write_output
    from supplychain.gate import render_json, render_sarif, render_text, run_gate

    if as_json and fmt not in (None, "json"):
        raise InputError(f"give --json or --format {fmt}, not both")
    result = run_gate(list(paths), policy_path, trust=trust_spec(kwargs), workers=workers,
                      extra_trusted=trusted, insecure_registries=insecure)
    kind = "json" if as_json else (fmt or "text")
    text = {"json": render_json, "sarif": render_sarif, "text": render_text}[kind](result)
    write_output(text, output)
    if result.network_failure:
        down = [d.image for d in result.images if d.network_error]
        raise NetworkError(f"gate: no decision for {len(down)} image(s), registry unreachable: "
                           + ", ".join(down[:5]), hint="retry, or check the registry and network")
    if not result.passed:
        failed = [d.image for d in result.images if not d.passed]
        summary = f"{len(failed)} of {len(result.images)} images failed" if failed else "policy errors"
        raise PolicyViolation(f"gate: {summary}" + (f": {', '.join(failed[:5])}" if failed else "")
                              + (" ..." if len(failed) > 5 else ""))
