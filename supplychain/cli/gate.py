"""supplychain gate: the deploy gate (every policy rule on what deploys; signatures, attestations, SBOM per image)."""

from __future__ import annotations

from typing import Any

import click

from supplychain.cli.common import report_format_options
from supplychain.cli.registryopts import registry_timeout_option
from supplychain.cli.signopts import trust_options, trust_spec


@click.command(
    "gate",
    epilog="""\b
Examples:
  supplychain gate deploy/ --policy policies/release.yaml
  supplychain gate k8s/app.yaml compose.yaml --policy policies/release.yaml --offline \\
      --trusted-root trusted_root.json
  helm template charts/shop | supplychain gate - --policy policies/release.yaml
  supplychain gate images.txt --policy policies/release.yaml --format sarif -o gate.sarif
  supplychain gate --image registry.example.com/app:1.4@sha256:4f2c...9e --policy release.yaml --json
  supplychain gate deploy/ --policy release.yaml --receipt-out receipt.json --receipt-key release.key
  supplychain gate deploy/ --policy release.yaml --vuln-db /var/lib/supplychain/vuln.db

\b
PATH: Kubernetes manifests, compose files, Dockerfiles, image lists (directories are
walked), or - for standard input (e.g. rendered manifests). Images are given by those files
or by --image REF; a PATH that does not exist is an error, never taken for an image.
Every rule of the policy is applied to every file read (as `policy check` does, same ids,
severities and waivers; `gate: {rules: [...]}` in the policy narrows that). Then per image:
trusted registry and digest pin, a valid signature by a signer the policy's `signers:`
section accepts for it, the attestations `attestations:` requires, the `sbom:` rules on
the attested SBOM, and the `vulnerabilities:` rules (the attested SBOM scanned against the
advisory database: --vuln-db, else the policy's `database`, else $SUPPLYCHAIN_VULN_DB).

\b
Exit codes: 0 every image passes and no file finding is an error; 1 something failed
(this wins: the answer is already no); 2 bad input; 3 no decision: an image's registry
could not be read (network, 5xx / 429, not a registry answer, token service, deadline);
`--format json` lists those images under "undecided". --offline verifies with the given or
embedded trust root and makes no network call except to the registries holding the images.""",
)
@click.argument("paths", nargs=-1, metavar="[PATH|-]...")
@click.option("--image", "images", multiple=True, metavar="REF",
              help="An image reference to decide (repeatable), besides those in PATHs.")
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False, exists=True),
              metavar="FILE", help="Policy file with image rules and signers / attestations / sbom sections.")
@report_format_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--trusted-registry", "trusted", multiple=True, metavar="GLOB",
              help="Also trust images matching GLOB (repeatable).")
@click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST",
              help="Talk plain HTTP to this registry (loopback registries are always allowed).")
@registry_timeout_option
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files or directories matching GLOB while walking; repeatable.")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Images checked in parallel.")
@click.option("--deadline", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Time for all registry work of the run; an image not decided by then is undecided (exit 3).")
@click.option("--receipt-out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="When the gate passes, write a signed gate receipt (DSSE) the admission webhook accepts.")
@click.option("--receipt-key", type=click.Path(dir_okay=False, exists=True), default=None, metavar="PRIVATE.pem",
              help="Key that signs the receipt (encrypted keys: $SUPPLYCHAIN_PASSWORD or a prompt).")
@click.option("--vuln-db", "vuln_db", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Advisory database for the policy's `vulnerabilities:` rules (overrides its `database`; "
                   "default $SUPPLYCHAIN_VULN_DB, else the user cache dir).")
@trust_options
def gate(paths: tuple[str, ...], images: tuple[str, ...], policy_path: str, fmt: str | None, as_json: bool,
         output: str | None, trusted: tuple[str, ...], insecure: tuple[str, ...], exclude: tuple[str, ...],
         workers: int, deadline: float | None, receipt_out: str | None, receipt_key: str | None,
         vuln_db: str | None, **kwargs: Any) -> None:
    """Decide, per image and overall, whether a deployment may go ahead."""
    from supplychain.cli.common import print_warnings, report_format
    from supplychain.errors import InputError
    from supplychain.fileio import write_output
    from supplychain.gate import gate_error, render_gate, run_gate

    kind = report_format(fmt, as_json)
    if not paths and not images:
        raise InputError("give a PATH (or - for standard input) or --image REF", hint="see supplychain gate --help")
    if (receipt_out is None) != (receipt_key is None):
        raise InputError("--receipt-out and --receipt-key go together")
    signing_key = None
    if receipt_key is not None:  # an unreadable key is bad input before any registry work
        from supplychain.signing.keys import load_private_key

        signing_key = load_private_key(receipt_key)
    if vuln_db is not None:
        from supplychain.gate.vuln_rules import set_database

        set_database(vuln_db)
    from supplychain.fileio import read_bytes
    from supplychain.gate.policy import load_gate_policy
    from supplychain.policy.config import POLICY_MAX_SIZE

    # the policy is read once: the receipt names the very bytes and keys the images were judged by
    raw_policy = read_bytes(policy_path, what="policy", limit=POLICY_MAX_SIZE)
    gp = load_gate_policy(policy_path, raw_policy)
    result = run_gate(paths, gp, images=images, trust=trust_spec(kwargs), workers=workers,
                      extra_trusted=trusted, insecure_registries=insecure, exclude=exclude, deadline=deadline)
    print_warnings(result.warnings)
    write_output(render_gate(result, kind), output)
    error = gate_error(result)
    if error is not None:
        raise error
    if receipt_out is not None:
        from supplychain.admission.gatecore import trust_version
        from supplychain.admission.receipts import receipt_statement, sign_receipt
        from supplychain.gate.policy import policy_digest as digest_of_policy

        # the webhook compares this with the digest of the policy it was started with (file and keys)
        policy_digest = digest_of_policy(raw_policy, gp)
        # ... and this with its trust root: images verified against another root vouch for nothing there
        statement = receipt_statement(result.passed_digests(), policy_digest,
                                      trust_root=trust_version(trust_spec(kwargs)))
        write_output(sign_receipt(statement, signing_key) + "\n", receipt_out)
        click.echo(f"Wrote gate receipt for {len(result.images)} image(s) to {receipt_out}", err=True)
