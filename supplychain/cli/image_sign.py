"""supplychain sign image / attest image / verify image: signatures and attestations in the registry."""

from __future__ import annotations

import json
from typing import Any

import click

from supplychain.cli.registryopts import registry_timeout_option
from supplychain.cli.signopts import (
    format_option,
    identity_options,
    identity_spec,
    signer_options,
    signer_spec,
    trust_options,
    trust_spec,
    wants_json,
)


def _legacy_option(func: Any) -> Any:
    return click.option(
        "--legacy-tags", is_flag=True,
        help="Also write cosign v2 sha256-<hex>.sig / .att tags, for consumers that read only those "
             "(Kyverno's default verifier, sigstore policy-controller key authorities, cosign 2.x without "
             "--new-bundle-format).",
    )(func)


def _registry_options(func: Any) -> Any:
    return registry_timeout_option(click.option(
        "--insecure-registry", "insecure", multiple=True, metavar="HOST",
        help="Talk plain HTTP to this registry (loopback registries are always allowed). Repeatable.",
    )(func))


@click.command(
    "image",
    epilog="""\b
Examples:
  supplychain sign image registry.example.com/team/app:1.4 --key cosign.key
  supplychain sign image ghcr.io/acme/app@sha256:4f2c...9e          # keyless (CI credentials)
  supplychain sign image 127.0.0.1:5000/app:dev --key cosign.key --identity-token "$TOKEN"

The tag is resolved to its manifest digest once and that digest is signed, never the tag.
The Sigstore bundle (DSSE, in-toto predicate https://sigstore.dev/cosign/sign/v1) is attached
to the image as an OCI 1.1 referrer, like cosign v3: through the referrers API where the
registry has it, else in the referrers tag schema (sha256-<hex> index). With --key the
signature is logged to Rekor like cosign's (--rekor-url, default Sigstore's public log;
--tlog-upload=false: not logged, and verifiers must not require a log entry). Prints the digest
reference that was signed.""",
)
@click.argument("reference", metavar="REF")
@signer_options
@_legacy_option
@_registry_options
def sign_image(reference: str, insecure: tuple[str, ...], **kwargs: Any) -> None:
    """Sign the image REF by digest and attach the signature in the registry."""
    from supplychain.signing.image import RegistryView
    from supplychain.signing.image import sign_image as do_sign
    from supplychain.signing.sign import describe_bundle

    published = do_sign(reference, signer_spec(kwargs), registry=RegistryView(insecure=insecure))
    click.echo(f"Signed {published.digest_reference} (signature {published.referrer_digest}): "
               f"{describe_bundle(published.bundle)}", err=True)
    click.echo(published.digest_reference)


@click.command(
    "image",
    epilog="""\b
Examples:
  supplychain attest image 127.0.0.1:5000/app:1.0 --predicate bom.cdx.json --type cyclonedx --key cosign.key
  supplychain attest image ghcr.io/acme/app:1.0 --sbom-from-image --key cosign.key
  supplychain attest image ghcr.io/acme/app@sha256:4f2c...9e --predicate prov.json --type slsaprovenance
  supplychain attest image r.example/app:1 --predicate scan.json --type https://example.com/scan/v1 --key k.key
  supplychain attest image ghcr.io/acme/app:1.0 --sbom-from-image --scan --key cosign.key

--scan checks the image as built (secrets in every layer, config hardening: the IMG-* rules of
`policy check IMAGE`) and attaches the signed result (predicate type
https://supplychain.dev/attestations/image-scan/v1); with --sbom-from-image both come from one
pass over the layers. A gate policy's `image_scan:` section denies on its findings.

--type takes cosign's names: cyclonedx (https://cyclonedx.org/bom), spdx / spdxjson
(https://spdx.dev/Document), slsaprovenance (https://slsa.dev/provenance/v0.2), slsaprovenance1
(https://slsa.dev/provenance/v1), link, vuln, openvex, custom, or any predicate type URI.
Predicates larger than --detach-over bytes (default 1 MiB) are stored as their own blob next to
the image and the signed statement is an in-toto Reference attestation naming it by sha256,
size, media type and download location, so the transparency-log entry stays small.
With --key the attestation is logged to Rekor like cosign's (--tlog-upload=false: not logged).""",
)
@click.argument("reference", metavar="REF")
@click.option("--predicate", "predicate_path", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
              help="The predicate (JSON), e.g. a CycloneDX SBOM or SLSA provenance.")
@click.option("--type", "predicate_type", default=None, metavar="TYPE",
              help="cyclonedx | spdx | slsaprovenance | a predicate type URI (default: cyclonedx).")
@click.option("--sbom-from-image", is_flag=True,
              help="Generate the CycloneDX SBOM of the image (as `sbom image` does) and attest it.")
@click.option("--scan", is_flag=True,
              help="Check the image (secrets in layers, config) and attest the result (see below).")
@click.option("--detach-over", type=click.IntRange(min=1024), default=1024 * 1024, show_default=True,
              metavar="BYTES", help="Store predicates larger than this as a separate, digest-bound blob.")
@click.option("--platform", default="linux/amd64", show_default=True, metavar="OS/ARCH",
              help="Platform to pick from a multi-platform image (with --sbom-from-image).")
@signer_options
@_legacy_option
@_registry_options
def attest_image(reference: str, predicate_path: str | None, predicate_type: str | None, sbom_from_image: bool,
                 scan: bool, detach_over: int, platform: str, insecure: tuple[str, ...], **kwargs: Any) -> None:
    """Attach a signed in-toto attestation about the image REF's digest."""
    from supplychain.errors import InputError
    from supplychain.fileio import read_bytes
    from supplychain.gate.workflows import attest_image as do_attest
    from supplychain.signing.attest import predicate_type_for

    try:
        ptype = predicate_type_for(predicate_type or "cyclonedx")
    except InputError as exc:
        raise exc.with_prefix("--type") from exc
    predicate = read_bytes(predicate_path, what="predicate file") if predicate_path else None
    published = do_attest(reference, signer_spec(kwargs), predicate=predicate, predicate_type=ptype,
                          sbom_from_image=sbom_from_image, source=predicate_path or "predicate", platform=platform,
                          insecure_registries=insecure, detach_threshold=detach_over,
                          on_warning=lambda w: click.echo(f"warning: {w}", err=True), scan=scan,
                          on_scan=lambda p, errors: click.echo(
                              f"Attested {p.digest_reference}: image scan, {errors} error finding(s) "
                              f"(attestation {p.referrer_digest})", err=True))
    from supplychain.signing.sign import describe_bundle

    if scan and predicate_path is None and not sbom_from_image:
        click.echo(published.digest_reference)
        return

    extra = f", predicate stored as blob {published.detached_digest}" if published.detached_digest else ""
    click.echo(f"Attested {published.digest_reference}: {ptype} (attestation {published.referrer_digest}{extra}): "
               f"{describe_bundle(published.bundle)}", err=True)
    click.echo(published.digest_reference)


@click.command(
    "image",
    epilog="""\b
Examples:
  supplychain verify image 127.0.0.1:5000/app:1.0 --key cosign.pub
  supplychain verify image ghcr.io/acme/app@sha256:4f2c...9e --offline \\
      --cert-identity-regexp '^https://github.com/acme/' \\
      --cert-oidc-issuer https://token.actions.githubusercontent.com
  supplychain verify image r.example/app:1 --key cosign.pub --attestation cyclonedx \\
      --output-attestation sbom.cdx.json
  supplychain verify image r.example/app:1 --key cosign.pub --json

Finds every signature and attestation of the image digest (OCI referrers, referrers tag
schema, cosign v2 sha256-<hex>.sig / .att tags), verifies each, and reports who signed,
when, and which attestations are valid. Exit 0 when at least one signature by the given
signer is valid and every --attestation is present and valid; 1 otherwise (with the reason).""",
)
@click.argument("reference", metavar="REF")
@identity_options
@trust_options
@click.option("--attestation", "attestations", multiple=True, metavar="TYPE",
              help="Require a valid attestation of this type (cyclonedx, spdx, slsaprovenance, URI). Repeatable.")
@click.option("--output-attestation", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the verified predicate (e.g. the SBOM) of the first --attestation type "
                   "(default cyclonedx) to FILE, atomically.")
@format_option
@click.option("--no-legacy", is_flag=True, help="Do not look for cosign v2 .sig / .att tags.")
@_registry_options
def verify_image(reference: str, attestations: tuple[str, ...], output_attestation: str | None,
                 no_legacy: bool, insecure: tuple[str, ...], **kwargs: Any) -> None:
    """Verify the signatures and attestations of the image REF."""
    from supplychain.errors import InputError, VerificationError
    from supplychain.fileio import atomic_write
    from supplychain.signing.attest import PREDICATE_TYPES, predicate_type_for
    from supplychain.signing.image import RegistryView, VerifyOptions, render_verification
    from supplychain.signing.image import verify_image as do_verify

    as_json = wants_json(kwargs)
    rule = identity_spec(kwargs)
    rule.loaded_keys()  # an unreadable --key is an input error before any registry work
    try:
        required = [predicate_type_for(t) for t in attestations]
    except InputError as exc:
        raise InputError(f"--attestation: {exc.message}", hint=exc.hint) from exc
    options = VerifyOptions(signers=[rule], trust=trust_spec(kwargs), require_attestations=required,
                            legacy=not no_legacy)
    result = do_verify(reference, options, registry=RegistryView(insecure=insecure))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(render_verification(result), nl=False)
    if not result.passed:
        reasons = result.reasons
        raise VerificationError(f"{reference}: " + "; ".join(reasons))
    if output_attestation is not None:
        wanted = required[0] if required else PREDICATE_TYPES["cyclonedx"]
        found = result.trusted_attestation(wanted)
        if found is None or found.predicate is None:
            raise VerificationError(f"--output-attestation: no valid {wanted} attestation to write",
                                    hint="name the type with --attestation TYPE")
        atomic_write(output_attestation, found.predicate)
        click.echo(f"Wrote verified {wanted} predicate to {output_attestation}", err=True)
