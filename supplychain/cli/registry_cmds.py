"""`supplychain tree`, `supplychain download ...` and `supplychain copy` (cosign's registry commands)."""

from __future__ import annotations

import json
from typing import Any

import click

from supplychain.cli.registryopts import registry_timeout_option
from supplychain.cli.signopts import identity_options, trust_options

_insecure = click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST",
                         help="Talk plain HTTP to this registry (loopback registries always may); repeatable.")


def _client(insecure: tuple[str, ...]) -> Any:
    from supplychain.oci.registry import RegistryClient

    return RegistryClient(insecure_registries=insecure)


@click.command(
    "tree",
    epilog="""\b
Examples:
  supplychain tree ghcr.io/acme/app:1.0
  supplychain tree 127.0.0.1:5000/app@sha256:4f2c...9e --format json

\b
Shows the image digest and what is attached to it: signatures, attestations (predicate type,
size, the signer the artifact names) and SBOMs, from the referrers API, the referrers tag schema
(sha256-<hex> index) and cosign's legacy sha256-<hex>.sig / .att / .sbom tags. Signers are as
claimed, not verified: use `supplychain verify image` for that.

\b
Exit codes: 0 shown, 2 bad input, 3 registry or network failure.""",
)
@click.argument("reference", metavar="REF")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@_insecure
@registry_timeout_option
def tree(reference: str, fmt: str, as_json: bool, insecure: tuple[str, ...]) -> None:
    """Show the signatures, attestations and SBOMs attached to the image REF."""
    from supplychain.gate.registry_ops import render_tree
    from supplychain.gate.registry_ops import tree as build_tree

    t = build_tree(_client(insecure), reference)
    if as_json or fmt == "json":
        click.echo(json.dumps(t.as_dict(), indent=2))
    else:
        click.echo(render_tree(t))


@click.command(
    "download",
    epilog="""\b
Examples:
  supplychain download attestation ghcr.io/acme/app:1.0 --type slsaprovenance1 -o prov.json \\
      --cert-identity https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main \\
      --cert-oidc-issuer https://token.actions.githubusercontent.com
  supplychain download sbom 127.0.0.1:5000/app:1.0 --key cosign.pub -o bom.cdx.json
  supplychain download signature 127.0.0.1:5000/app:1.0 -o sigs.jsonl     # raw, unverified

\b
WHAT is attestation, sbom or signature. With verification options (--key, or
--cert-identity/--cert-oidc-issuer), only content that verifies against them is written: the
predicates of the trusted attestations of --type (sbom: the CycloneDX or SPDX ones), or the
trusted signature bundles; nothing verified is exit 1. Without them the content is written as
stored (bundles / envelopes one per line; SBOM documents), unverified, and stderr says so.

\b
Exit codes: 0 written, 1 nothing verified, 2 bad input, 3 registry or network failure.""",
)
@click.argument("what", type=click.Choice(["attestation", "sbom", "signature"]))
@click.argument("reference", metavar="REF")
@click.option("--type", "ptype", metavar="TYPE",
              help="Attestation predicate type (a name like cyclonedx / slsaprovenance1, or a URI).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file (atomically) instead of stdout.")
@identity_options
@trust_options
@_insecure
@registry_timeout_option
def download(what: str, reference: str, ptype: str | None, output: str | None, insecure: tuple[str, ...],
             **kwargs: Any) -> None:
    """Download the attestations, SBOMs or signatures of the image REF (verified when asked)."""
    from supplychain.errors import InputError, PolicyViolation
    from supplychain.fileio import write_output
    from supplychain.gate.registry_ops import raw_artifacts
    from supplychain.signing import attest as at

    if ptype and what != "attestation":
        raise InputError("--type applies to `download attestation` only")
    type_uri = at.predicate_type_for(ptype) if ptype else None
    verify = any(kwargs.get(k) for k in ("key", "cert_identity", "cert_identity_regexp"))
    if verify:
        chunks = _verified(what, reference, type_uri, insecure, kwargs)
        if not chunks:
            raise PolicyViolation(f"{reference}: no {what} verified against the given signer",
                                  hint="`supplychain verify image` shows what was found and why it failed")
    else:
        if any(kwargs.get(k) for k in ("cert_oidc_issuer", "cert_oidc_issuer_regexp")):
            raise InputError("--cert-oidc-issuer needs --cert-identity (or --cert-identity-regexp)")
        chunks = raw_artifacts(_client(insecure), reference, what, type_uri)
        if not chunks:
            raise InputError(f"{reference}: no {what}" + (f" of type {ptype}" if ptype else "") + " attached")
        click.echo(f"warning: {len(chunks)} {what}(s) written as stored, NOT verified "
                   "(give --key or --cert-identity/--cert-oidc-issuer to verify)", err=True)
    data = b"".join(c if c.endswith(b"\n") else c + b"\n" for c in chunks) if what != "sbom" or len(chunks) > 1 \
        else chunks[0]
    write_output(data, output)


def _verified(what: str, reference: str, type_uri: str | None, insecure: tuple[str, ...],
              kwargs: dict[str, Any]) -> list[bytes]:
    from supplychain.cli.signopts import identity_spec, trust_spec
    from supplychain.signing import attest as at
    from supplychain.signing.image import RegistryView, VerifyOptions, verify_image

    options = VerifyOptions(signers=[identity_spec(kwargs)], trust=trust_spec(kwargs), legacy=True)
    result = verify_image(reference, options, registry=RegistryView(insecure=insecure))
    sboms = (at.PREDICATE_TYPES["cyclonedx"], at.PREDICATE_TYPES["spdx"])
    out: list[bytes] = []
    if what == "signature":
        from supplychain.gate.registry_ops import signature_content

        trusted = [f.location for f in result.signatures if f.trusted]
        return signature_content(_client(insecure), reference, trusted) if trusted else []
    for f in result.findings:
        if not f.trusted:
            continue
        if f.kind == "attestation" and f.predicate is not None and f.predicate_type:
            if what == "attestation" and (type_uri is None or at.same_predicate_type(f.predicate_type, type_uri)):
                out.append(_one_line(f.predicate))  # one predicate per line (JSON lines)
            elif what == "sbom" and any(at.same_predicate_type(f.predicate_type, t) for t in sboms):
                out.append(f.predicate)
    return out


def _one_line(doc: bytes) -> bytes:
    try:
        return json.dumps(json.loads(doc), separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        return doc


@click.command(
    "copy",
    epilog="""\b
Examples:
  supplychain copy staging.example/app:1.0 prod.example/app:1.0
  supplychain copy 127.0.0.1:5000/app@sha256:4f2c...9e 127.0.0.1:5001/release/app:1.0
  supplychain copy r.example/app:1.0 r.example/mirror/app --only sig,att

\b
Copies the image (every platform of an index) and everything attached to it -- signatures,
attestations, SBOMs from the referrers API / tag schema and cosign's legacy .sig/.att/.sbom
tags -- manifests byte for byte, so every digest is preserved and signatures stay valid. On
the destination, referrers are listed by its referrers API or in the referrers tag schema,
whichever it supports. Within one registry, blobs are mounted across repositories where the
registry allows. --only copies just the attached kinds named (sig, att, sbom), not the image.
Layers over 16 MiB are streamed, not held in memory.

\b
Exit codes: 0 copied, 2 bad input, 3 registry or network failure.""",
)
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@click.option("--only", metavar="KINDS", help="Comma-separated: sig, att, sbom.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_insecure
@registry_timeout_option
def copy(source: str, destination: str, only: str | None, fmt: str, insecure: tuple[str, ...]) -> None:
    """Copy the image SRC and everything attached to it to DST, digests preserved."""
    from supplychain.gate.registry_ops import copy_image, parse_only

    kinds = parse_only(only)
    report = copy_image(_client(insecure), source, destination, only=kinds,
                        progress=lambda m: click.echo(m, err=True))
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(f"{destination.split('@')[0]}@{report.digest}: {report.manifests} manifest(s), "
                   f"{len(report.attached)} attached artifact(s); blobs {report.blobs_copied} copied, "
                   f"{report.blobs_mounted} mounted, {report.blobs_present} already there")
